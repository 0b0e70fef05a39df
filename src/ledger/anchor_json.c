/* The audit-log anchor as stored in etcd (docs/audit.md, "The signed anchor
 * in etcd"). Three forms of the value of /vnfsafe/log-anchor/<host>:
 *
 *   {"genesis":"<host>"}                                  created, not yet written
 *   {"size":N,"offset":N,"head":"<64 hex>","restarts":N}  unsigned (no signer set)
 *   {"host":"<host>","size":N,"offset":N,"head":"<64 hex>","restarts":N,
 *    "count":N,"create_rev":N,"sig":"<128 hex>"}         signed
 *
 * The signature (Ed25519, the host's checkpoint key) covers
 * "vnfsafe log anchor v1\n" followed by the signed form without its "sig"
 * field. count is the etcd version the key has once this value is written
 * and create_rev the key's create_revision, so a value put back later
 * (version moved on) or onto a recreated key (new create_revision) no
 * longer matches the key it sits in.
 *
 * The parser reads bytes from the network: exact field sets, types and
 * bounds, and the input must be the canonical encoding of what it parsed to. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/ledger.h"

#define ANCHOR_VALUE_MAX 1024
#define SIG_DOMAIN "vnfsafe log anchor v1\n"

static bool host_ok(const char *host)
{
	size_t n = strnlen(host, VS_HOST_MAX);
	bool ok = n > 0 && n < VS_HOST_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = host[i] > 0x20 && host[i] < 0x7f && host[i] != '/';
	return ok;
}

static bool in_range(const vs_log_anchor *a)
{
	return a->size <= INT64_MAX && a->offset <= INT64_MAX && a->restarts <= INT64_MAX &&
	       a->count <= INT64_MAX && a->create_rev <= INT64_MAX;
}

/* The signed form; with_sig false: the bytes the signature covers (after
 * the domain string). */
static char *encode_signed(const char *host, const vs_log_anchor *a, bool with_sig)
{
	char head[2 * VS_HASH_LEN + 1], sig[2 * VS_SIG_LEN + 1];
	if (!host_ok(host) || !in_range(a)) {
		vs_ignore(vs_fail(VS_E_USAGE, "log anchor out of range"));
		return NULL;
	}
	vs_hex(a->head, VS_HASH_LEN, head);
	json_t *o = json_pack("{s:s,s:I,s:I,s:s,s:I,s:I,s:I}", "host", host, "size",
			      (json_int_t)a->size, "offset", (json_int_t)a->offset, "head", head,
			      "restarts", (json_int_t)a->restarts, "count", (json_int_t)a->count,
			      "create_rev", (json_int_t)a->create_rev);
	if (o && with_sig) {
		vs_hex(a->sig, VS_SIG_LEN, sig);
		json_object_set_new(o, "sig", json_string(sig));
	}
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!s)
		vs_ignore(vs_fail(VS_E_ENV, "out of memory"));
	return s;
}

/* The signed message: domain string, then the unsigned form. */
static char *signed_message(const char *host, const vs_log_anchor *a, size_t *n)
{
	char *body = encode_signed(host, a, false);
	if (!body)
		return NULL;
	size_t dn = strlen(SIG_DOMAIN), bn = strlen(body);
	char *m = malloc(dn + bn + 1);
	if (m) {
		memcpy(m, SIG_DOMAIN, dn);
		memcpy(m + dn, body, bn + 1);
		*n = dn + bn;
	} else {
		vs_ignore(vs_fail(VS_E_ENV, "out of memory"));
	}
	free(body);
	return m;
}

char *vs_log_anchor_sign_json(const char *host, vs_log_anchor *a, const vs_signer *s)
{
	size_t n = 0;
	char *m = signed_message(host, a, &n);
	if (!m)
		return NULL;
	vs_err rc = vs_sign(s, m, n, a->sig);
	free(m);
	if (rc != VS_OK)
		return NULL;
	a->form = VS_ANCHOR_SIGNED;
	return encode_signed(host, a, true);
}

char *vs_log_anchor_genesis_json(const char *host)
{
	if (!host_ok(host)) {
		vs_ignore(vs_fail(VS_E_USAGE, "invalid host name for an audit anchor"));
		return NULL;
	}
	json_t *o = json_pack("{s:s}", "genesis", host);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		vs_ignore(vs_fail(VS_E_ENV, "out of memory"));
	return s;
}

/* --- parsing --- */

static VS_MUST_USE vs_err bad(const char *what)
{
	return vs_fail(VS_E_INTEGRITY, "audit anchor in etcd: %s", what);
}

static VS_MUST_USE vs_err get_u64(json_t *o, const char *k, uint64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad("a count field is missing, negative or not an integer");
	*out = (uint64_t)json_integer_value(v);
	return VS_OK;
}

static bool unhex_lower(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return vs_unhex(s, out, n) == VS_OK;
}

static VS_MUST_USE vs_err get_hex(json_t *o, const char *k, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_string(v) || !unhex_lower(json_string_value(v), json_string_length(v), out, n))
		return bad("a hex field is missing or malformed");
	return VS_OK;
}

