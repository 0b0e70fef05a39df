/* libFuzzer target: one audit log line as `vnfsafe log verify` and `log show`
 * read it: the strict record parser, then the per-line checks of verify (MAC
 * under a fixed key, leaf hash, epoch of its time), and the checkpoint line
 * parser. A line that parses must re-encode to exactly its bytes (the form
 * is canonical); a refusal is an integrity failure that leaves the struct
 * zeroed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_audit.h"
#include "vnfsafe/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_audit_record: invariant broken: %s\n", what);
	abort();
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static void check_record(const char *line, size_t n, const vs_audit_record *r)
{
	static char again[VS_AUDIT_LINE_MAX];
	size_t len;
	if (!terminated(r->host, sizeof r->host) || !terminated(r->actor, sizeof r->actor) ||
	    !terminated(r->action, sizeof r->action) || !terminated(r->vnf, sizeof r->vnf) ||
	    !terminated(r->snapshot, sizeof r->snapshot) || !terminated(r->reason, sizeof r->reason))
		broken("unterminated string accepted");
	if (r->seq == 0 || !r->host[0] || (unsigned)r->outcome > VS_AUDIT_OUT_INTEGRITY)
		broken("out-of-range field accepted");
	if (vs_audit_record_format(r, again, sizeof again, &len) != VS_OK)
		broken("a parsed record does not encode");
	if (len != n + 1 || memcmp(again, line, n) != 0 || again[n] != '\n')
		broken("re-encoded record differs from the parsed bytes");
	/* The verify path on this one line. */
	size_t span = vs_audit_mac_span(line, n);
	if (span == 0 || span >= n)
		broken("a parsed record has no MAC span");
	vs_key k;
	uint8_t mac[VS_HASH_LEN], leaf[VS_HASH_LEN];
	fz_audit_key(&k);
	if (vs_audit_record_mac(&k, line, n, mac) != VS_OK || vs_merkle_leaf_hash(line, n, leaf) != VS_OK)
		broken("MAC or leaf hash failed on a parsed record");
	uint64_t e;
	if (vs_audit_epoch_of(1700000000, 1, r->time_us, &e) == VS_OK && r->time_us < 1700000000000000LL)
		broken("epoch computed for a time before t0");
	/* The MAC must cover every byte before the mac field: flipping one of
	 * them changes it. */
	static char flip[VS_AUDIT_LINE_MAX];
	memcpy(flip, line, n);
	flip[span - 1] ^= 1;
	uint8_t mac2[VS_HASH_LEN];
	if (vs_audit_record_mac(&k, flip, n, mac2) != VS_OK || !memcmp(mac, mac2, sizeof mac))
		broken("MAC does not cover the last byte before the mac field");
}

static void check_zeroed(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			broken("a refused line left the struct filled in");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vs_audit_record r;
	const char *line = (const char *)data;
	memset(&r, 0xa5, sizeof r);
	vs_err rc = vs_audit_record_parse(line, size, &r);
	if (rc == VS_OK)
		check_record(line, size, &r);
	else if (rc == VS_E_INTEGRITY)
		check_zeroed(&r, sizeof r);
	else
		broken("unexpected error code from the record parser");

	vs_audit_checkpoint cp;
	memset(&cp, 0xa5, sizeof cp);
	rc = vs_audit_checkpoint_parse(line, size, &cp);
	if (rc == VS_E_INTEGRITY) {
		check_zeroed(&cp, sizeof cp);
	} else if (rc == VS_OK) {
		uint8_t pub[VS_PUB_LEN] = { 0 };
		/* Signature check on arbitrary bytes: must simply refuse or accept. */
		vs_ignore(vs_audit_checkpoint_verify(&cp, pub));
	} else {
		broken("unexpected error code from the checkpoint parser");
	}
	return 0;
}
