/* libFuzzer target: vs_vnf_record_from_json(), vs_log_anchor_from_json() and
 * vs_log_anchor_value_parse() (the etcd anchor, docs/audit.md) on arbitrary bytes (what the etcd ledger backend reads from the network). A record that parses must be
 * sane and re-encode to exactly the bytes it was parsed from (the encoding is
 * canonical); a refusal is an integrity failure that leaves the record zeroed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_record_json: invariant broken: %s\n", what);
	abort();
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static void check_fields(const vs_vnf_record *r)
{
	if (!terminated(r->name, sizeof r->name) || !vs_name_ok(r->name))
		broken("bad name accepted");
	if (!terminated(r->owner, sizeof r->owner) || !terminated(r->target, sizeof r->target) ||
	    !terminated(r->sensitive, sizeof r->sensitive) ||
	    !terminated(r->latest_host, sizeof r->latest_host))
		broken("unterminated string accepted");
	if (!r->has_snapshot && (r->latest_host[0] || r->latest_final))
		broken("snapshot fields without a snapshot accepted");
	if ((unsigned)r->state > (unsigned)VS_VNF_RETIRED)
		broken("unknown state accepted");
	if (r->version != 0)
		broken("version set from JSON");
	if (r->updated < 0)
		broken("negative time accepted");
}

static void check_roundtrip(const uint8_t *data, size_t size, const vs_vnf_record *r)
{
	char *s = vs_vnf_record_to_json(r);
	if (!s)
		broken("a parsed record does not encode");
	if (strlen(s) != size || memcmp(s, data, size) != 0)
		broken("re-encoded record differs from the parsed bytes");
	free(s);
}

static void check_zeroed(const vs_vnf_record *r)
{
	static const vs_vnf_record zero;
	if (memcmp(r, &zero, sizeof zero) != 0)
		broken("a refused record was left filled in");
}

/* The same bytes as the etcd value of host "node-1"'s anchor (unsigned,
 * genesis or signed form): canonical when accepted, zeroed when refused; the
 * signature check never accepts a value not signed by the key. */
static void check_anchor_value(const uint8_t *data, size_t size)
{
	static const uint8_t pub[VS_PUB_LEN] = { 1, 2, 3 };
	vs_log_anchor a;
	memset(&a, 0xa5, sizeof a);
	vs_err rc = vs_log_anchor_value_parse("node-1", (const char *)data, size, &a);
	if (rc == VS_OK) {
		if (a.form != VS_ANCHOR_UNSIGNED && a.form != VS_ANCHOR_SIGNED &&
		    a.form != VS_ANCHOR_GENESIS)
			broken("anchor value parsed to no form");
		if (a.kv_version != 0 || a.kv_create_rev != 0)
			broken("etcd facts set from the value");
		char *s = vs_log_anchor_value_json("node-1", &a);
		if (!s || strlen(s) != size || memcmp(s, data, size) != 0)
			broken("re-encoded anchor value differs from the parsed bytes");
		free(s);
		a.kv_version = a.count;
		a.kv_create_rev = a.create_rev;
		rc = vs_log_anchor_check_signed("node-1", &a, pub);
		if (rc == VS_OK && a.form != VS_ANCHOR_GENESIS)
			broken("an anchor not signed by the key passed the check");
	} else {
		static const vs_log_anchor zero;
		if (rc != VS_E_INTEGRITY && rc != VS_E_ENV)
			broken("unexpected error code (anchor value)");
		if (memcmp(&a, &zero, sizeof zero) != 0)
			broken("a refused anchor value was left filled in");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vs_vnf_record r;
	memset(&r, 0xa5, sizeof r);
	vs_err rc = vs_vnf_record_from_json((const char *)data, size, &r);
	if (rc == VS_OK) {
		check_fields(&r);
		check_roundtrip(data, size, &r);
	} else if (rc == VS_E_INTEGRITY || rc == VS_E_ENV) {
		check_zeroed(&r);
	} else {
		broken("unexpected error code");
	}
	/* The same bytes as an audit-log anchor. */
	vs_log_anchor a;
	memset(&a, 0xa5, sizeof a);
	rc = vs_log_anchor_from_json((const char *)data, size, &a);
	if (rc == VS_OK) {
		char *s = vs_log_anchor_to_json(&a);
		if (!s || strlen(s) != size || memcmp(s, data, size) != 0)
			broken("re-encoded log anchor differs from the parsed bytes");
		free(s);
	} else {
		static const vs_log_anchor zero;
		if (rc != VS_E_INTEGRITY && rc != VS_E_ENV)
			broken("unexpected error code (log anchor)");
		if (memcmp(&a, &zero, sizeof zero) != 0)
			broken("a refused log anchor was left filled in");
	}
	check_anchor_value(data, size);
	return 0;
}
