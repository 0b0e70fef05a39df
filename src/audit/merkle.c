/* RFC 6962 Merkle tree: hashing, a streaming tree head, proofs and their
 * verifiers (RFC 9162 sections 2.1.3.2 and 2.1.4.2). */
#include "audit_priv.h"

#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

static VS_MUST_USE vs_err md_fail(void)
{
	ERR_clear_error();
	return vs_fail(VS_E_ENV, "SHA-256 failed");
}

/* Fetched once: an implicit fetch per digest costs more than the digest. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

VS_MUST_USE vs_err vs_audit_hash2(void *mdctx, uint8_t prefix, const void *a, size_t an, const void *b,
		      size_t bn, uint8_t out[VS_HASH_LEN])
{
	EVP_MD_CTX *ctx = mdctx, *own = NULL;
	pthread_once(&sha256_once, fetch_sha256);
	if (!sha256_md)
		return md_fail();
	if (!ctx && !(ctx = own = EVP_MD_CTX_new()))
		return md_fail();
	unsigned len = 0;
	int ok = EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1 &&
		 EVP_DigestUpdate(ctx, &prefix, 1) == 1 && EVP_DigestUpdate(ctx, a, an) == 1 &&
		 (bn == 0 || EVP_DigestUpdate(ctx, b, bn) == 1) &&
		 EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == VS_HASH_LEN;
	EVP_MD_CTX_free(own);
	return ok ? VS_OK : md_fail();
}

VS_MUST_USE vs_err vs_merkle_leaf_hash(const void *data, size_t n, uint8_t out[VS_HASH_LEN])
{
	return vs_audit_hash2(NULL, 0x00, data, n, NULL, 0, out);
}

VS_MUST_USE vs_err vs_merkle_node_hash(const uint8_t left[VS_HASH_LEN], const uint8_t right[VS_HASH_LEN],
			   uint8_t out[VS_HASH_LEN])
{
	return vs_audit_hash2(NULL, 0x01, left, VS_HASH_LEN, right, VS_HASH_LEN, out);
}

VS_MUST_USE vs_err vs_merkle_init(vs_merkle *m)
{
	memset(m, 0, sizeof *m);
	m->md = EVP_MD_CTX_new();
	return m->md ? VS_OK : md_fail();
}

void vs_merkle_free(vs_merkle *m)
{
	if (!m)
		return;
	EVP_MD_CTX_free(m->md);
	m->md = NULL;
}

void vs_merkle_copy(vs_merkle *dst, const vs_merkle *src)
{
	void *md = dst->md;
	memcpy(dst, src, sizeof *dst);
	dst->md = md;
}

/* The stack holds the roots of the complete subtrees, one per set bit of
 * size, largest (leftmost) first. */
VS_MUST_USE vs_err vs_merkle_add(vs_merkle *m, const uint8_t leaf[VS_HASH_LEN])
{
	if (m->depth >= 64)
		return vs_fail(VS_E_USAGE, "Merkle tree full");
	memcpy(m->stack[m->depth++], leaf, VS_HASH_LEN);
	for (uint64_t s = m->size; s & 1; s >>= 1) {
		m->depth--;
		VS_TRY(vs_audit_hash2(m->md, 0x01, m->stack[m->depth - 1], VS_HASH_LEN, m->stack[m->depth],
			     VS_HASH_LEN, m->stack[m->depth - 1]));
	}
	m->size++;
	return VS_OK;
}

VS_MUST_USE vs_err vs_merkle_root(vs_merkle *m, uint8_t root[VS_HASH_LEN])
{
	if (m->depth == 0)
		return vs_sha256("", 0, root);
	uint8_t r[VS_HASH_LEN];
	memcpy(r, m->stack[m->depth - 1], VS_HASH_LEN);
	for (unsigned i = m->depth - 1; i-- > 0;)
		VS_TRY(vs_audit_hash2(m->md, 0x01, m->stack[i], VS_HASH_LEN, r, VS_HASH_LEN, r));
	memcpy(root, r, VS_HASH_LEN);
	return VS_OK;
}

/* MTH(D[lo:hi]). */
static VS_MUST_USE vs_err mth(const uint8_t (*leaves)[VS_HASH_LEN], uint64_t lo, uint64_t hi,
		  uint8_t out[VS_HASH_LEN])
{
	vs_merkle m;
	VS_TRY(vs_merkle_init(&m));
	vs_err rc = VS_OK;
	for (uint64_t i = lo; i < hi && rc == VS_OK; i++)
		rc = vs_merkle_add(&m, leaves[i]);
	if (rc == VS_OK)
		rc = vs_merkle_root(&m, out);
	vs_merkle_free(&m);
	return rc;
}

static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

static VS_MUST_USE vs_err push(uint8_t (*out)[VS_HASH_LEN], size_t cap, size_t *len,
		   const uint8_t (*leaves)[VS_HASH_LEN], uint64_t lo, uint64_t hi)
{
	if (*len >= cap)
		return vs_fail(VS_E_USAGE, "proof buffer too small");
	return mth(leaves, lo, hi, out[(*len)++]);
}

