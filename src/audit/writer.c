/* The audit log writer: durable appends with group commit (threads) and an
 * flock on DIR/log (processes), forward key evolution, torn-tail repair and
 * automatic checkpoints (docs/audit.md). */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"

typedef struct waiter {
	pthread_cond_t cv; /* signalled when done, or when it is to lead */
	const vs_audit_event *ev; /* n events, appended in a row */
	size_t n;
	uint64_t seq; /* of the first */
	vs_err rc;
	vs_reason why; /* rc's reason, carried like msg to the waiter's thread */
	bool done;
	char msg[256];
	struct waiter *next;
} waiter;

struct vs_audit {
	char dir[4096];
	char log_path[4200];
	int fd;
	vs_audit_params params;
	const vs_signer *signer;
	uint8_t keyid[VS_HASH_LEN];
	uint64_t cp_every;
	vs_audit_clock clock;
	void *clock_ctx;
	char host[VS_AUDIT_HOST_MAX + 1];
	bool broken; /* a failed fdatasync: the file state is unknown */

	/* The log's tail, valid under the flock after resync(). */
	uint64_t seq;
	uint8_t last_leaf[VS_HASH_LEN];
	int64_t last_time;
	uint64_t last_epoch;
	uint64_t size;
	vs_merkle tree;
	uint64_t cp_size;
	bool started;          /* the tail was found once (frontier or whole log) */
	uint64_t frontier_off; /* the log offset DIR/frontier is known to cover */
	vs_audit_open_info info;

	/* The current epoch key (the only one kept). */
	vs_key key;
	uint64_t key_epoch;
	struct stat key_st;
	vs_audit_mac mac;

	pthread_mutex_t io; /* one committer at a time in this process */
	pthread_mutex_t mu; /* the queue below */
	pthread_cond_t cv;
	waiter *head, **tail;
	bool leader;

	char *buf;
	size_t cap;
};

static int64_t real_clock(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_us(const vs_audit *a)
{
	return a->clock ? a->clock(a->clock_ctx) : real_clock(NULL);
}

/* --- init --- */

static VS_MUST_USE vs_err create_empty(const char *dir, const char *name, mode_t mode)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return vs_write_new_file(path, "", 0, mode);
}

