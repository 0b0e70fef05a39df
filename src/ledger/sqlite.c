/* SQLite ledger backend: one row per VNF, CAS = UPDATE ... WHERE version = ?.
 * WAL + synchronous=FULL: a committed transition survives power loss.
 *
 * Anti-rollback (vnfsafe/anchor.h). Every write is one transaction with the
 * update of the single `anchor` row: `head` is a SHA-256 chain over every
 * committed write (previous head, then the record as written); `counter` is
 * the TPM NV counter value the database is bound to (`nv_index`).
 *  - Epoch = one handle's writes. Its first write also sets counter = NV + 1
 *    and, after COMMIT, increments the NV counter, so NV == counter again.
 *    Later writes of the handle extend the head only: one NV write per epoch.
 *  - Open and epoch start compare the database's counter c with the TPM's n:
 *    c == n fine; c == n + 1: the increment after a commit was interrupted,
 *    complete it; c < n: an old copy of the file was put back, refused;
 *    c > n + 1: the TPM counter was reset or is another TPM's, refused.
 *    A brand-new ledger adopts the TPM's value.
 *  - The check, an epoch's commit and its increment run under an flock on
 *    the database file, so processes sharing the ledger never see each
 *    other's half-done epoch; the TPM connection is held only inside it.
 * Without a TPM the head is still kept and nothing else changes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "vnfsafe/anchor.h"
#include "vnfsafe/buf.h"
#include "vnfsafe/crypto.h"
#include "vnfsafe/fault.h"
#include "vnfsafe/ledger.h"

/* Prepared once at open. */
enum {
	ST_GET, ST_CAS, ST_INSERT, ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_AGET, ST_APUT, ST_EMPTY, ST_LGET, ST_LINS, ST_LUPD, ST_N
};

typedef struct {
	vs_ledger base;
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	int fd;            /* the database file: its flock orders the anchor protocol */
	vs_anchor *anchor; /* NULL: no TPM */
	bool epoch_done;   /* this handle has advanced the TPM counter */
	uint64_t counter;  /* the database's counter (== the TPM's once anchored) */
	const char *note;  /* what the last check did, for the status */
	char status[256];
} sq_ledger;

/* The anchor row. */
typedef struct {
	bool exists;
	bool bound; /* nv_index is set */
	uint32_t index;
	uint64_t counter;
	uint8_t head[VS_HASH_LEN];
} anchor_row;

