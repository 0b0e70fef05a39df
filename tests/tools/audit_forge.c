/* audit_forge DIR SEQ REASON: what an intruder with root can do to the audit
 * log: rewrite record SEQ's reason, then re-MAC it and re-chain and re-MAC
 * every later record with the only key on the host (DIR/key, the current
 * epoch's), and drop the signed checkpoints. Prints "OFFSET SIZE HEAD" of
 * the new tail so the test can move the ledger anchor too. Only the
 * verification seed can tell (earlier epochs' keys are gone). Test tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/audit.h"
#include "vnfsafe/crypto.h"

static int die(const char *what)
{
	fprintf(stderr, "audit_forge: %s: %s\n", what, vs_errmsg());
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: audit_forge DIR SEQ REASON\n");
		return 1;
	}
	char path[4200], line[VS_AUDIT_LINE_MAX + 2], out[VS_AUDIT_LINE_MAX + 2];
	uint64_t target = strtoull(argv[2], NULL, 10);
	/* The current key: what root finds on the host. */
	snprintf(path, sizeof path, "%s/key", argv[1]);
	FILE *kf = fopen(path, "r");
	char khex[80] = "";
	unsigned long long epoch = 0;
	if (!kf || fscanf(kf, "vnfsafe-audit-key 1\nepoch %llu\nkey %70s", &epoch, khex) != 2)
		return die("cannot read the key file");
	fclose(kf);
	vs_key key;
	if (vs_unhex(khex, key.k, VS_KEY_LEN) != VS_OK)
		return die("bad key");
	snprintf(path, sizeof path, "%s/log", argv[1]);
	FILE *in = fopen(path, "r");
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.forged", path);
	FILE *o = fopen(tmp, "w");
	if (!in || !o)
		return die("cannot open the log");
	uint8_t prev[VS_HASH_LEN];
	bool rewriting = false;
	uint64_t offset = 0, size = 0;
	while (fgets(line, sizeof line, in)) {
		size_t n = strlen(line);
		if (n == 0 || line[n - 1] != '\n')
			break;
		line[--n] = 0;
		vs_audit_record r;
		if (vs_audit_record_parse(line, n, &r) != VS_OK)
			return die("unparsable record");
		if (r.seq == target) {
			snprintf(r.reason, sizeof r.reason, "%s", argv[3]);
			rewriting = true;
		}
		size_t len = n;
		if (rewriting) {
			memcpy(r.prev, prev, VS_HASH_LEN);
			memset(r.mac, 0, VS_HASH_LEN);
			if (vs_audit_record_format(&r, out, sizeof out, &len) != VS_OK)
				return die("format");
			len--; /* the '\n' */
			if (vs_audit_record_mac(&key, out, len, r.mac) != VS_OK ||
			    vs_audit_record_format(&r, out, sizeof out, &len) != VS_OK)
				return die("mac");
			len--;
		} else {
			memcpy(out, line, n);
		}
		out[len] = '\n';
		fwrite(out, 1, len + 1, o);
		if (vs_merkle_leaf_hash(out, len, prev) != VS_OK)
			return die("hash");
		offset += len + 1;
		size = r.seq;
	}
	fclose(in);
	if (fclose(o) != 0 || rename(tmp, path) != 0)
		return die("cannot replace the log");
	snprintf(path, sizeof path, "%s/checkpoints", argv[1]);
	FILE *cp = fopen(path, "w"); /* the signed tree heads would give it away */
	if (cp)
		fclose(cp);
	char hex[2 * VS_HASH_LEN + 1];
	vs_hex(prev, VS_HASH_LEN, hex);
	printf("%llu %llu %s\n", (unsigned long long)offset, (unsigned long long)size, hex);
	vs_key_wipe(&key);
	return 0;
}
