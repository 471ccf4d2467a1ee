/*
 * payload.h — the content of a NORMAL Raft log entry: the SQL text and the
 * session context it must run with (role, search_path, TimeZone, ...).
 *
 * Format, version 1 (all integers little endian):
 *   magic "RX" (2 bytes) | version (1 byte = 1)
 *   role:      u16 length, bytes             (the submitting role's name)
 *   nsettings: u8, then per setting:
 *              u8 name length, name bytes, u32 value length, value bytes
 *   sql:       u32 length, bytes             (must be the last field)
 * Strings carry no terminating NUL and may not contain one.  Setting names
 * must be among raft_payload_setting_names; anything else, trailing bytes
 * or a length running past the end is refused as malformed.
 *
 * Locking: none (pure functions).
 */
#ifndef RAFT_EXT_PAYLOAD_H
#define RAFT_EXT_PAYLOAD_H

#include "postgres.h"

#define RAFT_PAYLOAD_VERSION 1
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