/* Back only by an operator's restart, which is counted for good. */
#define LOG_ANCHOR_TRIGGER                                                                     \
	"CREATE TRIGGER IF NOT EXISTS log_anchor_monotonic BEFORE UPDATE ON log_anchors"        \
	" WHEN NEW.restarts < OLD.restarts OR (NEW.size < OLD.size AND NEW.restarts = OLD.restarts)" \
	" BEGIN SELECT RAISE(ABORT, 'audit anchor decrease refused'); END;"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS vnfs(name TEXT PRIMARY KEY, lineage BLOB NOT NULL,"
	" generation INTEGER NOT NULL, state INTEGER NOT NULL, owner TEXT NOT NULL,"
	" target TEXT NOT NULL, has_snapshot INTEGER NOT NULL, latest BLOB NOT NULL,"
	" latest_gen INTEGER NOT NULL, sensitive TEXT NOT NULL, version INTEGER NOT NULL,"
	" updated INTEGER NOT NULL, latest_final INTEGER NOT NULL DEFAULT 0,"
	" activation BLOB NOT NULL DEFAULT x'', latest_host TEXT NOT NULL DEFAULT '',"
	" token_hash BLOB NOT NULL DEFAULT x'');"
	/* Defence in depth: the generation can never go down, whoever writes. */
	"CREATE TRIGGER IF NOT EXISTS generation_monotonic BEFORE UPDATE ON vnfs"
	" WHEN NEW.generation < OLD.generation OR NEW.lineage <> OLD.lineage"
	" BEGIN SELECT RAISE(ABORT, 'generation decrease or lineage change refused'); END;"
	"CREATE TRIGGER IF NOT EXISTS no_delete BEFORE DELETE ON vnfs"
	" BEGIN SELECT RAISE(ABORT, 'ledger records are never deleted'); END;"
	/* Anti-rollback head: see the top of this file. */
	"CREATE TABLE IF NOT EXISTS anchor(id INTEGER PRIMARY KEY CHECK(id=1),"
	" counter INTEGER NOT NULL, head BLOB NOT NULL, nv_index INTEGER);"
	/* Each host's audit-log anchor (docs/audit.md): it only moves forward. */
	"CREATE TABLE IF NOT EXISTS log_anchors(host TEXT PRIMARY KEY, size INTEGER NOT NULL,"
	" offset INTEGER NOT NULL, head BLOB NOT NULL, version INTEGER NOT NULL,"
	" restarts INTEGER NOT NULL);"
	LOG_ANCHOR_TRIGGER
	"CREATE TRIGGER IF NOT EXISTS log_anchor_no_delete BEFORE DELETE ON log_anchors"
	" BEGIN SELECT RAISE(ABORT, 'audit anchors are never deleted'); END;";

static vs_err sq_fail(sqlite3 *db, const char *what)
{
	return vs_fail(VS_E_ENV, "ledger %s: %s", what, sqlite3_errmsg(db));
}

#define COLS "name,lineage,generation,state,owner,target,has_snapshot,latest,latest_gen,sensitive,version,updated,latest_final,activation,latest_host,token_hash"

static void text_col(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void blob_col(sqlite3_stmt *st, int i, uint8_t *dst, size_t n)
{
	memset(dst, 0, n);
	if (sqlite3_column_bytes(st, i) == (int)n)
		memcpy(dst, sqlite3_column_blob(st, i), n);
}

static void row_to_record(sqlite3_stmt *st, vs_vnf_record *r)
{
	memset(r, 0, sizeof *r);
	text_col(st, 0, r->name, sizeof r->name);
	blob_col(st, 1, r->lineage, VS_ID_LEN);
	r->generation = (uint64_t)sqlite3_column_int64(st, 2);
	r->state = (vs_vnf_state)sqlite3_column_int(st, 3);
	text_col(st, 4, r->owner, sizeof r->owner);
	text_col(st, 5, r->target, sizeof r->target);
	r->has_snapshot = sqlite3_column_int(st, 6) != 0;
	blob_col(st, 7, r->latest_snapshot, VS_ID_LEN);
	r->latest_snapshot_gen = (uint64_t)sqlite3_column_int64(st, 8);
	text_col(st, 9, r->sensitive, sizeof r->sensitive);
	r->version = (uint64_t)sqlite3_column_int64(st, 10);
	r->updated = sqlite3_column_int64(st, 11);
	r->latest_final = sqlite3_column_int(st, 12) != 0;
	blob_col(st, 13, r->activation, VS_ID_LEN);
	text_col(st, 14, r->latest_host, sizeof r->latest_host);
	blob_col(st, 15, r->token_hash, VS_HASH_LEN);
}

static void bind_record(sqlite3_stmt *st, const vs_vnf_record *r)
{
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, r->lineage, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->generation);
	sqlite3_bind_int(st, 4, (int)r->state);
	sqlite3_bind_text(st, 5, r->owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, r->target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, r->has_snapshot);
	sqlite3_bind_blob(st, 8, r->latest_snapshot, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)r->latest_snapshot_gen);
	sqlite3_bind_text(st, 10, r->sensitive, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 12, r->updated);
	sqlite3_bind_int(st, 14, r->latest_final);
	sqlite3_bind_blob(st, 15, r->activation, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 16, r->latest_host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 17, r->token_hash, VS_HASH_LEN, SQLITE_TRANSIENT);
}

