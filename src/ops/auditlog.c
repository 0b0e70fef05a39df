/* The home's audit log and its anchor in the ledger (docs/audit.md):
 * after every audited command the ledger records how far this host's log
 * went (records, byte offset, last leaf hash); a log that no longer holds
 * that record was truncated, replaced or rolled back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/ops.h"

VS_MUST_USE vs_err vs_home_audit_dir(const vs_home *h, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "%s/audit", vs_home_path(h)) >= cap)
		return vs_fail(VS_E_USAGE, "home path too long");
	return VS_OK;
}

static VS_MUST_USE vs_err check_seed_path(const char *seed)
{
	char dir[4096], base[4096];
	struct stat st;
	VS_TRY(vs_split_path(seed, dir, sizeof dir, base, sizeof base));
	if (lstat(seed, &st) == 0)
		return vs_fail_field(VS_E_USAGE, VS_F_AUDIT_SEED,
				     "seed file %s already exists%s; name a new file", seed,
				     S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
	if (errno != ENOENT && errno != ENOTDIR)
		return vs_set_field(vs_fail_errno(VS_E_ENV, "cannot check seed file %s", seed),
				    VS_F_AUDIT_SEED);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return vs_fail_field(VS_E_USAGE, VS_F_AUDIT_SEED,
				     "seed file %s: directory %s does not exist", seed, dir);
	return VS_OK;
}

static VS_MUST_USE vs_err build_log(const char *stage, const char *seed, uint64_t interval)
{
	vs_home *h;
	char dir[4200];
	VS_TRY(vs_home_open(&h, stage));
	vs_err rc = vs_home_audit_dir(h, dir, sizeof dir);
	if (rc == VS_OK) {
		vs_audit_opts ao = { .host = vs_home_host(h), .signer = vs_home_signer(h) };
		rc = vs_audit_init(dir, seed, vs_home_signer(h), interval, &ao);
	}
	vs_home_close(h);
	return rc;
}

VS_MUST_USE vs_err vs_home_create(const char *path, const char *seed_path, uint64_t interval,
		      char *seed_out, size_t cap)
{
	char stage[4096], seed[4200];
	if (seed_path)
		VS_TRY(check_seed_path(seed_path));
	VS_TRY(vs_home_init_stage(path, stage, sizeof stage));
	vs_err rc = VS_OK;
	if ((size_t)snprintf(seed, sizeof seed, "%s", seed_path ? seed_path : "") >= sizeof seed ||
	    (!seed_path && (size_t)snprintf(seed, sizeof seed, "%s/audit-seed", stage) >= sizeof seed))
		rc = vs_fail(VS_E_USAGE, "home path too long");
	if (rc == VS_OK)
		rc = build_log(stage, seed, interval);
	vs_fault("init.before_rename");
	if (rc == VS_OK)
		rc = vs_home_init_commit(stage, path);
	if (rc != VS_OK) {
		struct stat st;
		/* The seed was absent when checked: a file of ours there now is the one just written. */
		if (seed_path && lstat(seed_path, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid())
			unlink(seed_path);
		vs_home_init_abort(stage);
		return rc;
	}
	if ((size_t)snprintf(seed_out, cap, "%s", seed_path ? seed_path : "") >= cap ||
	    (!seed_path && (size_t)snprintf(seed_out, cap, "%s/audit-seed", path) >= cap))
		return vs_fail(VS_E_USAGE, "home path too long");
	return VS_OK;
}

/* The complete line that ends (with its '\n') exactly at byte `end`. */
static VS_MUST_USE vs_err line_before(int fd, uint64_t end, char *buf, size_t cap, size_t *len,
			  uint64_t *start)
{
	if (end == 0)
		return vs_fail(VS_E_INTEGRITY, "no record ends at byte 0");
	size_t want = end < cap ? (size_t)end : cap;
	off_t from = (off_t)(end - want);
	ssize_t n = pread(fd, buf, want, from);
	if (n < 0)
		return vs_fail_errno(VS_E_ENV, "cannot read the audit log");
	if ((size_t)n != want || buf[want - 1] != '\n')
		return vs_fail(VS_E_INTEGRITY, "no complete record ends at byte %llu",
			       (unsigned long long)end);
	size_t i = want - 1;
	while (i > 0 && buf[i - 1] != '\n')
		i--;
	if (i == 0 && from != 0)
		return vs_fail(VS_E_INTEGRITY, "the record ending at byte %llu is too long",
			       (unsigned long long)end);
	*start = (uint64_t)from + i;
	*len = want - 1 - i;
	memmove(buf, buf + i, *len);
	return VS_OK;
}

