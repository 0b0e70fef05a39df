/* Audit forwarding: sends DIR/log after a durable cursor to the collector.
 * The log is the queue; see forward.h and docs/forwarding.md. */
#include "forward_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "vnfsafe/buf.h"
#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"

/* One connection carries at most this much before its receipt is confirmed
 * and the cursor moves, bounding what a failure makes us send again. */
#define BATCH_RECORDS 10000
#define BATCH_BYTES (16u << 20)
#define WRITE_CHUNK 65536

/* ---- reading the log ---- */

/* Complete lines of fd from an offset, through a bounded buffer. */
typedef struct {
	int fd;
	uint64_t base; /* file offset of buf[0] */
	char *buf;
	size_t len, pos, cap;
	bool eof;
} line_reader;

static VS_MUST_USE vs_err lr_init(line_reader *lr, int fd, uint64_t off)
{
	memset(lr, 0, sizeof *lr);
	lr->fd = fd;
	lr->base = off;
	lr->cap = 2 * (size_t)VS_FORWARD_MAX_RECORD + 2;
	lr->buf = malloc(lr->cap);
	return lr->buf ? VS_OK : vs_fail(VS_E_ENV, "out of memory");
}

/* 1: a line (without '\n') at *off; 0: no further complete line (*torn when
 * bytes without '\n' follow). */
static VS_MUST_USE vs_err lr_next(line_reader *lr, const char **line, size_t *n, uint64_t *off, int *got,
		      bool *torn)
{
	for (;;) {
		char *nl = memchr(lr->buf + lr->pos, '\n', lr->len - lr->pos);
		if (nl) {
			*line = lr->buf + lr->pos;
			*n = (size_t)(nl - *line);
			*off = lr->base + lr->pos;
			lr->pos += *n + 1;
			*got = 1;
			return VS_OK;
		}
		if (lr->eof) {
			*torn = lr->len > lr->pos;
			*got = 0;
			return VS_OK;
		}
		if (lr->len - lr->pos > VS_FORWARD_MAX_RECORD)
			return vs_fail(VS_E_INTEGRITY, "record at offset %llu is longer than %d bytes",
				       (unsigned long long)(lr->base + lr->pos),
				       VS_FORWARD_MAX_RECORD);
		memmove(lr->buf, lr->buf + lr->pos, lr->len - lr->pos);
		lr->base += lr->pos;
		lr->len -= lr->pos;
		lr->pos = 0;
		ssize_t r = pread(lr->fd, lr->buf + lr->len, lr->cap - lr->len,
				  (off_t)(lr->base + lr->len));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail_errno(VS_E_ENV, "cannot read the audit log");
		}
		if (r == 0)
			lr->eof = true;
		lr->len += (size_t)r;
	}
}

