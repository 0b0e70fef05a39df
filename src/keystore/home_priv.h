#ifndef VS_HOME_PRIV_H
#define VS_HOME_PRIV_H

#include <sqlite3.h>

#include "vnfsafe/anchor.h"
#include "vnfsafe/home.h"
#include "vnfsafe/keys.h"

#define HOME_HOSTKEY "host.key"
#define HOME_HOSTPUB "host.pub"
#define HOME_KEK "kek"
#define HOME_DB "vnfsafe.db"

/* What holds keys (keys.c); host state stays in vs_home. */
struct vs_keys {
	vs_key kek;
	vs_signer *signer;
	uint8_t pub[VS_PUB_LEN];
	uint8_t pub_id[VS_HASH_LEN];
};

struct vs_home {
	char path[4096];
	vs_keys keys; /* used only through vs_keys_* */
	char host[VS_HOST_MAX];
	sqlite3 *db;
	/* The keystore's TPM binding (ks_anchor.c). */
	int ks_fd; /* the database file, for its flock; -1 or 0 when not open */
	vs_anchor *ks_anchor;
	vs_binding ks_bind;
	vs_bind_row ks_row;
	uint64_t ks_n;
	bool in_tx; /* inside vs_home_tx_begin .. commit/rollback */
	bool read_only; /* opened on a full disk: reads only (vs_space_low) */
	char ks_status[256];
};

/* sqlite3_errmsg, or "no space left on device" when that is the cause. */
const char *ks_errmsg(sqlite3 *db);
/* Loads the KEK and the host signer from their files (keys.c); unload
 * wipes them. */
VS_MUST_USE vs_err ks_keys_load(vs_keys *k, const char *kek_path, const char *hostkey_path);
void ks_keys_unload(vs_keys *k);
VS_MUST_USE vs_err vs_db_create(const char *path);
VS_MUST_USE vs_err vs_db_open(vs_home *h, const char *path);
void vs_db_close(vs_home *h);
VS_MUST_USE vs_err ks_anchor_open(vs_home *h, const char *path);
void ks_anchor_close(vs_home *h);
/* A write transaction: with a TPM under the flock, checked, and on commit
 * bound to NV + 1 and counted (ks_anchor.c). */
VS_MUST_USE vs_err ks_tx_begin(vs_home *h);
VS_MUST_USE vs_err ks_tx_end(vs_home *h, vs_err rc);

/* One write outside vs_home_tx_begin: its own anchored transaction. */
#define KS_WRITE(h, expr)                                                      \
	do {                                                                   \
		bool own_ = !(h)->in_tx;                                       \
		if (own_)                                                      \
			VS_TRY(ks_tx_begin(h));                                \
		vs_err rc_ = (expr);                                           \
		return own_ ? ks_tx_end((h), rc_) : rc_;                       \
	} while (0)

#endif
