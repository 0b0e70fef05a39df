/* Local anti-rollback of the SQLite ledger and of the home's keystore: a
 * TPM 2.0 NV monotonic counter, and a MAC by a TPM-resident key over
 * (domain, index, counter, content head) that binds the database's content
 * to the counter (docs/ledger.md). A copy put back carries an older counter;
 * edited rows or an edited counter fail the MAC. Stops the file-level
 * attacker; not root who can use this TPM, nor VNFSAFE_TPM_ADOPT=1.
 *
 * NV writes are slow and wear the chip: one increment per acknowledged
 * write batch (threads sharing a handle are group-committed).
 *
 * Configuration (environment):
 *   VNFSAFE_TPM           TCTI string: "swtpm:host=127.0.0.1,port=2321",
 *                         "device:/dev/tpmrm0", ...; unset, empty or "none":
 *                         no TPM (not an error, but roll-back goes unseen)
 *   VNFSAFE_TPM_NV_INDEX  the NV counter index (default 0x01800100, in the
 *                         TPM owner range); one ledger file per index
 *   VNFSAFE_TPM_ADOPT=1   bind the ledger to the counter's current value
 *                         whatever the database says: the operator's explicit
 *                         decision after replacing or clearing the TPM, on
 *                         first use of a TPM with an existing ledger, or to
 *                         accept a deliberately restored backup
 *
 *   VNFSAFE_TPM_KEYSTORE_NV_INDEX  the keystore's counter (default: the
 *                         ledger's index + 1); two homes on one TPM need
 *                         distinct indices for both
 *
 * Anyone who can use the TPM can advance the counter: that locks the
 * database out (exit 2), it cannot hide a roll-back.
 *
 * The connection is held only while it is used (vs_anchor_disconnect): a
 * swtpm serves one client at a time. */
#ifndef VNFSAFE_ANCHOR_H
#define VNFSAFE_ANCHOR_H

#include <stdbool.h>
#include <stdint.h>

#include "vnfsafe/err.h"
#include "vnfsafe/ledger.h"

#define VS_ANCHOR_DEFAULT_INDEX 0x01800100u

typedef struct vs_anchor vs_anchor;

/* The TPM named by VNFSAFE_TPM, counter index VNFSAFE_TPM_NV_INDEX; with no
 * TPM configured: *a = NULL and VS_OK. No I/O yet: the first read or
 * increment connects and makes sure the counter exists (defines it if
 * absent; a counter never incremented has no value, so it is incremented
 * once). Errors: VS_E_USAGE for a bad index; every later error talking to
 * the configured TPM is VS_E_ENV with the TSS return code decoded. */
VS_MUST_USE vs_err vs_anchor_open(vs_anchor **a);
/* The same with explicit settings (tcti: a TCTI string, not "none"). */
VS_MUST_USE vs_err vs_anchor_open_config(vs_anchor **a, const char *tcti, uint32_t nv_index);
/* The counter's current value (connects if needed). */
VS_MUST_USE vs_err vs_anchor_read(vs_anchor *a, uint64_t *value);
/* Adds one to the counter: one NV write (connects if needed). */
VS_MUST_USE vs_err vs_anchor_increment(vs_anchor *a);
/* Drops the TPM connection; the next read or increment reconnects. */
void vs_anchor_disconnect(vs_anchor *a);
uint32_t vs_anchor_index(const vs_anchor *a);
/* The binding MAC (docs/ledger.md): HMAC-SHA256 under a TPM-resident key
 * (a primary of the owner hierarchy with a fixed template, never exported)
 * over domain || NUL || NV index || counter || head. Only code that can use
 * this TPM can compute it; a copied or edited file cannot carry a valid one
 * for content or a counter it was not computed for. */
VS_MUST_USE vs_err vs_anchor_mac(vs_anchor *a, const char *domain, uint64_t counter,
		     const uint8_t head[32], uint8_t mac[32]);
/* This handle had to define the index: it did not exist before. */
bool vs_anchor_defined_here(const vs_anchor *a);
void vs_anchor_close(vs_anchor *a);

/* One line: "TPM NV counter 0x01800100" for an anchor; for NULL "no TPM
 * (VNFSAFE_TPM unset): a copied-back ledger file would not be detected" (or
 * "(VNFSAFE_TPM=none)"). Valid until the next call in this thread. */
const char *vs_anchor_status(const vs_anchor *a);

/* Parses VNFSAFE_TPM_NV_INDEX (or the default when unset). */
VS_MUST_USE vs_err vs_anchor_env_index(uint32_t *index);

/* --- binding a database's content to the counter (src/ledger/tpm_bind.c) ---
 * The database keeps one row (counter, head, index, mac): head is SHA-256
 * over its content, recomputed from its rows by the caller; mac is
 * vs_anchor_mac(domain, counter, head). Writes commit their rows with
 * counter = NV + 1 and its MAC, then advance NV, then acknowledge. The
 * caller holds an flock across check, commit and increment. */
typedef struct {
	bool exists, bound, has_mac;
	uint32_t index;
	uint64_t counter;
	uint8_t head[32];
	uint8_t mac[32];
} vs_bind_row;

typedef struct {
	vs_anchor *anchor;
	const char *domain; /* MAC domain tag, one per kind of database */
	const char *what;   /* "ledger", "keystore": for messages */
	const char *note;   /* what the last settle did, for the status */
	bool verified;      /* the last row checked by the TPM or written */
	uint64_t verified_counter;
	uint8_t verified_mac[32];
	uint8_t verified_head[32];
} vs_binding;

/* Checks row against the TPM's counter and head (the content now): on VS_OK
 * the row is bound, genuine and row->counter == *n (an interrupted
 * increment completed; a first binding or VNFSAFE_TPM_ADOPT=1 set
 * *write_row: store the row). empty: the database holds no content yet.
 * VS_E_INTEGRITY names what differs: old copy, content edited, anchor row
 * edited, TPM ahead or behind. */
VS_MUST_USE vs_err vs_bind_settle(vs_binding *b, vs_bind_row *row, const uint8_t head[32], bool empty,
		      uint64_t *n, bool *write_row);
/* The row for a write on top of counter n: (n + 1, head, MAC). */
VS_MUST_USE vs_err vs_bind_next(vs_binding *b, vs_bind_row *row, uint64_t n, const uint8_t head[32]);
/* After the commit of a row from vs_bind_next: one NV increment; then the
 * fault point fault_after (or NULL). */
VS_MUST_USE vs_err vs_bind_advance(vs_binding *b, const vs_bind_row *row, const char *fault_after);

/* The keystore's counter: VNFSAFE_TPM_KEYSTORE_NV_INDEX, default the
 * ledger's index + 1 (two homes on one TPM need distinct indices for both).
 * *a = NULL without a TPM. */
VS_MUST_USE vs_err vs_anchor_open_keystore(vs_anchor **a);

/* One-line anti-rollback status of a sqlite ledger, e.g.
 *   "TPM NV counter 0x01800100 = 42, ledger head bound: content MAC'd by
 *    the TPM, a copied-back or edited ledger file is refused (not stopped: ...)"
 *   "no TPM (VNFSAFE_TPM unset): a copied-back ledger file would not be detected"
 * NULL for other backends. Valid while l is open. */
const char *vs_ledger_anchor_status(vs_ledger *l);

#endif
