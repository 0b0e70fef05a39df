/* Inside the forwarding part only: the cursor writer and the TLS client. */
#ifndef VNFSAFE_FORWARD_PRIV_H
#define VNFSAFE_FORWARD_PRIV_H

#include <openssl/ssl.h>

#include "vnfsafe/forward.h"

/* Replaces DIR/forward.cursor durably (forward_conf.c). */
VS_MUST_USE vs_err vs_forward__cursor_save(const char *dir, const vs_forward_cursor *cur);

typedef struct {
	int fd;
	SSL *ssl;
} vs_fwd_conn;

/* CA and optional client certificate of cfg, TLS 1.2 minimum, peer verified. */
VS_MUST_USE vs_err vs_fwd_tls_context(const vs_forward_cfg *cfg, SSL_CTX **out);
/* TCP + TLS handshake with the collector's certificate verified against the
 * CA and the expected name. VS_E_ENV: the message is the reason only;
 * VS_E_INTEGRITY: the collector is not trusted. */
VS_MUST_USE vs_err vs_fwd_conn_open(const vs_forward_cfg *cfg, SSL_CTX *ctx, vs_fwd_conn *c);
VS_MUST_USE vs_err vs_fwd_conn_write(vs_fwd_conn *c, const void *p, size_t n);
/* Our close_notify, then the collector's: it has read every byte before. */
VS_MUST_USE vs_err vs_fwd_conn_confirm(vs_fwd_conn *c);
void vs_fwd_conn_close(vs_fwd_conn *c);

#endif
