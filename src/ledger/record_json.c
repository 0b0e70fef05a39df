/* Canonical JSON encoding of a ledger record, for backends that store bytes
 * (etcd). One compact object with the keys in a fixed order:
 *
 *   {"name":"fw1","lineage":"<32 hex>","generation":3,"state":"ACTIVE",
 *    "owner":"host-a","target":"","has_snapshot":true,
 *    "latest_snapshot":"<32 hex>","latest_snapshot_gen":2,"latest_final":false,
 *    "latest_host":"host-b","activation":"<32 hex>","token_hash":"<64 hex>",
 *    "sensitive":"secrets","updated":1700000000}
 *
 * Hex is lowercase; without a snapshot, latest_snapshot is all zeros,
 * latest_snapshot_gen is 0, latest_final false and latest_host "" (the
 * encoder writes them so, whatever the record held there). The version is
 * not stored: it is the backend's (etcd's mod_revision).
 *
 * The parser reads bytes from the network: every field is required, no other
 * field is allowed, types and bounds are checked, and the input must be
 * exactly the canonical encoding of what it parsed to. The encoder refuses
 * any record the parser would refuse, so whatever is stored can be read. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/ledger.h"

/* The largest canonical record is about 2 KB (printable strings at their
 * bounds, each '"' or '\' escaped). */
#define REC_JSON_MAX 4096
#define REC_NFIELDS 15

static const char *const rec_keys[REC_NFIELDS] = {
	"name",		 "lineage",	    "generation",	   "state",
	"owner",	 "target",	    "has_snapshot",	   "latest_snapshot",
	"latest_snapshot_gen", "latest_final", "latest_host", "activation", "token_hash",
	"sensitive",	 "updated",
};

static bool state_ok(vs_vnf_state s)
{
	return (unsigned)s <= (unsigned)VS_VNF_RETIRED;
}

static bool state_from_name(const char *s, vs_vnf_state *out)
{
	for (unsigned i = VS_VNF_REGISTERED; i <= VS_VNF_RETIRED; i++) {
		if (!strcmp(s, vs_vnf_state_name((vs_vnf_state)i))) {
			*out = (vs_vnf_state)i;
			return true;
		}
	}
	return false;
}

/* Bounded (cap includes the NUL) and printable ASCII; may be empty. */
static bool text_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* What both the encoder and the parser insist on. */
static VS_MUST_USE vs_err check_record(const vs_vnf_record *r)
{
	if (strnlen(r->name, sizeof r->name) == sizeof r->name || !vs_name_ok(r->name))
		return vs_fail(VS_E_INTEGRITY, "ledger record: invalid VNF name");
	if (!state_ok(r->state))
		return vs_fail(VS_E_INTEGRITY, "ledger record for '%s': unknown state", r->name);
	if (!text_ok(r->owner, sizeof r->owner) || !text_ok(r->target, sizeof r->target) ||
	    !text_ok(r->latest_host, sizeof r->latest_host))
		return vs_fail(VS_E_INTEGRITY,
			       "ledger record for '%s': host name too long or not printable ASCII",
			       r->name);
	if (!text_ok(r->sensitive, sizeof r->sensitive))
		return vs_fail(VS_E_INTEGRITY,
			       "ledger record for '%s': sensitive domains too long or not printable ASCII",
			       r->name);
	if (r->generation > INT64_MAX || r->latest_snapshot_gen > INT64_MAX || r->updated < 0)
		return vs_fail(VS_E_INTEGRITY, "ledger record for '%s': number out of range",
			       r->name);
	if (!r->has_snapshot &&
	    (!all_zero(r->latest_snapshot, VS_ID_LEN) || r->latest_snapshot_gen != 0 ||
	     r->latest_final || r->latest_host[0]))
		return vs_fail(VS_E_INTEGRITY,
			       "ledger record for '%s': a snapshot id without has_snapshot", r->name);
	return VS_OK;
}

