/* Signed checkpoint lines in DIR/checkpoints (docs/audit.md). */
#include "audit_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

VS_MUST_USE vs_err vs_audit_checkpoint_format(const vs_audit_checkpoint *cp, char *out, size_t cap,
				  size_t *len)
{
	char t[VS_AUDIT_TIME_LEN + 1], root[2 * VS_HASH_LEN + 1], key[2 * VS_HASH_LEN + 1],
		sig[2 * VS_SIG_LEN + 1];
	if (!vs_audit_time_ok(cp->time_us))
		return vs_fail(VS_E_USAGE, "checkpoint time out of range");
	vs_audit_time_format(cp->time_us, t);
	vs_hex(cp->root, VS_HASH_LEN, root);
	vs_hex(cp->keyid, VS_HASH_LEN, key);
	vs_hex(cp->sig, VS_SIG_LEN, sig);
	int n = snprintf(out, cap,
			 "{\"size\":%" PRIu64 ",\"root\":\"%s\",\"time\":\"%s\",\"key\":\"%s\"" VS_AUDIT_SIG_KEY
			 "%s\"}",
			 cp->size, root, t, key, sig);
	if (n < 0 || (size_t)n >= cap)
		return vs_fail(VS_E_USAGE, "checkpoint line does not fit");
	*len = (size_t)n;
	return VS_OK;
}

size_t vs_audit_checkpoint_sig_span(const char *line, size_t n)
{
	static const char key[] = VS_AUDIT_SIG_KEY;
	const size_t tail = sizeof key - 1 + 2 * VS_SIG_LEN + 2;
	if (n < tail || memcmp(line + n - tail, key, sizeof key - 1) != 0)
		return 0;
	return n - tail;
}

VS_MUST_USE vs_err vs_audit_checkpoint_parse(const char *line, size_t n, vs_audit_checkpoint *cp)
{
	char again[VS_AUDIT_CP_LINE_MAX], buf[VS_AUDIT_CP_LINE_MAX];
	char root[2 * VS_HASH_LEN + 1], t[VS_AUDIT_TIME_LEN + 1], key[2 * VS_HASH_LEN + 1],
		sig[2 * VS_SIG_LEN + 1];
	unsigned long long size;
	size_t len;
	memset(cp, 0, sizeof *cp);
	if (n >= sizeof buf)
		goto bad;
	memcpy(buf, line, n);
	buf[n] = 0;
	if (sscanf(buf,
		   "{\"size\":%20llu,\"root\":\"%64[0-9a-f]\",\"time\":\"%27[0-9TZ:.-]\","
		   "\"key\":\"%64[0-9a-f]\",\"sig\":\"%128[0-9a-f]\"}",
		   &size, root, t, key, sig) != 5 ||
	    strlen(t) != VS_AUDIT_TIME_LEN || !vs_audit_time_parse(t, &cp->time_us) ||
	    strlen(root) != 2 * VS_HASH_LEN || strlen(key) != 2 * VS_HASH_LEN ||
	    strlen(sig) != 2 * VS_SIG_LEN || vs_unhex(root, cp->root, VS_HASH_LEN) != VS_OK ||
	    vs_unhex(key, cp->keyid, VS_HASH_LEN) != VS_OK ||
	    vs_unhex(sig, cp->sig, VS_SIG_LEN) != VS_OK)
		goto bad;
	cp->size = size;
	/* Canonical only: the line must be exactly what we would write. */
	if (vs_audit_checkpoint_format(cp, again, sizeof again, &len) != VS_OK || len != n ||
	    memcmp(again, line, n) != 0)
		goto bad;
	return VS_OK;
bad:
	memset(cp, 0, sizeof *cp);
	return vs_fail(VS_E_INTEGRITY, "not a canonical checkpoint line");
}

VS_MUST_USE vs_err vs_audit_checkpoint_verify(const vs_audit_checkpoint *cp, const uint8_t pub[VS_PUB_LEN])
{
	char line[VS_AUDIT_CP_LINE_MAX];
	size_t n;
	uint8_t id[VS_HASH_LEN];
	VS_TRY(vs_pub_keyid(pub, id));
	if (memcmp(id, cp->keyid, VS_HASH_LEN) != 0)
		return vs_fail(VS_E_INTEGRITY, "checkpoint at size %" PRIu64
					       " is signed by another key", cp->size);
	VS_TRY(vs_audit_checkpoint_format(cp, line, sizeof line, &n));
	if (vs_verify(pub, line, vs_audit_checkpoint_sig_span(line, n), cp->sig) != VS_OK)
		return vs_fail(VS_E_INTEGRITY, "checkpoint at size %" PRIu64
					       ": signature does not verify", cp->size);
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_latest_checkpoint(const char *dir, vs_audit_checkpoint *cp)
{
	char path[4096];
	vs_audit_map m;
	snprintf(path, sizeof path, "%s/checkpoints", dir);
	VS_TRY(vs_audit_map_open(path, &m));
	vs_err rc;
	size_t end = m.len;
	while (end > 0 && m.p[end - 1] != '\n') /* a torn last line is not a checkpoint */
		end--;
	if (end > 0)
		end--;
	size_t start = end;
	while (start > 0 && m.p[start - 1] != '\n')
		start--;
	if (end == start)
		rc = vs_fail(VS_E_USAGE, "no audit checkpoint yet");
	else
		rc = vs_audit_checkpoint_parse(m.p + start, end - start, cp);
	vs_audit_map_close(&m);
	return rc;
}
