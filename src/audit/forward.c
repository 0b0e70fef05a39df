/* Audit forwarding: RFC 5424 messages over TLS (RFC 5425) from DIR/log,
 * after a durable cursor. The log is the queue; see forward.h. */
#include "vnfsafe/forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "vnfsafe/buf.h"
#include "vnfsafe/fault.h"

vs_err vs_forward__cursor_save(const char *dir, const vs_forward_cursor *cur);

#define FACILITY_AUTHPRIV 10
#define SEV_WARNING 4
#define SEV_NOTICE 5
#define MSGID_MAX 32
#define HOSTNAME_MAX 255
/* One connection carries at most this much before its receipt is confirmed
 * and the cursor moves, bounding what a failure makes us send again. */
#define BATCH_RECORDS 10000
#define BATCH_BYTES (16u << 20)
#define WRITE_CHUNK 65536

/* ---- message formatting ---- */

static void put_str(vs_wr *w, const char *s)
{
	vs_wr_bytes(w, s, strlen(s));
}

/* RFC 5424 PRINTUSASCII (33..126) up to max, '_' for anything else; "-"
 * (NILVALUE) when empty. */
static void put_token(vs_wr *w, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0) {
		put_str(w, "-");
		return;
	}
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		vs_wr_u8(w, c >= 33 && c <= 126 ? c : '_');
	}
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* RFC 3339 UTC as the log writes it ("2026-11-23T21:15:03.123456Z"): copied
 * with at most 6 fraction digits (RFC 5424 TIME-SECFRAC); else "-". */
static void put_time(vs_wr *w, const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n < 20 || !digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
	    !digits(t + 8, 2) || t[10] != 'T' || !digits(t + 11, 2) || t[13] != ':' ||
	    !digits(t + 14, 2) || t[16] != ':' || !digits(t + 17, 2))
		goto nil;
	int mon = num2(t + 5), day = num2(t + 8);
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || num2(t + 11) > 23 ||
	    num2(t + 14) > 59 || num2(t + 17) > 59)
		goto nil;
	size_t frac = 0;
	if (t[19] == '.') {
		while (20 + frac < n && t[20 + frac] >= '0' && t[20 + frac] <= '9')
			frac++;
		if (frac == 0 || 20 + frac != n - 1)
			goto nil;
	} else if (n != 20) {
		goto nil;
	}
	if (t[n - 1] != 'Z')
		goto nil;
	vs_wr_bytes(w, t, 19);
	if (frac) {
		vs_wr_bytes(w, t + 19, 1 + (frac > 6 ? 6 : frac));
	}
	vs_wr_u8(w, 'Z');
	return;
nil:
	put_str(w, "-");
}

/* PARAM-VALUE escaping (RFC 5424 section 6.3.3): '"', '\' and ']' get a
 * backslash; control characters become '?'. */
static void put_param(vs_wr *w, const char *name, const char *v)
{
	vs_wr_u8(w, ' ');
	put_str(w, name);
	put_str(w, "=\"");
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '"' || c == '\\' || c == ']')
			vs_wr_u8(w, '\\');
		vs_wr_u8(w, c < 0x20 || c == 0x7f ? '?' : c);
	}
	vs_wr_u8(w, '"');
}

static const char *str_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

vs_err vs_forward_format(const char *line, size_t len, char **out, size_t *out_len,
			 uint64_t *seq)
{
	static const char head[] = "{\"seq\":";
	if (len > VS_FORWARD_MAX_RECORD)
		return vs_fail(VS_E_INTEGRITY, "record longer than %d bytes",
			       VS_FORWARD_MAX_RECORD);
	if (len < sizeof head - 1 || memcmp(line, head, sizeof head - 1) != 0)
		return vs_fail(VS_E_INTEGRITY, "record does not start with {\"seq\":");
	if (memchr(line, '\n', len) || memchr(line, '\0', len))
		return vs_fail(VS_E_INTEGRITY, "record holds a newline or NUL byte");
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return vs_fail(VS_E_INTEGRITY, "record is not valid JSON (column %d)", jerr.column);
	vs_err rc = VS_OK;
	json_t *jseq = json_object_get(o, "seq");
	if (!json_is_object(o) || !json_is_integer(jseq) || json_integer_value(jseq) <= 0) {
		rc = vs_fail(VS_E_INTEGRITY, "record has no positive integer seq");
		goto out;
	}
	uint64_t s = (uint64_t)json_integer_value(jseq);
	const char *outcome = str_field(o, "outcome");
	int sev = outcome && strcmp(outcome, "ok") == 0 ? SEV_NOTICE : SEV_WARNING;
	char num[48];
	vs_wr w = { 0 };
	snprintf(num, sizeof num, "<%d>1 ", FACILITY_AUTHPRIV * 8 + sev);
	put_str(&w, num);
	put_time(&w, str_field(o, "time"));
	vs_wr_u8(&w, ' ');
	put_token(&w, str_field(o, "host"), HOSTNAME_MAX);
	put_str(&w, " vnfsafe - ");
	put_token(&w, str_field(o, "action"), MSGID_MAX);
	put_str(&w, " [" VS_FORWARD_SD_ID);
	snprintf(num, sizeof num, "%llu", (unsigned long long)s);
	put_param(&w, "seq", num);
	const char *prev = str_field(o, "prev"), *mac = str_field(o, "mac");
	if (prev)
		put_param(&w, "prev", prev);
	if (mac)
		put_param(&w, "mac", mac);
	put_str(&w, "] ");
	vs_wr_bytes(&w, line, len);
	vs_wr_u8(&w, '\0');
	if (w.bad) {
		vs_wr_free(&w);
		rc = vs_fail(VS_E_ENV, "out of memory");
		goto out;
	}
	*out = (char *)w.p;
	*out_len = w.len - 1;
	*seq = s;
out:
	json_decref(o);
	return rc;
}

