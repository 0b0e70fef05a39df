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

/* A read-only map of a whole file (empty files map to len 0). */
typedef struct {
	const char *p;
	size_t len;
} vs_audit_map;
VS_MUST_USE vs_err vs_audit_map_open(const char *path, vs_audit_map *m);
void vs_audit_map_close(vs_audit_map *m);

#endif
