#define _GNU_SOURCE
/* Seal/unseal in memory: round trip, and every kind of damage refused with
 * VS_E_INTEGRITY, never releasing a byte that was not authentic. */
#include "testutil.h"
#include "vnfsafe/snapshot.h"

#define NSEC 3
#define CHUNK 64

typedef struct {
	vs_signer *signer;
	uint8_t pub[VS_PUB_LEN];
	vs_key keys[NSEC];
	uint8_t plain[NSEC][1000];
	size_t plain_len[NSEC];
} fixture;

static fixture fx;

typedef struct {
	bool skip[NSEC];
	bool trust;
	vs_wr got[NSEC];
	int key_calls;
	bool bad_release; /* a released byte differs from the original */
} sink_state;

static int setup(void **st)
{
	(void)st;
	assert_int_equal(vs_signer_generate(&fx.signer), VS_OK);
	assert_int_equal(vs_signer_public(fx.signer, fx.pub), VS_OK);
	for (int i = 0; i < NSEC; i++) {
		assert_int_equal(vs_key_generate(&fx.keys[i]), VS_OK);
		fx.plain_len[i] = i == 2 ? 0 : (size_t)(300 + 77 * i); /* section 2 empty */
		for (size_t j = 0; j < fx.plain_len[i]; j++)
			fx.plain[i][j] = (uint8_t)(j * 7 + i);
	}
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	vs_signer_free(fx.signer);
	return 0;
}

static void make_header(vs_snap_header *h, uint8_t tag)
{
	memset(h, 0, sizeof *h);
	memset(h->snapshot_id, tag, VS_ID_LEN);
	h->created = 1700000000;
	strcpy(h->vnf, "amf-1");
	strcpy(h->engine, "dir");
	assert_int_equal(vs_pub_keyid(fx.pub, h->signer_id), VS_OK);
	h->chunk_size = CHUNK;
	h->nsections = NSEC;
	const char *names[NSEC] = { "default", "secrets", "empty" };
	for (int i = 0; i < NSEC; i++) {
		strcpy(h->sections[i].name, names[i]);
		strcpy(h->sections[i].domain, names[i]);
		memset(h->sections[i].key_id, i + 1, VS_ID_LEN);
	}
}

/* Seals the fixture, interleaving sections in small writes. */
static void seal(vs_wr *out, uint8_t tag)
{
	vs_snap_header h;
	vs_sealer *s;
	vs_sink sink = tu_sink(out);
	make_header(&h, tag);
	assert_int_equal(vs_sealer_new(&s, &h, fx.keys, fx.signer, &sink), VS_OK);
	size_t off[NSEC] = { 0 };
	for (bool more = true; more;) {
		more = false;
		for (int i = 0; i < NSEC; i++) {
			size_t n = fx.plain_len[i] - off[i];
			n = n > 45 ? 45 : n;
			if (n) {
				assert_int_equal(vs_sealer_write(s, (unsigned)i, fx.plain[i] + off[i], n), VS_OK);
				off[i] += n;
				more = true;
			}
		}
	}
	vs_snap_summary sum;
	assert_int_equal(vs_sealer_finish(s, &sum), VS_OK);
	assert_int_equal(sum.file_len, out->len);
	vs_sealer_free(s);
}

static vs_err cb_header(void *ctx, const vs_snap_header *h, uint8_t pub[VS_PUB_LEN])
{
	sink_state *ss = ctx;
	(void)h;
	if (!ss->trust)
		return vs_fail(VS_E_INTEGRITY, "untrusted");
	memcpy(pub, fx.pub, VS_PUB_LEN);
	return VS_OK;
}

static vs_err cb_key(void *ctx, const vs_snap_header *h, unsigned i, vs_key *key, bool *skip)
{
	sink_state *ss = ctx;
	(void)h;
	ss->key_calls++;
	*skip = ss->skip[i];
	*key = fx.keys[i];
	return VS_OK;
}

static vs_err cb_data(void *ctx, unsigned i, const uint8_t *p, size_t n, bool final)
{
	sink_state *ss = ctx;
	(void)final;
	size_t at = ss->got[i].len;
	if (at + n > fx.plain_len[i] || memcmp(fx.plain[i] + at, p, n) != 0)
		ss->bad_release = true;
	vs_wr_bytes(&ss->got[i], p, n);
	return VS_OK;
}

static vs_err unseal_buf(const uint8_t *p, size_t n, sink_state *ss, vs_snap_header *h)
{
	vs_membuf m = { p, n, 0 };
	vs_source src = vs_source_mem(&m);
	vs_unseal_ops ops = { ss, cb_header, cb_key, cb_data, NULL };
	vs_snap_summary sum;
	return vs_unseal(&src, &ops, h, &sum);
}