/* Complete records from off to EOF, and whether a torn tail follows. */
static VS_MUST_USE vs_err count_queued(int fd, uint64_t off, uint64_t *n, bool *torn)
{
	char buf[65536];
	uint64_t count = 0;
	char last = '\n';
	for (;;) {
		ssize_t r = pread(fd, buf, sizeof buf, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vs_fail_errno(VS_E_ENV, "cannot read the audit log");
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			count += buf[i] == '\n';
		last = buf[r - 1];
		off += (uint64_t)r;
	}
	*n = count;
	*torn = last != '\n';
	return VS_OK;
}

/* The record ending just before the cursor must be the one it names. */
static VS_MUST_USE vs_err check_cursor(int fd, const char *logpath, uint64_t size,
			   const vs_forward_cursor *cur)
{
	if (cur->offset > size)
		return vs_fail(VS_E_INTEGRITY,
			       "forward.cursor offset %llu is past the end of %s (%llu bytes): "
			       "the log was truncated or replaced",
			       (unsigned long long)cur->offset, logpath, (unsigned long long)size);
	if (cur->offset == 0)
		return VS_OK;
	size_t want = VS_FORWARD_MAX_RECORD + 2;
	uint64_t start = cur->offset > want ? cur->offset - want : 0;
	size_t n = (size_t)(cur->offset - start);
	char *buf = malloc(n);
	if (!buf)
		return vs_fail(VS_E_ENV, "out of memory");
	vs_err rc = VS_OK;
	ssize_t r = pread(fd, buf, n, (off_t)start);
	if (r != (ssize_t)n) {
		rc = vs_fail_errno(VS_E_ENV, "cannot read %s", logpath);
		goto out;
	}
	uint64_t seq = 0;
	char *msg = NULL;
	size_t msg_len;
	char *begin = NULL;
	if (buf[n - 1] == '\n') {
		for (size_t i = n - 1; i > 0 && !begin; i--)
			if (buf[i - 1] == '\n')
				begin = buf + i;
		if (!begin && start == 0)
			begin = buf;
	}
	if (!begin || vs_forward_format(begin, (size_t)(buf + n - 1 - begin), &msg, &msg_len,
					&seq) != VS_OK || seq != cur->seq) {
		rc = vs_fail(VS_E_INTEGRITY,
			     "forward.cursor (offset %llu, seq %llu) does not match %s: "
			     "the log was changed or replaced",
			     (unsigned long long)cur->offset, (unsigned long long)cur->seq, logpath);
	}
	free(msg);
out:
	free(buf);
	return rc;
}

/* ---- SIGPIPE: a write to a reset connection must be an error, not death ---- */

typedef struct {
	sigset_t old;
	bool was_pending;
} pipe_guard;

static void pipe_block(pipe_guard *g)
{
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
	sigpending(&pend);
	g->was_pending = sigismember(&pend, SIGPIPE);
}

static void pipe_restore(pipe_guard *g)
{
	sigset_t set, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	if (!g->was_pending && sigismember(&pend, SIGPIPE)) {
		struct timespec zero = { 0, 0 };
		sigtimedwait(&set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- the flush ---- */

typedef struct {
	const char *dir;
	const vs_forward_cfg *cfg;
	SSL_CTX *ctx; /* CA and client certificate, loaded once per flush */
	char logpath[4200];
	int fd;
	vs_forward_cursor cur;
	vs_forward_stats *st;
	bool interrupted; /* SIGINT/SIGTERM: confirm what was sent, then stop */
	bool damaged; /* a bad record stops forwarding after the batch */
	vs_err damage_rc;
	char damage_msg[512];
} flush_ctx;

/* "collector H:P unreachable: <why>; N records queued" (or "certificate
 * refused") around the current message. */
static VS_MUST_USE vs_err collector_error(flush_ctx *f, vs_err rc)
{
	uint64_t queued = 0;
	bool torn = false;
	char why[512];
	snprintf(why, sizeof why, "%s", vs_errmsg());
	vs_ignore(count_queued(f->fd, f->cur.offset, &queued, &torn));
	return vs_fail(rc, "collector %s:%u %s: %s; %llu record%s queued", f->cfg->host,
		       (unsigned)f->cfg->port, rc == VS_E_INTEGRITY ? "not trusted" : "unreachable",
		       why, (unsigned long long)queued, queued == 1 ? "" : "s");
}

static void note_damage(flush_ctx *f, vs_err rc, uint64_t off)
{
	char why[400];
	snprintf(why, sizeof why, "%s", vs_errmsg());
	f->damaged = true;
	f->damage_rc = vs_fail(rc, "%s: record at offset %llu: %s; forwarding stops before it",
			       f->logpath, (unsigned long long)off, why);
	snprintf(f->damage_msg, sizeof f->damage_msg, "%s", vs_errmsg());
}

/* One connection: up to BATCH_* records after f->cur; *more when it stopped
 * at the batch limit. Moves the cursor only after the collector confirms. */
static VS_MUST_USE vs_err flush_batch(flush_ctx *f, bool *more)
{
	line_reader lr;
	VS_TRY(lr_init(&lr, f->fd, f->cur.offset));
	vs_fwd_conn c = { .fd = -1 };
	vs_wr out = { 0 };
	vs_forward_cursor next = f->cur;
	uint64_t sent = 0, bytes = 0;
	vs_err rc = VS_OK;
	*more = false;
	for (;;) {
		const char *line = NULL;
		size_t n = 0;
		uint64_t off = 0;
		int got = 0;
		bool torn = false;
		rc = lr_next(&lr, &line, &n, &off, &got, &torn);
		if (rc != VS_OK) {
			note_damage(f, rc, lr.base + lr.pos);
			rc = VS_OK;
			break;
		}
		if (!got)
			break;
		if (vs_interrupted) {
			f->interrupted = true;
			break;
		}
		char *msg;
		size_t msg_len;
		uint64_t seq;
		rc = vs_forward_format(line, n, &msg, &msg_len, &seq);
		if (rc == VS_OK && seq != next.seq + 1) {
			free(msg);
			rc = vs_fail(VS_E_INTEGRITY, "seq %llu where %llu was expected",
				     (unsigned long long)seq, (unsigned long long)(next.seq + 1));
		}
		if (rc != VS_OK) {
			note_damage(f, rc, off);
			rc = VS_OK;
			break;
		}
		if (c.fd < 0) {
			rc = vs_fwd_conn_open(f->cfg, f->ctx, &c);
			if (rc != VS_OK) {
				free(msg);
				rc = collector_error(f, rc);
				goto out;
			}
		}
		char frame[24];
		int fl = snprintf(frame, sizeof frame, "%zu ", msg_len);
		vs_wr_bytes(&out, frame, (size_t)fl);
		vs_wr_bytes(&out, msg, msg_len);
		free(msg);
		if (out.bad) {
			rc = vs_fail(VS_E_ENV, "out of memory");
			goto out;
		}
		if (out.len >= WRITE_CHUNK) {
			rc = vs_fwd_conn_write(&c, out.p, out.len);
			if (rc != VS_OK) {
				rc = collector_error(f, rc);
				goto out;
			}
			out.len = 0;
		}
		next.offset = off + n + 1;
		next.seq = seq;
		sent++;
		bytes += n;
		if (sent >= BATCH_RECORDS || bytes >= BATCH_BYTES) {
			*more = true;
			break;
		}
	}
	if (sent == 0)
		goto out;
	rc = vs_fwd_conn_write(&c, out.p, out.len);
	if (rc == VS_OK)
		rc = vs_fwd_conn_confirm(&c);
	if (rc != VS_OK) {
		rc = collector_error(f, rc);
		goto out;
	}
	/* The collector has every byte: a crash from here on resends them. */
	vs_fault("forward.before_cursor");
	rc = vs_forward__cursor_save(f->dir, &next);
	if (rc != VS_OK)
		goto out;
	f->cur = next;
	f->st->sent += sent;
out:
	vs_fwd_conn_close(&c);
	vs_wr_free(&out);
	free(lr.buf);
	return rc;
}

static VS_MUST_USE vs_err lock_dir(const char *dir, int *fd)
{
	char path[4200];
	if ((size_t)snprintf(path, sizeof path, "%s/forward.lock", dir) >= sizeof path)
		return vs_fail(VS_E_USAGE, "path too long: %s", dir);
	*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", path);
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			vs_err rc = vs_fail_errno(VS_E_ENV, "cannot lock %s", path);
			close(*fd);
			*fd = -1;
			return rc;
		}
	}
	return VS_OK;
}

static VS_MUST_USE vs_err flush_all(flush_ctx *f)
{
	if ((size_t)snprintf(f->logpath, sizeof f->logpath, "%s/log", f->dir) >= sizeof f->logpath)
		return vs_fail(VS_E_USAGE, "path too long: %s", f->dir);
	VS_TRY(vs_forward_cursor_load(f->dir, &f->cur));
	f->fd = open(f->logpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f->fd < 0) {
		if (errno == ENOENT && f->cur.offset == 0)
			return VS_OK; /* nothing logged yet */
		if (errno == ENOENT)
			return vs_fail(VS_E_INTEGRITY,
				       "forward.cursor is at offset %llu but %s does not exist",
				       (unsigned long long)f->cur.offset, f->logpath);
		return vs_fail_errno(VS_E_ENV, "cannot open %s", f->logpath);
	}
	struct stat sb;
	if (fstat(f->fd, &sb) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot stat %s", f->logpath);
	if (!S_ISREG(sb.st_mode))
		return vs_fail(VS_E_INTEGRITY, "%s is not a regular file", f->logpath);
	VS_TRY(check_cursor(f->fd, f->logpath, (uint64_t)sb.st_size, &f->cur));
	if (f->cur.offset < (uint64_t)sb.st_size)
		VS_TRY(vs_fwd_tls_context(f->cfg, &f->ctx));
	bool more = true;
	while (more && !f->damaged && !f->interrupted) {
		VS_TRY(flush_batch(f, &more));
	}
	bool torn = false;
	VS_TRY(count_queued(f->fd, f->cur.offset, &f->st->queued, &torn));
	f->st->torn_tail = torn;
	if (f->damaged)
		return vs_fail(f->damage_rc, "%s", f->damage_msg);
	if (f->interrupted)
		return vs_fail(VS_E_ENV, "forwarding interrupted; %llu records queued",
			       (unsigned long long)f->st->queued);
	return VS_OK;
}

VS_MUST_USE vs_err vs_forward_pending(const char *dir, const vs_forward_cfg *cfg, vs_forward_stats *st)
{
	vs_forward_stats local;
	if (!st)
		st = &local;
	memset(st, 0, sizeof *st);
	if (!cfg->host[0] || !cfg->ca_file[0] || cfg->port == 0 || cfg->timeout_ms == 0 ||
	    cfg->timeout_ms > VS_FORWARD_MAX_TIMEOUT_MS)
		return vs_fail(VS_E_USAGE, "forwarding needs a host, a port, a CA file and a timeout");
	if ((cfg->cert_file[0] == '\0') != (cfg->key_file[0] == '\0'))
		return vs_fail(VS_E_USAGE, "forwarding: cert and key go together");
	int lock = -1;
	VS_TRY(lock_dir(dir, &lock));
	flush_ctx f = { .dir = dir, .cfg = cfg, .fd = -1, .st = st };
	pipe_guard g;
	pipe_block(&g);
	vs_err rc = flush_all(&f);
	pipe_restore(&g);
	ERR_clear_error();
	st->last_seq = f.cur.seq;
	st->offset = f.cur.offset;
	if (f.fd >= 0)
		close(f.fd);
	SSL_CTX_free(f.ctx);
	close(lock);
	return rc;
}