/* Seq and leaf hash of the record ending at `end`. */
static VS_MUST_USE vs_err record_at(int fd, uint64_t end, uint64_t *seq, uint8_t leaf[VS_HASH_LEN])
{
	size_t cap = VS_AUDIT_LINE_MAX + 1, len = 0;
	uint64_t start = 0;
	char *buf = malloc(cap);
	vs_audit_record *r = malloc(sizeof *r);
	vs_err rc = buf && r ? line_before(fd, end, buf, cap, &len, &start)
			     : vs_fail(VS_E_ENV, "out of memory");
	if (rc == VS_OK)
		rc = vs_audit_record_parse(buf, len, r);
	if (rc == VS_OK) {
		*seq = r->seq;
		rc = vs_merkle_leaf_hash(buf, len, leaf);
	}
	free(buf);
	free(r);
	return rc;
}

static VS_MUST_USE vs_err open_log(const char *dir, int *fd, uint64_t *size)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof path, "%s/log", dir);
	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return vs_fail_errno(errno == ENOENT ? VS_E_INTEGRITY : VS_E_ENV,
				     "cannot open the audit log %s", path);
	if (fstat(*fd, &st) != 0) {
		close(*fd);
		return vs_fail_errno(VS_E_ENV, "cannot stat %s", path);
	}
	*size = (uint64_t)st.st_size;
	return VS_OK;
}

static VS_MUST_USE vs_err tail_of(int fd, uint64_t size, vs_log_anchor *tail)
{
	/* A torn tail (no final '\n') is not a record: step back to the last
	 * complete line. */
	char c[4096];
	uint64_t end = size;
	memset(tail, 0, sizeof *tail);
	while (end > 0) {
		size_t want = end < sizeof c ? (size_t)end : sizeof c;
		ssize_t n = pread(fd, c, want, (off_t)(end - want));
		if (n != (ssize_t)want)
			return vs_fail_errno(VS_E_ENV, "cannot read the audit log");
		size_t i = want;
		while (i > 0 && c[i - 1] != '\n')
			i--;
		if (i > 0) {
			end = end - want + i;
			break;
		}
		end -= want;
	}
	if (end == 0)
		return VS_OK;
	tail->offset = end;
	return record_at(fd, end, &tail->size, tail->head);
}