static int lower_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n lowercase hex digits. */
static bool unhex_lower(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = lower_hexval(s[2 * i]), lo = lower_hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static char *encode(const vs_vnf_record *r)
{
	char lineage[2 * VS_ID_LEN + 1], snap[2 * VS_ID_LEN + 1], act[2 * VS_ID_LEN + 1];
	char th[2 * VS_HASH_LEN + 1];
	vs_hex(r->lineage, VS_ID_LEN, lineage);
	vs_hex(r->latest_snapshot, VS_ID_LEN, snap);
	vs_hex(r->activation, VS_ID_LEN, act);
	vs_hex(r->token_hash, VS_HASH_LEN, th);
	json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:b,s:s,s:I,s:b,s:s,s:s,s:s,s:s,s:I}",
			      rec_keys[0], r->name, rec_keys[1], lineage,
			      rec_keys[2], (json_int_t)r->generation,
			      rec_keys[3], vs_vnf_state_name(r->state),
			      rec_keys[4], r->owner, rec_keys[5], r->target,
			      rec_keys[6], (int)r->has_snapshot, rec_keys[7], snap,
			      rec_keys[8], (json_int_t)r->latest_snapshot_gen,
			      rec_keys[9], (int)r->latest_final, rec_keys[10], r->latest_host,
			      rec_keys[11], act, rec_keys[12], th,
			      rec_keys[13], r->sensitive, rec_keys[14], (json_int_t)r->updated);
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

char *vs_vnf_record_to_json(const vs_vnf_record *r)
{
	/* Without a snapshot, whatever the snapshot fields hold means nothing. */
	vs_vnf_record c = *r;
	if (!c.has_snapshot) {
		memset(c.latest_snapshot, 0, sizeof c.latest_snapshot);
		c.latest_snapshot_gen = 0;
		c.latest_final = false;
		c.latest_host[0] = 0;
	}
	if (check_record(&c) != VS_OK)
		return NULL;
	char *s = encode(&c);
	if (!s)
		vs_ignore(vs_fail(VS_E_ENV, "out of memory"));
	return s;
}

/* --- parsing --- */

static VS_MUST_USE vs_err bad(const char *what, const char *field)
{
	return vs_fail(VS_E_INTEGRITY, "ledger record: %s '%s'", what, field);
}

static VS_MUST_USE vs_err get_string(json_t *o, const char *k, char *dst, size_t cap)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_string(v))
		return bad(v ? "wrong type for field" : "missing field", k);
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n >= cap || strlen(s) != n)
		return bad("too long a value for", k);
	memcpy(dst, s, n + 1);
	return VS_OK;
}

static VS_MUST_USE vs_err get_count(json_t *o, const char *k, json_int_t *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		return bad(v ? "wrong type for field" : "missing field", k);
	*out = json_integer_value(v);
	if (*out < 0)
		return bad("negative value for", k);
	return VS_OK;
}

static VS_MUST_USE vs_err get_u64(json_t *o, const char *k, uint64_t *out)
{
	json_int_t v = 0;
	VS_TRY(get_count(o, k, &v));
	*out = (uint64_t)v;
	return VS_OK;
}

static VS_MUST_USE vs_err get_hex(json_t *o, const char *k, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_string(v))
		return bad(v ? "wrong type for field" : "missing field", k);
	if (!unhex_lower(json_string_value(v), json_string_length(v), out, n))
		return bad(n == VS_ID_LEN ? "expected 32 lowercase hex digits in"
					  : "expected 64 lowercase hex digits in", k);
	return VS_OK;
}

static VS_MUST_USE vs_err get_id(json_t *o, const char *k, uint8_t out[VS_ID_LEN])
{
	return get_hex(o, k, out, VS_ID_LEN);
}

static VS_MUST_USE vs_err get_bool(json_t *o, const char *k, bool *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_boolean(v))
		return bad(v ? "wrong type for field" : "missing field", k);
	*out = json_is_true(v);
	return VS_OK;
}

static VS_MUST_USE vs_err get_fields(json_t *o, vs_vnf_record *r)
{
	char state[16];
	json_int_t updated = 0;
	VS_TRY(get_string(o, "name", r->name, sizeof r->name));
	VS_TRY(get_id(o, "lineage", r->lineage));
	VS_TRY(get_u64(o, "generation", &r->generation));
	VS_TRY(get_string(o, "state", state, sizeof state));
	if (!state_from_name(state, &r->state))
		return bad("unknown value in", "state");
	VS_TRY(get_string(o, "owner", r->owner, sizeof r->owner));
	VS_TRY(get_string(o, "target", r->target, sizeof r->target));
	VS_TRY(get_bool(o, "has_snapshot", &r->has_snapshot));
	VS_TRY(get_id(o, "latest_snapshot", r->latest_snapshot));
	VS_TRY(get_u64(o, "latest_snapshot_gen", &r->latest_snapshot_gen));
	VS_TRY(get_bool(o, "latest_final", &r->latest_final));
	VS_TRY(get_string(o, "latest_host", r->latest_host, sizeof r->latest_host));
	VS_TRY(get_id(o, "activation", r->activation));
	VS_TRY(get_hex(o, "token_hash", r->token_hash, VS_HASH_LEN));
	VS_TRY(get_string(o, "sensitive", r->sensitive, sizeof r->sensitive));
	VS_TRY(get_count(o, "updated", &updated));
	r->updated = (int64_t)updated;
	if (json_object_size(o) != REC_NFIELDS)
		return vs_fail(VS_E_INTEGRITY, "ledger record: unexpected extra fields");
	return VS_OK;
}