/* PATH(m, D[lo:hi]) of RFC 6962 2.1.1, leaf to root. */
static VS_MUST_USE vs_err path(const uint8_t (*leaves)[VS_HASH_LEN], uint64_t lo, uint64_t hi, uint64_t m,
		   uint8_t (*out)[VS_HASH_LEN], size_t cap, size_t *len)
{
	uint64_t n = hi - lo;
	if (n <= 1)
		return VS_OK;
	uint64_t k = split_point(n);
	if (m < k) {
		VS_TRY(path(leaves, lo, lo + k, m, out, cap, len));
		return push(out, cap, len, leaves, lo + k, hi);
	}
	VS_TRY(path(leaves, lo + k, hi, m - k, out, cap, len));
	return push(out, cap, len, leaves, lo, lo + k);
}

VS_MUST_USE vs_err vs_merkle_inclusion_proof(const uint8_t (*leaves)[VS_HASH_LEN], uint64_t n, uint64_t index,
				 uint8_t (*out)[VS_HASH_LEN], size_t cap, size_t *len)
{
	*len = 0;
	if (index >= n)
		return vs_fail(VS_E_USAGE, "leaf %llu is not in a tree of %llu",
			       (unsigned long long)index, (unsigned long long)n);
	return path(leaves, 0, n, index, out, cap, len);
}

/* SUBPROOF(m, D[lo:hi], b) of RFC 6962 2.1.2. */
static VS_MUST_USE vs_err subproof(const uint8_t (*leaves)[VS_HASH_LEN], uint64_t lo, uint64_t hi, uint64_t m,
		       bool complete, uint8_t (*out)[VS_HASH_LEN], size_t cap, size_t *len)
{
	uint64_t n = hi - lo;
	if (m == n)
		return complete ? VS_OK : push(out, cap, len, leaves, lo, hi);
	uint64_t k = split_point(n);
	if (m <= k) {
		VS_TRY(subproof(leaves, lo, lo + k, m, complete, out, cap, len));
		return push(out, cap, len, leaves, lo + k, hi);
	}
	VS_TRY(subproof(leaves, lo + k, hi, m - k, false, out, cap, len));
	return push(out, cap, len, leaves, lo, lo + k);
}

VS_MUST_USE vs_err vs_merkle_consistency_proof(const uint8_t (*leaves)[VS_HASH_LEN], uint64_t m, uint64_t n,
				   uint8_t (*out)[VS_HASH_LEN], size_t cap, size_t *len)
{
	*len = 0;
	if (m == 0 || m > n)
		return vs_fail(VS_E_USAGE, "no consistency proof from %llu to %llu",
			       (unsigned long long)m, (unsigned long long)n);
	if (m == n)
		return VS_OK;
	return subproof(leaves, 0, n, m, true, out, cap, len);
}

static VS_MUST_USE vs_err bad_proof(const char *what)
{
	return vs_fail(VS_E_INTEGRITY, "%s proof does not verify", what);
}

VS_MUST_USE vs_err vs_merkle_verify_inclusion(const uint8_t leaf[VS_HASH_LEN], uint64_t index, uint64_t size,
				  const uint8_t *proof, size_t proof_len,
				  const uint8_t root[VS_HASH_LEN])
{
	if (index >= size || proof_len % VS_HASH_LEN != 0 || proof_len / VS_HASH_LEN > 64)
		return bad_proof("inclusion");
	uint64_t fn = index, sn = size - 1;
	uint8_t r[VS_HASH_LEN];
	memcpy(r, leaf, VS_HASH_LEN);
	for (size_t off = 0; off < proof_len; off += VS_HASH_LEN) {
		const uint8_t *p = proof + off;
		if (sn == 0)
			return bad_proof("inclusion");
		if ((fn & 1) || fn == sn) {
			VS_TRY(vs_merkle_node_hash(p, r, r));
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			VS_TRY(vs_merkle_node_hash(r, p, r));
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || CRYPTO_memcmp(r, root, VS_HASH_LEN) != 0)
		return bad_proof("inclusion");
	return VS_OK;
}

VS_MUST_USE vs_err vs_merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t *proof,
				    size_t proof_len, const uint8_t root_m[VS_HASH_LEN],
				    const uint8_t root_n[VS_HASH_LEN])
{
	if (m == 0 || m > n || proof_len % VS_HASH_LEN != 0 || proof_len / VS_HASH_LEN > 64)
		return bad_proof("consistency");
	if (m == n) {
		if (proof_len != 0 || CRYPTO_memcmp(root_m, root_n, VS_HASH_LEN) != 0)
			return bad_proof("consistency");
		return VS_OK;
	}
	if (proof_len == 0)
		return bad_proof("consistency");
	size_t count = proof_len / VS_HASH_LEN, i = 0;
	uint8_t fr[VS_HASH_LEN], sr[VS_HASH_LEN];
	bool pow2 = (m & (m - 1)) == 0;
	if (pow2) {
		memcpy(fr, root_m, VS_HASH_LEN);
	} else {
		memcpy(fr, proof, VS_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, VS_HASH_LEN);
	uint64_t fn = m - 1, sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < count; i++) {
		const uint8_t *c = proof + i * VS_HASH_LEN;
		if (sn == 0)
			return bad_proof("consistency");
		if ((fn & 1) || fn == sn) {
			VS_TRY(vs_merkle_node_hash(c, fr, fr));
			VS_TRY(vs_merkle_node_hash(c, sr, sr));
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			VS_TRY(vs_merkle_node_hash(sr, c, sr));
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || CRYPTO_memcmp(fr, root_m, VS_HASH_LEN) != 0 ||
	    CRYPTO_memcmp(sr, root_n, VS_HASH_LEN) != 0)
		return bad_proof("consistency");
	return VS_OK;
}