static void free_state(sink_state *ss)
{
	for (int i = 0; i < NSEC; i++)
		vs_wr_free(&ss->got[i]);
}

static void test_roundtrip(void **st)
{
	(void)st;
	vs_wr out = { 0 };
	seal(&out, 1);
	sink_state ss = { .trust = true };
	vs_snap_header h;
	assert_int_equal(unseal_buf(out.p, out.len, &ss, &h), VS_OK);
	for (int i = 0; i < NSEC; i++) {
		assert_int_equal(ss.got[i].len, fx.plain_len[i]);
		if (fx.plain_len[i])
			assert_memory_equal(ss.got[i].p, fx.plain[i], fx.plain_len[i]);
	}
	assert_false(ss.bad_release);
	assert_string_equal(h.vnf, "amf-1");
	/* No plaintext in the file. */
	assert_null(memmem(out.p, out.len, fx.plain[0] + 100, 16));
	free_state(&ss);
	vs_wr_free(&out);
}

static void test_skip_section(void **st)
{
	(void)st;
	vs_wr out = { 0 };
	seal(&out, 1);
	sink_state ss = { .trust = true, .skip = { false, true, false } };
	vs_snap_header h;
	assert_int_equal(unseal_buf(out.p, out.len, &ss, &h), VS_OK);
	assert_int_equal(ss.got[1].len, 0);
	assert_int_equal(ss.got[0].len, fx.plain_len[0]);
	free_state(&ss);
	vs_wr_free(&out);
}

static void test_untrusted_signer_before_keys(void **st)
{
	(void)st;
	vs_wr out = { 0 };
	seal(&out, 1);
	sink_state ss = { .trust = false };
	vs_snap_header h;
	assert_int_equal(unseal_buf(out.p, out.len, &ss, &h), VS_E_INTEGRITY);
	assert_int_equal(ss.key_calls, 0);
	free_state(&ss);
	vs_wr_free(&out);
}

static void test_every_bit_flip(void **st)
{
	(void)st;
	vs_wr out = { 0 };
	seal(&out, 1);
	for (size_t off = 0; off < out.len; off++) {
		for (int bit = 0; bit < 8; bit += 3) {
			out.p[off] ^= (uint8_t)(1 << bit);
			sink_state ss = { .trust = true };
			vs_snap_header h;
			vs_err rc = unseal_buf(out.p, out.len, &ss, &h);
			if (rc != VS_E_INTEGRITY)
				fail_msg("flip at %zu bit %d: rc %d", off, bit, rc);
			if (ss.bad_release)
				fail_msg("flip at %zu released unauthentic plaintext", off);
			free_state(&ss);
			out.p[off] ^= (uint8_t)(1 << bit);
		}
	}
	vs_wr_free(&out);
}

static void test_every_truncation_and_extension(void **st)
{
	(void)st;
	vs_wr out = { 0 };
	seal(&out, 1);
	for (size_t len = 0; len < out.len; len++) {
		sink_state ss = { .trust = true };
		vs_snap_header h;
		if (unseal_buf(out.p, len, &ss, &h) != VS_E_INTEGRITY)
			fail_msg("truncation to %zu accepted", len);
		assert_false(ss.bad_release);
		free_state(&ss);
	}
	vs_wr_bytes(&out, "x", 1);
	sink_state ss = { .trust = true };
	vs_snap_header h;
	assert_int_equal(unseal_buf(out.p, out.len, &ss, &h), VS_E_INTEGRITY);
	free_state(&ss);
	vs_wr_free(&out);
}

/* Walks records; fills offsets of chunk records (header start). */
static size_t chunk_offsets(const vs_wr *f, size_t *offs, unsigned *secs, size_t max)
{
	vs_snap_header h;
	size_t at, n = 0;
	assert_int_equal(vs_snap_header_parse(f->p, f->len, &h, &at), VS_OK);
	while (at < f->len && f->p[at] == VS_REC_CHUNK && n < max) {
		offs[n] = at;
		secs[n++] = vs_get_u16(f->p + at + 1);
		at += VS_REC_HDR_LEN + vs_get_u32(f->p + at + 4) + VS_TAG_LEN;
	}
	return n;
}

#define REC_FULL (VS_REC_HDR_LEN + CHUNK + VS_TAG_LEN)

static void expect_refused(const vs_wr *f, const char *what)
{
	sink_state ss = { .trust = true };
	vs_snap_header h;
	if (unseal_buf(f->p, f->len, &ss, &h) != VS_E_INTEGRITY)
		fail_msg("%s accepted", what);
	assert_false(ss.bad_release);
	free_state(&ss);
}

