/* libFuzzer target: the RFC 6962 proof verifiers on untrusted bytes (layout
 * in fz_audit.h). Besides not crashing, a soundness oracle: against a root of
 * the fixed reference tree, an accepted inclusion proof must be for the real
 * leaf at that index, and an accepted consistency proof must start from the
 * real smaller root. Anything else would be a forged proof. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_audit.h"
#include "vnfsafe/audit.h"
#include "vnfsafe/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t leaves[FZ_TREE_MAX][VS_HASH_LEN], roots[FZ_TREE_MAX + 1][VS_HASH_LEN];
static bool ready;

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_audit_proof: invariant broken: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		fz_audit_tree(leaves, roots);
		ready = true;
	}
	if (size < FZ_PROOF_HDR)
		return 0;
	uint64_t a = vs_get_u64(data + 1), b = vs_get_u64(data + 9);
	const uint8_t *h1 = data + 17, *h2 = data + 49, *proof = data + FZ_PROOF_HDR;
	size_t plen = size - FZ_PROOF_HDR;
	bool real_root = b >= 1 && b <= FZ_TREE_MAX && !memcmp(h2, roots[b], VS_HASH_LEN);
	if (data[0] % 2 == 0) {
		vs_err rc = vs_merkle_verify_inclusion(h1, a, b, proof, plen, h2);
		if (rc != VS_OK && rc != VS_E_INTEGRITY)
			broken("unexpected error code (inclusion)");
		if (rc == VS_OK && (a >= b || plen % VS_HASH_LEN))
			broken("inclusion accepted outside the tree or with a ragged proof");
		if (rc == VS_OK && real_root && memcmp(h1, leaves[a], VS_HASH_LEN) != 0)
			broken("inclusion proof accepted for a leaf that is not in the tree");
	} else {
		vs_err rc = vs_merkle_verify_consistency(a, b, proof, plen, h1, h2);
		if (rc != VS_OK && rc != VS_E_INTEGRITY)
			broken("unexpected error code (consistency)");
		if (rc == VS_OK && (a == 0 || a > b))
			broken("consistency accepted for impossible sizes");
		if (rc == VS_OK && real_root && memcmp(h1, roots[a], VS_HASH_LEN) != 0)
			broken("consistency proof accepted from a root the tree never had");
	}
	return 0;
}
