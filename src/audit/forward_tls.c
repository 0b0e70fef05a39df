/* The TLS client side of forwarding: connect with a timeout, verify the
 * collector (CA, name, SNI), write, and confirm receipt by the close_notify
 * exchange of RFC 5425 section 4.4. */
#include "forward_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

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

static VS_MUST_USE vs_err tcp_connect(const vs_forward_cfg *cfg, int *out)
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

VS_MUST_USE vs_err vs_fwd_tls_context(const vs_forward_cfg *cfg, SSL_CTX **out)
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
static VS_MUST_USE vs_err tls_expect_name(SSL *ssl, const char *name)
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

void vs_fwd_conn_close(vs_fwd_conn *c)
{
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
}

/* TCP + TLS handshake with the collector's certificate verified. Failures:
 * VS_E_ENV (message: the reason only), VS_E_INTEGRITY (not trusted). */
VS_MUST_USE vs_err vs_fwd_conn_open(const vs_forward_cfg *cfg, SSL_CTX *ctx, vs_fwd_conn *c)
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

VS_MUST_USE vs_err vs_fwd_conn_write(vs_fwd_conn *c, const void *p, size_t n)
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
 * 4.4 makes the answer a MUST): a collector that answers has read every byte
 * we sent before it. A bare EOF is not an answer: a receiver that drops a
 * session on an error closes the socket the same way. */
VS_MUST_USE vs_err vs_fwd_conn_confirm(vs_fwd_conn *c)
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
		char why[160];
		return vs_fail(VS_E_ENV, "no confirmation of receipt: %s",
			       tls_reason(c->ssl, ret, why, sizeof why));
	}
	return vs_fail(VS_E_ENV, "no confirmation of receipt: the collector keeps talking");
}