static VS_MUST_USE vs_err check_fd(int fd, uint64_t size, const vs_log_anchor *a)
{
	uint64_t seq = 0;
	uint8_t leaf[VS_HASH_LEN];
	vs_err rc = a->offset <= size ? record_at(fd, a->offset, &seq, leaf)
				       : vs_fail(VS_E_INTEGRITY, "the log is shorter");
	if (rc == VS_E_ENV)
		return rc;
	if (rc != VS_OK || seq != a->size || memcmp(leaf, a->head, VS_HASH_LEN) != 0)
		return vs_fail(VS_E_INTEGRITY,
			       "the audit log does not hold the record the ledger anchored (seq %llu "
			       "ending at byte %llu): it was truncated, replaced or rolled back",
			       (unsigned long long)a->size, (unsigned long long)a->offset);
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_tail(const char *dir, vs_log_anchor *tail)
{
	int fd;
	uint64_t size;
	VS_TRY(open_log(dir, &fd, &size));
	vs_err rc = tail_of(fd, size, tail);
	close(fd);
	return rc;
}

VS_MUST_USE vs_err vs_audit_check_anchor(const char *dir, const vs_log_anchor *a)
{
	int fd;
	uint64_t size;
	VS_TRY(open_log(dir, &fd, &size));
	vs_err rc = check_fd(fd, size, a);
	close(fd);
	return rc;
}

/* The witness entry of a's etcd cluster in w[0..n), or NULL. */
static vs_anchor_witness *witness_of(vs_anchor_witness *w, size_t n, const vs_log_anchor *a)
{
	for (size_t i = 0; i < n; i++)
		if (w[i].cluster == a->kv_cluster)
			return &w[i];
	return NULL;
}

VS_MUST_USE vs_err vs_audit_witness_check(const char *dir, const vs_log_anchor *a, bool found)
{
	vs_anchor_witness w[VS_WITNESS_MAX];
	size_t n;
	if (!a->kv_cluster)
		return VS_OK; /* not etcd: the TPM binding or nothing (docs/ledger.md) */
	VS_TRY(vs_audit_witness_read(dir, w, VS_WITNESS_MAX, &n));
	const vs_anchor_witness *mine = witness_of(w, n, a);
	if (!mine)
		return VS_OK;
	if (!found)
		return vs_fail(VS_E_INTEGRITY,
			       "this host's audit anchor is gone from etcd cluster %" PRIu64 ", where "
			       "this log was anchored (key created at revision %" PRIu64 "): deleted "
			       "by someone holding etcd credentials",
			       mine->cluster, mine->create_rev);
	if (a->kv_create_rev != mine->create_rev)
		return vs_fail(VS_E_INTEGRITY,
			       "this host's audit anchor in etcd cluster %" PRIu64 " was deleted and "
			       "recreated (created at revision %" PRIu64 "; this log was anchored "
			       "in the key created at revision %" PRIu64 ")",
			       mine->cluster, a->kv_create_rev, mine->create_rev);
	return VS_OK;
}

/* After the first anchoring in an etcd cluster: the witness names the key. */
VS_MUST_USE vs_err vs_audit_witness_note(const char *dir, vs_ledger *l, const char *host)
{
	vs_anchor_witness w[VS_WITNESS_MAX];
	size_t n;
	vs_log_anchor a;
	bool found;
	VS_TRY(vs_ledger_log_anchor_get(l, host, &a, &found));
	if (!found || !a.kv_cluster)
		return VS_OK;
	VS_TRY(vs_audit_witness_read(dir, w, VS_WITNESS_MAX, &n));
	vs_anchor_witness *mine = witness_of(w, n, &a);
	if (mine && mine->create_rev == a.kv_create_rev)
		return VS_OK;
	if (!mine && n == VS_WITNESS_MAX)
		return vs_fail(VS_E_USAGE, "this log is anchored in too many etcd clusters (%d)",
			       VS_WITNESS_MAX);
	if (!mine)
		mine = &w[n++];
	*mine = (vs_anchor_witness){ a.kv_cluster, a.kv_create_rev };
	return vs_audit_witness_write(dir, w, n);
}

static VS_MUST_USE vs_err sync_locked(const char *dir, int fd, uint64_t size, vs_ledger *l, const char *host,
			  vs_log_anchor *out)
{
	vs_log_anchor cur, tail;
	bool found;
	vs_anchor_witness w[VS_WITNESS_MAX];
	size_t n = 0;
	VS_TRY(vs_ledger_log_anchor_get(l, host, &cur, &found));
	VS_TRY(vs_audit_witness_check(dir, &cur, found));
	if (found)
		VS_TRY(check_fd(fd, size, &cur));
	VS_TRY(tail_of(fd, size, &tail));
	if (tail.size > 0)
		VS_TRY(vs_ledger_log_anchor_advance(l, host, &tail));
	if (cur.kv_cluster) {
		VS_TRY(vs_audit_witness_read(dir, w, VS_WITNESS_MAX, &n));
		if (!found || !witness_of(w, n, &cur))
			VS_TRY(vs_audit_witness_note(dir, l, host));
	}
	if (out)
		*out = tail.size ? tail : cur;
	return VS_OK;
}

/* Under the log's flock (the writer takes it to append): the tail cannot
 * move between the check and the advance. */
VS_MUST_USE vs_err vs_audit_anchor_sync(const char *dir, vs_ledger *l, const char *host, vs_log_anchor *out)
{
	int fd;
	uint64_t size;
	struct stat st;
	VS_TRY(open_log(dir, &fd, &size));
	vs_err rc = vs_lock_exclusive(fd, "the audit log");
	if (rc == VS_OK)
		rc = fstat(fd, &st) == 0 ? sync_locked(dir, fd, (uint64_t)st.st_size, l, host, out)
					 : vs_fail_errno(VS_E_ENV, "cannot stat the audit log");
	close(fd); /* drops the flock */
	return rc;
}
