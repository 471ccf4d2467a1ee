/*
 * payload.h — the content of a NORMAL Raft log entry: the SQL text and the
 * session context it must run with (role, search_path, TimeZone, ...).
 *
 * Format, version 2 (all integers little endian):
 *   magic "RX" (2 bytes) | version (1 byte = 2)
 *   role:      u16 length, bytes             (the submitting role's name)
 *   nsettings: u8, then per setting:
 *              u8 setting number (its position in raft_payload_setting_names),
 *              u32 value length, value bytes
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

#define RAFT_PAYLOAD_VERSION 2
#define RAFT_PAYLOAD_MAX_SETTINGS 8

/* The session settings captured at submission and set (LOCAL) at apply. */
extern const char *const raft_payload_setting_names[];
extern const int raft_payload_nsetting_names;

typedef struct RaftPayload
{
	char	   *role;
	int			nsettings;
	char	   *names[RAFT_PAYLOAD_MAX_SETTINGS];
	char	   *values[RAFT_PAYLOAD_MAX_SETTINGS];
	char	   *sql;
	Size		sql_len;
} RaftPayload;

/* Build a payload from the current session (GetUserId(), GUCs). palloc'd. */
extern char *raft_payload_capture(const char *sql, Size sql_len, Size *len_out);

/* Encode p.  palloc'd. */
extern char *raft_payload_encode(const RaftPayload *p, Size *len_out);

/*
 * Decode into *p (strings palloc'd, NUL-terminated).  Returns NULL on
 * success, or a static description of what is wrong.
 */
extern const char *raft_payload_decode(const char *buf, Size len, RaftPayload *p);

#endif							/* RAFT_EXT_PAYLOAD_H */
