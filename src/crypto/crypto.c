#include "vnfsafe/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/fsutil.h"

static VS_MUST_USE vs_err ossl_fail(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return vs_fail(VS_E_ENV, "OpenSSL: %s failed%s%s", what, e ? ": " : "", buf);
}

void vs_key_wipe(vs_key *k)
{
	OPENSSL_cleanse(k, sizeof *k);
}

VS_MUST_USE vs_err vs_random(void *buf, size_t n)
{
	if (RAND_bytes(buf, (int)n) != 1)
		return ossl_fail("RAND_bytes");
	return VS_OK;
}

VS_MUST_USE vs_err vs_key_generate(vs_key *k)
{
	return vs_random(k->k, sizeof k->k);
}

struct vs_hash {
	EVP_MD_CTX *ctx;
};

VS_MUST_USE vs_err vs_hash_new(vs_hash **out)
{
	vs_hash *h = calloc(1, sizeof *h);
	if (!h)
		return vs_fail(VS_E_ENV, "out of memory");
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		vs_hash_free(h);
		return ossl_fail("SHA-256 init");
	}
	*out = h;
	return VS_OK;
}

VS_MUST_USE vs_err vs_hash_update(vs_hash *h, const void *data, size_t n)
{
	if (EVP_DigestUpdate(h->ctx, data, n) != 1)
		return ossl_fail("SHA-256 update");
	return VS_OK;
}

VS_MUST_USE vs_err vs_hash_final(vs_hash *h, uint8_t out[VS_HASH_LEN])
{
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != VS_HASH_LEN)
		return ossl_fail("SHA-256 final");
	return VS_OK;
}

void vs_hash_free(vs_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

VS_MUST_USE vs_err vs_sha256(const void *data, size_t n, uint8_t out[VS_HASH_LEN])
{
	if (EVP_Digest(data, n, out, NULL, EVP_sha256(), NULL) != 1)
		return ossl_fail("SHA-256");
	return VS_OK;
}

struct vs_aead {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
};

VS_MUST_USE vs_err vs_aead_new(vs_aead **out, const vs_key *key)
{
	vs_aead *a = calloc(1, sizeof *a);
	if (!a)
		return vs_fail(VS_E_ENV, "out of memory");
	a->enc = EVP_CIPHER_CTX_new();
	a->dec = EVP_CIPHER_CTX_new();
	if (!a->enc || !a->dec ||
	    EVP_EncryptInit_ex(a->enc, EVP_aes_256_gcm(), NULL, key->k, NULL) != 1 ||
	    EVP_DecryptInit_ex(a->dec, EVP_aes_256_gcm(), NULL, key->k, NULL) != 1) {
		vs_aead_free(a);
		return ossl_fail("AES-256-GCM init");
	}
	*out = a;
	return VS_OK;
}

void vs_aead_free(vs_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->enc); /* frees and cleanses the key schedule */
	EVP_CIPHER_CTX_free(a->dec);
	free(a);
}

/* EVP takes int lengths; the snapshot layer never passes more than 16 MiB. */
#define AEAD_MAX ((size_t)1 << 30)

