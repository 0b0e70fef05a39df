/* The sealed snapshot format (.vsnap v1), see docs/format.md.
 *
 * A snapshot is a header, then chunk records of any number of sections
 * (interleaved in any order, each section chunked and encrypted with its own
 * trust domain's key), then a signed trailer. Sealing and unsealing are
 * single-pass streams with memory bounded by chunk size x sections. */
#ifndef VNFSAFE_SNAPSHOT_H
#define VNFSAFE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "vnfsafe/buf.h"
#include "vnfsafe/crypto.h"
#include "vnfsafe/err.h"
#include "vnfsafe/ids.h" /* VS_NAME_MAX, VS_ID_LEN, vs_name_ok, vs_id_format, vs_id_parse */
#include "vnfsafe/stream.h"

#define VS_SNAP_VERSION 1
#define VS_SNAP_MAGIC "VSNAP\r\n\x1a"
#define VS_SNAP_MAGIC_LEN 8
#define VS_SNAP_PREFIX_LEN (VS_SNAP_MAGIC_LEN + 2 + 4)
#define VS_SNAP_MAX_HEADER 65536
#define VS_SNAP_MAX_SECTIONS 64
#define VS_SNAP_MIN_CHUNK 64u
#define VS_SNAP_MAX_CHUNK (16u << 20)
#define VS_SNAP_DEFAULT_CHUNK (256u << 10)

enum { VS_REC_CHUNK = 1, VS_REC_TRAILER = 2 };
#define VS_REC_FINAL 0x01
#define VS_REC_HDR_LEN 8 /* type u8, section u16, flags u8, length u32 */

typedef struct {
	char name[VS_NAME_MAX];
	char domain[VS_NAME_MAX];
	uint8_t key_id[VS_ID_LEN];
} vs_section_info;

typedef struct {
	uint8_t snapshot_id[VS_ID_LEN];
	uint8_t lineage_id[VS_ID_LEN];
	uint64_t generation;
	uint64_t created; /* unix seconds */
	uint64_t expires; /* unix seconds, 0 = no expiry */
	char vnf[VS_NAME_MAX];
	char engine[VS_NAME_MAX];
	uint8_t signer_id[VS_HASH_LEN];
	uint32_t chunk_size;
	uint16_t nsections;
	vs_section_info sections[VS_SNAP_MAX_SECTIONS];
	/* Filled by encode/parse, not part of the encoded body. */
	uint32_t header_len;
	uint8_t digest[VS_HASH_LEN];
} vs_snap_header;

typedef struct {
	uint64_t chunks;
	uint64_t plain_len;
} vs_section_sum;

typedef struct {
	vs_section_sum sections[VS_SNAP_MAX_SECTIONS];
	uint64_t file_len;
} vs_snap_summary;

/* Encodes prefix (magic, version, length) and body; fills h->header_len and
 * h->digest (SHA-256 over prefix and body). */
VS_MUST_USE vs_err vs_snap_header_encode(vs_snap_header *h, vs_wr *out);
/* Parses prefix and body from p; *consumed is the total length. */
VS_MUST_USE vs_err vs_snap_header_parse(const uint8_t *p, size_t n, vs_snap_header *h, size_t *consumed);
/* Reads and parses the header from a stream. */
VS_MUST_USE vs_err vs_snap_header_read(vs_source *src, vs_snap_header *h);

/* --- sealing --- */
typedef struct vs_sealer vs_sealer;
/* h: everything but header_len/digest set by the caller; keys[i] is section
 * i's data key. Writes the header at once. Keys are copied into contexts and
 * may be wiped by the caller after this returns. */
VS_MUST_USE vs_err vs_sealer_new(vs_sealer **s, vs_snap_header *h, const vs_key *keys,
		     const vs_signer *signer, vs_sink *out);
/* Gives a writable window into section's current chunk (flushing a full one). */
VS_MUST_USE vs_err vs_sealer_reserve(vs_sealer *s, unsigned section, uint8_t **p, size_t *avail);
void vs_sealer_commit(vs_sealer *s, unsigned section, size_t n);
VS_MUST_USE vs_err vs_sealer_write(vs_sealer *s, unsigned section, const void *p, size_t n);
/* Writes every section's final chunk and the signed trailer. */
VS_MUST_USE vs_err vs_sealer_finish(vs_sealer *s, vs_snap_summary *sum);
uint64_t vs_sealer_bytes_out(const vs_sealer *s);
void vs_sealer_free(vs_sealer *s);

/* --- unsealing --- */
typedef struct {
	void *ctx;
	/* Called once the header is parsed, before any chunk: decide whether to go
	 * on, and give the signer's public key (VS_E_INTEGRITY when not trusted). */
	vs_err (*on_header)(void *ctx, const vs_snap_header *h, uint8_t pub[VS_PUB_LEN]);
	/* Data key for section i; set *skip to leave the section encrypted (its
	 * records are still bound by the signature, its plaintext not released). */
	vs_err (*section_key)(void *ctx, const vs_snap_header *h, unsigned i, vs_key *key,
			      bool *skip);
	/* Authenticated plaintext of one chunk. The snapshot as a whole is only
	 * verified when vs_unseal returns VS_OK: stage, do not release, before. */
	vs_err (*data)(void *ctx, unsigned section, const uint8_t *p, size_t n, bool final);
	void (*progress)(void *ctx, uint64_t bytes_in);
} vs_unseal_ops;

VS_MUST_USE vs_err vs_unseal(vs_source *src, const vs_unseal_ops *ops, vs_snap_header *h,
		 vs_snap_summary *sum);

#endif