/* ---- reading the log ---- */

/* Complete lines of fd from an offset, through a bounded buffer. */
typedef struct {
	int fd;
	uint64_t base; /* file offset of buf[0] */
	char *buf;
	size_t len, pos, cap;
	bool eof;
} line_reader;

static vs_err lr_init(line_reader *lr, int fd, uint64_t off)
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
static vs_err lr_next(line_reader *lr, const char **line, size_t *n, uint64_t *off, int *got,
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
static vs_err count_queued(int fd, uint64_t off, uint64_t *n, bool *torn)
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
static vs_err check_cursor(int fd, const char *logpath, uint64_t size,
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

/* ---- TLS connection ---- */

typedef struct {
	int fd;
	SSL *ssl;
} conn;

static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* Why the last TLS call failed, in a few words. */
static const char *tls_reason(SSL *ssl, int ret, char *buf, size_t cap)
{
	int e = SSL_get_error(ssl, ret);
	unsigned long code = ERR_peek_last_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return "connection closed by the collector";
	if (code != 0) {
		const char *r = ERR_reason_error_string(code);
		snprintf(buf, cap, "%s", r ? r : "TLS error");
		return buf;
	}
	if (e == SSL_ERROR_SYSCALL && errno != 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return "timed out";
		snprintf(buf, cap, "%s", strerror(errno));
		return buf;
	}
	return "connection closed by the collector";
}

static vs_err tcp_connect(const vs_forward_cfg *cfg, int *out)
{
	char port[8];
	snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
	struct addrinfo hints = { 0 }, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int g = getaddrinfo(cfg->host, port, &hints, &res);
	if (g != 0)
		return vs_fail(VS_E_ENV, "cannot resolve: %s", gai_strerror(g));
	int saved = ECONNREFUSED;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				a->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		int rc = connect(fd, a->ai_addr, a->ai_addrlen);
		if (rc != 0 && errno == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			int pr;
			do
				pr = poll(&p, 1, (int)cfg->timeout_ms);
			while (pr < 0 && errno == EINTR);
			int err = 0;
			socklen_t el = sizeof err;
			if (pr == 0)
				err = ETIMEDOUT;
			else if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
				err = errno;
			rc = err ? -1 : 0;
			errno = err;
		}
		if (rc == 0) {
			struct timeval tv = { (time_t)(cfg->timeout_ms / 1000),
					      (suseconds_t)(cfg->timeout_ms % 1000) * 1000 };
			int fl = fcntl(fd, F_GETFL);
			if (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 &&
			    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
			    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0) {
				freeaddrinfo(res);
				*out = fd;
				return VS_OK;
			}
		}
		saved = errno;
		close(fd);
	}
	freeaddrinfo(res);
	errno = saved;
	return vs_fail_errno(VS_E_ENV, "cannot connect");
}

static vs_err tls_context(const vs_forward_cfg *cfg, SSL_CTX **out)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return vs_fail(VS_E_ENV, "cannot create a TLS context");
	SSL_CTX_set_default_passwd_cb(ctx, no_password);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	vs_err rc = VS_OK;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		rc = vs_fail(VS_E_ENV, "cannot require TLS 1.2");
	else if (!SSL_CTX_load_verify_file(ctx, cfg->ca_file))
		rc = vs_fail(VS_E_ENV, "cannot load CA file %s", cfg->ca_file);
	else if (cfg->cert_file[0] &&
		 (!SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) ||
		  !SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) ||
		  !SSL_CTX_check_private_key(ctx)))
		rc = vs_fail(VS_E_ENV, "cannot load client certificate %s with key %s",
			     cfg->cert_file, cfg->key_file);
	if (rc != VS_OK) {
		SSL_CTX_free(ctx);
		return rc;
	}
	*out = ctx;
	return VS_OK;
}

static bool is_ip_literal(const char *s)
{
	unsigned char a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Server name checks on the certificate, and SNI unless name is an address. */
static vs_err tls_expect_name(SSL *ssl, const char *name)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip_literal(name)) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(param, name))
			return vs_fail(VS_E_USAGE, "bad server address %s", name);
		return VS_OK;
	}
	if (!X509_VERIFY_PARAM_set1_host(param, name, 0) || !SSL_set_tlsext_host_name(ssl, name))
		return vs_fail(VS_E_USAGE, "bad server name %s", name);
	return VS_OK;
}