static const char *const st_sql[ST_N] = {
	[ST_GET] = "SELECT " COLS " FROM vnfs WHERE name=?",
	[ST_CAS] = "UPDATE vnfs SET name=?1, lineage=?2, generation=?3, state=?4,"
		   " owner=?5, target=?6, has_snapshot=?7, latest=?8, latest_gen=?9,"
		   " sensitive=?10, version=?11, updated=?12, latest_final=?14, activation=?15,"
		   " latest_host=?16, token_hash=?17"
		   " WHERE name=?1 AND version=?13",
	[ST_INSERT] = "INSERT INTO vnfs(" COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?14,?15,?16,?17)",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_AGET] = "SELECT counter, head, nv_index FROM anchor WHERE id=1",
	[ST_APUT] = "INSERT OR REPLACE INTO anchor(id, counter, head, nv_index) VALUES(1,?,?,?)",
	[ST_EMPTY] = "SELECT NOT EXISTS(SELECT 1 FROM vnfs)",
	[ST_LGET] = "SELECT size, offset, head, version, restarts FROM log_anchors WHERE host=?",
	[ST_LINS] = ("INSERT INTO log_anchors(host, size, offset, head, version, restarts)"
		     " VALUES(?1,?2,?3,?4,1,?6)"),
	[ST_LUPD] = ("UPDATE log_anchors SET size=?2, offset=?3, head=?4, version=version+1,"
		     " restarts=?6 WHERE host=?1 AND version=?5"),
};

/* Steps a statement that returns no row, then resets it. */
static vs_err run_st(sq_ledger *s, int which, const char *what)
{
	sqlite3_stmt *st = s->st[which];
	int step = sqlite3_step(st);
	vs_err rc = step == SQLITE_DONE ? VS_OK : sq_fail(s->db, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static vs_err sq_get(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_stmt *st = s->st[ST_GET];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_ROW)
		row_to_record(st, out);
	else if (step == SQLITE_DONE)
		rc = vs_fail(VS_E_USAGE, "no VNF named '%s' is registered (vnfsafe vnf register %s)", name, name);
	else
		rc = sq_fail(s->db, "read");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* --- the anchor row and the head chain --- */

static vs_err row_get(sq_ledger *s, anchor_row *a)
{
	sqlite3_stmt *st = s->st[ST_AGET];
	memset(a, 0, sizeof *a);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		a->exists = true;
		a->counter = (uint64_t)sqlite3_column_int64(st, 0);
		blob_col(st, 1, a->head, VS_HASH_LEN);
		a->bound = sqlite3_column_type(st, 2) != SQLITE_NULL;
		a->index = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? VS_OK : sq_fail(s->db, "read");
}

static vs_err row_put(sq_ledger *s, const anchor_row *a)
{
	sqlite3_stmt *st = s->st[ST_APUT];
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a->counter);
	sqlite3_bind_blob(st, 2, a->head, VS_HASH_LEN, SQLITE_TRANSIENT);
	if (a->bound)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)a->index);
	else
		sqlite3_bind_null(st, 3);
	return run_st(s, ST_APUT, "write");
}

static vs_err ledger_empty(sq_ledger *s, bool *empty)
{
	sqlite3_stmt *st = s->st[ST_EMPTY];
	int step = sqlite3_step(st);
	*empty = step == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return step == SQLITE_ROW ? VS_OK : sq_fail(s->db, "read");
}

static void wr_text(vs_wr *w, const char *t)
{
	size_t n = strlen(t);
	vs_wr_u16(w, (uint16_t)n);
	vs_wr_bytes(w, t, n);
}

/* head := SHA-256("vnfsafe ledger head v2" || head || record as written),
 * the record in a fixed binary encoding (every column, version included). */
