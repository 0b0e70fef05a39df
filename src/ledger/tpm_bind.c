/* The TPM binding of a database's content (vnfsafe/anchor.h): shared by the
 * ledger (src/ledger/sqlite.c) and the home's keystore (src/keystore/db.c).
 * The caller holds its lock and a write transaction, computes the content
 * head from its rows and stores the row; this file decides. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/anchor.h"
#include "vnfsafe/fault.h"

#define ADOPTED "adopted: VNFSAFE_TPM_ADOPT=1"

/* The operator's explicit decision (anchor.h). */
static bool adopt_requested(void)
{
	const char *e = getenv("VNFSAFE_TPM_ADOPT");
	return e && !strcmp(e, "1");
}

/* Binds the row to (counter n, head) with a fresh TPM MAC. */
static VS_MUST_USE vs_err bind_row(vs_binding *b, vs_bind_row *row, uint64_t n, const uint8_t head[32])
{
	row->exists = row->bound = row->has_mac = true;
	row->index = vs_anchor_index(b->anchor);
	row->counter = n;
	memcpy(row->head, head, 32);
	return vs_anchor_mac(b->anchor, b->domain, n, head, row->mac);
}

static VS_MUST_USE vs_err adopt(vs_binding *b, vs_bind_row *row, uint64_t n, const uint8_t head[32],
		    const char *note, bool *write_row)
{
	VS_TRY(bind_row(b, row, n, head));
	b->note = note;
	*write_row = true;
	return VS_OK;
}

/* First use with a TPM: new content adopts the counter's value, but only on
 * an index that did not exist (else the file may have been deleted to
 * start over); existing content only on the operator's word. */
static VS_MUST_USE vs_err bind_first(vs_binding *b, vs_bind_row *row, uint64_t n, const uint8_t head[32],
			 bool empty, bool force, bool *write_row)
{
	if (force)
		return adopt(b, row, n, head, ADOPTED, write_row);
	if (empty && vs_anchor_defined_here(b->anchor))
		return adopt(b, row, n, head, NULL, write_row);
	if (empty)
		return vs_fail(VS_E_INTEGRITY,
			       "the %s is new but TPM NV counter 0x%08x already exists (value %llu): "
			       "it anchors another %s, or this one was deleted to start over "
			       "(refused); choose a fresh NV index, or VNFSAFE_TPM_ADOPT=1",
			       b->what, vs_anchor_index(b->anchor), (unsigned long long)n, b->what);
	if (!vs_anchor_defined_here(b->anchor))
		return vs_fail(VS_E_INTEGRITY,
			       "the %s has records but no TPM binding while TPM NV counter 0x%08x "
			       "already exists: its anchor row was removed, or another %s uses this "
			       "index (refused; VNFSAFE_TPM_ADOPT=1 binds it if it is the current one)",
			       b->what, vs_anchor_index(b->anchor), b->what);
	return vs_fail(VS_E_POLICY,
		       "the %s has records but is not bound to a TPM counter yet (it was used "
		       "without VNFSAFE_TPM), so an old copy of it could not be told apart: if it is "
		       "the current one, bind it once with VNFSAFE_TPM_ADOPT=1",
		       b->what);
}

static VS_MUST_USE vs_err refuse(const vs_binding *b, uint64_t db, uint64_t tpm)
{
	unsigned long long c = db, n = tpm;
	if (c < n)
		return vs_fail(VS_E_INTEGRITY,
			       "%s database is older than the TPM counter (database %llu, TPM %llu): "
			       "an old copy of the file was put back (roll-back refused)",
			       b->what, c, n);
	return vs_fail(VS_E_INTEGRITY,
		       "%s database is ahead of the TPM counter (database %llu, TPM %llu): the TPM "
		       "counter was reset or this is another TPM (if it was replaced or cleared, "
		       "VNFSAFE_TPM_ADOPT=1 binds the %s to it)",
		       b->what, c, n, b->what);
}

/* Genuine iff its counter is n (or n + 1: committed, increment pending) and
 * its MAC, computed by the TPM, covers (counter, head) for this content. */
