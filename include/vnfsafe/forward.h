/* Forwarding of audit records to a central collector as RFC 5424 syslog over
 * TLS (RFC 5425, octet-counting framing), with the log itself as the queue.
 *
 * A log directory DIR holds DIR/log (one canonical JSON record per
 * '\n'-terminated line, "seq" first) written by the audit log. Forwarding
 * keeps a durable cursor DIR/forward.cursor (byte offset + seq of the last
 * record the collector has) and its settings in DIR/forward.conf.
 *
 * Delivery is at least once: the cursor moves only after the collector has
 * answered our TLS close_notify with its own (RFC 5425 section 4.4), so it
 * has read every byte before it; a crash or a lost answer makes the next
 * flush send those records again. The seq in every message lets the
 * collector drop duplicates. A record is never skipped. docs/forwarding.md. */
#ifndef VNFSAFE_FORWARD_H
#define VNFSAFE_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/err.h"

#define VS_FORWARD_DEFAULT_PORT 6514
#define VS_FORWARD_DEFAULT_TIMEOUT_MS 10000
#define VS_FORWARD_MAX_TIMEOUT_MS 600000
/* A record line longer than this is damage, not a record. */
#define VS_FORWARD_MAX_RECORD 65536
/* Enterprise number of the SD-ID "vnfsafe@32473": 32473 is the example
 * number of RFC 5612, to be replaced by a registered one. */
#define VS_FORWARD_SD_ID "vnfsafe@32473"

typedef struct {
	char host[256];        /* collector: DNS name or IP address (required) */
	uint16_t port;         /* default 6514 */
	char ca_file[4096];    /* CA certificate(s) the collector's cert must chain to (required) */
	char cert_file[4096];  /* client certificate chain for mutual TLS (optional) */
	char key_file[4096];   /* its private key (given with cert_file) */
	char server_name[256]; /* name the collector's cert must carry; empty: host */
	unsigned timeout_ms;   /* connect, and each TLS read/write; default 10000 */
} vs_forward_cfg;

typedef struct {
	uint64_t offset; /* bytes of DIR/log the collector has */
	uint64_t seq;    /* seq of the last of them (0 with offset 0) */
} vs_forward_cursor;

typedef struct {
	uint64_t sent;      /* records written to the collector by this call */
	uint64_t queued;    /* complete records still after the cursor */
	uint64_t last_seq;  /* cursor after the call */
	uint64_t offset;
	bool torn_tail;     /* DIR/log ends in a line without '\n' (not sent) */
} vs_forward_stats;

/* Defaults: everything empty, port 6514, timeout 10 s. */
void vs_forward_cfg_init(vs_forward_cfg *cfg);
/* Strict key=value parser of forward.conf text ('#' comments and blank lines
 * allowed): an unknown or repeated key, a bad value or a missing required
 * key is one VS_E_USAGE error naming the line. */
VS_MUST_USE vs_err vs_forward_cfg_parse(const char *text, size_t len, vs_forward_cfg *cfg);
/* The forward.conf text of cfg (caller frees); parses back to cfg. */
VS_MUST_USE vs_err vs_forward_cfg_format(const vs_forward_cfg *cfg, char **out);
/* DIR/forward.conf. *present is false (and cfg untouched) when there is none. */
VS_MUST_USE vs_err vs_forward_cfg_load(const char *dir, vs_forward_cfg *cfg, bool *present);
/* Replaces DIR/forward.conf atomically (mode 0600, fsync, rename, fsync dir). */
VS_MUST_USE vs_err vs_forward_cfg_save(const char *dir, const vs_forward_cfg *cfg);

/* "offset=N\nseq=N\n" exactly; anything else is VS_E_INTEGRITY. */
VS_MUST_USE vs_err vs_forward_cursor_parse(const char *text, size_t len, vs_forward_cursor *cur);
/* DIR/forward.cursor, or {0, 0} when there is none. */
VS_MUST_USE vs_err vs_forward_cursor_load(const char *dir, vs_forward_cursor *cur);

/* The RFC 5424 message for one record line (without its '\n'), not framed:
 * <PRI>1 TIME HOST vnfsafe - MSGID [vnfsafe@32473 seq=".." prev=".." mac=".."] JSON
 * PRI is authpriv (10) with notice for outcome "ok", warning otherwise.
 * A line that is not a record object with a positive "seq" first is
 * VS_E_INTEGRITY. *seq receives the record's seq. Caller frees *out. */
VS_MUST_USE vs_err vs_forward_format(const char *line, size_t len, char **out, size_t *out_len,
			 uint64_t *seq);

/* Sends every complete record of DIR/log after the cursor over one TLS
 * connection (per batch) and then moves the cursor. Collector unreachable or
 * not answering: VS_E_ENV, cursor unchanged. Collector certificate not
 * trusted (CA, name): VS_E_INTEGRITY, nothing sent. A cursor that does not
 * match the log, or a damaged record after it: VS_E_INTEGRITY (records
 * before the damage are still forwarded). st may be NULL. */
VS_MUST_USE vs_err vs_forward_pending(const char *dir, const vs_forward_cfg *cfg, vs_forward_stats *st);

#endif