static vs_err head_extend(uint8_t head[VS_HASH_LEN], const vs_vnf_record *r, uint64_t version)
{
	static const char tag[] = "vnfsafe ledger head v2";
	vs_wr w = { 0 };
	vs_wr_bytes(&w, tag, sizeof tag);
	vs_wr_bytes(&w, head, VS_HASH_LEN);
	wr_text(&w, r->name);
	vs_wr_bytes(&w, r->lineage, VS_ID_LEN);
	vs_wr_u64(&w, r->generation);
	vs_wr_u32(&w, (uint32_t)r->state);
	wr_text(&w, r->owner);
	wr_text(&w, r->target);
	vs_wr_u8(&w, r->has_snapshot ? 1 : 0);
	vs_wr_bytes(&w, r->latest_snapshot, VS_ID_LEN);
	vs_wr_u64(&w, r->latest_snapshot_gen);
	vs_wr_u8(&w, r->latest_final ? 1 : 0);
	vs_wr_bytes(&w, r->activation, VS_ID_LEN);
	wr_text(&w, r->sensitive);
	vs_wr_u64(&w, version);
	vs_wr_u64(&w, (uint64_t)r->updated);
	vs_err rc = w.bad ? vs_fail(VS_E_ENV, "out of memory") : vs_sha256(w.p, w.len, head);
	vs_wr_free(&w);
	return rc;
}

/* --- the TPM protocol (top of this file) --- */

static void status_update(sq_ledger *s, const anchor_row *row)
{
	if (s->anchor)
		snprintf(s->status, sizeof s->status, "TPM NV counter 0x%08x = %llu, ledger head bound%s%s%s",
			 vs_anchor_index(s->anchor), (unsigned long long)s->counter,
			 s->note ? " (" : "", s->note ? s->note : "", s->note ? ")" : "");
	else if (row && row->bound)
		snprintf(s->status, sizeof s->status,
			 "%s; this ledger is bound to TPM NV counter 0x%08x (database counter %llu), not checked now",
			 vs_anchor_status(NULL), row->index, (unsigned long long)row->counter);
	else
		snprintf(s->status, sizeof s->status, "%s", vs_anchor_status(NULL));
}

static vs_err file_lock(sq_ledger *s, int op)
{
	while (flock(s->fd, op) != 0)
		if (errno != EINTR)
			return vs_fail_errno(VS_E_ENV, "cannot lock the ledger file");
	return VS_OK;
}

/* The operator's explicit decision (anchor.h). */
static bool adopt_requested(void)
{
	const char *e = getenv("VNFSAFE_TPM_ADOPT");
	return e && !strcmp(e, "1");
}

static vs_err adopt(sq_ledger *s, anchor_row *row, uint64_t n, const char *note)
{
	row->exists = row->bound = true;
	row->index = vs_anchor_index(s->anchor);
	row->counter = n;
	s->note = note;
	return row_put(s, row);
}

#define ADOPTED "adopted: VNFSAFE_TPM_ADOPT=1"

/* First use with a TPM: a brand-new ledger adopts the counter's value; one
 * with records only on the operator's word (an old copy from before the
 * binding would look just the same). */
static vs_err bind_first(sq_ledger *s, anchor_row *row, uint64_t n, bool force)
{
	bool empty;
	VS_TRY(ledger_empty(s, &empty));
	if (empty || force)
		return adopt(s, row, n, empty ? NULL : ADOPTED);
	return vs_fail(VS_E_POLICY,
		       "the ledger has records but is not bound to a TPM counter yet (it was used "
		       "without VNFSAFE_TPM), so an old copy of it could not be told apart: if it is "
		       "the current one, bind it once with VNFSAFE_TPM_ADOPT=1");
}

static vs_err refuse(uint64_t db, uint64_t tpm)
{
	unsigned long long c = db, n = tpm;
	if (c < n)
		return vs_fail(VS_E_INTEGRITY,
			       "ledger database is older than the TPM counter (database %llu, TPM %llu): "
			       "an old copy of the file was put back (roll-back refused)",
			       c, n);
	return vs_fail(VS_E_INTEGRITY,
		       "ledger database is ahead of the TPM counter (database %llu, TPM %llu): the TPM "
		       "counter was reset or this is another TPM (if it was replaced or cleared, "
		       "VNFSAFE_TPM_ADOPT=1 binds the ledger to it)",
		       c, n);
}

/* Under the lock, in a write transaction: the database's counter against
 * the TPM's. On VS_OK the row is bound to this counter and equal to it. */
