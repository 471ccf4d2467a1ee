/*
 * payload.h — the content of a NORMAL Raft log entry: the SQL text and the
 * session context it must run with (role, search_path, TimeZone, ...).
 *
 * Every payload starts with the same header (all integers little endian):
 *   magic "R" + kind (2 bytes: "RX" a statement; "RC", "RV", "RR" the
 *   consistency checks of checks.c) | version (1 byte)
 *   stamp:     i64, microseconds since 2000-01-01 UTC (TimestampTz): the time
 *              the leader gave the entry when it appended it, never below
 *              the stamp of the entry before it in the log; 0 until then.
 *              It is the entry's clock on every node (apply_session.c).
 *              (Versions 1 and 2 of "RX" had no stamp.)
 * A statement ("RX"), version 3:
 *   header
 *   role:      u16 length, bytes             (the submitting role's name)
 *   nsettings: u8, then per setting:
 *              u8 setting number (its position in raft_payload_setting_names),
 *              u32 value length, value bytes
 *   version 4 only (written when there are parameters or flags):
 *   flags:     u8                            (RAFT_PAYLOAD_WANTS_ROWS)
 *   (with RAFT_PAYLOAD_WANTS_ROWS) u32: the caller's raft_ext.max_query_result, kB
 *   (with RAFT_PAYLOAD_REQUEST_ID) u16 length, bytes: the request id;
 *              u32: raft_ext.request_id_retention, seconds
 *   nparams:   u16, then per parameter:
 *              u16 type name length, type name bytes (params.h),
 *              u8 1 if NULL, else 0 then u32 value length, value bytes
 *   sql:       u32 length, bytes             (must be the last field)
 * Version 1, still read (logs written before it), named each setting
 * instead: u8 name length, name bytes.  The names were most of a short
 * statement's entry: they were stored in every log row, sent to every
 * follower and held in every Raft worker's memory.  So
 * raft_payload_setting_names only ever grows at its end.
 * Strings carry no terminating NUL and may not contain one.  Unknown
 * settings, trailing bytes or a length running past the end are refused as
 * malformed.
 *
 * Locking: none (pure functions).
 */
#ifndef RAFT_EXT_PAYLOAD_H
#define RAFT_EXT_PAYLOAD_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#define RAFT_PAYLOAD_VERSION 4
#define RAFT_PAYLOAD_MAX_SETTINGS 8

/* The common header: magic (2), version (1), stamp (8). */
#define RAFT_PAYLOAD_HEADER_LEN 11
#define RAFT_PAYLOAD_STAMPED_VERSION 3

/* Version 4 adds flags and parameters; a statement without either is still written as 3. */
#define RAFT_PAYLOAD_PARAMS_VERSION 4

/* Flags (version 4). */
#define RAFT_PAYLOAD_WANTS_ROWS 0x01	/* raft_query: the caller takes the rows */
#define RAFT_PAYLOAD_REQUEST_ID 0x02	/* raft_submit_once: a request id */

/* The session settings captured at submission and set (LOCAL) at apply. */
extern const char *const raft_payload_setting_names[];
extern const int raft_payload_nsetting_names;

typedef struct RaftPayload
{
	TimestampTz stamp;			/* 0: none (an entry of version 1 or 2) */
	char	   *role;
	int			nsettings;
	char	   *names[RAFT_PAYLOAD_MAX_SETTINGS];
	char	   *values[RAFT_PAYLOAD_MAX_SETTINGS];
	uint8		flags;			/* RAFT_PAYLOAD_* (version 4) */
	uint32		max_result_kb;	/* with RAFT_PAYLOAD_WANTS_ROWS */
	char	   *request_id;		/* with RAFT_PAYLOAD_REQUEST_ID */
	uint32		retention_s;
	int			nparams;		/* $1 .. $nparams (version 4) */
	struct RaftParam *params;
	char	   *sql;
	Size		sql_len;
} RaftPayload;

/*
 * The stamp of a payload of any kind (false when it has none: too old a
 * version, or not a payload), and stamping one in place (false, and
 * nothing written, when it cannot carry one).  The Raft worker stamps what
 * it appends.
 */
extern bool raft_payload_get_stamp(const char *buf, Size len, TimestampTz *stamp);
extern bool raft_payload_set_stamp(char *buf, Size len, TimestampTz stamp);

/* The kind of a payload ('X', 'C', 'V', 'R'), or 0 if it is none. */
extern char raft_payload_kind(const char *buf, Size len);

/* Start a payload of kind into buf: the header, stamp 0. */
extern void raft_payload_begin(StringInfo buf, char kind);

/*
 * Build a payload from the current session (GetUserId(), GUCs), with
 * nparams parameters and flags.  palloc'd.
 */
extern char *raft_payload_capture(const char *sql, Size sql_len, int nparams,
								  const struct RaftParam *params, uint8 flags,
								  uint32 max_result_kb, const char *request_id,
								  uint32 retention_s, Size *len_out);

/* Encode p.  palloc'd. */
extern char *raft_payload_encode(const RaftPayload *p, Size *len_out);

/*
 * Decode into *p (strings palloc'd, NUL-terminated).  Returns NULL on
 * success, or a static description of what is wrong.
 */
extern const char *raft_payload_decode(const char *buf, Size len, RaftPayload *p);

#endif							/* RAFT_EXT_PAYLOAD_H */