static void test_reorder_within_section(void **st)
{
	(void)st;
	vs_wr f = { 0 };
	seal(&f, 1);
	size_t offs[64];
	unsigned secs[64];
	size_t n = chunk_offsets(&f, offs, secs, 64);
	/* The first two chunks of section 0: both full (not final). */
	size_t full[2], nfull = 0;
	for (size_t i = 0; i < n && nfull < 2; i++)
		if (secs[i] == 0 && !(f.p[offs[i] + 3] & VS_REC_FINAL))
			full[nfull++] = i;
	assert_int_equal(nfull, 2);
	uint8_t tmp[REC_FULL];
	memcpy(tmp, f.p + offs[full[0]], REC_FULL);
	memcpy(f.p + offs[full[0]], f.p + offs[full[1]], REC_FULL);
	memcpy(f.p + offs[full[1]], tmp, REC_FULL);
	expect_refused(&f, "reordered chunks");
	vs_wr_free(&f);
}

static void test_splice_between_snapshots(void **st)
{
	(void)st;
	/* Worst case: the same data keys in both (they never are in practice). */
	vs_wr a = { 0 }, b = { 0 };
	seal(&a, 1);
	seal(&b, 2);
	size_t oa[64], ob[64];
	unsigned sa[64], sb[64];
	size_t na = chunk_offsets(&a, oa, sa, 64), nb = chunk_offsets(&b, ob, sb, 64);
	assert_int_equal(na, nb);
	memcpy(a.p + oa[0], b.p + ob[0], REC_FULL);
	expect_refused(&a, "chunk spliced from another snapshot");
	vs_wr_free(&a);
	vs_wr_free(&b);
}

static void test_drop_final_chunk(void **st)
{
	(void)st;
	vs_wr f = { 0 };
	seal(&f, 1);
	size_t offs[64];
	unsigned secs[64];
	size_t n = chunk_offsets(&f, offs, secs, 64);
	for (size_t i = 0; i < n; i++) {
		if (!(f.p[offs[i] + 3] & VS_REC_FINAL))
			continue;
		size_t len = VS_REC_HDR_LEN + vs_get_u32(f.p + offs[i] + 4) + VS_TAG_LEN;
		vs_wr g = { 0 };
		vs_wr_bytes(&g, f.p, offs[i]);
		vs_wr_bytes(&g, f.p + offs[i] + len, f.len - offs[i] - len);
		expect_refused(&g, "dropped final chunk");
		/* And with its final flag cleared instead. */
		f.p[offs[i] + 3] &= (uint8_t)~VS_REC_FINAL;
		expect_refused(&f, "final flag cleared");
		f.p[offs[i] + 3] |= VS_REC_FINAL;
		vs_wr_free(&g);
	}
	vs_wr_free(&f);
}

static void test_header_parser_rejects(void **st)
{
	(void)st;
	vs_snap_header h, p;
	vs_wr w = { 0 };
	size_t used;
	make_header(&h, 1);
	assert_int_equal(vs_snap_header_encode(&h, &w), VS_OK);
	assert_int_equal(vs_snap_header_parse(w.p, w.len, &p, &used), VS_OK);
	assert_int_equal(used, w.len);
	assert_memory_equal(p.digest, h.digest, VS_HASH_LEN);
	/* Unknown version. */
	w.p[VS_SNAP_MAGIC_LEN + 1] = 2;
	assert_int_equal(vs_snap_header_parse(w.p, w.len, &p, &used), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "version 2"));
	vs_wr_free(&w);
	/* Invalid fields are refused at encode time too. */
	make_header(&h, 1);
	strcpy(h.vnf, "a/b");
	assert_int_not_equal(vs_snap_header_encode(&h, &w), VS_OK);
	vs_wr_free(&w);
	make_header(&h, 1);
	strcpy(h.sections[1].domain, "default");
	assert_int_not_equal(vs_snap_header_encode(&h, &w), VS_OK);
	vs_wr_free(&w);
	make_header(&h, 1);
	h.chunk_size = 1;
	assert_int_not_equal(vs_snap_header_encode(&h, &w), VS_OK);
	vs_wr_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_skip_section),
		cmocka_unit_test(test_untrusted_signer_before_keys),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_every_truncation_and_extension),
		cmocka_unit_test(test_reorder_within_section),
		cmocka_unit_test(test_splice_between_snapshots),
		cmocka_unit_test(test_drop_final_chunk),
		cmocka_unit_test(test_header_parser_rejects),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
