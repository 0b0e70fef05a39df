/* Streaming unsealer: every chunk is authenticated before its plaintext is
 * handed on; the trailer signature completes the proof of the whole file. */
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "vnfsafe/pipe.h"

/* Plaintext chunks handed to the consumer (e.g. restore's file writes) on a
 * second thread while the next ones are read and decrypted. */
#define UNSEAL_PIPE_DEPTH 4
#include "vnfsafe/fsutil.h"

typedef struct {
	vs_aead *aead; /* NULL: section skipped */
	uint64_t chunk_idx;
	uint64_t plain_len;
	bool done;
} sec_state;

typedef struct {
	vs_source *src;
	const vs_unseal_ops *ops;
	vs_snap_header *h;
	sec_state sec[VS_SNAP_MAX_SECTIONS];
	vs_hash *records;
	vs_pipe *consumer;
	uint8_t *skipbuf; /* ciphertext of sections not being opened */
	uint64_t bytes_in;
} unsealer;

static VS_MUST_USE vs_err deliver(void *ctx, const uint8_t *buf, size_t len, unsigned section, bool final)
{
	unsealer *u = ctx;
	return u->ops->data(u->ops->ctx, section, buf, len, final);
}

static VS_MUST_USE vs_err need(unsealer *u, void *p, size_t n, const char *what)
{
	size_t got;
	VS_TRY(u->src->read(u->src->ctx, p, n, &got));
	u->bytes_in += got;
	if (got < n)
		return vs_fail(VS_E_INTEGRITY, "snapshot is truncated (inside %s at byte %llu)", what,
			       (unsigned long long)u->bytes_in);
	return VS_OK;
}

static VS_MUST_USE vs_err read_chunk(unsealer *u, const uint8_t rh[VS_REC_HDR_LEN])
{
	unsigned i = vs_get_u16(rh + 1);
	uint8_t flags = rh[3];
	uint32_t n = vs_get_u32(rh + 4);
	uint64_t at = u->bytes_in - VS_REC_HDR_LEN;
	if (i >= u->h->nsections)
		return vs_fail(VS_E_INTEGRITY, "chunk at byte %llu names section %u of %u",
			       (unsigned long long)at, i, u->h->nsections);
	if (vs_interrupted)
		return vs_fail(VS_E_ENV, "interrupted");
	sec_state *st = &u->sec[i];
	bool final = flags & VS_REC_FINAL;
	if (flags & ~VS_REC_FINAL)
		return vs_fail(VS_E_INTEGRITY, "chunk at byte %llu has unknown flags",
			       (unsigned long long)at);
	if (st->done)
		return vs_fail(VS_E_INTEGRITY, "chunk at byte %llu follows the final chunk of section '%s'",
			       (unsigned long long)at, u->h->sections[i].name);
	if (n > u->h->chunk_size || (!final && n != u->h->chunk_size))
		return vs_fail(VS_E_INTEGRITY, "chunk at byte %llu has a bad length",
			       (unsigned long long)at);
	uint8_t *buf = u->skipbuf;
	if (st->aead)
		VS_TRY(vs_pipe_acquire(u->consumer, &buf));
	VS_TRY(need(u, buf, (size_t)n + VS_TAG_LEN, "a chunk"));
	const uint8_t *tag = buf + n;
	VS_TRY(vs_hash_update(u->records, rh, VS_REC_HDR_LEN));
	VS_TRY(vs_hash_update(u->records, tag, VS_TAG_LEN));
	if (st->aead) {
		uint8_t nonce[VS_NONCE_LEN], aad[VS_AAD_LEN];
		vs_chunk_nonce(nonce, i, st->chunk_idx);
		vs_chunk_aad(aad, u->h->digest, i, st->chunk_idx, final);
		vs_err rc = vs_aead_open(st->aead, nonce, aad, sizeof aad, buf, n, buf, tag);
		if (rc != VS_OK)
			return vs_fail(VS_E_INTEGRITY,
				       "chunk %llu of section '%s' (at byte %llu) fails authentication: "
				       "altered, reordered, spliced or wrong key",
				       (unsigned long long)st->chunk_idx, u->h->sections[i].name,
				       (unsigned long long)at);
		/* Authentic: hand it on; the slot is wiped when the pipe is freed. */
		vs_pipe_submit(u->consumer, n, i, final);
	}
	st->chunk_idx++;
	st->plain_len += n;
	st->done = final;
	if (u->ops->progress)
		u->ops->progress(u->ops->ctx, u->bytes_in);
	return VS_OK;
}

