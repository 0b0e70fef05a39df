/* DIR/anchor-witness: the etcd keys this log's anchor was written to, one
 * line per etcd cluster (docs/audit.md, "The signed anchor in etcd"). A
 * holder of this host's etcd credentials can delete the anchor key (etcd's
 * RBAC does not tell delete from put); the witness, in the home where that
 * attacker cannot write, says there was one and which one.
 *
 *   vnfsafe-anchor-witness 1
 *   etcd CLUSTER_ID CREATE_REVISION      (decimal, clusters in ascending order)
 *
 * Parsed strictly: only the exact canonical form is accepted. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnfsafe/audit.h"
#include "vnfsafe/fsutil.h"

#define MAGIC "vnfsafe-anchor-witness 1\n"
#define LINE_MAX_LEN 64

static int cmp(const void *a, const void *b)
{
	const vs_anchor_witness *x = a, *y = b;
	return x->cluster < y->cluster ? -1 : x->cluster > y->cluster;
}

/* The canonical text of w[0..n) (sorted, distinct clusters); NULL: invalid. */
static char *encode(const vs_anchor_witness *w, size_t n)
{
	size_t cap = sizeof MAGIC + n * LINE_MAX_LEN, len = strlen(MAGIC);
	char *s = malloc(cap);
	if (!s)
		return NULL;
	memcpy(s, MAGIC, len + 1);
	for (size_t i = 0; i < n; i++) {
		if (w[i].cluster == 0 || w[i].create_rev == 0 ||
		    (i > 0 && w[i].cluster <= w[i - 1].cluster)) {
			free(s);
			return NULL;
		}
		len += (size_t)snprintf(s + len, cap - len, "etcd %" PRIu64 " %" PRIu64 "\n",
					w[i].cluster, w[i].create_rev);
	}
	return s;
}

static bool parse_u64(const char **p, char end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (*s < '1' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s != end)
		return false;
	*out = v;
	*p = s + 1;
	return true;
}

VS_MUST_USE vs_err vs_audit_witness_parse(const char *text, size_t len, vs_anchor_witness *w, size_t cap,
			      size_t *n)
{
	*n = 0;
	if (memchr(text, 0, len) || len < strlen(MAGIC) || memcmp(text, MAGIC, strlen(MAGIC)))
		return vs_fail(VS_E_INTEGRITY, "not an anchor witness file");
	const char *p = text + strlen(MAGIC), *end = text + len;
	while (p < end) {
		if (*n == cap || end - p < 5 || memcmp(p, "etcd ", 5))
			return vs_fail(VS_E_INTEGRITY, "anchor witness file: bad line %zu", *n + 2);
		p += 5;
		vs_anchor_witness x;
		/* Every line ends in '\n' inside [text, end): the digits stop there. */
		if (!memchr(p, '\n', (size_t)(end - p)) || !parse_u64(&p, ' ', &x.cluster) ||
		    !parse_u64(&p, '\n', &x.create_rev))
			return vs_fail(VS_E_INTEGRITY, "anchor witness file: bad line %zu", *n + 2);
		w[(*n)++] = x;
	}
	char *again = encode(w, *n);
	bool same = again && strlen(again) == len && !memcmp(again, text, len);
	free(again);
	return same ? VS_OK : vs_fail(VS_E_INTEGRITY, "anchor witness file is not canonical");
}

VS_MUST_USE vs_err vs_audit_witness_read(const char *dir, vs_anchor_witness *w, size_t cap, size_t *n)
{
	char path[4200];
	uint8_t *p = NULL;
	size_t len = 0;
	*n = 0;
	if ((size_t)snprintf(path, sizeof path, "%s/anchor-witness", dir) >= sizeof path)
		return vs_fail(VS_E_USAGE, "audit directory path too long");
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return VS_OK;
	VS_TRY(vs_read_small_file(path, sizeof MAGIC + cap * LINE_MAX_LEN, &p, &len));
	/* vs_read_small_file gives the bytes; the parser wants a NUL-free text. */
	char *text = malloc(len + 1);
	vs_err rc = text ? VS_OK : vs_fail(VS_E_ENV, "out of memory");
	if (rc == VS_OK) {
		memcpy(text, p, len);
		text[len] = 0;
		rc = vs_audit_witness_parse(text, len, w, cap, n);
	}
	free(text);
	free(p);
	return rc == VS_E_INTEGRITY ? vs_wrap(rc, "%s", path) : rc;
}

/* Written to a temporary file, synced, renamed over the old one. */
VS_MUST_USE vs_err vs_audit_witness_write(const char *dir, vs_anchor_witness *w, size_t n)
{
	char tmp[4200], path[4200];
	qsort(w, n, sizeof *w, cmp);
	char *text = encode(w, n);
	if (!text)
		return vs_fail(VS_E_USAGE, "invalid anchor witness");
	snprintf(tmp, sizeof tmp, "%s/anchor-witness.tmp", dir);
	snprintf(path, sizeof path, "%s/anchor-witness", dir);
	vs_err rc = unlink(tmp) == 0 || errno == ENOENT
			    ? vs_write_new_file(tmp, text, strlen(text), 0600)
			    : vs_fail_errno(VS_E_ENV, "cannot remove %s", tmp);
	free(text);
	if (rc == VS_OK && rename(tmp, path) != 0) {
		rc = vs_fail_errno(VS_E_ENV, "cannot replace %s", path);
		unlink(tmp);
	}
	return rc == VS_OK ? vs_fsync_path(dir) : rc;
}
