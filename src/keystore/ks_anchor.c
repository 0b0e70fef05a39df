/* The keystore's anti-rollback (docs/ledger.md, "The keystore"): the same
 * TPM binding as the ledger (vnfsafe/anchor.h, src/ledger/tpm_bind.c) on its
 * own NV counter (VNFSAFE_TPM_KEYSTORE_NV_INDEX, default the ledger's + 1).
 * The head is SHA-256 over every row of every table but ks_anchor, tables by
 * name, rows sorted by all their columns: a table or column added later is
 * covered without a change here. Every write transaction commits its rows
 * with counter = NV + 1 and the MAC, then increments NV, then returns. A
 * keystore put back from a backup (erased data keys, old tokens) is refused.
 * The flock on the database file orders check, commit and increment between
 * processes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "home_priv.h"
#include "vnfsafe/buf.h"
#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"

#define KS_DOMAIN "vnfsafe keystore binding v1"

static const char anchor_schema[] =
	"CREATE TABLE IF NOT EXISTS ks_anchor(id INTEGER PRIMARY KEY CHECK(id=1),"
	" counter INTEGER NOT NULL, head BLOB NOT NULL, nv_index INTEGER, mac BLOB);";

static VS_MUST_USE vs_err ks_fail(sqlite3 *db, const char *what)
{
	return vs_fail(VS_E_ENV, "keystore database: %s: %s", what, ks_errmsg(db));
}

static VS_MUST_USE vs_err ks_exec(vs_home *h, const char *sql)
{
	return sqlite3_exec(h->db, sql, NULL, NULL, NULL) == SQLITE_OK ? VS_OK
								      : ks_fail(h->db, "write");
}

static void rollback(vs_home *h)
{
	if (!sqlite3_get_autocommit(h->db))
		sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
}

/* --- the content head --- */

static void wr_blob(vs_wr *w, const void *p, int n)
{
	vs_wr_u32(w, (uint32_t)(n < 0 ? 0 : n));
	vs_wr_bytes(w, p, n < 0 ? 0 : (size_t)n);
}

static void encode_row(sqlite3_stmt *st, int ncol, vs_wr *w)
{
	vs_wr_u8(w, 'R');
	for (int c = 0; c < ncol; c++) {
		int type = sqlite3_column_type(st, c);
		vs_wr_u8(w, (uint8_t)type);
		if (type == SQLITE_INTEGER)
			vs_wr_u64(w, (uint64_t)sqlite3_column_int64(st, c));
		else if (type == SQLITE_FLOAT) {
			double d = sqlite3_column_double(st, c);
			uint64_t bits;
			memcpy(&bits, &d, sizeof bits);
			vs_wr_u64(w, bits);
		} else if (type == SQLITE_TEXT)
			wr_blob(w, sqlite3_column_text(st, c), sqlite3_column_bytes(st, c));
		else if (type == SQLITE_BLOB)
			wr_blob(w, sqlite3_column_blob(st, c), sqlite3_column_bytes(st, c));
	}
}

/* One table: its name, its column names, its rows sorted by every column. */
static VS_MUST_USE vs_err encode_table(vs_home *h, const char *table, vs_wr *w, uint64_t *rows)
{
	sqlite3_stmt *st = NULL;
	char *sql = sqlite3_mprintf("SELECT * FROM \"%w\"", table);
	if (!sql || sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		return ks_fail(h->db, "reading for the anchor");
	}
	sqlite3_free(sql);
	int ncol = sqlite3_column_count(st);
	vs_wr_u8(w, 'T');
	wr_blob(w, table, (int)strlen(table));
	vs_wr_u32(w, (uint32_t)ncol);
	for (int c = 0; c < ncol; c++) {
		const char *name = sqlite3_column_name(st, c);
		wr_blob(w, name ? name : "", name ? (int)strlen(name) : 0);
	}
	sqlite3_finalize(st);
	vs_wr order = { 0 };
	for (int c = 1; c <= ncol; c++) {
		char num[16];
		int len = snprintf(num, sizeof num, "%s%d", c > 1 ? "," : "", c);
		vs_wr_bytes(&order, num, (size_t)len);
	}
	vs_wr_u8(&order, 0);
	sql = order.bad ? NULL
			: sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY %s", table, (char *)order.p);
	vs_wr_free(&order);
	if (!sql || sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		return ks_fail(h->db, "reading for the anchor");
	}
	sqlite3_free(sql);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		encode_row(st, ncol, w);
		++*rows;
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? VS_OK : ks_fail(h->db, "reading for the anchor");
}

