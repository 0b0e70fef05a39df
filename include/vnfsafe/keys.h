/* What holds keys, apart from the host state of a home (catalog, tokens,
 * journal, locks, transactions): the KEK that wraps every snapshot's data
 * keys and the host's signing key. Every use of a key goes through these
 * calls, so that a later version can keep them in a separate, smaller
 * process behind the same interface. */
#ifndef VNFSAFE_KEYS_H
#define VNFSAFE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/err.h"

typedef struct vs_keys vs_keys;

/* Wraps / unwraps a data key under the KEK, bound to aad. */
VS_MUST_USE vs_err vs_keys_wrap(const vs_keys *k, const vs_key *dek, const uint8_t *aad,
				size_t aad_len, uint8_t out[VS_WRAPPED_LEN]);
VS_MUST_USE vs_err vs_keys_unwrap(const vs_keys *k, const uint8_t in[VS_WRAPPED_LEN],
				  const uint8_t *aad, size_t aad_len, vs_key *dek);
/* The host's signing key (snapshots, checkpoints, etcd anchors). */
const vs_signer *vs_keys_signer(const vs_keys *k);
/* Its public key and key id. */
void vs_keys_pub(const vs_keys *k, uint8_t pub[VS_PUB_LEN], uint8_t id[VS_HASH_LEN]);

#endif
