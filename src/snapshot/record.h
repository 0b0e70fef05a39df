/* Internal to snapshot/: how chunk nonces, AAD and the signed message are built. */
#ifndef VS_SNAPSHOT_RECORD_H
#define VS_SNAPSHOT_RECORD_H

#include "vnfsafe/snapshot.h"

#define VS_AAD_LEN (VS_HASH_LEN + 4 + 8 + 1)
#define VS_SIG_LABEL "vnfsafe-vsnap-v1-signature"
#define VS_TRAILER_FIXED (1 + 2)
#define VS_TRAILER_PER_SECTION 16
#define VS_TRAILER_TAIL (VS_HASH_LEN + VS_SIG_LEN)

/* Nonce = section index (u32) || chunk index (u64): unique per key, since a
 * data key belongs to exactly one section of one snapshot. */
static inline void vs_chunk_nonce(uint8_t nonce[VS_NONCE_LEN], unsigned section, uint64_t idx)
{
	vs_put_u32(nonce, section);
	vs_put_u64(nonce + 4, idx);
}

/* AAD = header digest || section || chunk index || final flag: binds each
 * chunk to its file, section, position and end-of-section. */
static inline void vs_chunk_aad(uint8_t aad[VS_AAD_LEN], const uint8_t digest[VS_HASH_LEN],
				unsigned section, uint64_t idx, bool final)
{
	memcpy(aad, digest, VS_HASH_LEN);
	vs_put_u32(aad + VS_HASH_LEN, section);
	vs_put_u64(aad + VS_HASH_LEN + 4, idx);
	aad[VS_HASH_LEN + 12] = final ? 1 : 0;
}

/* The signed message: label || header digest || trailer up to the signature. */
VS_MUST_USE vs_err vs_sig_message(const uint8_t digest[VS_HASH_LEN], const uint8_t *trailer, size_t n,
		      vs_wr *msg);

#endif