static vs_err reconcile(sq_ledger *s, anchor_row *row)
{
	uint32_t idx = vs_anchor_index(s->anchor);
	bool force = adopt_requested();
	if (row->bound && row->index != idx && !force)
		return vs_fail(VS_E_ENV,
			       "the ledger is bound to TPM NV counter 0x%08x, not 0x%08x "
			       "(VNFSAFE_TPM_NV_INDEX)",
			       row->index, idx);
	uint64_t n;
	VS_TRY(vs_anchor_read(s->anchor, &n));
	if (!row->bound)
		return bind_first(s, row, n, force);
	if (row->index == idx && row->counter == n)
		return VS_OK;
	if (row->index == idx && n < UINT64_MAX && row->counter == n + 1) {
		/* Committed, then interrupted before the increment: finish it. */
		VS_TRY(vs_anchor_increment(s->anchor));
		s->note = "an interrupted counter increment was completed";
		return VS_OK;
	}
	if (force)
		return adopt(s, row, n, ADOPTED);
	return refuse(row->counter, n);
}

/* Ends a write transaction: COMMIT when rc is VS_OK, else ROLLBACK. */
static vs_err txn_end(sq_ledger *s, vs_err rc)
{
	if (rc == VS_OK)
		rc = run_st(s, ST_COMMIT, "commit");
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[ST_ROLLBACK]);
		sqlite3_reset(s->st[ST_ROLLBACK]);
	}
	return rc;
}

/* At open, with a TPM: check (and settle) the binding in one transaction. */
static vs_err anchor_check(sq_ledger *s)
{
	VS_TRY(file_lock(s, LOCK_EX));
	anchor_row row = { 0 };
	vs_err rc = run_st(s, ST_BEGIN, "write");
	if (rc == VS_OK) {
		rc = row_get(s, &row);
		if (rc == VS_OK)
			rc = reconcile(s, &row);
		rc = txn_end(s, rc);
	}
	vs_anchor_disconnect(s->anchor);
	vs_ignore(file_lock(s, LOCK_UN));
	if (rc == VS_OK) {
		s->counter = row.counter;
		status_update(s, &row);
	}
	return rc;
}

static vs_err anchor_setup(sq_ledger *s)
{
	VS_TRY(vs_anchor_open(&s->anchor));
	if (s->anchor)
		return anchor_check(s);
	anchor_row row;
	VS_TRY(row_get(s, &row));
	s->counter = row.counter;
	status_update(s, &row);
	return VS_OK;
}

/* Inside the write transaction, after the write: extends the head; the
 * epoch's first write also checks the binding and takes counter + 1. */
typedef vs_err (*extend_fn)(uint8_t head[VS_HASH_LEN], const void *arg, uint64_t version);

static vs_err record_extend(uint8_t head[VS_HASH_LEN], const void *arg, uint64_t version)
{
	return head_extend(head, arg, version);
}

/* head := SHA-256("vnfsafe ledger head v2 log anchor" || head || host ||
 * size || offset || leaf hash || restarts || version). */
typedef struct {
	const char *host;
	const vs_log_anchor *a;
	uint64_t expected;
} log_arg;

static vs_err log_extend(uint8_t head[VS_HASH_LEN], const void *arg, uint64_t version)
{
	static const char tag[] = "vnfsafe ledger head v2 log anchor";
	const log_arg *la = arg;
	vs_wr w = { 0 };
	vs_wr_bytes(&w, tag, sizeof tag);
	vs_wr_bytes(&w, head, VS_HASH_LEN);
	wr_text(&w, la->host);
	vs_wr_u64(&w, la->a->size);
	vs_wr_u64(&w, la->a->offset);
	vs_wr_bytes(&w, la->a->head, VS_HASH_LEN);
	vs_wr_u64(&w, la->a->restarts);
	vs_wr_u64(&w, version);
	vs_err rc = w.bad ? vs_fail(VS_E_ENV, "out of memory") : vs_sha256(w.p, w.len, head);
	vs_wr_free(&w);
	return rc;
}

