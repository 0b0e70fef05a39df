/* DIR/frontier: the writer's saved tail (docs/audit.md), so that opening the
 * log costs the same at 10 records and at 10 million. A cache, never an
 * authority: the writer checks it against the log's last record before it
 * uses it, and rebuilds from the whole log when anything does not match. */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"

#define MAGIC "vnfsafe-audit-frontier 1\n"

static unsigned popcount64(uint64_t x)
{
	unsigned n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

VS_MUST_USE vs_err vs_audit_frontier_format(const vs_audit_frontier *f, char *out, size_t cap,
					    size_t *len)
{
	char leaf[2 * VS_HASH_LEN + 1], node[2 * VS_HASH_LEN + 1];
	if (f->size == 0 || f->depth != popcount64(f->size) || f->time_us < 0 ||
	    f->offset < f->size)
		return vs_fail(VS_E_USAGE, "not a frontier of a non-empty log");
	vs_hex(f->leaf, VS_HASH_LEN, leaf);
	int n = snprintf(out, cap,
			 MAGIC "size %" PRIu64 "\noffset %" PRIu64 "\nleaf %s\ntime %" PRId64
			       "\nepoch %" PRIu64 "\n",
			 f->size, f->offset, leaf, f->time_us, f->epoch);
	if (n < 0 || (size_t)n >= cap)
		return vs_fail(VS_E_USAGE, "frontier does not fit");
	size_t used = (size_t)n;
	for (unsigned i = 0; i < f->depth; i++) {
		vs_hex(f->node[i], VS_HASH_LEN, node);
		n = snprintf(out + used, cap - used, "node %s\n", node);
		if (n < 0 || (size_t)n >= cap - used)
			return vs_fail(VS_E_USAGE, "frontier does not fit");
		used += (size_t)n;
	}
	*len = used;
	return VS_OK;
}

/* "name <64 hex>\n" at text[*at]. */
static bool take_hash(const char *text, size_t n, size_t *at, const char *name,
		      uint8_t out[VS_HASH_LEN])
{
	size_t k = strlen(name), need = k + 1 + 2 * VS_HASH_LEN + 1;
	char hex[2 * VS_HASH_LEN + 1];
	if (n - *at < need || memcmp(text + *at, name, k) != 0 || text[*at + k] != ' ' ||
	    text[*at + need - 1] != '\n')
		return false;
	memcpy(hex, text + *at + k + 1, 2 * VS_HASH_LEN);
	hex[2 * VS_HASH_LEN] = 0;
	for (size_t i = 0; i < 2 * VS_HASH_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	if (vs_unhex(hex, out, VS_HASH_LEN) != VS_OK)
		return false;
	*at += need;
	return true;
}

/* "name <decimal>\n" at text[*at]: canonical (no sign, no leading zero). */
static bool take_u64(const char *text, size_t n, size_t *at, const char *name, uint64_t *out)
{
	size_t k = strlen(name), i = *at + k + 1;
	uint64_t v = 0;
	if (n - *at < k + 3 || memcmp(text + *at, name, k) != 0 || text[*at + k] != ' ')
		return false;
	size_t start = i;
	for (; i < n && text[i] >= '0' && text[i] <= '9'; i++) {
		unsigned d = (unsigned)(text[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (i == start || i - start > 20 || i >= n || text[i] != '\n' ||
	    (text[start] == '0' && i - start > 1))
		return false;
	*out = v;
	*at = i + 1;
	return true;
}

VS_MUST_USE vs_err vs_audit_frontier_parse(const char *text, size_t n, vs_audit_frontier *f)
{
	size_t at = sizeof MAGIC - 1;
	uint64_t t = 0;
	memset(f, 0, sizeof *f);
	bool ok = n >= at && memcmp(text, MAGIC, at) == 0 && take_u64(text, n, &at, "size", &f->size) &&
		  take_u64(text, n, &at, "offset", &f->offset) &&
		  take_hash(text, n, &at, "leaf", f->leaf) && take_u64(text, n, &at, "time", &t) &&
		  t <= (uint64_t)INT64_MAX && take_u64(text, n, &at, "epoch", &f->epoch) &&
		  f->size > 0 && f->offset >= f->size;
	f->time_us = (int64_t)t;
	if (ok)
		f->depth = popcount64(f->size);
	for (unsigned i = 0; ok && i < f->depth; i++)
		ok = take_hash(text, n, &at, "node", f->node[i]);
	if (!ok || at != n) {
		memset(f, 0, sizeof *f);
		return vs_fail(VS_E_INTEGRITY, "not a canonical audit frontier");
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_frontier_read(const char *dir, vs_audit_frontier *f)
{
	char path[4200];
	uint8_t *p = NULL;
	size_t n = 0;
	snprintf(path, sizeof path, "%s/frontier", dir);
	memset(f, 0, sizeof *f);
	VS_TRY(vs_read_small_file(path, VS_AUDIT_FRONTIER_MAX, &p, &n));
	vs_err rc = vs_audit_frontier_parse((const char *)p, n, f);
	free(p);
	return rc;
}

/* Replaced atomically, without fsync: the frontier is checked against the
 * log at every open, so a lost or zeroed file after a power cut only means
 * a full rebuild (or an extension from the older one). The records it
 * covers are synced before it is written. */
VS_MUST_USE vs_err vs_audit_frontier_write(const char *dir, const vs_audit_frontier *f)
{
	char tmp[4200], path[4200], *buf = malloc(VS_AUDIT_FRONTIER_MAX);
	size_t n = 0;
	if (!buf)
		return vs_fail(VS_E_ENV, "out of memory");
	vs_err rc = vs_audit_frontier_format(f, buf, VS_AUDIT_FRONTIER_MAX, &n);
	snprintf(tmp, sizeof tmp, "%s/frontier.tmp", dir);
	snprintf(path, sizeof path, "%s/frontier", dir);
	if (rc == VS_OK && unlink(tmp) != 0 && errno != ENOENT)
		rc = vs_fail_errno(VS_E_ENV, "cannot remove %s", tmp);
	int fd = rc == VS_OK ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)
			     : -1;
	if (rc == VS_OK && fd < 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot create %s", tmp);
	if (rc == VS_OK)
		rc = vs_write_full(fd, buf, n);
	if (fd >= 0)
		close(fd);
	free(buf);
	vs_fault("audit.frontier_before_rename");
	if (rc == VS_OK && rename(tmp, path) != 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot replace %s", path);
	if (rc != VS_OK)
		unlink(tmp);
	vs_fault("audit.frontier_after_rename");
	return rc;
}