VS_MUST_USE vs_err vs_aead_seal(vs_aead *a, const uint8_t nonce[VS_NONCE_LEN], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t n, uint8_t *out,
		    uint8_t tag[VS_TAG_LEN])
{
	int len;
	if (n > AEAD_MAX || aad_len > AEAD_MAX)
		return vs_fail(VS_E_USAGE, "AEAD input too large");
	if (EVP_EncryptInit_ex(a->enc, NULL, NULL, NULL, nonce) != 1 ||
	    (aad_len && EVP_EncryptUpdate(a->enc, NULL, &len, aad, (int)aad_len) != 1) ||
	    (n && EVP_EncryptUpdate(a->enc, out, &len, in, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(a->enc, out + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_GCM_GET_TAG, VS_TAG_LEN, tag) != 1)
		return ossl_fail("AES-256-GCM encrypt");
	return VS_OK;
}

VS_MUST_USE vs_err vs_aead_open(vs_aead *a, const uint8_t nonce[VS_NONCE_LEN], const uint8_t *aad,
		    size_t aad_len, const uint8_t *in, size_t n, uint8_t *out,
		    const uint8_t tag[VS_TAG_LEN])
{
	int len;
	if (n > AEAD_MAX || aad_len > AEAD_MAX)
		return vs_fail(VS_E_USAGE, "AEAD input too large");
	if (EVP_DecryptInit_ex(a->dec, NULL, NULL, NULL, nonce) != 1 ||
	    (aad_len && EVP_DecryptUpdate(a->dec, NULL, &len, aad, (int)aad_len) != 1) ||
	    (n && EVP_DecryptUpdate(a->dec, out, &len, in, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_GCM_SET_TAG, VS_TAG_LEN, (void *)tag) != 1)
		return ossl_fail("AES-256-GCM decrypt");
	if (EVP_DecryptFinal_ex(a->dec, out + n, &len) != 1) {
		ERR_clear_error();
		return vs_fail(VS_E_INTEGRITY, "authentication tag mismatch");
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_key_wrap(const vs_key *kek, const vs_key *dek, const uint8_t *aad, size_t aad_len,
		   uint8_t out[VS_WRAPPED_LEN])
{
	vs_aead *a;
	VS_TRY(vs_random(out, VS_NONCE_LEN));
	VS_TRY(vs_aead_new(&a, kek));
	vs_err rc = vs_aead_seal(a, out, aad, aad_len, dek->k, VS_KEY_LEN, out + VS_NONCE_LEN,
				 out + VS_NONCE_LEN + VS_KEY_LEN);
	vs_aead_free(a);
	return rc;
}

VS_MUST_USE vs_err vs_key_unwrap(const vs_key *kek, const uint8_t in[VS_WRAPPED_LEN], const uint8_t *aad,
		     size_t aad_len, vs_key *dek)
{
	vs_aead *a;
	VS_TRY(vs_aead_new(&a, kek));
	vs_err rc = vs_aead_open(a, in, aad, aad_len, in + VS_NONCE_LEN, VS_KEY_LEN, dek->k,
				 in + VS_NONCE_LEN + VS_KEY_LEN);
	vs_aead_free(a);
	if (rc != VS_OK) {
		vs_key_wipe(dek);
		return vs_fail(VS_E_INTEGRITY, "wrapped key does not open under this home's key-encryption key");
	}
	return VS_OK;
}

struct vs_signer {
	EVP_PKEY *pkey;
};

VS_MUST_USE vs_err vs_signer_generate(vs_signer **out)
{
	vs_signer *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	s->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!s->pkey) {
		free(s);
		return ossl_fail("Ed25519 key generation");
	}
	*out = s;
	return VS_OK;
}

VS_MUST_USE vs_err vs_signer_load_pem(vs_signer **out, const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open host key %s", path);
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return vs_fail_errno(VS_E_ENV, "cannot open host key %s", path);
	}
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pk);
		ERR_clear_error();
		return vs_fail(VS_E_INTEGRITY, "host key %s is not a valid Ed25519 private key", path);
	}
	vs_signer *s = calloc(1, sizeof *s);
	if (!s) {
		EVP_PKEY_free(pk);
		return vs_fail(VS_E_ENV, "out of memory");
	}
	s->pkey = pk;
	*out = s;
	return VS_OK;
}

static VS_MUST_USE vs_err write_pem(const char *path, EVP_PKEY *pk, int priv)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      priv ? 0600 : 0644);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot create %s", path);
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return vs_fail_errno(VS_E_ENV, "cannot create %s", path);
	}
	int ok = priv ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL)
		      : PEM_write_PUBKEY(f, pk);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok) {
		unlink(path);
		return ossl_fail("writing PEM key");
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_signer_save_pem(const vs_signer *s, const char *priv_path, const char *pub_path)
{
	VS_TRY(write_pem(priv_path, s->pkey, 1));
	return write_pem(pub_path, s->pkey, 0);
}

VS_MUST_USE vs_err vs_signer_public(const vs_signer *s, uint8_t pub[VS_PUB_LEN])
{
	size_t len = VS_PUB_LEN;
	if (EVP_PKEY_get_raw_public_key(s->pkey, pub, &len) != 1 || len != VS_PUB_LEN)
		return ossl_fail("Ed25519 public key export");
	return VS_OK;
}

VS_MUST_USE vs_err vs_sign(const vs_signer *s, const void *msg, size_t n, uint8_t sig[VS_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = VS_SIG_LEN;
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->pkey) == 1 &&
		 EVP_DigestSign(ctx, sig, &len, msg, n) == 1 && len == VS_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? VS_OK : ossl_fail("Ed25519 sign");
}

void vs_signer_free(vs_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->pkey);
	free(s);
}

VS_MUST_USE vs_err vs_pub_load_pem(const char *path, uint8_t pub[VS_PUB_LEN])
{
	FILE *f = fopen(path, "re");
	if (!f)
		return vs_fail_errno(VS_E_ENV, "cannot open public key %s", path);
	EVP_PKEY *pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	size_t len = VS_PUB_LEN;
	int ok = pk && EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519 &&
		 EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 && len == VS_PUB_LEN;
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return ok ? VS_OK : vs_fail(VS_E_INTEGRITY, "%s is not an Ed25519 public key", path);
}

VS_MUST_USE vs_err vs_verify(const uint8_t pub[VS_PUB_LEN], const void *msg, size_t n,
		 const uint8_t sig[VS_SIG_LEN])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, VS_PUB_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		 EVP_DigestVerify(ctx, sig, VS_SIG_LEN, msg, n) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return ok ? VS_OK : vs_fail(VS_E_INTEGRITY, "signature does not verify");
}

VS_MUST_USE vs_err vs_pub_keyid(const uint8_t pub[VS_PUB_LEN], uint8_t id[VS_HASH_LEN])
{
	static const char label[] = "vnfsafe-ed25519";
	uint8_t buf[sizeof label - 1 + VS_PUB_LEN];
	memcpy(buf, label, sizeof label - 1);
	memcpy(buf + sizeof label - 1, pub, VS_PUB_LEN);
	return vs_sha256(buf, sizeof buf, id);
}

