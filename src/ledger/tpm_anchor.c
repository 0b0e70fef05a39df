/* A TPM 2.0 NV monotonic counter through ESAPI (tpm2-tss), for the ledger's
 * anti-rollback anchor (vnfsafe/anchor.h).
 *
 * The counter index is defined by the owner hierarchy (empty password) with
 * TPMA_NV_COUNTER | OWNERWRITE | OWNERREAD | AUTHWRITE | AUTHREAD | NO_DA and
 * an empty index password; it is then read and incremented with its own
 * (empty) authorization, so only the definition needs the owner hierarchy.
 * Not TPMA_NV_ORDERLY: an orderly counter jumps ahead after a power cut,
 * which would look like a roll-back of the ledger. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "vnfsafe/anchor.h"

struct vs_anchor {
	char tcti[256];
	uint32_t index;
	TSS2_TCTI_CONTEXT *tcti_ctx;
	ESYS_CONTEXT *esys;
	ESYS_TR nv; /* ESYS_TR_NONE when not connected */
	bool defined_here; /* this handle defined the index (it did not exist) */
};

#define NV_ATTRS                                                                           \
	(TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD |   \
	 TPMA_NV_NO_DA | ((TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) & TPMA_NV_TPM2_NT_MASK))

/* The TPM's own code, without layer and parameter/handle/session number. */
static TSS2_RC tpm_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER &&
	    (rc & TSS2_RC_LAYER_MASK) != TSS2_RESMGR_TPM_RC_LAYER)
		return rc;
	rc &= ~TSS2_RC_LAYER_MASK;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3f);
	return rc;
}

/* Warnings after which the same command may succeed: the TPM is busy, rate
 * limits NV writes, or runs its self-test. */
