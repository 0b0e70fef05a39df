#include "fz_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

static const uint8_t fixed_seed[32] = "vnfsafe-fuzz-fixed-ed25519-seed";

void fz_data_key(vs_key *k)
{
	memset(k->k, 0x42, sizeof k->k);
}

static EVP_PKEY *fixed_pkey(void)
{
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, fixed_seed,
					    sizeof fixed_seed);
}

vs_err fz_fixed_pub(uint8_t pub[VS_PUB_LEN])
{
	EVP_PKEY *pk = fixed_pkey();
	size_t len = VS_PUB_LEN;
	int ok = pk && EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 && len == VS_PUB_LEN;
	EVP_PKEY_free(pk);
	return ok ? VS_OK : vs_fail(VS_E_ENV, "fixed Ed25519 key");
}

/* vs_signer is opaque: write the key to a private temp file and load it. */
static vs_err write_temp_pem(EVP_PKEY *pk, char *path)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "mkstemp %s", path);
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return vs_fail_errno(VS_E_ENV, "fdopen %s", path);
	}
	int ok = PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? VS_OK : vs_fail(VS_E_ENV, "writing %s", path);
}

vs_err fz_fixed_signer(vs_signer **s)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/vs-fuzz-key-XXXXXX", dir && *dir ? dir : "/tmp");
	EVP_PKEY *pk = fixed_pkey();
	if (!pk)
		return vs_fail(VS_E_ENV, "fixed Ed25519 key");
	vs_err rc = write_temp_pem(pk, path);
	EVP_PKEY_free(pk);
	if (rc == VS_OK)
		rc = vs_signer_load_pem(s, path);
	unlink(path);
	return rc;
}
