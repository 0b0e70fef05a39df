/* Shared by the audit fuzz targets and gen_corpus: the fixed MAC key, the
 * fixed reference tree (leaf i = RFC 6962 leaf hash of "leaf-<i>") and the
 * proof input layout:
 *   kind (1: even inclusion, odd consistency) || a (u64 BE: index or m) ||
 *   b (u64 BE: size or n) || h1 (32: leaf or root_m) || h2 (32: root or root_n) ||
 *   proof (rest) */
#ifndef FZ_AUDIT_H
#define FZ_AUDIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/audit.h"

#define FZ_TREE_MAX 64
#define FZ_PROOF_HDR (1 + 8 + 8 + 32 + 32)

static inline void fz_audit_key(vs_key *k)
{
	memset(k->k, 0x42, sizeof k->k);
}

/* leaves[0..FZ_TREE_MAX) and roots[0..FZ_TREE_MAX] of the reference tree. */
static inline void fz_audit_tree(uint8_t leaves[FZ_TREE_MAX][VS_HASH_LEN],
				 uint8_t roots[FZ_TREE_MAX + 1][VS_HASH_LEN])
{
	vs_merkle m;
	if (vs_merkle_init(&m) != VS_OK || vs_merkle_root(&m, roots[0]) != VS_OK)
		abort();
	for (unsigned i = 0; i < FZ_TREE_MAX; i++) {
		char d[16];
		int n = snprintf(d, sizeof d, "leaf-%u", i);
		if (vs_merkle_leaf_hash(d, (size_t)n, leaves[i]) != VS_OK ||
		    vs_merkle_add(&m, leaves[i]) != VS_OK || vs_merkle_root(&m, roots[i + 1]) != VS_OK)
			abort();
	}
	vs_merkle_free(&m);
}

#endif