static VS_MUST_USE vs_err verify(vs_binding *b, const vs_bind_row *row, uint64_t n, const uint8_t head[32])
{
	if (row->counter < n || (n < UINT64_MAX && row->counter > n + 1))
		return refuse(b, row->counter, n);
	if (!row->has_mac)
		return vs_fail(VS_E_POLICY,
			       "the %s is bound to TPM NV counter 0x%08x by an earlier vnfsafe that "
			       "did not MAC its content: if it is the current one, bind it once with "
			       "VNFSAFE_TPM_ADOPT=1",
			       b->what, row->index);
	if (CRYPTO_memcmp(head, row->head, 32) != 0)
		return vs_fail(VS_E_INTEGRITY,
			       "%s content mismatch: the rows are not the ones the TPM-bound head "
			       "covers (the file was edited outside vnfsafe; refused)",
			       b->what);
	if (b->verified && row->counter == b->verified_counter &&
	    CRYPTO_memcmp(row->mac, b->verified_mac, 32) == 0 &&
	    CRYPTO_memcmp(head, b->verified_head, 32) == 0)
		return VS_OK; /* checked by the TPM before, nothing changed since */
	uint8_t mac[32];
	VS_TRY(vs_anchor_mac(b->anchor, b->domain, row->counter, head, mac));
	if (CRYPTO_memcmp(mac, row->mac, 32) != 0)
		return vs_fail(VS_E_INTEGRITY,
			       "%s anchor mismatch: the TPM's MAC does not cover counter %llu with "
			       "this content: an old copy was put back with its counter edited, or the "
			       "anchor row was edited (refused; after a deliberate TPM clear: "
			       "VNFSAFE_TPM_ADOPT=1)",
			       b->what, (unsigned long long)row->counter);
	return VS_OK;
}

static void remember(vs_binding *b, const vs_bind_row *row)
{
	b->verified = true;
	b->verified_counter = row->counter;
	memcpy(b->verified_mac, row->mac, 32);
	memcpy(b->verified_head, row->head, 32);
}

VS_MUST_USE vs_err vs_bind_settle(vs_binding *b, vs_bind_row *row, const uint8_t head[32], bool empty,
		      uint64_t *n, bool *write_row)
{
	uint32_t idx = vs_anchor_index(b->anchor);
	bool force = adopt_requested();
	*write_row = false;
	if (row->bound && row->index != idx && !force)
		return vs_fail(VS_E_ENV, "the %s is bound to TPM NV counter 0x%08x, not 0x%08x",
			       b->what, row->index, idx);
	VS_TRY(vs_anchor_read(b->anchor, n));
	if (!row->bound) {
		VS_TRY(bind_first(b, row, *n, head, empty, force, write_row));
		remember(b, row);
		return VS_OK;
	}
	vs_err rc = verify(b, row, *n, head);
	if (rc != VS_OK && force)
		rc = adopt(b, row, *n, head, ADOPTED, write_row);
	if (rc != VS_OK)
		return rc;
	if (row->counter == *n + 1) {
		/* Committed, then interrupted before the increment: finish it. */
		VS_TRY(vs_anchor_increment(b->anchor));
		*n += 1;
		b->note = "an interrupted counter increment was completed";
	}
	remember(b, row);
	return VS_OK;
}

VS_MUST_USE vs_err vs_bind_next(vs_binding *b, vs_bind_row *row, uint64_t n, const uint8_t head[32])
{
	return bind_row(b, row, n + 1, head);
}

VS_MUST_USE vs_err vs_bind_advance(vs_binding *b, const vs_bind_row *row, const char *fault_after)
{
	if (vs_anchor_increment(b->anchor) != VS_OK)
		return vs_wrap(VS_E_ENV, "the %s change is committed but the TPM counter was not "
					 "advanced (the next open completes it)",
			       b->what);
	if (fault_after)
		vs_fault(fault_after);
	remember(b, row);
	b->note = NULL;
	return VS_OK;
}