/* head over every table but ks_anchor; *empty: no row outside `meta`. */
static VS_MUST_USE vs_err ks_head(vs_home *h, uint8_t head[VS_HASH_LEN], bool *empty)
{
	static const char tag[] = "vnfsafe keystore content v1";
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db,
			       "SELECT name FROM sqlite_master WHERE type='table' AND name<>'ks_anchor'"
			       " AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		return ks_fail(h->db, "reading for the anchor");
	vs_wr w = { 0 };
	vs_wr_bytes(&w, tag, sizeof tag);
	vs_err rc = VS_OK;
	uint64_t content_rows = 0;
	int step;
	while (rc == VS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		uint64_t rows = 0;
		rc = encode_table(h, t ? t : "", &w, &rows);
		if (t && strcmp(t, "meta") != 0)
			content_rows += rows;
	}
	if (rc == VS_OK && step != SQLITE_DONE)
		rc = ks_fail(h->db, "reading for the anchor");
	sqlite3_finalize(st);
	if (rc == VS_OK)
		rc = w.bad ? vs_fail(VS_E_ENV, "out of memory") : vs_sha256(w.p, w.len, head);
	vs_wr_free(&w);
	*empty = content_rows == 0;
	return rc;
}

/* --- the anchor row --- */

static VS_MUST_USE vs_err row_get(vs_home *h, vs_bind_row *row)
{
	sqlite3_stmt *st = NULL;
	memset(row, 0, sizeof *row);
	if (sqlite3_prepare_v2(h->db, "SELECT counter, head, nv_index, mac FROM ks_anchor WHERE id=1",
			       -1, &st, NULL) != SQLITE_OK)
		return ks_fail(h->db, "read");
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		row->exists = true;
		row->counter = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == VS_HASH_LEN)
			memcpy(row->head, sqlite3_column_blob(st, 1), VS_HASH_LEN);
		row->bound = sqlite3_column_type(st, 2) != SQLITE_NULL;
		row->index = (uint32_t)sqlite3_column_int64(st, 2);
		row->has_mac = sqlite3_column_bytes(st, 3) == VS_HASH_LEN;
		if (row->has_mac)
			memcpy(row->mac, sqlite3_column_blob(st, 3), VS_HASH_LEN);
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? VS_OK : ks_fail(h->db, "read");
}

static VS_MUST_USE vs_err row_put(vs_home *h, const vs_bind_row *row)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO ks_anchor(id, counter, head, nv_index,"
				      " mac) VALUES(1,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return ks_fail(h->db, "write");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)row->counter);
	sqlite3_bind_blob(st, 2, row->head, VS_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)row->index);
	sqlite3_bind_blob(st, 4, row->mac, VS_HASH_LEN, SQLITE_TRANSIENT);
	vs_err rc = sqlite3_step(st) == SQLITE_DONE ? VS_OK : ks_fail(h->db, "write");
	sqlite3_finalize(st);
	return rc;
}

static VS_MUST_USE vs_err ks_lock(vs_home *h, int op)
{
	return vs_flock(h->ks_fd, op, "the keystore database");
}

static void status_update(vs_home *h, const vs_bind_row *row)
{
	const char *note = h->ks_bind.note;
	if (h->ks_anchor)
		snprintf(h->ks_status, sizeof h->ks_status,
			 "TPM NV counter 0x%08x = %llu, keystore bound: a put-back keystore is refused "
			 "(not stopped: offline unwrapping from a full-home backup, root using this "
			 "TPM)%s%s%s",
			 vs_anchor_index(h->ks_anchor), (unsigned long long)row->counter,
			 note ? " (" : "", note ? note : "", note ? ")" : "");
	else
		snprintf(h->ks_status, sizeof h->ks_status,
			 "unanchored (no TPM): a keystore put back from a backup (erased keys, old "
			 "tokens) would not be detected%s",
			 row->bound ? "; it is bound to a TPM, read-only now" : "");
}

/* --- transactions --- */

