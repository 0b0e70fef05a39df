/* Crypto through OpenSSL 3 only: AES-256-GCM, SHA-256, Ed25519, CSPRNG.
 * Keys live in vs_key and are wiped with vs_key_wipe on every path. */
#ifndef VNFSAFE_CRYPTO_H
#define VNFSAFE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/err.h"
#include "vnfsafe/ids.h"  /* vs_hex, vs_unhex */
#include "vnfsafe/wipe.h" /* vs_wipe */

#define VS_KEY_LEN 32
#define VS_TAG_LEN 16
#define VS_NONCE_LEN 12
#define VS_HASH_LEN 32
#define VS_SIG_LEN 64
#define VS_PUB_LEN 32

typedef struct {
	uint8_t k[VS_KEY_LEN];
} vs_key;

void vs_key_wipe(vs_key *k);
VS_MUST_USE vs_err vs_random(void *buf, size_t n);
VS_MUST_USE vs_err vs_key_generate(vs_key *k);

VS_MUST_USE vs_err vs_sha256(const void *data, size_t n, uint8_t out[VS_HASH_LEN]);

typedef struct vs_hash vs_hash;
VS_MUST_USE vs_err vs_hash_new(vs_hash **h);
VS_MUST_USE vs_err vs_hash_update(vs_hash *h, const void *data, size_t n);
VS_MUST_USE vs_err vs_hash_final(vs_hash *h, uint8_t out[VS_HASH_LEN]);
void vs_hash_free(vs_hash *h);

/* An AES-256-GCM context bound to one key; nonces are supplied per call by
 * the snapshot layer, which derives them so that they never repeat. */
typedef struct vs_aead vs_aead;
VS_MUST_USE vs_err vs_aead_new(vs_aead **a, const vs_key *key);
void vs_aead_free(vs_aead *a);
/* out may equal in. */
VS_MUST_USE vs_err vs_aead_seal(vs_aead *a, const uint8_t nonce[VS_NONCE_LEN], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t n, uint8_t *out,
		    uint8_t tag[VS_TAG_LEN]);
/* Returns VS_E_INTEGRITY when the tag does not verify; out is then garbage. */
VS_MUST_USE vs_err vs_aead_open(vs_aead *a, const uint8_t nonce[VS_NONCE_LEN], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t n, uint8_t *out,
		    const uint8_t tag[VS_TAG_LEN]);

/* Key wrap: AES-256-GCM under a key-encryption key with a random nonce.
 * wrapped = nonce || ciphertext || tag. */
#define VS_WRAPPED_LEN (VS_NONCE_LEN + VS_KEY_LEN + VS_TAG_LEN)
VS_MUST_USE vs_err vs_key_wrap(const vs_key *kek, const vs_key *dek, const uint8_t *aad, size_t aad_len,
		   uint8_t out[VS_WRAPPED_LEN]);
VS_MUST_USE vs_err vs_key_unwrap(const vs_key *kek, const uint8_t in[VS_WRAPPED_LEN], const uint8_t *aad,
		     size_t aad_len, vs_key *dek);

/* Ed25519 signing keys. */
typedef struct vs_signer vs_signer;
VS_MUST_USE vs_err vs_signer_generate(vs_signer **s);
VS_MUST_USE vs_err vs_signer_load_pem(vs_signer **s, const char *path);
VS_MUST_USE vs_err vs_signer_save_pem(const vs_signer *s, const char *priv_path, const char *pub_path);
VS_MUST_USE vs_err vs_signer_public(const vs_signer *s, uint8_t pub[VS_PUB_LEN]);
VS_MUST_USE vs_err vs_sign(const vs_signer *s, const void *msg, size_t n, uint8_t sig[VS_SIG_LEN]);
void vs_signer_free(vs_signer *s);
/* Reads a public key written by vs_signer_save_pem. */
VS_MUST_USE vs_err vs_pub_load_pem(const char *path, uint8_t pub[VS_PUB_LEN]);
VS_MUST_USE vs_err vs_verify(const uint8_t pub[VS_PUB_LEN], const void *msg, size_t n,
		 const uint8_t sig[VS_SIG_LEN]);
/* Key id of a public key: SHA-256 over "vnfsafe-ed25519" || pub. */
VS_MUST_USE vs_err vs_pub_keyid(const uint8_t pub[VS_PUB_LEN], uint8_t id[VS_HASH_LEN]);


#endif