static VS_MUST_USE vs_err signed_fields(const char *host, json_t *o, vs_log_anchor *a)
{
	json_t *h = json_object_get(o, "host");
	if (!json_is_string(h) || strlen(json_string_value(h)) != json_string_length(h))
		return bad("malformed host");
	if (strcmp(json_string_value(h), host))
		return bad("the value names another host");
	VS_TRY(get_u64(o, "size", &a->size));
	VS_TRY(get_u64(o, "offset", &a->offset));
	VS_TRY(get_hex(o, "head", a->head, VS_HASH_LEN));
	VS_TRY(get_u64(o, "restarts", &a->restarts));
	VS_TRY(get_u64(o, "count", &a->count));
	VS_TRY(get_u64(o, "create_rev", &a->create_rev));
	VS_TRY(get_hex(o, "sig", a->sig, VS_SIG_LEN));
	a->form = VS_ANCHOR_SIGNED;
	return VS_OK;
}

static VS_MUST_USE vs_err genesis_field(const char *host, json_t *o, vs_log_anchor *a)
{
	json_t *g = json_object_get(o, "genesis");
	if (!json_is_string(g) || strlen(json_string_value(g)) != json_string_length(g))
		return bad("malformed genesis value");
	if (strcmp(json_string_value(g), host))
		return bad("the genesis value names another host");
	a->form = VS_ANCHOR_GENESIS;
	return VS_OK;
}

char *vs_log_anchor_value_json(const char *host, const vs_log_anchor *a)
{
	switch (a->form) {
	case VS_ANCHOR_SIGNED: return encode_signed(host, a, true);
	case VS_ANCHOR_GENESIS: return vs_log_anchor_genesis_json(host);
	case VS_ANCHOR_UNSIGNED: return vs_log_anchor_to_json(a);
	default: vs_ignore(vs_fail(VS_E_USAGE, "no etcd encoding for this anchor")); return NULL;
	}
}

static VS_MUST_USE vs_err parse_new(const char *host, const char *json, size_t len, vs_log_anchor *a)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	vs_err rc;
	if (!json_is_object(o))
		rc = bad("not a JSON object");
	else if (json_object_size(o) == 8)
		rc = signed_fields(host, o, a);
	else if (json_object_size(o) == 1)
		rc = genesis_field(host, o, a);
	else
		rc = bad("unexpected fields");
	json_decref(o);
	if (rc != VS_OK)
		return rc;
	char *again = vs_log_anchor_value_json(host, a);
	if (!again)
		return vs_fail(VS_E_ENV, "out of memory");
	bool same = strlen(again) == len && memcmp(again, json, len) == 0;
	free(again);
	return same ? VS_OK : bad("not in canonical form");
}

VS_MUST_USE vs_err vs_log_anchor_value_parse(const char *host, const char *json, size_t len,
				 vs_log_anchor *a)
{
	memset(a, 0, sizeof *a);
	if (!host_ok(host))
		return vs_fail(VS_E_USAGE, "invalid host name for an audit anchor");
	if (len > ANCHOR_VALUE_MAX)
		return bad("larger than 1024 bytes");
	vs_err rc;
	if (len > 0 && json[0] == '{' && len > 7 && !memcmp(json, "{\"size\"", 7)) {
		rc = vs_log_anchor_from_json(json, len, a);
		a->form = VS_ANCHOR_UNSIGNED;
	} else {
		rc = parse_new(host, json, len, a);
	}
	if (rc != VS_OK)
		memset(a, 0, sizeof *a);
	return rc;
}

VS_MUST_USE vs_err vs_log_anchor_check_signed(const char *host, const vs_log_anchor *a,
				  const uint8_t pub[VS_PUB_LEN])
{
	if (a->form == VS_ANCHOR_GENESIS)
		return a->kv_version == 1 ? VS_OK
					  : vs_fail(VS_E_INTEGRITY,
						    "the audit anchor of %s was set back to its genesis "
						    "value (etcd version %llu): it was moved backwards",
						    host, (unsigned long long)a->kv_version);
	if (a->form != VS_ANCHOR_SIGNED)
		return vs_fail(VS_E_INTEGRITY,
			       "the audit anchor of %s in etcd is not signed by this host's checkpoint "
			       "key: it was written by someone else (or by a vnfsafe without a signer)",
			       host);
	size_t n = 0;
	char *m = signed_message(host, a, &n);
	if (!m)
		return vs_wrap(VS_E_ENV, "cannot check the audit anchor of %s", host);
	vs_err rc = vs_verify(pub, m, n, a->sig);
	free(m);
	if (rc != VS_OK)
		return vs_fail(VS_E_INTEGRITY,
			       "the audit anchor of %s in etcd has a bad signature: it was forged", host);
	if (a->create_rev != a->kv_create_rev)
		return vs_fail(VS_E_INTEGRITY,
			       "the audit anchor of %s was signed for etcd create_revision %llu but the "
			       "key now has %llu: it was deleted and recreated",
			       host, (unsigned long long)a->create_rev,
			       (unsigned long long)a->kv_create_rev);
	if (a->count != a->kv_version)
		return vs_fail(VS_E_INTEGRITY,
			       "the audit anchor of %s was signed as update %llu but the etcd key is at "
			       "version %llu: an older value was put back (moved backwards)",
			       host, (unsigned long long)a->count, (unsigned long long)a->kv_version);
	return VS_OK;
}