static vs_err anchor_extend(sq_ledger *s, extend_fn ext, const void *arg, uint64_t version,
			    bool epoch, uint64_t *counter)
{
	anchor_row row;
	VS_TRY(row_get(s, &row));
	if (epoch) {
		VS_TRY(reconcile(s, &row));
		row.counter++;
	}
	VS_TRY(ext(row.head, arg, version));
	row.exists = true;
	*counter = row.counter;
	return row_put(s, &row);
}

/* After the epoch's commit: the TPM catches up with the database. */
static vs_err epoch_advance(sq_ledger *s, uint64_t counter)
{
	vs_fault("anchor.after_commit");
	if (vs_anchor_increment(s->anchor) != VS_OK)
		return vs_wrap(VS_E_ENV, "the ledger change is committed but the TPM counter was not "
					 "advanced (the next open of the ledger completes it)");
	s->epoch_done = true;
	s->counter = counter;
	s->note = NULL;
	status_update(s, NULL);
	return VS_OK;
}

typedef vs_err (*write_fn)(sq_ledger *s, const void *arg, uint64_t expected);

/* One write in one transaction with the anchor row (top of this file). */
static vs_err sq_write(sq_ledger *s, write_fn fn, extend_fn ext, const void *arg,
		       uint64_t expected, uint64_t version)
{
	bool epoch = s->anchor && !s->epoch_done;
	if (epoch)
		VS_TRY(file_lock(s, LOCK_EX));
	uint64_t counter = 0;
	vs_err rc = run_st(s, ST_BEGIN, "write");
	if (rc == VS_OK) {
		rc = fn(s, arg, expected);
		if (rc == VS_OK)
			rc = anchor_extend(s, ext, arg, version, epoch, &counter);
		rc = txn_end(s, rc);
	}
	if (rc == VS_OK && epoch)
		rc = epoch_advance(s, counter);
	if (epoch) {
		vs_anchor_disconnect(s->anchor);
		vs_ignore(file_lock(s, LOCK_UN));
	}
	return rc;
}

static vs_err do_insert(sq_ledger *s, const void *arg, uint64_t expected)
{
	const vs_vnf_record *r = arg;
	(void)expected;
	sqlite3_stmt *st = s->st[ST_INSERT];
	bind_record(st, r);
	sqlite3_bind_int64(st, 11, 1);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_CONSTRAINT)
		rc = vs_fail(VS_E_USAGE, "a VNF named '%s' is already registered", r->name);
	else if (step != SQLITE_DONE)
		rc = sq_fail(s->db, "write");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static vs_err do_update(sq_ledger *s, const void *arg, uint64_t expected)
{
	const vs_vnf_record *r = arg;
	sqlite3_stmt *st = s->st[ST_CAS];
	bind_record(st, r);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)(expected + 1));
	sqlite3_bind_int64(st, 13, (sqlite3_int64)expected);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step != SQLITE_DONE)
		rc = sq_fail(s->db, "write");
	else if (sqlite3_changes(s->db) != 1)
		rc = vs_fail(VS_E_POLICY, "VNF '%s' changed concurrently", r->name);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static vs_err sq_create(vs_ledger *l, const vs_vnf_record *r)
{
	return sq_write((sq_ledger *)l, do_insert, record_extend, r, 0, 1);
}

static vs_err sq_cas(vs_ledger *l, const vs_vnf_record *r, uint64_t expected)
{
	vs_err rc = sq_write((sq_ledger *)l, do_update, record_extend, r, expected, expected + 1);
	if (rc == VS_OK)
		l->last_version = expected + 1; /* lets the handle's next CAS start here */
	return rc;
}

