/* What holds keys (include/vnfsafe/keys.h): the only code that touches
 * the KEK and the host signer after vs_home_open loaded them. */
#include "home_priv.h"

#include <stdlib.h>
#include <string.h>

#include "vnfsafe/fsutil.h"

VS_MUST_USE vs_err ks_keys_load(vs_keys *k, const char *kek_path, const char *hostkey_path)
{
	uint8_t *kek = NULL;
	size_t klen = 0;
	vs_err rc = vs_read_small_file(kek_path, VS_KEY_LEN, &kek, &klen);
	if (rc == VS_OK && klen != VS_KEY_LEN)
		rc = vs_fail(VS_E_INTEGRITY, "%s is damaged (wrong length)", kek_path);
	if (rc == VS_OK)
		memcpy(k->kek.k, kek, VS_KEY_LEN);
	if (kek) {
		vs_wipe(kek, klen);
		free(kek);
	}
	if (rc == VS_OK)
		rc = vs_signer_load_pem(&k->signer, hostkey_path);
	if (rc == VS_OK)
		rc = vs_signer_public(k->signer, k->pub);
	if (rc == VS_OK)
		rc = vs_pub_keyid(k->pub, k->pub_id);
	return rc;
}

void ks_keys_unload(vs_keys *k)
{
	vs_signer_free(k->signer);
	k->signer = NULL;
	vs_key_wipe(&k->kek);
}

const vs_keys *vs_home_keys(const vs_home *h)
{
	return &h->keys;
}

VS_MUST_USE vs_err vs_keys_wrap(const vs_keys *k, const vs_key *dek, const uint8_t *aad,
				size_t aad_len, uint8_t out[VS_WRAPPED_LEN])
{
	return vs_key_wrap(&k->kek, dek, aad, aad_len, out);
}

VS_MUST_USE vs_err vs_keys_unwrap(const vs_keys *k, const uint8_t in[VS_WRAPPED_LEN],
				  const uint8_t *aad, size_t aad_len, vs_key *dek)
{
	return vs_key_unwrap(&k->kek, in, aad, aad_len, dek);
}

const vs_signer *vs_keys_signer(const vs_keys *k)
{
	return k->signer;
}

void vs_keys_pub(const vs_keys *k, uint8_t pub[VS_PUB_LEN], uint8_t id[VS_HASH_LEN])
{
	memcpy(pub, k->pub, VS_PUB_LEN);
	memcpy(id, k->pub_id, VS_HASH_LEN);
}