static bool tpm_busy(TSS2_RC rc)
{
	TSS2_RC b = tpm_base(rc);
	return b == TPM2_RC_RETRY || b == TPM2_RC_YIELDED || b == TPM2_RC_TESTING ||
	       b == TPM2_RC_NV_RATE || b == TPM2_RC_NV_UNAVAILABLE;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Runs call again while the TPM says "busy", for up to about 10 s. */
#define TPM_CALL(rc, call)                                                     \
	do {                                                                   \
		for (int try_ = 0;; try_++) {                                  \
			(rc) = (call);                                         \
			if (!tpm_busy(rc) || try_ >= 100)                      \
				break;                                         \
			nap_ms(100);                                           \
		}                                                              \
	} while (0)

static VS_MUST_USE vs_err tpm_fail(const vs_anchor *a, TSS2_RC rc, const char *what)
{
	return vs_fail(VS_E_ENV, "TPM NV counter 0x%08x: cannot %s: %s", a->index, what,
		       Tss2_RC_Decode(rc));
}

/* tpm2-tss logs failed commands to stderr; the caller reports one message
 * instead. TSS2_LOG, when set, is left alone (debugging). */
static void quiet_tss_logs(void)
{
	setenv("TSS2_LOG", "all+NONE", 0);
}

void vs_anchor_disconnect(vs_anchor *a)
{
	if (!a)
		return;
	if (a->esys)
		Esys_Finalize(&a->esys);
	if (a->tcti_ctx)
		Tss2_TctiLdr_Finalize(&a->tcti_ctx);
	a->esys = NULL;
	a->tcti_ctx = NULL;
	a->nv = ESYS_TR_NONE;
}

/* The index must be a counter we can read and increment with its own
 * (empty) authorization. */
static VS_MUST_USE vs_err check_public(vs_anchor *a)
{
	TPM2B_NV_PUBLIC *pub = NULL;
	TSS2_RC rc;
	TPM_CALL(rc, Esys_NV_ReadPublic(a->esys, a->nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
					&pub, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(a, rc, "read its public area");
	TPMA_NV attrs = pub->nvPublic.attributes;
	uint16_t size = pub->nvPublic.dataSize;
	Esys_Free(pub);
	uint32_t type = (attrs & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT;
	if (type != TPM2_NT_COUNTER || size != 8 || !(attrs & TPMA_NV_AUTHREAD) ||
	    !(attrs & TPMA_NV_AUTHWRITE))
		return vs_fail(VS_E_ENV,
			       "TPM NV index 0x%08x exists but is not a vnfsafe counter (attributes "
			       "0x%08x): choose another index with VNFSAFE_TPM_NV_INDEX",
			       a->index, (unsigned)attrs);
	return VS_OK;
}

static VS_MUST_USE vs_err nv_define(vs_anchor *a)
{
	TPM2B_AUTH auth = { .size = 0 };
	TPM2B_NV_PUBLIC pub = { .size = 0,
				.nvPublic = { .nvIndex = a->index,
					      .nameAlg = TPM2_ALG_SHA256,
					      .attributes = NV_ATTRS,
					      .authPolicy = { .size = 0 },
					      .dataSize = 8 } };
	TSS2_RC rc;
	TPM_CALL(rc, Esys_NV_DefineSpace(a->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, &auth, &pub, &a->nv));
	if (rc == TSS2_RC_SUCCESS) {
		a->defined_here = true;
		return VS_OK;
	}
	if (tpm_base(rc) != TPM2_RC_NV_DEFINED)
		return tpm_fail(a, rc, "define it (needs the owner hierarchy with an empty password)");
	/* Defined meanwhile by another process. */
	TPM_CALL(rc, Esys_TR_FromTPMPublic(a->esys, a->index, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, &a->nv));
	return rc == TSS2_RC_SUCCESS ? check_public(a) : tpm_fail(a, rc, "look it up");
}

/* Connects and makes sure the counter index exists. */
static VS_MUST_USE vs_err nv_connect(vs_anchor *a)
{
	if (a->esys)
		return VS_OK;
	quiet_tss_logs();
	TSS2_RC rc = Tss2_TctiLdr_Initialize(a->tcti, &a->tcti_ctx);
	if (rc != TSS2_RC_SUCCESS) {
		a->tcti_ctx = NULL;
		return vs_fail(VS_E_ENV, "cannot reach the TPM at VNFSAFE_TPM=%s: %s", a->tcti,
			       Tss2_RC_Decode(rc));
	}
	rc = Esys_Initialize(&a->esys, a->tcti_ctx, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		a->esys = NULL;
		vs_anchor_disconnect(a);
		return vs_fail(VS_E_ENV, "cannot talk to the TPM at VNFSAFE_TPM=%s: %s", a->tcti,
			       Tss2_RC_Decode(rc));
	}
	vs_err err;
	TPM_CALL(rc, Esys_TR_FromTPMPublic(a->esys, a->index, ESYS_TR_NONE, ESYS_TR_NONE,
					   ESYS_TR_NONE, &a->nv));
	if (rc == TSS2_RC_SUCCESS)
		err = check_public(a);
	else if (tpm_base(rc) == TPM2_RC_HANDLE)
		err = nv_define(a);
	else
		err = tpm_fail(a, rc, "look it up");
	if (err != VS_OK)
		vs_anchor_disconnect(a);
	return err;
}

VS_MUST_USE vs_err vs_anchor_increment(vs_anchor *a)
{
	VS_TRY(nv_connect(a));
	TSS2_RC rc;
	TPM_CALL(rc, Esys_NV_Increment(a->esys, a->nv, a->nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE));
	return rc == TSS2_RC_SUCCESS ? VS_OK : tpm_fail(a, rc, "increment it");
}

static TSS2_RC nv_read8(vs_anchor *a, uint64_t *value)
{
	TPM2B_MAX_NV_BUFFER *data = NULL;
	TSS2_RC rc;
	TPM_CALL(rc, Esys_NV_Read(a->esys, a->nv, a->nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				  ESYS_TR_NONE, 8, 0, &data));
	if (rc != TSS2_RC_SUCCESS)
		return rc;
	uint64_t v = 0;
	for (int i = 0; i < 8 && i < data->size; i++)
		v = v << 8 | data->buffer[i];
	Esys_Free(data);
	*value = v;
	return TSS2_RC_SUCCESS;
}

VS_MUST_USE vs_err vs_anchor_read(vs_anchor *a, uint64_t *value)
{
	VS_TRY(nv_connect(a));
	TSS2_RC rc = nv_read8(a, value);
	if (tpm_base(rc) == TPM2_RC_NV_UNINITIALIZED) {
		/* Never incremented (just defined, or a crash right after the
		 * definition): a counter has no value before its first increment. */
		VS_TRY(vs_anchor_increment(a));
		rc = nv_read8(a, value);
	}
	return rc == TSS2_RC_SUCCESS ? VS_OK : tpm_fail(a, rc, "read it");
}

/* --- the binding key: an HMAC key that never leaves the TPM --- */

/* A primary object is re-derived from the owner hierarchy's seed and this
 * fixed template on every CreatePrimary: the same key each time, stored
 * nowhere, lost only with a TPM2_Clear (which changes the seed). */
static VS_MUST_USE vs_err bind_key(vs_anchor *a, ESYS_TR *key)
{
	static const char label[] = "vnfsafe-ledger-binding-v1";
	TPM2B_SENSITIVE_CREATE sens = { .size = 0 };
	TPM2B_PUBLIC tmpl = {
		.size = 0,
		.publicArea = {
			.type = TPM2_ALG_KEYEDHASH,
			.nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
					    TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH,
			.parameters.keyedHashDetail.scheme = {
				.scheme = TPM2_ALG_HMAC,
				.details.hmac.hashAlg = TPM2_ALG_SHA256 },
		},
	};
	memcpy(tmpl.publicArea.unique.keyedHash.buffer, label, sizeof label - 1);
	tmpl.publicArea.unique.keyedHash.size = sizeof label - 1;
	TPM2B_DATA outside = { .size = 0 };
	TPML_PCR_SELECTION pcrs = { .count = 0 };
	TSS2_RC rc;
	TPM_CALL(rc, Esys_CreatePrimary(a->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, key, NULL, NULL,
					NULL, NULL));
	if (tpm_base(rc) == TPM2_RC_OBJECT_MEMORY)
		return vs_fail(VS_E_ENV,
			       "TPM: no free object slot for the binding key (objects left by killed "
			       "clients: use a resource manager such as /dev/tpmrm0, or restart the "
			       "simulator)");
	if (rc != TSS2_RC_SUCCESS)
		return vs_fail(VS_E_ENV,
			       "TPM: cannot derive the binding key (needs the owner hierarchy with an "
			       "empty password): %s",
			       Tss2_RC_Decode(rc));
	return VS_OK;
}

VS_MUST_USE vs_err vs_anchor_mac(vs_anchor *a, const char *domain, uint64_t counter,
		     const uint8_t head[32], uint8_t mac[32])
{
	VS_TRY(nv_connect(a));
	TPM2B_MAX_BUFFER msg = { .size = 0 };
	size_t dl = strlen(domain);
	if (dl > 64)
		return vs_fail(VS_E_USAGE, "TPM binding domain too long");
	memcpy(msg.buffer, domain, dl + 1); /* with its NUL: no domain is a prefix of another */
	size_t n = dl + 1;
	for (int i = 3; i >= 0; i--)
		msg.buffer[n++] = (uint8_t)(a->index >> (8 * i));
	for (int i = 7; i >= 0; i--)
		msg.buffer[n++] = (uint8_t)(counter >> (8 * i));
	memcpy(msg.buffer + n, head, 32);
	msg.size = (UINT16)(n + 32);
	ESYS_TR key = ESYS_TR_NONE;
	VS_TRY(bind_key(a, &key));
	TPM2B_DIGEST *out = NULL;
	TSS2_RC rc;
	TPM_CALL(rc, Esys_HMAC(a->esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &msg,
			       TPM2_ALG_SHA256, &out));
	/* Flushed at once: a direct swtpm connection (no resource manager)
	 * keeps transient objects loaded after the client goes. */
	Esys_FlushContext(a->esys, key);
	if (rc != TSS2_RC_SUCCESS)
		return vs_fail(VS_E_ENV, "TPM: cannot compute the binding MAC: %s", Tss2_RC_Decode(rc));
	vs_err err = VS_OK;
	if (out->size == 32)
		memcpy(mac, out->buffer, 32);
	else
		err = vs_fail(VS_E_ENV, "TPM: binding MAC of unexpected size %u", out->size);
	Esys_Free(out);
	return err;
}

bool vs_anchor_defined_here(const vs_anchor *a)
{
	return a->defined_here;
}

uint32_t vs_anchor_index(const vs_anchor *a)
{
	return a->index;
}

VS_MUST_USE vs_err vs_anchor_env_index(uint32_t *index)
{
	const char *s = getenv("VNFSAFE_TPM_NV_INDEX");
	if (!s || !*s) {
		*index = VS_ANCHOR_DEFAULT_INDEX;
		return VS_OK;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	/* NV indices are the handles 0x01000000..0x01ffffff. */
	if (errno || *end || s[0] == '-' || (v >> 24) != TPM2_HT_NV_INDEX)
		return vs_fail(VS_E_USAGE,
			       "VNFSAFE_TPM_NV_INDEX='%.40s': expected an NV index 0x01000000..0x01ffffff",
			       s);
	*index = (uint32_t)v;
	return VS_OK;
}

VS_MUST_USE vs_err vs_anchor_open_config(vs_anchor **out, const char *tcti, uint32_t nv_index)
{
	*out = NULL;
	if ((nv_index >> 24) != TPM2_HT_NV_INDEX)
		return vs_fail(VS_E_USAGE, "TPM NV index 0x%08x is not an NV index", nv_index);
	vs_anchor *a = calloc(1, sizeof *a);
	if (!a)
		return vs_fail(VS_E_ENV, "out of memory");
	if (strlen(tcti) >= sizeof a->tcti) {
		free(a);
		return vs_fail(VS_E_USAGE, "VNFSAFE_TPM is too long");
	}
	snprintf(a->tcti, sizeof a->tcti, "%s", tcti);
	a->index = nv_index;
	a->nv = ESYS_TR_NONE;
	*out = a;
	return VS_OK;
}

static bool tpm_configured(const char **tcti)
{
	const char *s = getenv("VNFSAFE_TPM");
	*tcti = s;
	return s && *s && strcmp(s, "none") != 0;
}

VS_MUST_USE vs_err vs_anchor_open(vs_anchor **out)
{
	const char *tcti;
	*out = NULL;
	if (!tpm_configured(&tcti))
		return VS_OK;
	uint32_t index;
	VS_TRY(vs_anchor_env_index(&index));
	return vs_anchor_open_config(out, tcti, index);
}

VS_MUST_USE vs_err vs_anchor_open_keystore(vs_anchor **out)
{
	const char *tcti;
	*out = NULL;
	if (!tpm_configured(&tcti))
		return VS_OK;
	uint32_t index;
	const char *s = getenv("VNFSAFE_TPM_KEYSTORE_NV_INDEX");
	if (s && *s) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 0);
		if (errno || *end || s[0] == '-' || (v >> 24) != TPM2_HT_NV_INDEX)
			return vs_fail(VS_E_USAGE,
				       "VNFSAFE_TPM_KEYSTORE_NV_INDEX='%.40s': expected an NV index "
				       "0x01000000..0x01ffffff",
				       s);
		index = (uint32_t)v;
	} else {
		VS_TRY(vs_anchor_env_index(&index));
		index++; /* the ledger's + 1 */
	}
	return vs_anchor_open_config(out, tcti, index);
}

void vs_anchor_close(vs_anchor *a)
{
	if (!a)
		return;
	vs_anchor_disconnect(a);
	free(a);
}

const char *vs_anchor_status(const vs_anchor *a)
{
	static _Thread_local char buf[128];
	if (a) {
		snprintf(buf, sizeof buf, "TPM NV counter 0x%08x", a->index);
		return buf;
	}
	const char *tcti;
	tpm_configured(&tcti);
	snprintf(buf, sizeof buf,
		 "no TPM (VNFSAFE_TPM%s): a copied-back ledger file would not be detected",
		 tcti && !strcmp(tcti, "none") ? "=none" : " unset");
	return buf;
}