static vs_err sq_log_anchor_get(vs_ledger *l, const char *host, vs_log_anchor *a,
				uint64_t *version, bool *found)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_stmt *st = s->st[ST_LGET];
	memset(a, 0, sizeof *a);
	*found = false;
	*version = 0;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_ROW) {
		a->size = (uint64_t)sqlite3_column_int64(st, 0);
		a->offset = (uint64_t)sqlite3_column_int64(st, 1);
		blob_col(st, 2, a->head, VS_HASH_LEN);
		*version = (uint64_t)sqlite3_column_int64(st, 3);
		a->restarts = (uint64_t)sqlite3_column_int64(st, 4);
		*found = true;
	} else if (step != SQLITE_DONE) {
		rc = sq_fail(s->db, "read");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static vs_err do_log_anchor(sq_ledger *s, const void *arg, uint64_t expected)
{
	const log_arg *la = arg;
	sqlite3_stmt *st = s->st[expected ? ST_LUPD : ST_LINS];
	sqlite3_bind_text(st, 1, la->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)la->a->size);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)la->a->offset);
	sqlite3_bind_blob(st, 4, la->a->head, VS_HASH_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)la->a->restarts);
	if (expected)
		sqlite3_bind_int64(st, 5, (sqlite3_int64)expected);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_CONSTRAINT &&
	    sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_TRIGGER)
		rc = vs_fail(VS_E_INTEGRITY, "the ledger refuses to move the audit anchor of %s back",
			     la->host);
	else if (step == SQLITE_CONSTRAINT || (step == SQLITE_DONE && sqlite3_changes(s->db) != 1))
		rc = vs_fail(VS_E_POLICY, "the audit anchor of %s changed concurrently", la->host);
	else if (step != SQLITE_DONE)
		rc = sq_fail(s->db, "write");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static vs_err sq_log_anchor_cas(vs_ledger *l, const char *host, const vs_log_anchor *a,
				uint64_t expected)
{
	if (a->size > INT64_MAX || a->offset > INT64_MAX || a->restarts > INT64_MAX)
		return vs_fail(VS_E_USAGE, "audit anchor out of range");
	log_arg la = { host, a, expected };
	return sq_write((sq_ledger *)l, do_log_anchor, log_extend, &la, expected, expected + 1);
}

static vs_err sq_list(vs_ledger *l, vs_err (*cb)(void *, const vs_vnf_record *), void *ctx)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT " COLS " FROM vnfs ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s->db, "read");
	vs_err rc = VS_OK;
	int step;
	vs_vnf_record r;
	while (rc == VS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_record(st, &r);
		rc = cb(ctx, &r);
	}
	if (rc == VS_OK && step != SQLITE_DONE)
		rc = sq_fail(s->db, "read");
	sqlite3_finalize(st);
	return rc;
}

static void sq_free(sq_ledger *s)
{
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	/* Only after SQLite's own descriptors: closing any descriptor of the
	 * file drops the process's POSIX locks on it. */
	if (s->fd >= 0)
		close(s->fd);
	vs_anchor_close(s->anchor);
	free(s);
}

static void sq_close(vs_ledger *l)
{
	sq_free((sq_ledger *)l);
}

static const vs_ledger_ops sq_ops = {
	.scheme = "sqlite",
	.get = sq_get,
	.create = sq_create,
	.cas = sq_cas,
	.list = sq_list,
	.log_anchor_get = sq_log_anchor_get,
	.log_anchor_cas = sq_log_anchor_cas,
	.close = sq_close,
};

const char *vs_ledger_anchor_status(vs_ledger *l)
{
	if (!l || l->ops != &sq_ops)
		return NULL;
	return ((sq_ledger *)l)->status;
}

static vs_err sq_prepare(sq_ledger *s)
{
	for (int i = 0; i < ST_N; i++)
		if (sqlite3_prepare_v2(s->db, st_sql[i], -1, &s->st[i], NULL) != SQLITE_OK)
			return sq_fail(s->db, "prepare");
	return VS_OK;
}

static bool has_columns(sqlite3 *db, const char *cols)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	snprintf(sql, sizeof sql, "SELECT %s FROM vnfs LIMIT 0", cols);
	bool has = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
	sqlite3_finalize(st);
	return has;
}

static bool has_new_columns(sqlite3 *db)
{
	return has_columns(db, "latest_final, activation");
}

/* Adds columns in one transaction unless they are there (another process
 * may have added them first). */
