/* Streaming sealer: per-section chunk buffers, one record per full chunk. */
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "vnfsafe/pipe.h"

/* Chunks being written while the next ones are read and encrypted. */
#define SEAL_PIPE_DEPTH 4

typedef struct {
	uint8_t *buf;
	size_t fill;
	uint64_t chunk_idx;
	uint64_t plain_len;
	vs_aead *aead;
} sec_state;

struct vs_sealer {
	vs_snap_header h;
	sec_state sec[VS_SNAP_MAX_SECTIONS];
	vs_hash *records;
	vs_sink *out;
	const vs_signer *signer;
	vs_pipe *writer; /* slots: record header + ciphertext + tag */
	uint64_t bytes_out;
	bool failed;
	bool finished;
};

VS_MUST_USE vs_err vs_sig_message(const uint8_t digest[VS_HASH_LEN], const uint8_t *trailer, size_t n,
		      vs_wr *msg)
{
	vs_wr_bytes(msg, VS_SIG_LABEL, sizeof VS_SIG_LABEL);
	vs_wr_bytes(msg, digest, VS_HASH_LEN);
	vs_wr_bytes(msg, trailer, n);
	return msg->bad ? vs_fail(VS_E_ENV, "out of memory") : VS_OK;
}

static VS_MUST_USE vs_err write_record(void *ctx, const uint8_t *buf, size_t len, unsigned tag, bool flag)
{
	vs_sealer *s = ctx;
	(void)tag, (void)flag;
	vs_err rc = s->out->write(s->out->ctx, buf, len);
	return rc == VS_OK ? rc : vs_wrap(rc, "writing snapshot");
}

/* Header and trailer: written in order, after every queued chunk. */
static VS_MUST_USE vs_err emit(vs_sealer *s, const void *p, size_t n)
{
	vs_err rc = s->writer ? vs_pipe_drain(s->writer) : VS_OK;
	if (rc == VS_OK)
		rc = s->out->write(s->out->ctx, p, n);
	if (rc != VS_OK) {
		s->failed = true;
		return vs_wrap(rc, "writing snapshot");
	}
	s->bytes_out += n;
	return VS_OK;
}

VS_MUST_USE vs_err vs_sealer_new(vs_sealer **out, vs_snap_header *h, const vs_key *keys,
		     const vs_signer *signer, vs_sink *sink)
{
	vs_sealer *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	vs_wr hdr = { 0 };
	vs_err rc = vs_snap_header_encode(h, &hdr);
	if (rc != VS_OK)
		goto fail;
	s->h = *h;
	s->out = sink;
	s->signer = signer;
	VS_TRY_GOTO(rc, vs_hash_new(&s->records), fail);
	for (unsigned i = 0; i < h->nsections; i++)
		VS_TRY_GOTO(rc, vs_aead_new(&s->sec[i].aead, &keys[i]), fail);
	VS_TRY_GOTO(rc, emit(s, hdr.p, hdr.len), fail);
	VS_TRY_GOTO(rc, vs_pipe_new(&s->writer, SEAL_PIPE_DEPTH,
				    VS_REC_HDR_LEN + h->chunk_size + VS_TAG_LEN, write_record, s),
		    fail);
	vs_wr_free(&hdr);
	*out = s;
	return VS_OK;
fail:
	vs_wr_free(&hdr);
	vs_sealer_free(s);
	return rc;
}

static VS_MUST_USE vs_err flush_chunk(vs_sealer *s, unsigned i, bool final)
{
	sec_state *st = &s->sec[i];
	uint8_t nonce[VS_NONCE_LEN], aad[VS_AAD_LEN], *rec;
	size_t n = st->fill;
	vs_err rc = vs_pipe_acquire(s->writer, &rec);
	if (rc != VS_OK) {
		s->failed = true;
		return rc;
	}
	vs_chunk_nonce(nonce, i, st->chunk_idx);
	vs_chunk_aad(aad, s->h.digest, i, st->chunk_idx, final);
	rec[0] = VS_REC_CHUNK;
	vs_put_u16(rec + 1, (uint16_t)i);
	rec[3] = final ? VS_REC_FINAL : 0;
	vs_put_u32(rec + 4, (uint32_t)n);
	uint8_t *tag = rec + VS_REC_HDR_LEN + n;
	rc = vs_aead_seal(st->aead, nonce, aad, sizeof aad, st->buf, n, rec + VS_REC_HDR_LEN, tag);
	if (rc == VS_OK)
		rc = vs_hash_update(s->records, rec, VS_REC_HDR_LEN);
	if (rc == VS_OK)
		rc = vs_hash_update(s->records, tag, VS_TAG_LEN);
	if (rc != VS_OK) {
		s->failed = true;
		return rc;
	}
	vs_pipe_submit(s->writer, VS_REC_HDR_LEN + n + VS_TAG_LEN, i, final);
	s->bytes_out += VS_REC_HDR_LEN + n + VS_TAG_LEN;
	st->chunk_idx++;
	st->plain_len += n;
	st->fill = 0;
	return VS_OK;
}