static VS_MUST_USE vs_err read_trailer(unsealer *u, const uint8_t rh[VS_REC_HDR_LEN], const uint8_t pub[VS_PUB_LEN])
{
	/* rh holds the first 8 trailer bytes: type, nsections, then 5 bytes. */
	size_t ns = u->h->nsections;
	size_t tlen = VS_TRAILER_FIXED + ns * VS_TRAILER_PER_SECTION + VS_TRAILER_TAIL;
	uint8_t *t = malloc(tlen);
	if (!t)
		return vs_fail(VS_E_ENV, "out of memory");
	memcpy(t, rh, VS_REC_HDR_LEN);
	vs_err rc = need(u, t + VS_REC_HDR_LEN, tlen - VS_REC_HDR_LEN, "the trailer");
	uint8_t digest[VS_HASH_LEN];
	vs_wr msg = { 0 };
	if (rc != VS_OK)
		goto out;
	if (vs_get_u16(t + 1) != ns) {
		rc = vs_fail(VS_E_INTEGRITY, "trailer section count does not match the header");
		goto out;
	}
	vs_rd r = vs_rd_init(t + VS_TRAILER_FIXED, ns * VS_TRAILER_PER_SECTION);
	for (size_t i = 0; i < ns; i++) {
		uint64_t chunks = 0, plain = 0;
		vs_rd_u64(&r, &chunks);
		vs_rd_u64(&r, &plain);
		if (!u->sec[i].done) {
			rc = vs_fail(VS_E_INTEGRITY, "section '%s' has no final chunk (truncated)",
				     u->h->sections[i].name);
			goto out;
		}
		if (chunks != u->sec[i].chunk_idx || plain != u->sec[i].plain_len) {
			rc = vs_fail(VS_E_INTEGRITY, "section '%s' length does not match the trailer",
				     u->h->sections[i].name);
			goto out;
		}
	}
	size_t body = VS_TRAILER_FIXED + ns * VS_TRAILER_PER_SECTION;
	VS_TRY_GOTO(rc, vs_hash_final(u->records, digest), out);
	if (memcmp(digest, t + body, VS_HASH_LEN) != 0) {
		rc = vs_fail(VS_E_INTEGRITY, "records digest does not match the trailer");
		goto out;
	}
	VS_TRY_GOTO(rc, vs_sig_message(u->h->digest, t, body + VS_HASH_LEN, &msg), out);
	rc = vs_verify(pub, msg.p, msg.len, t + body + VS_HASH_LEN);
	if (rc != VS_OK)
		rc = vs_fail(VS_E_INTEGRITY, "trailer signature does not verify with the signer's key");
out:
	vs_wr_free(&msg);
	free(t);
	return rc;
}

static VS_MUST_USE vs_err run(unsealer *u, vs_snap_summary *sum)
{
	uint8_t pub[VS_PUB_LEN];
	VS_TRY(vs_snap_header_read(u->src, u->h));
	u->bytes_in = u->h->header_len;
	/* Trust first: an unknown signer is refused before any decryption. */
	VS_TRY(u->ops->on_header(u->ops->ctx, u->h, pub));
	for (unsigned i = 0; i < u->h->nsections; i++) {
		vs_key key;
		bool skip = false;
		vs_err rc = u->ops->section_key(u->ops->ctx, u->h, i, &key, &skip);
		if (rc == VS_OK && !skip)
			rc = vs_aead_new(&u->sec[i].aead, &key);
		vs_key_wipe(&key);
		VS_TRY(rc);
	}
	VS_TRY(vs_hash_new(&u->records));
	size_t slot = (size_t)u->h->chunk_size + VS_TAG_LEN;
	if (!(u->skipbuf = malloc(slot)))
		return vs_fail(VS_E_ENV, "out of memory");
	VS_TRY(vs_pipe_new(&u->consumer, UNSEAL_PIPE_DEPTH, slot, deliver, u));
	for (;;) {
		uint8_t rh[VS_REC_HDR_LEN];
		size_t got;
		VS_TRY(u->src->read(u->src->ctx, rh, 1, &got));
		if (got == 0)
			return vs_fail(VS_E_INTEGRITY, "snapshot is truncated (ends at byte %llu without a trailer)",
				       (unsigned long long)u->bytes_in);
		u->bytes_in += 1;
		VS_TRY(need(u, rh + 1, VS_REC_HDR_LEN - 1, "a record header"));
		if (rh[0] == VS_REC_CHUNK) {
			VS_TRY(read_chunk(u, rh));
		} else if (rh[0] == VS_REC_TRAILER) {
			VS_TRY(read_trailer(u, rh, pub));
			/* Every chunk handed on must also have been taken. */
			VS_TRY(vs_pipe_drain(u->consumer));
			break;
		} else {
			return vs_fail(VS_E_INTEGRITY, "unknown record type %u at byte %llu", rh[0],
				       (unsigned long long)(u->bytes_in - VS_REC_HDR_LEN));
		}
	}
	uint8_t extra;
	size_t got;
	VS_TRY(u->src->read(u->src->ctx, &extra, 1, &got));
	if (got)
		return vs_fail(VS_E_INTEGRITY, "unexpected data after the signed trailer (byte %llu)",
			       (unsigned long long)u->bytes_in);
	if (sum) {
		memset(sum, 0, sizeof *sum);
		for (unsigned i = 0; i < u->h->nsections; i++) {
			sum->sections[i].chunks = u->sec[i].chunk_idx;
			sum->sections[i].plain_len = u->sec[i].plain_len;
		}
		sum->file_len = u->bytes_in;
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_unseal(vs_source *src, const vs_unseal_ops *ops, vs_snap_header *h,
		 vs_snap_summary *sum)
{
	unsealer u;
	memset(&u, 0, sizeof u);
	u.src = src;
	u.ops = ops;
	u.h = h;
	vs_err rc = run(&u, sum);
	for (unsigned i = 0; i < VS_SNAP_MAX_SECTIONS; i++)
		vs_aead_free(u.sec[i].aead);
	vs_pipe_free(u.consumer); /* drops what was not taken after a failure */
	vs_hash_free(u.records);
	free(u.skipbuf); /* only ever held ciphertext */
	return rc;
}