/* Under the lock, in the transaction: the row against the TPM. */
static VS_MUST_USE vs_err settle(vs_home *h)
{
	uint8_t head[VS_HASH_LEN];
	bool empty, write_row;
	VS_TRY(row_get(h, &h->ks_row));
	VS_TRY(ks_head(h, head, &empty));
	VS_TRY(vs_bind_settle(&h->ks_bind, &h->ks_row, head, empty, &h->ks_n, &write_row));
	return write_row ? row_put(h, &h->ks_row) : VS_OK;
}

VS_MUST_USE vs_err ks_tx_begin(vs_home *h)
{
	if (h->read_only)
		return vs_fail(VS_E_ENV, "no space left on the file system of %s: the keystore was "
					 "opened read-only", h->path);
	if (!h->ks_anchor) {
		vs_bind_row row;
		VS_TRY(row_get(h, &row));
		if (row.bound)
			return vs_fail(VS_E_ENV,
				       "the keystore is bound to TPM NV counter 0x%08x: set VNFSAFE_TPM "
				       "to change it (a write without the TPM would break its binding)",
				       row.index);
		return ks_exec(h, "BEGIN IMMEDIATE");
	}
	VS_TRY(ks_lock(h, LOCK_EX));
	vs_err rc = ks_exec(h, "BEGIN IMMEDIATE");
	if (rc == VS_OK)
		rc = settle(h);
	/* Not held across the caller's work: a swtpm serves one client. */
	vs_anchor_disconnect(h->ks_anchor);
	if (rc != VS_OK) {
		rollback(h);
		vs_ignore(ks_lock(h, LOCK_UN));
	}
	return rc;
}

/* Commits (rc VS_OK) with the row for counter NV + 1, then increments NV;
 * or rolls back. */
VS_MUST_USE vs_err ks_tx_end(vs_home *h, vs_err rc)
{
	if (!h->ks_anchor) {
		if (rc == VS_OK)
			rc = ks_exec(h, "COMMIT");
		rollback(h);
		return rc;
	}
	uint8_t head[VS_HASH_LEN];
	bool empty;
	if (rc == VS_OK)
		rc = ks_head(h, head, &empty);
	if (rc == VS_OK)
		rc = vs_bind_next(&h->ks_bind, &h->ks_row, h->ks_n, head);
	if (rc == VS_OK)
		rc = row_put(h, &h->ks_row);
	if (rc == VS_OK)
		rc = ks_exec(h, "COMMIT");
	rollback(h);
	if (rc == VS_OK) {
		vs_fault("keystore.after_commit");
		rc = vs_bind_advance(&h->ks_bind, &h->ks_row, NULL);
	}
	vs_anchor_disconnect(h->ks_anchor);
	vs_ignore(ks_lock(h, LOCK_UN));
	if (rc == VS_OK)
		status_update(h, &h->ks_row);
	return rc;
}

VS_MUST_USE vs_err ks_anchor_open(vs_home *h, const char *path)
{
	h->ks_fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (h->ks_fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", path);
	VS_TRY(ks_exec(h, anchor_schema));
	VS_TRY(vs_anchor_open_keystore(&h->ks_anchor));
	h->ks_bind = (vs_binding){ .anchor = h->ks_anchor, .domain = KS_DOMAIN, .what = "keystore" };
	if (!h->ks_anchor) {
		VS_TRY(row_get(h, &h->ks_row));
		status_update(h, &h->ks_row);
		return VS_OK;
	}
	VS_TRY(ks_lock(h, LOCK_EX));
	/* Read-only (full disk): still checked against the TPM; a row to write fails. */
	vs_err rc = ks_exec(h, h->read_only ? "BEGIN" : "BEGIN IMMEDIATE");
	if (rc == VS_OK)
		rc = settle(h);
	if (rc == VS_OK)
		rc = ks_exec(h, "COMMIT");
	rollback(h);
	vs_anchor_disconnect(h->ks_anchor);
	vs_ignore(ks_lock(h, LOCK_UN));
	if (rc == VS_OK)
		status_update(h, &h->ks_row);
	return rc;
}

/* After sqlite3_close: closing a descriptor drops the process's POSIX locks. */
void ks_anchor_close(vs_home *h)
{
	if (h->ks_fd >= 0)
		close(h->ks_fd);
	h->ks_fd = -1;
	vs_anchor_close(h->ks_anchor);
	h->ks_anchor = NULL;
}

const char *vs_home_keystore_status(const vs_home *h)
{
	return h->ks_status;
}
