#define _GNU_SOURCE
#include "testutil.h"
#include "vnfsafe/crypto.h"

static void test_sha256_vector(void **st)
{
	(void)st;
	uint8_t d[VS_HASH_LEN];
	char hex[65];
	assert_int_equal(vs_sha256("abc", 3, d), VS_OK);
	vs_hex(d, sizeof d, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_aead_roundtrip_and_tamper(void **st)
{
	(void)st;
	vs_key k;
	vs_aead *a;
	uint8_t nonce[VS_NONCE_LEN] = { 1 }, aad[5] = "head", msg[100], ct[100], out[100],
		tag[VS_TAG_LEN];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(vs_key_generate(&k), VS_OK);
	assert_int_equal(vs_aead_new(&a, &k), VS_OK);
	assert_int_equal(vs_aead_seal(a, nonce, aad, sizeof aad, msg, sizeof msg, ct, tag), VS_OK);
	assert_memory_not_equal(ct, msg, sizeof msg);
	assert_int_equal(vs_aead_open(a, nonce, aad, sizeof aad, ct, sizeof ct, out, tag), VS_OK);
	assert_memory_equal(out, msg, sizeof msg);

	ct[50] ^= 1;
	assert_int_equal(vs_aead_open(a, nonce, aad, sizeof aad, ct, sizeof ct, out, tag), VS_E_INTEGRITY);
	ct[50] ^= 1;
	aad[0] ^= 1;
	assert_int_equal(vs_aead_open(a, nonce, aad, sizeof aad, ct, sizeof ct, out, tag), VS_E_INTEGRITY);
	aad[0] ^= 1;
	nonce[11] ^= 1;
	assert_int_equal(vs_aead_open(a, nonce, aad, sizeof aad, ct, sizeof ct, out, tag), VS_E_INTEGRITY);
	nonce[11] ^= 1;
	tag[15] ^= 1;
	assert_int_equal(vs_aead_open(a, nonce, aad, sizeof aad, ct, sizeof ct, out, tag), VS_E_INTEGRITY);
	tag[15] ^= 1;
	/* In place, as the unsealer does it. */
	assert_int_equal(vs_aead_open(a, nonce, aad, sizeof aad, ct, sizeof ct, ct, tag), VS_OK);
	assert_memory_equal(ct, msg, sizeof msg);
	vs_aead_free(a);
	vs_key_wipe(&k);
}

static void test_key_wrap(void **st)
{
	(void)st;
	vs_key kek, other, dek, back;
	uint8_t w[VS_WRAPPED_LEN], aad[] = "id";
	assert_int_equal(vs_key_generate(&kek), VS_OK);
	assert_int_equal(vs_key_generate(&other), VS_OK);
	assert_int_equal(vs_key_generate(&dek), VS_OK);
	assert_int_equal(vs_key_wrap(&kek, &dek, aad, sizeof aad, w), VS_OK);
	assert_null(memmem(w, sizeof w, dek.k, 8)); /* not in clear */
	assert_int_equal(vs_key_unwrap(&kek, w, aad, sizeof aad, &back), VS_OK);
	assert_memory_equal(back.k, dek.k, VS_KEY_LEN);
	assert_int_equal(vs_key_unwrap(&other, w, aad, sizeof aad, &back), VS_E_INTEGRITY);
	/* A failed unwrap leaves nothing of a key behind. */
	uint8_t zero[VS_KEY_LEN] = { 0 };
	assert_memory_equal(back.k, zero, VS_KEY_LEN);
	aad[0] ^= 1;
	assert_int_equal(vs_key_unwrap(&kek, w, aad, sizeof aad, &back), VS_E_INTEGRITY);
}

static void test_sign_verify(void **st)
{
	(void)st;
	vs_signer *s;
	uint8_t pub[VS_PUB_LEN], sig[VS_SIG_LEN], id1[VS_HASH_LEN], id2[VS_HASH_LEN];
	const char msg[] = "snapshot trailer";
	assert_int_equal(vs_signer_generate(&s), VS_OK);
	assert_int_equal(vs_signer_public(s, pub), VS_OK);
	assert_int_equal(vs_sign(s, msg, sizeof msg, sig), VS_OK);
	assert_int_equal(vs_verify(pub, msg, sizeof msg, sig), VS_OK);
	sig[3] ^= 0x10;
	assert_int_equal(vs_verify(pub, msg, sizeof msg, sig), VS_E_INTEGRITY);
	sig[3] ^= 0x10;
	assert_int_equal(vs_verify(pub, msg, sizeof msg - 1, sig), VS_E_INTEGRITY);
	assert_int_equal(vs_pub_keyid(pub, id1), VS_OK);
	pub[0] ^= 1;
	assert_int_equal(vs_pub_keyid(pub, id2), VS_OK);
	assert_memory_not_equal(id1, id2, VS_HASH_LEN);
	vs_signer_free(s);
}

static void test_hex(void **st)
{
	(void)st;
	uint8_t b[3];
	assert_int_equal(vs_unhex("00ffA1", b, 3), VS_OK);
	assert_int_equal(b[1], 0xff);
	assert_int_equal(b[2], 0xa1);
	assert_int_equal(vs_unhex("00ff", b, 3), VS_E_USAGE);
	assert_int_equal(vs_unhex("00fg00", b, 3), VS_E_USAGE);
}

static void test_reader_bounds(void **st)
{
	(void)st;
	uint8_t data[5] = { 0, 1, 2, 3, 4 };
	vs_rd r = vs_rd_init(data, sizeof data);
	uint32_t v;
	uint16_t w;
	char s[8];
	assert_true(vs_rd_u32(&r, &v));
	assert_int_equal(v, 0x00010203);
	assert_false(vs_rd_u16(&r, &w)); /* one byte left */
	assert_true(r.bad);
	uint8_t b;
	assert_false(vs_rd_u8(&r, &b)); /* poisoned */
	uint8_t str[] = { 9, 'a', 'b' };
	r = vs_rd_init(str, sizeof str);
	assert_false(vs_rd_str8(&r, s, sizeof s));
	uint8_t nul[] = { 2, 'a', 0 };
	r = vs_rd_init(nul, sizeof nul);
	assert_false(vs_rd_str8(&r, s, sizeof s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vector), cmocka_unit_test(test_aead_roundtrip_and_tamper),
		cmocka_unit_test(test_key_wrap),      cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_hex),           cmocka_unit_test(test_reader_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
