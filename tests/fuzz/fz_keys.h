/* Fixed keys shared by the unseal fuzzer and the seed generator: the seeds in
 * corpus/unseal are sealed with exactly these, so the fuzzer can reach past
 * the signature and chunk authentication. Never use them for anything else. */
#ifndef VS_FUZZ_KEYS_H
#define VS_FUZZ_KEYS_H

#include "vnfsafe/crypto.h"

/* The data key of every section: 32 bytes of 0x42. */
void fz_data_key(vs_key *k);
/* Raw Ed25519 public key of the fixed signing key. */
vs_err fz_fixed_pub(uint8_t pub[VS_PUB_LEN]);
/* The fixed signing key as a vs_signer (via a temporary PEM file). */
vs_err fz_fixed_signer(vs_signer **s);

#endif