static vs_err add_columns(sqlite3 *db, const char *path, const char *cols, const char *alter)
{
	char *err = NULL;
	if (has_columns(db, cols))
		return VS_OK;
	if (sqlite3_exec(db, alter, NULL, NULL, &err) == SQLITE_OK)
		return VS_OK;
	vs_err rc = vs_fail(VS_E_ENV, "ledger %s: cannot upgrade its schema: %s", path,
			    err ? err : sqlite3_errmsg(db));
	sqlite3_free(err);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return has_columns(db, cols) ? VS_OK : rc;
}

/* Records made before them: no latest host (a start then treats a final
 * latest snapshot as taken elsewhere) and no token hash (every token of
 * that activation is refused until the VNF is activated again or released:
 * fail closed, docs/ledger.md). */
static vs_err upgrade_fencing(sqlite3 *db, const char *path)
{
	return add_columns(db, path, "latest_host, token_hash",
			   "BEGIN IMMEDIATE;"
			   "ALTER TABLE vnfs ADD COLUMN latest_host TEXT NOT NULL DEFAULT '';"
			   "ALTER TABLE vnfs ADD COLUMN token_hash BLOB NOT NULL DEFAULT x'';"
			   "COMMIT;");
}

/* A ledger made before latest_final/activation existed gets the columns
 * (false and no activation id: the safe reading, see docs/ledger.md). */
static vs_err upgrade(sqlite3 *db, const char *path)
{
	sqlite3_stmt *st = NULL;
	bool restarts = sqlite3_prepare_v2(db, "SELECT restarts FROM log_anchors LIMIT 0", -1, &st,
					   NULL) == SQLITE_OK;
	sqlite3_finalize(st);
	if (!restarts) /* a development build's table; harmless if another process won */
		sqlite3_exec(db, "ALTER TABLE log_anchors ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;"
				 "DROP TRIGGER IF EXISTS log_anchor_monotonic;" LOG_ANCHOR_TRIGGER,
			     NULL, NULL, NULL);
	if (has_new_columns(db))
		return upgrade_fencing(db, path);
	char *err = NULL;
	if (sqlite3_exec(db, "BEGIN IMMEDIATE;"
			 "ALTER TABLE vnfs ADD COLUMN latest_final INTEGER NOT NULL DEFAULT 0;"
			 "ALTER TABLE vnfs ADD COLUMN activation BLOB NOT NULL DEFAULT x'';"
			 "COMMIT;", NULL, NULL, &err) != SQLITE_OK) {
		vs_err rc = vs_fail(VS_E_ENV, "ledger %s: cannot upgrade its schema: %s", path,
				    err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return has_new_columns(db) ? upgrade_fencing(db, path) : rc; /* another process did it */
	}
	return upgrade_fencing(db, path);
}

vs_err vs_ledger_sqlite_open(vs_ledger **out, const char *path)
{
	sq_ledger *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	s->base.ops = &sq_ops;
	/* Created private; SQLite keeps the mode for its -wal and -shm files.
	 * Kept open: its flock orders the anchor protocol between processes. */
	s->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		vs_err e = vs_fail_errno(VS_E_ENV, "cannot open ledger %s", path);
		free(s);
		return e;
	}
	vs_err rc = VS_OK;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		rc = vs_fail(VS_E_ENV, "cannot open ledger %s: %s", path,
			     s->db ? sqlite3_errmsg(s->db) : "out of memory");
	if (rc == VS_OK) {
		sqlite3_busy_timeout(s->db, 30000);
		char *err = NULL;
		if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
				 &err) != SQLITE_OK ||
		    sqlite3_exec(s->db, schema, NULL, NULL, &err) != SQLITE_OK)
			rc = vs_fail(sqlite3_errcode(s->db) == SQLITE_NOTADB ? VS_E_INTEGRITY : VS_E_ENV,
				     "ledger %s: %s", path, err ? err : sqlite3_errmsg(s->db));
		sqlite3_free(err);
	}
	if (rc == VS_OK)
		rc = upgrade(s->db, path);
	if (rc == VS_OK)
		rc = sq_prepare(s);
	if (rc == VS_OK)
		rc = anchor_setup(s);
	if (rc != VS_OK) {
		sq_free(s);
		return rc;
	}
	*out = &s->base;
	return VS_OK;
}
