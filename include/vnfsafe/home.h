/* The state home: host signing key, key-encryption key (KEK), and one SQLite
 * database holding the keystore (wrapped data keys) and the snapshot catalog.
 * Data keys never leave the home in clear and never go into a snapshot. */
#ifndef VNFSAFE_HOME_H
#define VNFSAFE_HOME_H

#include <stdbool.h>
#include <stdint.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/err.h"
#include "vnfsafe/ledger.h"
#include "vnfsafe/snapshot.h"

typedef struct vs_home vs_home;

/* --home, else $VNFSAFE_HOME, else $HOME/.local/share/vnfsafe. */
VS_MUST_USE vs_err vs_home_resolve(const char *arg, char *out, size_t cap);
/* Creates a new home atomically; refuses an existing one. */
VS_MUST_USE vs_err vs_home_init(const char *path);
/* The same in steps, so more can be built inside before it appears: checks
 * path (no home, absent or an empty directory) before making anything, then
 * builds the home in a 0700 staging directory beside it (*stage). commit
 * renames it into place; abort removes it (stage "" is a no-op). */
VS_MUST_USE vs_err vs_home_init_stage(const char *path, char *stage, size_t cap);
VS_MUST_USE vs_err vs_home_init_commit(const char *stage, const char *path);
void vs_home_init_abort(const char *stage);
VS_MUST_USE vs_err vs_home_open(vs_home **h, const char *path);
void vs_home_close(vs_home *h);
const char *vs_home_path(const vs_home *h);
const vs_signer *vs_home_signer(const vs_home *h);
/* What holds this home's keys (vnfsafe/keys.h), apart from its host state. */
typedef struct vs_keys vs_keys;
const vs_keys *vs_home_keys(const vs_home *h);
/* The host's public key and its key id. */
void vs_home_pub(const vs_home *h, uint8_t pub[VS_PUB_LEN], uint8_t id[VS_HASH_LEN]);
/* Public key for a signer id this home trusts (its own host key). */
VS_MUST_USE vs_err vs_home_trusted_signer(const vs_home *h, const uint8_t id[VS_HASH_LEN],
			      uint8_t pub[VS_PUB_LEN]);

/* This host's name in ledgers: "<hostname>-<8 hex of the host key id>". */
const char *vs_home_host(const vs_home *h);
/* The embedded default ledger: "sqlite:<home>/ledger.db". */
void vs_home_default_ledger(const vs_home *h, char *out, size_t cap);

/* --- fencing tokens this host holds (one per VNF), secret included: only
 * this home's files (0600 in a 0700 directory) hold the secret --- */
VS_MUST_USE vs_err vs_home_token_put(vs_home *h, const char *vnf, const vs_fence *tok);
/* The end of an activation: keeps the token and drops the VNF's activation
 * journal row in one keystore transaction (one anchored write). */
VS_MUST_USE vs_err vs_home_token_keep(vs_home *h, const char *vnf, const vs_fence *tok);
/* *found false (and VS_OK) when this host holds none. */
VS_MUST_USE vs_err vs_home_token_get(vs_home *h, const char *vnf, vs_fence *tok, bool *found);
VS_MUST_USE vs_err vs_home_token_drop(vs_home *h, const char *vnf);

/* --- per-VNF operation lock on this host (flock on <home>/locks/NAME) ---
 * Shared by snapshot creation, exclusive for activations and recovery, so
 * recovery never judges an operation that is still running here. Released
 * by vs_home_unlock or when the process dies. */
VS_MUST_USE vs_err vs_home_lock(vs_home *h, const char *vnf, bool exclusive, int *fd);
void vs_home_unlock(int fd);

/* --- journal of an activation (start or restore) in progress ---
 * Written before the ledger CAS, dropped after the token is kept: recovery
 * recognises the activation by its id in the ledger record. */
typedef enum { VS_PENDING_START = 1, VS_PENDING_RESTORE = 2 } vs_pending_kind;
typedef struct {
	char vnf[VS_NAME_MAX];
	vs_pending_kind kind;
	vs_activation act;           /* id and token secret, journaled before the CAS */
	uint8_t snapshot[VS_ID_LEN]; /* restore only */
	char staging[4096];          /* restore only */
	char target[4096];           /* restore only */
} vs_pending;
VS_MUST_USE vs_err vs_home_pending_put(vs_home *h, const vs_pending *p);
VS_MUST_USE vs_err vs_home_pending_get(vs_home *h, const char *vnf, vs_pending *p, bool *found);
VS_MUST_USE vs_err vs_home_pending_drop(vs_home *h, const char *vnf);

/* One line: the keystore's anti-rollback (TPM binding or "unanchored"). */
const char *vs_home_keystore_status(const vs_home *h);

/* Transactions around keystore and catalog changes that belong together. */
VS_MUST_USE vs_err vs_home_tx_begin(vs_home *h);
VS_MUST_USE vs_err vs_home_tx_commit(vs_home *h);
void vs_home_tx_rollback(vs_home *h);

/* --- keystore --- */
/* Generates a fresh data key for (snapshot, domain), stores it wrapped. */
VS_MUST_USE vs_err vs_keystore_create(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *domain,
			  uint8_t key_id[VS_ID_LEN], vs_key *key);
/* VS_E_INTEGRITY when the key is absent (erased, or another home's). */
VS_MUST_USE vs_err vs_keystore_get(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *domain,
		       const uint8_t key_id[VS_ID_LEN], vs_key *key);
/* Crypto-erase: deletes every data key of the snapshot; *erased counts them. */
VS_MUST_USE vs_err vs_keystore_erase(vs_home *h, const uint8_t snap[VS_ID_LEN], int *erased);

/* --- catalog --- */
typedef struct {
	char id[37];
	char vnf[VS_NAME_MAX];
	char engine[VS_NAME_MAX];
	char state[16]; /* BUILDING, AVAILABLE, FAILED, ERASED */
	char path[4096];
	char domains[VS_SNAP_MAX_SECTIONS * VS_NAME_MAX];
	int64_t created, expires;
	uint64_t size;
	char header_digest[2 * VS_HASH_LEN + 1];
} vs_catalog_entry;

VS_MUST_USE vs_err vs_catalog_begin(vs_home *h, const vs_snap_header *hd, const char *path);
VS_MUST_USE vs_err vs_catalog_finish(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *state,
			 uint64_t size, const uint8_t digest[VS_HASH_LEN]);
VS_MUST_USE vs_err vs_catalog_get(vs_home *h, const uint8_t snap[VS_ID_LEN], vs_catalog_entry *e);
VS_MUST_USE vs_err vs_catalog_list(vs_home *h, vs_err (*cb)(void *ctx, const vs_catalog_entry *e),
		       void *ctx);

#endif