static VS_MUST_USE vs_err ensure_buf(vs_sealer *s, sec_state *st)
{
	if (!st->buf && !(st->buf = malloc(s->h.chunk_size)))
		return vs_fail(VS_E_ENV, "out of memory");
	return VS_OK;
}

VS_MUST_USE vs_err vs_sealer_reserve(vs_sealer *s, unsigned i, uint8_t **p, size_t *avail)
{
	if (s->failed || s->finished)
		return vs_fail(VS_E_USAGE, "sealer is no longer usable");
	if (i >= s->h.nsections)
		return vs_fail(VS_E_USAGE, "no section %u", i);
	sec_state *st = &s->sec[i];
	VS_TRY(ensure_buf(s, st));
	/* Flush only when more data arrives, so a section's last chunk is
	 * never an empty final one unless the section is empty. */
	if (st->fill == s->h.chunk_size)
		VS_TRY(flush_chunk(s, i, false));
	*p = st->buf + st->fill;
	*avail = s->h.chunk_size - st->fill;
	return VS_OK;
}

void vs_sealer_commit(vs_sealer *s, unsigned i, size_t n)
{
	s->sec[i].fill += n;
}

VS_MUST_USE vs_err vs_sealer_write(vs_sealer *s, unsigned i, const void *p, size_t n)
{
	const uint8_t *src = p;
	while (n > 0) {
		uint8_t *dst;
		size_t avail;
		VS_TRY(vs_sealer_reserve(s, i, &dst, &avail));
		size_t k = n < avail ? n : avail;
		memcpy(dst, src, k);
		vs_sealer_commit(s, i, k);
		src += k;
		n -= k;
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_sealer_finish(vs_sealer *s, vs_snap_summary *sum)
{
	if (s->failed || s->finished)
		return vs_fail(VS_E_USAGE, "sealer is no longer usable");
	/* An empty section's final chunk is empty: no buffer needed. */
	for (unsigned i = 0; i < s->h.nsections; i++)
		VS_TRY(flush_chunk(s, i, true));
	vs_wr t = { 0 }, msg = { 0 };
	uint8_t digest[VS_HASH_LEN], sig[VS_SIG_LEN];
	vs_wr_u8(&t, VS_REC_TRAILER);
	vs_wr_u16(&t, s->h.nsections);
	for (unsigned i = 0; i < s->h.nsections; i++) {
		vs_wr_u64(&t, s->sec[i].chunk_idx);
		vs_wr_u64(&t, s->sec[i].plain_len);
	}
	vs_err rc = vs_hash_final(s->records, digest);
	vs_wr_bytes(&t, digest, sizeof digest);
	if (rc == VS_OK && t.bad)
		rc = vs_fail(VS_E_ENV, "out of memory");
	if (rc == VS_OK)
		rc = vs_sig_message(s->h.digest, t.p, t.len, &msg);
	if (rc == VS_OK)
		rc = vs_sign(s->signer, msg.p, msg.len, sig);
	if (rc == VS_OK)
		rc = emit(s, t.p, t.len);
	if (rc == VS_OK)
		rc = emit(s, sig, sizeof sig);
	vs_wr_free(&t);
	vs_wr_free(&msg);
	if (rc != VS_OK) {
		s->failed = true;
		return rc;
	}
	s->finished = true;
	if (sum) {
		memset(sum, 0, sizeof *sum);
		for (unsigned i = 0; i < s->h.nsections; i++) {
			sum->sections[i].chunks = s->sec[i].chunk_idx;
			sum->sections[i].plain_len = s->sec[i].plain_len;
		}
		sum->file_len = s->bytes_out;
	}
	return VS_OK;
}

uint64_t vs_sealer_bytes_out(const vs_sealer *s)
{
	return s->bytes_out;
}

void vs_sealer_free(vs_sealer *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < VS_SNAP_MAX_SECTIONS; i++) {
		if (s->sec[i].buf) {
			/* Plaintext of a sensitive domain: wipe before free. */
			vs_wipe(s->sec[i].buf, s->h.chunk_size);
			free(s->sec[i].buf);
		}
		vs_aead_free(s->sec[i].aead);
	}
	vs_pipe_free(s->writer);
	vs_hash_free(s->records);
	vs_wipe(s, sizeof *s);
	free(s);
}