static void conn_close(conn *c)
{
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* TCP + TLS handshake with the collector's certificate verified. Failures:
 * VS_E_ENV (message: the reason only), VS_E_INTEGRITY (not trusted). */
static vs_err conn_open(const vs_forward_cfg *cfg, SSL_CTX *ctx, conn *c)
{
	const char *name = cfg->server_name[0] ? cfg->server_name : cfg->host;
	VS_TRY(tcp_connect(cfg, &c->fd));
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return vs_fail(VS_E_ENV, "cannot create a TLS connection");
	VS_TRY(tls_expect_name(c->ssl, name));
	ERR_clear_error();
	errno = 0;
	int ret = SSL_connect(c->ssl);
	long vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK)
		return vs_fail(VS_E_INTEGRITY, "certificate refused (expected name %s): %s", name,
			       X509_verify_cert_error_string(vr));
	char why[160];
	if (ret != 1)
		return vs_fail(VS_E_ENV, "TLS handshake failed: %s",
			       tls_reason(c->ssl, ret, why, sizeof why));
	if (!SSL_get0_peer_certificate(c->ssl))
		return vs_fail(VS_E_INTEGRITY, "collector sent no certificate");
	return VS_OK;
}

static vs_err conn_write(conn *c, const void *p, size_t n)
{
	while (n > 0) {
		size_t done = 0;
		ERR_clear_error();
		errno = 0;
		int ret = SSL_write_ex(c->ssl, p, n, &done);
		if (ret != 1) {
			char why[160];
			return vs_fail(VS_E_ENV, "write failed: %s",
				       tls_reason(c->ssl, ret, why, sizeof why));
		}
		p = (const uint8_t *)p + done;
		n -= done;
	}
	return VS_OK;
}

/* Sends our close_notify and waits for the collector's (RFC 5425 section
 * 4.4): once it answers, it has read every byte we sent before. A plain EOF
 * after our close_notify counts too (the peer read up to it and closed; with
 * unread data its kernel would have reset the connection). */
static vs_err conn_confirm(conn *c)
{
	ERR_clear_error();
	int ret = SSL_shutdown(c->ssl);
	if (ret == 1)
		return VS_OK;
	if (ret < 0) {
		char why[160];
		return vs_fail(VS_E_ENV, "closing failed: %s",
			       tls_reason(c->ssl, ret, why, sizeof why));
	}
	char scratch[4096];
	for (int i = 0; i < 1024; i++) {
		size_t got;
		ERR_clear_error();
		errno = 0;
		ret = SSL_read_ex(c->ssl, scratch, sizeof scratch, &got);
		if (ret == 1)
			continue; /* a collector has nothing to say; ignore it */
		int e = SSL_get_error(c->ssl, ret);
		if (e == SSL_ERROR_ZERO_RETURN)
			return VS_OK;
		unsigned long code = ERR_peek_last_error();
		if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
		    (e == SSL_ERROR_SYSCALL && code == 0 && errno == 0))
			return VS_OK;
		char why[160];
		return vs_fail(VS_E_ENV, "no confirmation of receipt: %s",
			       tls_reason(c->ssl, ret, why, sizeof why));
	}
	return vs_fail(VS_E_ENV, "no confirmation of receipt: the collector keeps talking");
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
	bool damaged; /* a bad record stops forwarding after the batch */
	vs_err damage_rc;
	char damage_msg[512];
} flush_ctx;

/* "collector H:P unreachable: <why>; N records queued" (or "certificate
 * refused") around the current message. */
static vs_err collector_error(flush_ctx *f, vs_err rc)
{
	uint64_t queued = 0;
	bool torn = false;
	char why[512];
	snprintf(why, sizeof why, "%s", vs_errmsg());
	count_queued(f->fd, f->cur.offset, &queued, &torn);
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
static vs_err flush_batch(flush_ctx *f, bool *more)
{
	line_reader lr;
	VS_TRY(lr_init(&lr, f->fd, f->cur.offset));
	conn c = { .fd = -1 };
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
			rc = conn_open(f->cfg, f->ctx, &c);
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
			rc = conn_write(&c, out.p, out.len);
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
	rc = conn_write(&c, out.p, out.len);
	if (rc == VS_OK)
		rc = conn_confirm(&c);
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
	conn_close(&c);
	vs_wr_free(&out);
	free(lr.buf);
	return rc;
}

static vs_err lock_dir(const char *dir, int *fd)
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

static vs_err flush_all(flush_ctx *f)
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
		VS_TRY(tls_context(f->cfg, &f->ctx));
	bool more = true;
	while (more && !f->damaged) {
		VS_TRY(flush_batch(f, &more));
	}
	bool torn = false;
	VS_TRY(count_queued(f->fd, f->cur.offset, &f->st->queued, &torn));
	f->st->torn_tail = torn;
	if (f->damaged)
		return vs_fail(f->damage_rc, "%s", f->damage_msg);
	return VS_OK;
}

vs_err vs_forward_pending(const char *dir, const vs_forward_cfg *cfg, vs_forward_stats *st)
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