VS_MUST_USE vs_err vs_audit_init(const char *dir, const char *seed_path, const vs_signer *signer,
		     uint64_t interval, const vs_audit_opts *opts)
{
	char path[4200];
	struct stat st;
	if (!signer)
		return vs_fail(VS_E_USAGE, "audit init needs the host signing key");
	if (interval == 0)
		interval = VS_AUDIT_DEFAULT_INTERVAL;
	if (interval > VS_AUDIT_INTERVAL_MAX)
		return vs_fail(VS_E_USAGE, "audit key interval must be 1..%u seconds",
			       VS_AUDIT_INTERVAL_MAX);
	if (strlen(dir) >= 4000)
		return vs_fail(VS_E_USAGE, "audit directory path too long");
	snprintf(path, sizeof path, "%s/log", dir);
	if (lstat(path, &st) == 0)
		return vs_fail(VS_E_USAGE, "an audit log already exists in %s", dir);
	/* Built in a staging directory and renamed into place: a crash never
	 * leaves a half-made log directory that no writer could open. */
	char parent[4200], base[4200], stage[4300];
	VS_TRY(vs_split_path(dir, parent, sizeof parent, base, sizeof base));
	VS_TRY(vs_mkdir_p(parent, 0755));
	snprintf(stage, sizeof stage, "%s.new-%ld", dir, (long)getpid());
	vs_ignore(vs_rm_rf(stage));
	if (mkdir(stage, 0700) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot create %s", stage);

	vs_audit_seed seed;
	memset(&seed, 0, sizeof seed);
	vs_audit_clock clk = opts && opts->clock ? opts->clock : real_clock;
	int64_t now = clk(opts ? opts->clock_ctx : NULL);
	seed.t0 = now / 1000000;
	seed.interval = interval;
	vs_err rc = vs_signer_public(signer, seed.pub);
	if (rc == VS_OK)
		rc = vs_key_generate(&seed.k0);
	/* The seed goes first: without it nobody can check the MACs. */
	if (rc == VS_OK)
		rc = vs_audit_seed_write(seed_path, &seed);
	if (rc == VS_OK)
		rc = vs_fsync_dir_of(seed_path);
	if (rc == VS_OK) {
		vs_audit_params p = { seed.t0, seed.interval, { 0 }, true };
		memcpy(p.pub, seed.pub, VS_PUB_LEN);
		rc = vs_audit_params_write(stage, &p);
	}
	if (rc == VS_OK)
		rc = vs_audit_keyfile_write(stage, 0, &seed.k0);
	if (rc == VS_OK)
		rc = create_empty(stage, "checkpoints", 0644);
	if (rc == VS_OK)
		rc = create_empty(stage, "log", 0640);
	if (rc == VS_OK)
		rc = vs_fsync_path(stage);
	vs_fault("audit.init_before_rename");
	/* An existing empty DIR is replaced; a non-empty one is refused. */
	if (rc == VS_OK && rename(stage, dir) != 0)
		rc = vs_fail_errno(errno == ENOTEMPTY || errno == EEXIST ? VS_E_USAGE : VS_E_ENV,
				   "cannot put the new audit log in place at %s", dir);
	if (rc == VS_OK)
		rc = vs_fsync_path(parent);
	if (rc != VS_OK)
		vs_ignore(vs_rm_rf(stage));
	vs_audit_seed_wipe(&seed);
	return rc;
}

/* --- keys --- */

static VS_MUST_USE vs_err set_key(vs_audit *a, uint64_t epoch, const vs_key *k)
{
	vs_audit_mac_free(&a->mac);
	a->key = *k;
	a->key_epoch = epoch;
	return vs_audit_mac_new(&a->mac, &a->key);
}

static VS_MUST_USE vs_err stat_key(vs_audit *a, struct stat *st)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/key", a->dir);
	if (lstat(path, st) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot stat %s", path);
	return VS_OK;
}

/* Another process may have evolved the key: take the newer one. */
static VS_MUST_USE vs_err refresh_key(vs_audit *a)
{
	struct stat st;
	VS_TRY(stat_key(a, &st));
	if (st.st_ino == a->key_st.st_ino && st.st_mtim.tv_sec == a->key_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == a->key_st.st_mtim.tv_nsec && a->mac.ctx)
		return VS_OK;
	vs_key k;
	uint64_t e;
	vs_err rc = vs_audit_keyfile_read(a->dir, &e, &k);
	if (rc == VS_OK && (!a->mac.ctx || e > a->key_epoch))
		rc = set_key(a, e, &k);
	vs_key_wipe(&k);
	a->key_st = st;
	return rc;
}

/* Evolves to epoch e, stores the new key durably, then forgets the old. */
static VS_MUST_USE vs_err evolve_to(vs_audit *a, uint64_t e)
{
	if (e <= a->key_epoch)
		return VS_OK;
	/* Never replace a key another process already evolved past ours. */
	VS_TRY(refresh_key(a));
	if (e <= a->key_epoch)
		return VS_OK;
	vs_key k = a->key;
	vs_err rc = VS_OK;
	for (uint64_t i = a->key_epoch; i < e && rc == VS_OK; i++)
		rc = vs_audit_key_evolve(&k, &k);
	if (rc == VS_OK)
		rc = vs_audit_keyfile_write(a->dir, e, &k);
	if (rc == VS_OK)
		rc = set_key(a, e, &k);
	if (rc == VS_OK)
		rc = stat_key(a, &a->key_st);
	vs_key_wipe(&k);
	return rc;
}

/* --- reading the tail --- */

static VS_MUST_USE vs_err take_line(vs_audit *a, const char *line, size_t n, uint64_t off)
{
	vs_audit_record *r = malloc(sizeof *r);
	if (!r)
		return vs_fail(VS_E_ENV, "out of memory");
	vs_err rc = VS_OK;
	uint8_t leaf[VS_HASH_LEN];
	if (vs_audit_record_parse(line, n, r) != VS_OK || r->seq != a->seq + 1 ||
	    memcmp(r->prev, a->last_leaf, VS_HASH_LEN) != 0 || r->epoch < a->last_epoch ||
	    r->time_us < a->last_time)
		rc = vs_refuse(VS_E_INTEGRITY, VS_R_LOG_DAMAGED, NULL,
			       "audit log damaged at byte %" PRIu64 " (record %" PRIu64
			       "); refusing to append",
			       off, a->seq + 1);
	if (rc == VS_OK)
		rc = vs_audit_hash2(a->tree.md, 0x00, line, n, NULL, 0, leaf);
	if (rc == VS_OK)
		rc = vs_merkle_add(&a->tree, leaf);
	if (rc == VS_OK) {
		a->seq = r->seq;
		memcpy(a->last_leaf, leaf, VS_HASH_LEN);
		a->last_time = r->time_us;
		a->last_epoch = r->epoch;
	}
	free(r);
	return rc;
}

/* Reads what other writers appended since we last looked; *torn_off/len
 * describe a partial last line (a writer died mid-write; we hold the lock). */
static VS_MUST_USE vs_err resync(vs_audit *a, uint64_t *torn_off, uint64_t *torn_len)
{
	struct stat st;
	*torn_len = 0;
	if (fstat(a->fd, &st) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot stat %s", a->log_path);
	uint64_t size = (uint64_t)st.st_size;
	if (size < a->size)
		return vs_refuse(VS_E_INTEGRITY, VS_R_LOG_DAMAGED, NULL,
				 "audit log shrank from %" PRIu64 " to %" PRIu64
				 " bytes; refusing to append",
				 a->size, size);
	if (size == a->size)
		return VS_OK;
	vs_audit_map m;
	VS_TRY(vs_audit_map_open(a->log_path, &m));
	vs_err rc = VS_OK;
	uint64_t off = a->size, end = m.len < size ? m.len : size;
	while (off < end && rc == VS_OK) {
		const char *nl = memchr(m.p + off, '\n', end - off);
		if (!nl) {
			*torn_off = off;
			*torn_len = end - off;
			break;
		}
		size_t n = (size_t)(nl - (m.p + off));
		rc = take_line(a, m.p + off, n, off);
		if (rc == VS_OK)
			a->size = off += n + 1;
	}
	vs_audit_map_close(&m);
	return rc;
}

/* --- the frontier (DIR/frontier, src/audit/frontier.c) --- */

static unsigned popcount64(uint64_t size)
{
	unsigned n = 0;
	for (; size; size &= size - 1)
		n++;
	return n;
}

/* The record ending at byte end (its '\n' at end - 1): *start and *n in buf
 * (VS_AUDIT_LINE_MAX + 1 bytes). false when no whole record ends there. */
static VS_MUST_USE vs_err line_ending_at(vs_audit *a, uint64_t end, char *buf, size_t *start,
					 size_t *n, bool *found)
{
	size_t want = end < VS_AUDIT_LINE_MAX + 1 ? (size_t)end : VS_AUDIT_LINE_MAX + 1;
	uint64_t from = end - want;
	*found = false;
	if (pread(a->fd, buf, want, (off_t)from) != (ssize_t)want)
		return vs_fail_errno(VS_E_ENV, "cannot read %s", a->log_path);
	if (want == 0 || buf[want - 1] != '\n')
		return VS_OK;
	size_t i = want - 1;
	while (i > 0 && buf[i - 1] != '\n')
		i--;
	if (i == 0 && from != 0)
		return VS_OK; /* longer than any record */
	*start = i;
	*n = want - 1 - i;
	*found = true;
	return VS_OK;
}

/* Does the log hold, ending at f->offset, the record f names? */
static VS_MUST_USE vs_err frontier_matches(vs_audit *a, const vs_audit_frontier *f, uint64_t log_size,
					   const char **why)
{
	char *buf = malloc(VS_AUDIT_LINE_MAX + 1);
	vs_audit_record *r = malloc(sizeof *r);
	size_t start = 0, n = 0;
	bool found = false;
	uint8_t leaf[VS_HASH_LEN] = { 0 };
	vs_err rc = buf && r ? VS_OK : vs_fail(VS_E_ENV, "out of memory");
	*why = NULL;
	if (rc == VS_OK && f->offset > log_size)
		*why = "it lies beyond the log's end";
	if (rc == VS_OK && !*why)
		rc = line_ending_at(a, f->offset, buf, &start, &n, &found);
	if (rc == VS_OK && !*why && !found)
		*why = "no record ends at its offset";
	if (rc == VS_OK && !*why &&
	    (vs_audit_record_parse(buf + start, n, r) != VS_OK || r->seq != f->size ||
	     r->epoch != f->epoch || r->time_us != f->time_us ||
	     (f->offset - n - 1 == 0) != (f->size == 1)))
		*why = "the record at its offset is not the one it names";
	if (rc == VS_OK && !*why)
		rc = vs_audit_hash2(a->tree.md, 0x00, buf + start, n, NULL, 0, leaf);
	if (rc == VS_OK && !*why && memcmp(leaf, f->leaf, VS_HASH_LEN) != 0)
		*why = "the record at its offset has another hash";
	free(buf);
	free(r);
	return rc;
}

static void adopt(vs_audit *a, const vs_audit_frontier *f)
{
	a->seq = f->size;
	a->size = f->offset;
	memcpy(a->last_leaf, f->leaf, VS_HASH_LEN);
	a->last_time = f->time_us;
	a->last_epoch = f->epoch;
	a->tree.size = f->size;
	a->tree.depth = f->depth;
	memcpy(a->tree.stack, f->node, (size_t)f->depth * VS_HASH_LEN);
}

/* The signed checkpoint of the same size, when there is one, must agree. */
static VS_MUST_USE vs_err checkpoint_agrees(vs_audit *a, const char **why)
{
	vs_audit_checkpoint cp;
	uint8_t root[VS_HASH_LEN];
	if (vs_audit_latest_checkpoint(a->dir, &cp) != VS_OK || cp.size != a->seq)
		return VS_OK;
	VS_TRY(vs_merkle_root(&a->tree, root));
	if (memcmp(root, cp.root, VS_HASH_LEN) != 0)
		*why = "its tree head differs from the checkpoint of that size";
	return VS_OK;
}

static void reset_tail(vs_audit *a)
{
	a->seq = a->size = a->last_epoch = 0;
	a->last_time = 0;
	memset(a->last_leaf, 0, VS_HASH_LEN);
	a->tree.size = 0;
	a->tree.depth = 0;
}

/* At open, under the flock: start from DIR/frontier when the log agrees
 * with it; otherwise from byte 0 (the whole log is read, as without one).
 * Never trusted further than the log confirms it. */
static VS_MUST_USE vs_err start_tail(vs_audit *a)
{
	vs_audit_frontier *f = malloc(sizeof *f);
	const char *why = NULL;
	struct stat st;
	if (!f)
		return vs_fail(VS_E_ENV, "out of memory");
	vs_err rc = fstat(a->fd, &st) == 0 ? VS_OK
					   : vs_fail_errno(VS_E_ENV, "cannot stat %s", a->log_path);
	if (rc == VS_OK && st.st_size == 0)
		why = "the log is empty";
	if (rc == VS_OK && !why) {
		vs_err fr = vs_audit_frontier_read(a->dir, f);
		if (fr != VS_OK)
			why = fr == VS_E_INTEGRITY ? "it is not canonical" : "there is none";
	}
	if (rc == VS_OK && !why)
		rc = frontier_matches(a, f, (uint64_t)st.st_size, &why);
	if (rc == VS_OK && !why) {
		adopt(a, f);
		rc = checkpoint_agrees(a, &why);
	}
	if (rc != VS_OK || why)
		reset_tail(a);
	if (rc == VS_OK && !why)
		a->frontier_off = a->size;
	a->info.path = rc == VS_OK && !why ? VS_AUDIT_OPEN_FRONTIER : VS_AUDIT_OPEN_FULL;
	snprintf(a->info.why, sizeof a->info.why, "%s", why ? why : "");
	a->info.start = a->size;
	free(f);
	return rc;
}

/* Best effort after the records are synced: a missing or stale frontier
 * only costs the next open a longer read. */
static void save_frontier(vs_audit *a)
{
	if (a->seq == 0 || a->size == a->frontier_off || a->broken)
		return;
	vs_audit_frontier *f = malloc(sizeof *f);
	if (!f)
		return;
	memset(f, 0, sizeof *f);
	f->size = a->seq;
	f->offset = a->size;
	f->epoch = a->last_epoch;
	f->time_us = a->last_time;
	memcpy(f->leaf, a->last_leaf, VS_HASH_LEN);
	f->depth = a->tree.depth;
	memcpy(f->node, a->tree.stack, (size_t)a->tree.depth * VS_HASH_LEN);
	if (a->tree.size == a->seq && a->tree.depth == popcount64(a->seq) &&
	    vs_audit_frontier_write(a->dir, f) == VS_OK)
		a->frontier_off = a->size;
	free(f);
}

/* Copies len bytes at off of the log into a new file (chunked: a torn tail
 * can be as long as a whole batch, or whatever an intruder appended). */
static VS_MUST_USE vs_err copy_tail(vs_audit *a, uint64_t off, uint64_t len, const char *path)
{
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return vs_fail_errno(VS_E_ENV, "cannot create %s", path);
	char buf[65536];
	vs_err rc = VS_OK;
	for (uint64_t done = 0; rc == VS_OK && done < len;) {
		size_t want = len - done < sizeof buf ? (size_t)(len - done) : sizeof buf;
		ssize_t r = pread(a->fd, buf, want, (off_t)(off + done));
		if (r <= 0)
			rc = vs_fail_errno(VS_E_ENV, "cannot read the torn tail of %s", a->log_path);
		else
			rc = vs_write_full(out, buf, (size_t)r);
		done += r > 0 ? (uint64_t)r : 0;
	}
	if (rc == VS_OK && fsync(out) != 0)
		rc = vs_fail_errno(VS_E_ENV, "fsync %s", path);
	close(out);
	if (rc != VS_OK)
		unlink(path);
	return rc;
}

/* Moves the partial bytes aside and cuts them off the log. */
static VS_MUST_USE vs_err move_torn(vs_audit *a, uint64_t off, uint64_t len, char *name, size_t cap)
{
	char path[4300];
	vs_err rc = VS_OK;
	for (unsigned i = 0;; i++) {
		if (i > 100)
			return vs_fail(VS_E_ENV, "too many torn-tail files in %s", a->dir);
		if (i == 0)
			snprintf(name, cap, "log.torn-%" PRIu64, off);
		else
			snprintf(name, cap, "log.torn-%" PRIu64 ".%u", off, i);
		snprintf(path, sizeof path, "%s/%s", a->dir, name);
		struct stat st;
		if (lstat(path, &st) != 0)
			break;
	}
	rc = copy_tail(a, off, len, path);
	if (rc == VS_OK)
		rc = vs_fsync_path(a->dir);
	vs_fault("audit.torn_moved");
	if (rc == VS_OK && (ftruncate(a->fd, (off_t)off) != 0 || fsync(a->fd) != 0))
		rc = vs_fail_errno(VS_E_ENV, "cannot cut the torn tail of %s", a->log_path);
	return rc;
}

/* --- writing --- */

static VS_MUST_USE vs_err grow(vs_audit *a, size_t need)
{
	if (need <= a->cap)
		return VS_OK;
	size_t cap = a->cap ? a->cap : 65536;
	while (cap < need)
		cap *= 2;
	char *p = realloc(a->buf, cap);
	if (!p)
		return vs_fail(VS_E_ENV, "out of memory");
	a->buf = p;
	a->cap = cap;
	return VS_OK;
}

static void copy_str(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

/* Formats, MACs and hashes one record at the end of a->buf. */
static VS_MUST_USE vs_err add_record(vs_audit *a, const vs_audit_event *ev, size_t *used,
			 vs_audit_record *r)
{
	int64_t t = now_us(a);
	uint64_t e;
	if (t < a->last_time)
		t = a->last_time; /* the clock stepped back: keep the log ordered */
	VS_TRY(vs_audit_epoch_of(a->params.t0, a->params.interval, t, &e));
	if (e < a->key_epoch) { /* still behind the key: stamp the start of its epoch */
		e = a->key_epoch;
		t = (a->params.t0 + (int64_t)(e * a->params.interval)) * 1000000;
	}
	VS_TRY(evolve_to(a, e));
	memset(r, 0, sizeof *r);
	r->seq = a->seq + 1;
	r->time_us = t;
	r->epoch = e;
	copy_str(r->host, sizeof r->host, a->host);
	copy_str(r->actor, sizeof r->actor, ev->actor);
	r->has_uid = ev->has_uid;
	r->uid = ev->uid;
	copy_str(r->action, sizeof r->action, ev->action);
	copy_str(r->vnf, sizeof r->vnf, ev->vnf);
	copy_str(r->snapshot, sizeof r->snapshot, ev->snapshot);
	r->generation = ev->generation;
	r->outcome = ev->outcome;
	copy_str(r->reason, sizeof r->reason, ev->reason);
	memcpy(r->prev, a->last_leaf, VS_HASH_LEN);
	VS_TRY(grow(a, *used + VS_AUDIT_LINE_MAX));
	char *line = a->buf + *used;
	size_t len;
	VS_TRY(vs_audit_record_format(r, line, VS_AUDIT_LINE_MAX, &len));
	size_t span = vs_audit_mac_span(line, len - 1);
	uint8_t leaf[VS_HASH_LEN];
	char hex[2 * VS_HASH_LEN + 1];
	VS_TRY(vs_audit_mac_run(&a->mac, line, span, r->mac));
	vs_hex(r->mac, VS_HASH_LEN, hex);
	memcpy(line + span + strlen(VS_AUDIT_MAC_KEY), hex, 2 * VS_HASH_LEN);
	VS_TRY(vs_audit_hash2(a->tree.md, 0x00, line, len - 1, NULL, 0, leaf));
	VS_TRY(vs_merkle_add(&a->tree, leaf));
	a->seq = r->seq;
	memcpy(a->last_leaf, leaf, VS_HASH_LEN);
	a->last_time = t;
	a->last_epoch = e;
	*used += len;
	return VS_OK;
}

static VS_MUST_USE vs_err write_log(vs_audit *a, const char *p, size_t n)
{
	/* Split in two when a crash test asks for a kill between the halves. */
	size_t first = vs_fault_armed() ? n / 2 : n;
	vs_fault("audit.before_write");
	VS_TRY(vs_write_full(a->fd, p, first));
	vs_fault("audit.mid_write");
	VS_TRY(vs_write_full(a->fd, p + first, n - first));
	vs_fault("audit.before_sync");
	if (fdatasync(a->fd) != 0) {
		a->broken = true;
		return vs_fail_errno(VS_E_ENV, "fdatasync %s", a->log_path);
	}
	vs_fault("audit.after_sync");
	return VS_OK;
}

/* Cuts a torn last line off DIR/checkpoints (a checkpoint can be redone). */
static VS_MUST_USE vs_err cut_torn_checkpoint(int fd)
{
	struct stat st;
	char tail[VS_AUDIT_CP_LINE_MAX];
	if (fstat(fd, &st) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot stat checkpoints");
	if (st.st_size == 0)
		return VS_OK;
	size_t n = st.st_size < (off_t)sizeof tail ? (size_t)st.st_size : sizeof tail;
	off_t at = st.st_size - (off_t)n;
	if (pread(fd, tail, n, at) != (ssize_t)n)
		return vs_fail_errno(VS_E_ENV, "cannot read checkpoints");
	if (tail[n - 1] == '\n')
		return VS_OK;
	size_t keep = n;
	while (keep > 0 && tail[keep - 1] != '\n')
		keep--;
	if (ftruncate(fd, at + (off_t)keep) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot cut a torn checkpoint");
	return VS_OK;
}

static VS_MUST_USE vs_err write_checkpoint(vs_audit *a, vs_audit_checkpoint *cp)
{
	char path[4200], line[VS_AUDIT_CP_LINE_MAX];
	size_t n;
	memset(cp, 0, sizeof *cp);
	if (!a->signer)
		return vs_fail(VS_E_USAGE, "no signing key: cannot write an audit checkpoint");
	cp->size = a->seq;
	VS_TRY(vs_merkle_root(&a->tree, cp->root));
	cp->time_us = now_us(a);
	if (cp->time_us < a->last_time)
		cp->time_us = a->last_time;
	memcpy(cp->keyid, a->keyid, VS_HASH_LEN);
	VS_TRY(vs_audit_checkpoint_format(cp, line, sizeof line, &n));
	VS_TRY(vs_sign(a->signer, line, vs_audit_checkpoint_sig_span(line, n), cp->sig));
	VS_TRY(vs_audit_checkpoint_format(cp, line, sizeof line - 1, &n));
	line[n++] = '\n';
	snprintf(path, sizeof path, "%s/checkpoints", a->dir);
	int fd = open(path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", path);
	vs_err rc = cut_torn_checkpoint(fd);
	if (rc == VS_OK)
		rc = vs_write_full(fd, line, n);
	if (rc == VS_OK && fdatasync(fd) != 0)
		rc = vs_fail_errno(VS_E_ENV, "fdatasync %s", path);
	close(fd);
	vs_fault("audit.checkpoint_written");
	if (rc == VS_OK)
		a->cp_size = cp->size;
	return rc;
}

static void auto_checkpoint(vs_audit *a)
{
	if (!a->signer || a->seq < a->cp_size + a->cp_every)
		return;
	vs_audit_checkpoint cp;
	if (vs_audit_latest_checkpoint(a->dir, &cp) == VS_OK && cp.size > a->cp_size)
		a->cp_size = cp.size; /* another process wrote one */
	/* The records are durable already: a failed checkpoint is retried on
	 * the next batch (and vs_audit_checkpoint_now reports it). */
	if (a->seq >= a->cp_size + a->cp_every)
		vs_ignore(write_checkpoint(a, &cp));
}

typedef struct {
	uint64_t seq, last_epoch, size;
	int64_t last_time;
	uint8_t last_leaf[VS_HASH_LEN];
	vs_merkle tree;
} tail_state;

static void save_tail(const vs_audit *a, tail_state *s)
{
	s->seq = a->seq;
	s->last_epoch = a->last_epoch;
	s->size = a->size;
	s->last_time = a->last_time;
	memcpy(s->last_leaf, a->last_leaf, VS_HASH_LEN);
	s->tree.md = NULL;
	vs_merkle_copy(&s->tree, &a->tree);
}

static void restore_tail(vs_audit *a, const tail_state *s)
{
	a->seq = s->seq;
	a->last_epoch = s->last_epoch;
	a->size = s->size;
	a->last_time = s->last_time;
	memcpy(a->last_leaf, s->last_leaf, VS_HASH_LEN);
	vs_merkle_copy(&a->tree, &s->tree);
}

/* Under the flock: catch up, repair, write the batch, sync, checkpoint. */
static VS_MUST_USE vs_err commit_locked(vs_audit *a, waiter *batch, vs_audit_checkpoint *cp_out)
{
	uint64_t torn_off = 0, torn_len = 0;
	char torn_name[64], reason[200];
	vs_audit_record *r = NULL;
	tail_state *saved = NULL;
	size_t used = 0;
	bool opening = !a->started;
	if (opening)
		VS_TRY(start_tail(a));
	a->started = true;
	uint64_t before = a->size, seq0 = a->seq;
	VS_TRY(resync(a, &torn_off, &torn_len));
	if (opening)
		a->info.records = a->seq - seq0;
	/* Another process wrote: it may have evolved the key too. (The chain is
	 * deterministic, so an older key only costs derivations; evolve_to
	 * re-reads the file before it replaces it.) */
	if (a->size != before || !a->mac.ctx)
		VS_TRY(refresh_key(a));
	if (a->last_epoch > a->key_epoch) /* the key file is older than the log */
		VS_TRY(evolve_to(a, a->last_epoch));
	vs_audit_event torn = { "vnfsafe", "audit.torn_tail", "", "", 0, VS_AUDIT_OUT_INTEGRITY,
				reason, false, 0 };
	if (torn_len) {
		VS_TRY(move_torn(a, torn_off, torn_len, torn_name, sizeof torn_name));
		snprintf(reason, sizeof reason,
			 "a partial record of %" PRIu64 " bytes at byte %" PRIu64
			 " (a crash mid-write) was moved to %s",
			 torn_len, torn_off, torn_name);
	}
	if (!torn_len && !batch && !cp_out) {
		save_frontier(a); /* after a full read, or one that extended it */
		return VS_OK;
	}
	r = malloc(sizeof *r);
	saved = malloc(sizeof *saved);
	vs_err rc = r && saved ? VS_OK : vs_fail(VS_E_ENV, "out of memory");
	if (rc == VS_OK)
		save_tail(a, saved);
	if (rc == VS_OK && torn_len)
		rc = add_record(a, &torn, &used, r);
	for (waiter *w = batch; w && rc == VS_OK; w = w->next) {
		for (size_t i = 0; i < w->n && rc == VS_OK; i++)
			rc = add_record(a, &w->ev[i], &used, r);
		w->seq = a->seq + 1 - w->n;
	}
	if (rc == VS_OK && used)
		rc = write_log(a, a->buf, used);
	if (rc == VS_OK) {
		a->size += used;
		save_frontier(a);
		if (cp_out)
			rc = write_checkpoint(a, cp_out);
		else
			auto_checkpoint(a);
	} else if (saved) {
		restore_tail(a, saved);
		if (!a->broken && ftruncate(a->fd, (off_t)a->size) != 0)
			a->broken = true;
	}
	free(r);
	free(saved);
	return rc;
}

static VS_MUST_USE vs_err commit(vs_audit *a, waiter *batch, vs_audit_checkpoint *cp_out)
{
	if (a->broken)
		return vs_fail(VS_E_ENV, "audit log %s had a failed sync: reopen it", a->log_path);
	pthread_mutex_lock(&a->io);
	vs_err rc = vs_lock_exclusive(a->fd, a->log_path);
	if (rc == VS_OK) {
		rc = commit_locked(a, batch, cp_out);
		flock(a->fd, LOCK_UN);
	}
	pthread_mutex_unlock(&a->io);
	return rc;
}

/* --- public --- */

VS_MUST_USE vs_err vs_audit_open(vs_audit **out, const char *dir, const vs_audit_opts *opts)
{
	*out = NULL;
	if (strlen(dir) >= 4000)
		return vs_fail(VS_E_USAGE, "audit directory path too long");
	/* A command whose record could not be written does not run. */
	VS_TRY(vs_space_check(dir));
	vs_audit *a = calloc(1, sizeof *a);
	if (!a)
		return vs_fail(VS_E_ENV, "out of memory");
	a->fd = -1;
	snprintf(a->dir, sizeof a->dir, "%s", dir);
	snprintf(a->log_path, sizeof a->log_path, "%s/log", dir);
	pthread_mutex_init(&a->io, NULL);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->tail = &a->head;
	a->signer = opts ? opts->signer : NULL;
	a->cp_every = opts && opts->checkpoint_every ? opts->checkpoint_every
						      : VS_AUDIT_DEFAULT_CHECKPOINT_EVERY;
	a->clock = opts ? opts->clock : NULL;
	a->clock_ctx = opts ? opts->clock_ctx : NULL;
	vs_err rc = vs_merkle_init(&a->tree);
	if (rc == VS_OK)
		rc = vs_audit_params_read(dir, &a->params);
	if (rc == VS_OK && opts && opts->host) {
		if (!vs_audit_text_ok(opts->host, VS_AUDIT_HOST_MAX) || !opts->host[0])
			rc = vs_fail(VS_E_USAGE, "audit host name empty, too long or not UTF-8");
		else
			copy_str(a->host, sizeof a->host, opts->host);
	} else if (rc == VS_OK) {
		if (gethostname(a->host, sizeof a->host - 1) != 0 || !a->host[0] ||
		    !vs_audit_text_ok(a->host, VS_AUDIT_HOST_MAX))
			copy_str(a->host, sizeof a->host, "localhost");
	}
	if (rc == VS_OK && a->signer) {
		uint8_t pub[VS_PUB_LEN];
		rc = vs_signer_public(a->signer, pub);
		if (rc == VS_OK && memcmp(pub, a->params.pub, VS_PUB_LEN) != 0)
			rc = vs_fail(VS_E_USAGE, "this key is not the audit log's checkpoint key");
		if (rc == VS_OK)
			rc = vs_pub_keyid(pub, a->keyid);
	}
	if (rc == VS_OK) {
		a->fd = open(a->log_path, O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
		if (a->fd < 0)
			rc = vs_fail_errno(VS_E_ENV, "cannot open %s", a->log_path);
	}
	if (rc == VS_OK)
		rc = refresh_key(a);
	vs_audit_checkpoint cp;
	if (rc == VS_OK && vs_audit_latest_checkpoint(dir, &cp) == VS_OK)
		a->cp_size = cp.size;
	if (rc == VS_OK)
		rc = commit(a, NULL, NULL); /* read the log, repair a torn tail */
	if (rc != VS_OK) {
		vs_audit_close(a);
		return rc;
	}
	*out = a;
	return VS_OK;
}

void vs_audit_open_info_get(const vs_audit *a, vs_audit_open_info *out)
{
	*out = a->info;
}

void vs_audit_close(vs_audit *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	vs_audit_mac_free(&a->mac);
	vs_key_wipe(&a->key);
	vs_merkle_free(&a->tree);
	pthread_mutex_destroy(&a->io);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a->buf);
	free(a);
}

static VS_MUST_USE vs_err event_check(const vs_audit_event *ev)
{
	if (!vs_audit_text_ok(ev->actor ? ev->actor : "", VS_AUDIT_ACTOR_MAX))
		return vs_fail(VS_E_USAGE, "audit actor longer than %d bytes or not UTF-8",
			       VS_AUDIT_ACTOR_MAX);
	if (!ev->action || !vs_audit_action_ok(ev->action))
		return vs_fail(VS_E_USAGE, "audit action must be 1-%d of [a-z0-9._-]",
			       VS_AUDIT_ACTION_MAX);
	if (!vs_audit_text_ok(ev->vnf ? ev->vnf : "", VS_AUDIT_VNF_MAX))
		return vs_fail(VS_E_USAGE, "audit vnf longer than %d bytes or not UTF-8",
			       VS_AUDIT_VNF_MAX);
	if (!vs_audit_uuid_ok(ev->snapshot ? ev->snapshot : ""))
		return vs_fail(VS_E_USAGE, "audit snapshot must be empty or a lowercase UUID");
	if ((unsigned)ev->outcome > VS_AUDIT_OUT_INTEGRITY)
		return vs_fail(VS_E_USAGE, "unknown audit outcome");
	if (!vs_audit_text_ok(ev->reason ? ev->reason : "", VS_AUDIT_REASON_MAX))
		return vs_fail(VS_E_USAGE, "audit reason longer than %d bytes or not UTF-8",
			       VS_AUDIT_REASON_MAX);
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_append(vs_audit *a, const vs_audit_event *ev, uint64_t *seq)
{
	return vs_audit_append_many(a, ev, 1, seq);
}

VS_MUST_USE vs_err vs_audit_append_many(vs_audit *a, const vs_audit_event *ev, size_t n, uint64_t *seq)
{
	if (n == 0 || n > VS_AUDIT_MANY_MAX)
		return vs_fail(VS_E_USAGE, "append 1 to %d audit records at once", VS_AUDIT_MANY_MAX);
	for (size_t i = 0; i < n; i++)
		VS_TRY(event_check(&ev[i]));
	waiter w = { .ev = ev, .n = n, .rc = VS_OK };
	pthread_cond_init(&w.cv, NULL);
	pthread_mutex_lock(&a->mu);
	*a->tail = &w;
	a->tail = &w.next;
	while (!w.done) {
		/* Only the first of the queue leads, once the leader is done:
		 * each waiter sleeps on its own condition, so a commit wakes
		 * the threads it committed and the next leader, not all. */
		if (a->leader || a->head != &w) {
			pthread_cond_wait(&w.cv, &a->mu);
			continue;
		}
		/* Lead one group: everything queued shares one write and fdatasync. */
		waiter *batch = a->head;
		a->head = NULL;
		a->tail = &a->head;
		a->leader = true;
		pthread_mutex_unlock(&a->mu);
		vs_err rc = commit(a, batch, NULL);
		pthread_mutex_lock(&a->mu);
		for (waiter *b = batch, *next; b; b = next) {
			next = b->next; /* b may return (and vanish) once signalled */
			b->rc = rc;
			b->why = vs_errreason();
			if (rc != VS_OK)
				snprintf(b->msg, sizeof b->msg, "%s", vs_errmsg());
			b->done = true;
			if (b != &w)
				pthread_cond_signal(&b->cv);
		}
		a->leader = false;
		if (a->head)
			pthread_cond_signal(&a->head->cv);
	}
	pthread_mutex_unlock(&a->mu);
	pthread_cond_destroy(&w.cv);
	if (w.rc != VS_OK)
		return vs_refuse(w.rc, w.why, NULL, "%s", w.msg);
	if (seq)
		*seq = w.seq;
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_checkpoint_now(vs_audit *a, vs_audit_checkpoint *cp)
{
	vs_audit_checkpoint tmp;
	return commit(a, NULL, cp ? cp : &tmp);
}

VS_MUST_USE vs_err vs_audit_evolve(vs_audit *a)
{
	pthread_mutex_lock(&a->io);
	vs_err rc = vs_lock_exclusive(a->fd, a->log_path);
	if (rc == VS_OK) {
		uint64_t e;
		rc = refresh_key(a);
		if (rc == VS_OK)
			rc = vs_audit_epoch_of(a->params.t0, a->params.interval, now_us(a), &e);
		if (rc == VS_OK)
			rc = evolve_to(a, e);
		flock(a->fd, LOCK_UN);
	}
	pthread_mutex_unlock(&a->io);
	return rc;
}