/* The bytes must be exactly what the encoder makes of the parsed record. */
static VS_MUST_USE vs_err check_canonical(const char *json, size_t len, const vs_vnf_record *r)
{
	char *again = encode(r);
	if (!again)
		return vs_fail(VS_E_ENV, "out of memory");
	bool same = strlen(again) == len && memcmp(again, json, len) == 0;
	free(again);
	if (!same)
		return vs_fail(VS_E_INTEGRITY, "ledger record for '%s': not in canonical form",
			       r->name);
	return VS_OK;
}

static VS_MUST_USE vs_err parse(const char *json, size_t len, vs_vnf_record *r)
{
	if (len > REC_JSON_MAX)
		return vs_fail(VS_E_INTEGRITY, "ledger record: larger than %d bytes", REC_JSON_MAX);
	json_error_t je;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return vs_fail(VS_E_INTEGRITY, "ledger record: not valid JSON (at byte %d)",
			       je.position);
	vs_err rc = json_is_object(o) ? get_fields(o, r)
				      : vs_fail(VS_E_INTEGRITY, "ledger record: not a JSON object");
	json_decref(o);
	if (rc == VS_OK)
		rc = check_record(r);
	if (rc == VS_OK)
		rc = check_canonical(json, len, r);
	return rc;
}

VS_MUST_USE vs_err vs_vnf_record_from_json(const char *json, size_t len, vs_vnf_record *r)
{
	memset(r, 0, sizeof *r);
	vs_err rc = parse(json, len, r);
	if (rc != VS_OK)
		memset(r, 0, sizeof *r);
	return rc;
}

/* --- the audit-log anchor --- */

char *vs_log_anchor_to_json(const vs_log_anchor *a)
{
	char head[2 * VS_HASH_LEN + 1];
	if (a->size > INT64_MAX || a->offset > INT64_MAX || a->restarts > INT64_MAX) {
		vs_ignore(vs_fail(VS_E_USAGE, "log anchor out of range"));
		return NULL;
	}
	vs_hex(a->head, VS_HASH_LEN, head);
	json_t *o = json_pack("{s:I,s:I,s:s,s:I}", "size", (json_int_t)a->size, "offset",
			      (json_int_t)a->offset, "head", head, "restarts",
			      (json_int_t)a->restarts);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!s)
		vs_ignore(vs_fail(VS_E_ENV, "out of memory"));
	return s;
}

static VS_MUST_USE vs_err anchor_fields(json_t *o, vs_log_anchor *a)
{
	if (!json_is_object(o) || json_object_size(o) != 4)
		return vs_fail(VS_E_INTEGRITY, "log anchor: not an object of 4 fields");
	VS_TRY(get_u64(o, "size", &a->size));
	VS_TRY(get_u64(o, "offset", &a->offset));
	VS_TRY(get_u64(o, "restarts", &a->restarts));
	json_t *h = json_object_get(o, "head");
	if (!json_is_string(h) ||
	    !unhex_lower(json_string_value(h), json_string_length(h), a->head, VS_HASH_LEN))
		return bad("expected 64 lowercase hex digits in", "head");
	return VS_OK;
}

VS_MUST_USE vs_err vs_log_anchor_from_json(const char *json, size_t len, vs_log_anchor *a)
{
	memset(a, 0, sizeof *a);
	if (len > 256)
		return vs_fail(VS_E_INTEGRITY, "log anchor: larger than 256 bytes");
	json_error_t je;
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return vs_fail(VS_E_INTEGRITY, "log anchor: not valid JSON");
	vs_err rc = anchor_fields(o, a);
	json_decref(o);
	if (rc == VS_OK) {
		char *again = vs_log_anchor_to_json(a);
		if (!again)
			rc = vs_fail(VS_E_ENV, "out of memory");
		else if (strlen(again) != len || memcmp(again, json, len) != 0)
			rc = vs_fail(VS_E_INTEGRITY, "log anchor: not in canonical form");
		free(again);
	}
	if (rc != VS_OK)
		memset(a, 0, sizeof *a);
	return rc;
}
