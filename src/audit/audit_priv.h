/* Internals shared by the audit sources (not a public header). */
#ifndef VS_AUDIT_PRIV_H
#define VS_AUDIT_PRIV_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "vnfsafe/audit.h"

#define VS_AUDIT_TIME_LEN 27 /* 2026-11-23T21:15:03.123456Z */
#define VS_AUDIT_MAC_KEY ",\"mac\":\""
#define VS_AUDIT_SIG_KEY ",\"sig\":\""
#define VS_AUDIT_EVOLVE_LABEL "vnfsafe-audit-evolve"
#define VS_AUDIT_INTERVAL_MAX (366u * 86400u)
#define VS_AUDIT_CP_LINE_MAX 512

bool vs_audit_time_ok(int64_t t);
void vs_audit_time_format(int64_t t, char out[VS_AUDIT_TIME_LEN + 1]);
/* Exactly VS_AUDIT_TIME_LEN bytes at s. */
bool vs_audit_time_parse(const char *s, int64_t *t);
bool vs_audit_text_ok(const char *s, size_t max);
bool vs_audit_action_ok(const char *s);
bool vs_audit_uuid_ok(const char *s);
VS_MUST_USE vs_err vs_audit_fields_check(const vs_audit_record *r);

/* SHA-256(prefix || a || b) on a reusable EVP_MD_CTX (NULL: a fresh one). */
VS_MUST_USE vs_err vs_audit_hash2(void *mdctx, uint8_t prefix, const void *a, size_t an, const void *b,
		      size_t bn, uint8_t out[VS_HASH_LEN]);

/* HMAC-SHA-256 under one key, initialised once and reused per message. */
typedef struct {
	EVP_MAC_CTX *ctx;
	bool fresh;
} vs_audit_mac;
VS_MUST_USE vs_err vs_audit_mac_new(vs_audit_mac *m, const vs_key *key);
void vs_audit_mac_free(vs_audit_mac *m);
VS_MUST_USE vs_err vs_audit_mac_run(vs_audit_mac *m, const void *data, size_t n, uint8_t out[VS_HASH_LEN]);

/* DIR/params: the public epoch clock and checkpoint key. */
typedef struct {
	int64_t t0;
	uint64_t interval;
	uint8_t pub[VS_PUB_LEN];
	bool has_pub;
} vs_audit_params;
VS_MUST_USE vs_err vs_audit_params_write(const char *dir, const vs_audit_params *p);
VS_MUST_USE vs_err vs_audit_params_read(const char *dir, vs_audit_params *p);
VS_MUST_USE vs_err vs_audit_seed_write(const char *path, const vs_audit_seed *s);
/* DIR/key: the current epoch and its key; replaced atomically. */
VS_MUST_USE vs_err vs_audit_keyfile_write(const char *dir, uint64_t epoch, const vs_key *k);
VS_MUST_USE vs_err vs_audit_keyfile_read(const char *dir, uint64_t *epoch, vs_key *k);

size_t vs_audit_checkpoint_sig_span(const char *line, size_t n);

/* DIR/frontier (src/audit/frontier.c): what the writer needs to append
 * without reading the log: the tail record (seq = size, byte offset just past
 * it, leaf hash, time, epoch) and the roots of the complete subtrees, one per
 * set bit of size, largest first (vs_merkle's stack). Checked against the
 * log before use; parsed strictly (canonical form only). */
#define VS_AUDIT_FRONTIER_MAX 8192
typedef struct {
	uint64_t size, offset, epoch;
	int64_t time_us;
	uint8_t leaf[VS_HASH_LEN];
	unsigned depth;
	uint8_t node[64][VS_HASH_LEN];
} vs_audit_frontier;
VS_MUST_USE vs_err vs_audit_frontier_format(const vs_audit_frontier *f, char *out, size_t cap,
					    size_t *len);
VS_MUST_USE vs_err vs_audit_frontier_parse(const char *text, size_t n, vs_audit_frontier *f);
/* VS_E_ENV when absent or unreadable, VS_E_INTEGRITY unless canonical. */
VS_MUST_USE vs_err vs_audit_frontier_read(const char *dir, vs_audit_frontier *f);
VS_MUST_USE vs_err vs_audit_frontier_write(const char *dir, const vs_audit_frontier *f);

/* Test hook: how the last vs_audit_open found the log's tail. */
typedef enum {
	VS_AUDIT_OPEN_FULL = 0,   /* read the whole log (no frontier, or it did not match) */
	VS_AUDIT_OPEN_FRONTIER,   /* from DIR/frontier, then the records after it */
} vs_audit_open_path;
typedef struct {
	vs_audit_open_path path;
	uint64_t start;   /* byte offset the reading began at */
	uint64_t records; /* records read from the log at open */
	char why[96];     /* why the frontier was not used ("" when it was) */
} vs_audit_open_info;
void vs_audit_open_info_get(const vs_audit *a, vs_audit_open_info *out);

/* A read-only map of a whole file (empty files map to len 0). */
typedef struct {
	const char *p;
	size_t len;
} vs_audit_map;
VS_MUST_USE vs_err vs_audit_map_open(const char *path, vs_audit_map *m);
void vs_audit_map_close(vs_audit_map *m);

#endif
