/* SQLite ledger backend: one row per VNF, CAS = UPDATE ... WHERE version = ?.
 * WAL + synchronous=FULL: a committed transition survives power loss.
 *
 * Anti-rollback (vnfsafe/anchor.h, docs/ledger.md). The single `anchor` row
 * holds (counter, head, nv_index, mac): head is SHA-256 over the ledger's
 * content (every vnfs and log_anchors row in key order, recomputed from the
 * rows, content_head()); mac is an HMAC by a key that never leaves the TPM
 * over (domain, NV index, counter, head).
 *  - Every batch of writes is ONE transaction: its rows, then counter =
 *    NV + 1 with the MAC of the new content; COMMIT; then the NV counter is
 *    incremented; only then are its writes acknowledged. So every
 *    acknowledged state has its own counter value, and any older copy of
 *    the file carries a smaller one.
 *  - Open and every batch recompute the head and compare with the TPM's
 *    counter n: counter == n and MAC valid: fine; counter == n + 1 and MAC
 *    valid: the increment after a commit was interrupted, complete it;
 *    counter < n: an old copy was put back; head differs: rows edited;
 *    MAC invalid: the anchor row was edited (an old copy with its counter
 *    changed). All refused (VS_E_INTEGRITY) unless VNFSAFE_TPM_ADOPT=1.
 *  - Group commit: threads sharing a handle queue their writes; a leader
 *    runs all queued ones (a savepoint each) with one MAC and one NV write.
 *  - The check, a batch's commit and its increment run under an flock on
 *    the database file, so processes sharing the ledger never see each
 *    other's half-done batch; the TPM connection is held only inside it.
 * Without a TPM there is no anchor row; a ledger once bound to a TPM is
 * read-only without it (a write would break its binding). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "vnfsafe/fsutil.h"
#include "vnfsafe/ledger.h"

/* Prepared once at open. */
enum {
	ST_GET, ST_CAS, ST_INSERT, ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_AGET, ST_APUT, ST_EMPTY, ST_LGET, ST_LINS, ST_LUPD, ST_ALL, ST_LALL, ST_N
};

typedef struct {
	vs_ledger base;
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	int fd;            /* the database file: its flock orders the anchor protocol */
	vs_anchor *anchor; /* NULL: no TPM */
	uint64_t counter;  /* the database's counter (== the TPM's once anchored) */
	char status[384];
	vs_binding bind;   /* the TPM binding's state (anchor.h) */
	/* Group commit: writers queue, one leads a batch (sq_write). */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv;
	struct pending *queue;
	bool leading;
	pthread_mutex_t db_mu; /* the connection and its statements */
	bool read_only;        /* opened on a full disk: reads only (vs_space_low) */
} sq_ledger;

typedef vs_bind_row anchor_row;

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
	" counter INTEGER NOT NULL, head BLOB NOT NULL, nv_index INTEGER, mac BLOB);"
	/* Each host's audit-log anchor (docs/audit.md): it only moves forward. */
	"CREATE TABLE IF NOT EXISTS log_anchors(host TEXT PRIMARY KEY, size INTEGER NOT NULL,"
	" offset INTEGER NOT NULL, head BLOB NOT NULL, version INTEGER NOT NULL,"
	" restarts INTEGER NOT NULL);"
	LOG_ANCHOR_TRIGGER
	"CREATE TRIGGER IF NOT EXISTS log_anchor_no_delete BEFORE DELETE ON log_anchors"
	" BEGIN SELECT RAISE(ABORT, 'audit anchors are never deleted'); END;";

/* SQLite says "disk I/O error" for a -shm or -wal it cannot grow. */
static const char *sq_errmsg(sqlite3 *db)
{
	if (sqlite3_errcode(db) == SQLITE_FULL || sqlite3_system_errno(db) == ENOSPC)
		return "no space left on device";
	if (sqlite3_errcode(db) == SQLITE_READONLY && sqlite3_db_readonly(db, "main") == 1)
		return "no space left on device (opened read-only)";
	return sqlite3_errmsg(db);
}

static VS_MUST_USE vs_err sq_fail(sqlite3 *db, const char *what)
{
	return vs_fail(VS_E_ENV, "ledger %s: %s", what, sq_errmsg(db));
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
	[ST_AGET] = "SELECT counter, head, nv_index, mac FROM anchor WHERE id=1",
	[ST_APUT] = "INSERT OR REPLACE INTO anchor(id, counter, head, nv_index, mac) VALUES(1,?,?,?,?)",
	[ST_EMPTY] = "SELECT NOT EXISTS(SELECT 1 FROM vnfs)",
	[ST_LGET] = "SELECT size, offset, head, version, restarts FROM log_anchors WHERE host=?",
	[ST_LINS] = ("INSERT INTO log_anchors(host, size, offset, head, version, restarts)"
		     " VALUES(?1,?2,?3,?4,1,?6)"),
	[ST_LUPD] = ("UPDATE log_anchors SET size=?2, offset=?3, head=?4, version=version+1,"
		     " restarts=?6 WHERE host=?1 AND version=?5"),
	[ST_ALL] = "SELECT " COLS " FROM vnfs ORDER BY name",
	[ST_LALL] = "SELECT host, size, offset, head, version, restarts FROM log_anchors ORDER BY host",
};

/* Steps a statement that returns no row, then resets it. */
static VS_MUST_USE vs_err run_st(sq_ledger *s, int which, const char *what)
{
	sqlite3_stmt *st = s->st[which];
	int step = sqlite3_step(st);
	vs_err rc = step == SQLITE_DONE ? VS_OK : sq_fail(s->db, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static VS_MUST_USE vs_err sq_get_locked(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_stmt *st = s->st[ST_GET];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_ROW)
		row_to_record(st, out);
	else if (step == SQLITE_DONE)
		rc = vs_refuse(VS_E_USAGE, VS_R_NOT_REGISTERED, name,
			       "no VNF named '%s' is registered", name);
	else
		rc = sq_fail(s->db, "read");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static VS_MUST_USE vs_err sq_get(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	sq_ledger *s = (sq_ledger *)l;
	pthread_mutex_lock(&s->db_mu);
	vs_err rc = sq_get_locked(l, name, out);
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

/* --- the anchor row and the content head --- */

static VS_MUST_USE vs_err row_get(sq_ledger *s, anchor_row *a)
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
		a->has_mac = sqlite3_column_bytes(st, 3) == VS_HASH_LEN;
		blob_col(st, 3, a->mac, VS_HASH_LEN);
	}
	sqlite3_reset(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? VS_OK : sq_fail(s->db, "read");
}

static VS_MUST_USE vs_err row_put(sq_ledger *s, const anchor_row *a)
{
	sqlite3_stmt *st = s->st[ST_APUT];
	sqlite3_bind_int64(st, 1, (sqlite3_int64)a->counter);
	sqlite3_bind_blob(st, 2, a->head, VS_HASH_LEN, SQLITE_TRANSIENT);
	if (a->bound)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)a->index);
	else
		sqlite3_bind_null(st, 3);
	if (a->has_mac)
		sqlite3_bind_blob(st, 4, a->mac, VS_HASH_LEN, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 4);
	return run_st(s, ST_APUT, "write");
}

static VS_MUST_USE vs_err ledger_empty(sq_ledger *s, bool *empty)
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
	vs_wr_u32(w, (uint32_t)n);
	vs_wr_bytes(w, t, n);
}

/* Every vnfs row, in name order, as the code reads it: the canonical
 * record encoding (vs_vnf_record_to_json, the one etcd stores) + version. */
static VS_MUST_USE vs_err encode_vnfs(sq_ledger *s, vs_wr *w)
{
	sqlite3_stmt *st = s->st[ST_ALL];
	vs_err rc = VS_OK;
	int step;
	vs_vnf_record r;
	while (rc == VS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_record(st, &r);
		char *json = vs_vnf_record_to_json(&r);
		if (!json) {
			rc = vs_fail(VS_E_INTEGRITY, "ledger row '%.64s' is not a valid record", r.name);
			break;
		}
		vs_wr_u8(w, 'V');
		wr_text(w, json);
		vs_wr_u64(w, r.version);
		free(json);
	}
	if (rc == VS_OK && step != SQLITE_DONE)
		rc = sq_fail(s->db, "read");
	sqlite3_reset(st);
	return rc;
}

/* Every log_anchors row, in host order: host, vs_log_anchor_to_json, version. */
static VS_MUST_USE vs_err encode_logs(sq_ledger *s, vs_wr *w)
{
	sqlite3_stmt *st = s->st[ST_LALL];
	vs_err rc = VS_OK;
	int step;
	while (rc == VS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		char host[VS_HOST_MAX];
		vs_log_anchor a;
		text_col(st, 0, host, sizeof host);
		a.size = (uint64_t)sqlite3_column_int64(st, 1);
		a.offset = (uint64_t)sqlite3_column_int64(st, 2);
		blob_col(st, 3, a.head, VS_HASH_LEN);
		a.restarts = (uint64_t)sqlite3_column_int64(st, 5);
		char *json = vs_log_anchor_to_json(&a);
		if (!json) {
			rc = vs_fail(VS_E_INTEGRITY, "audit anchor row of '%.64s' is not valid", host);
			break;
		}
		vs_wr_u8(w, 'L');
		wr_text(w, host);
		wr_text(w, json);
		vs_wr_u64(w, (uint64_t)sqlite3_column_int64(st, 4));
		free(json);
	}
	if (rc == VS_OK && step != SQLITE_DONE)
		rc = sq_fail(s->db, "read");
	sqlite3_reset(st);
	return rc;
}

/* head := SHA-256("vnfsafe ledger content v1" || vnfs rows || log anchor
 * rows): recomputed from the rows, never taken from the file. */
static VS_MUST_USE vs_err content_head(sq_ledger *s, uint8_t head[VS_HASH_LEN])
{
	static const char tag[] = "vnfsafe ledger content v1";
	vs_wr w = { 0 };
	vs_wr_bytes(&w, tag, sizeof tag);
	vs_err rc = encode_vnfs(s, &w);
	if (rc == VS_OK)
		rc = encode_logs(s, &w);
	if (rc == VS_OK)
		rc = w.bad ? vs_fail(VS_E_ENV, "out of memory") : vs_sha256(w.p, w.len, head);
	vs_wr_free(&w);
	return rc;
}

/* --- the TPM protocol (top of this file) --- */

#define BIND_DOMAIN "vnfsafe ledger binding v1"

static void status_update(sq_ledger *s, const anchor_row *row)
{
	const char *note = s->bind.note;
	if (s->anchor)
		snprintf(s->status, sizeof s->status,
			 "TPM NV counter 0x%08x = %llu, ledger head bound: content MAC'd by the TPM, "
			 "a copied-back or edited ledger file is refused (not stopped: root using this "
			 "TPM, VNFSAFE_TPM_ADOPT=1)%s%s%s",
			 vs_anchor_index(s->anchor), (unsigned long long)s->counter,
			 note ? " (" : "", note ? note : "", note ? ")" : "");
	else if (row && row->bound)
		snprintf(s->status, sizeof s->status,
			 "%s; this ledger is bound to TPM NV counter 0x%08x (database counter %llu), "
			 "not checked now, read-only",
			 vs_anchor_status(NULL), row->index, (unsigned long long)row->counter);
	else
		snprintf(s->status, sizeof s->status, "%s", vs_anchor_status(NULL));
}

static VS_MUST_USE vs_err file_lock(sq_ledger *s, int op)
{
	return vs_flock(s->fd, op, "the ledger file");
}

/* Under the lock, in a write transaction: the database against the TPM
 * (vs_bind_settle). On VS_OK the row is bound, verified, counter == *n. */
static VS_MUST_USE vs_err settle(sq_ledger *s, anchor_row *row, uint64_t *n)
{
	uint8_t head[VS_HASH_LEN];
	bool empty, write_row;
	VS_TRY(content_head(s, head));
	VS_TRY(ledger_empty(s, &empty));
	VS_TRY(vs_bind_settle(&s->bind, row, head, empty, n, &write_row));
	if (write_row)
		VS_TRY(row_put(s, row));
	s->counter = row->counter;
	return VS_OK;
}

/* Ends a write transaction: COMMIT when rc is VS_OK, else ROLLBACK. */
static VS_MUST_USE vs_err txn_end(sq_ledger *s, vs_err rc)
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
static VS_MUST_USE vs_err anchor_check(sq_ledger *s)
{
	VS_TRY(file_lock(s, LOCK_EX));
	anchor_row row = { 0 };
	uint64_t n;
	/* Read-only (full disk): still checked against the TPM; a row to write fails. */
	vs_err rc = s->read_only ? (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK
					    ? VS_OK
					    : sq_fail(s->db, "read"))
				 : run_st(s, ST_BEGIN, "write");
	if (rc == VS_OK) {
		rc = row_get(s, &row);
		if (rc == VS_OK)
			rc = settle(s, &row, &n);
		rc = txn_end(s, rc);
	}
	vs_anchor_disconnect(s->anchor);
	vs_ignore(file_lock(s, LOCK_UN));
	if (rc == VS_OK)
		status_update(s, &row);
	return rc;
}

static VS_MUST_USE vs_err anchor_setup(sq_ledger *s)
{
	VS_TRY(vs_anchor_open(&s->anchor));
	s->bind = (vs_binding){ .anchor = s->anchor, .domain = BIND_DOMAIN, .what = "ledger" };
	if (s->anchor)
		return anchor_check(s);
	anchor_row row;
	VS_TRY(row_get(s, &row));
	s->counter = row.counter;
	status_update(s, &row);
	return VS_OK;
}

/* --- group commit --- */

typedef vs_err (*write_fn)(sq_ledger *s, const void *arg, uint64_t expected);

/* One write waiting for its batch; lives on its writer's stack. */
typedef struct pending {
	write_fn fn;
	const void *arg;
	uint64_t expected;
	vs_err rc;
	char msg[512];
	vs_reason why; /* the error's reason code, with its message */
	char why_vnf[VS_NAME_MAX];
	struct pending *next;
	bool done;
} pending;

static void pending_fail(pending *p, vs_err rc)
{
	p->rc = rc;
	snprintf(p->msg, sizeof p->msg, "%s", vs_errmsg());
	p->why = vs_errreason();
	snprintf(p->why_vnf, sizeof p->why_vnf, "%s", vs_errvnf());
}

static VS_MUST_USE vs_err exec_sql(sq_ledger *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? VS_OK
								      : sq_fail(s->db, "write");
}

/* One savepoint per write: a failed CAS undoes only its own changes. */
static VS_MUST_USE vs_err apply_one(sq_ledger *s, pending *p, int *applied)
{
	VS_TRY(exec_sql(s, "SAVEPOINT one"));
	vs_err rc = p->fn(s, p->arg, p->expected);
	if (rc != VS_OK) {
		pending_fail(p, rc);
		VS_TRY(exec_sql(s, "ROLLBACK TO one"));
	} else {
		(*applied)++;
	}
	return exec_sql(s, "RELEASE one");
}

/* Inside the batch's transaction: the writes, then (with a TPM) the row
 * bound to counter n + 1 and the new content. */
static VS_MUST_USE vs_err apply_batch(sq_ledger *s, pending *batch, int *applied, anchor_row *row)
{
	uint64_t n = 0;
	VS_TRY(row_get(s, row));
	if (s->anchor)
		VS_TRY(settle(s, row, &n));
	else if (row->bound)
		return vs_fail(VS_E_ENV,
			       "the ledger is bound to TPM NV counter 0x%08x: set VNFSAFE_TPM to change "
			       "it (a write without the TPM would break its binding)",
			       row->index);
	for (pending *p = batch; p; p = p->next)
		VS_TRY(apply_one(s, p, applied));
	if (!s->anchor || *applied == 0)
		return VS_OK;
	uint8_t head[VS_HASH_LEN];
	VS_TRY(content_head(s, head));
	VS_TRY(vs_bind_next(&s->bind, row, n, head));
	VS_TRY(row_put(s, row));
	vs_fault("anchor.before_commit");
	return VS_OK;
}

/* After the batch's commit: the TPM catches up with the database; only
 * then is any of its writes acknowledged. */
static VS_MUST_USE vs_err batch_advance(sq_ledger *s, const anchor_row *row)
{
	vs_fault("anchor.after_commit");
	VS_TRY(vs_bind_advance(&s->bind, row, "anchor.after_increment"));
	s->counter = row->counter;
	status_update(s, NULL);
	return VS_OK;
}

/* Runs the batch as ONE transaction, ONE TPM MAC and ONE NV increment. */
static void run_batch(sq_ledger *s, pending *batch)
{
	int applied = 0;
	anchor_row row = { 0 };
	for (pending *p = batch; p; p = p->next)
		p->rc = VS_OK;
	pthread_mutex_lock(&s->db_mu);
	vs_err rc = s->anchor ? file_lock(s, LOCK_EX) : VS_OK;
	bool locked = s->anchor && rc == VS_OK;
	if (rc == VS_OK)
		rc = run_st(s, ST_BEGIN, "write");
	if (rc == VS_OK) {
		rc = apply_batch(s, batch, &applied, &row);
		rc = txn_end(s, rc);
	}
	if (rc == VS_OK && s->anchor && applied)
		rc = batch_advance(s, &row);
	if (s->anchor)
		vs_anchor_disconnect(s->anchor);
	if (locked)
		vs_ignore(file_lock(s, LOCK_UN));
	pthread_mutex_unlock(&s->db_mu);
	if (rc != VS_OK)
		for (pending *p = batch; p; p = p->next)
			pending_fail(p, rc);
}

/* Queues the write; the first writer to find no batch running leads one
 * with every write queued by then (threads sharing this handle). */
static VS_MUST_USE vs_err sq_write(sq_ledger *s, write_fn fn, const void *arg, uint64_t expected)
{
	pending me = { .fn = fn, .arg = arg, .expected = expected };
	pthread_mutex_lock(&s->q_mu);
	pending **tail = &s->queue;
	while (*tail)
		tail = &(*tail)->next;
	*tail = &me;
	while (!me.done) {
		if (s->leading) {
			pthread_cond_wait(&s->q_cv, &s->q_mu);
			continue;
		}
		s->leading = true;
		pending *batch = s->queue;
		s->queue = NULL;
		pthread_mutex_unlock(&s->q_mu);
		run_batch(s, batch);
		pthread_mutex_lock(&s->q_mu);
		while (batch) {
			pending *next = batch->next; /* batch is gone once done is set */
			batch->done = true;
			batch = next;
		}
		s->leading = false;
		pthread_cond_broadcast(&s->q_cv);
	}
	pthread_mutex_unlock(&s->q_mu);
	return me.rc == VS_OK ? VS_OK : vs_refuse(me.rc, me.why, me.why_vnf, "%s", me.msg);
}

static VS_MUST_USE vs_err do_insert(sq_ledger *s, const void *arg, uint64_t expected)
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

static VS_MUST_USE vs_err do_update(sq_ledger *s, const void *arg, uint64_t expected)
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
		rc = vs_refuse(VS_E_POLICY, VS_R_LOST_RACE, r->name, "VNF '%s' changed concurrently", r->name);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static VS_MUST_USE vs_err sq_create(vs_ledger *l, const vs_vnf_record *r)
{
	return sq_write((sq_ledger *)l, do_insert, r, 0);
}

static VS_MUST_USE vs_err sq_cas(vs_ledger *l, const vs_vnf_record *r, uint64_t expected)
{
	vs_err rc = sq_write((sq_ledger *)l, do_update, r, expected);
	if (rc == VS_OK)
		l->last_version = expected + 1; /* lets the handle's next CAS start here */
	return rc;
}

static VS_MUST_USE vs_err sq_log_anchor_get_locked(vs_ledger *l, const char *host, vs_log_anchor *a,
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

static VS_MUST_USE vs_err sq_log_anchor_get(vs_ledger *l, const char *host, vs_log_anchor *a,
				uint64_t *version, bool *found)
{
	sq_ledger *s = (sq_ledger *)l;
	pthread_mutex_lock(&s->db_mu);
	vs_err rc = sq_log_anchor_get_locked(l, host, a, version, found);
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

typedef struct {
	const char *host;
	const vs_log_anchor *a;
} log_arg;

static VS_MUST_USE vs_err do_log_anchor(sq_ledger *s, const void *arg, uint64_t expected)
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
		rc = vs_refuse(VS_E_POLICY, VS_R_LOST_RACE, NULL, "the audit anchor of %s changed concurrently", la->host);
	else if (step != SQLITE_DONE)
		rc = sq_fail(s->db, "write");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static VS_MUST_USE vs_err sq_log_anchor_cas(vs_ledger *l, const char *host, const vs_log_anchor *a,
				uint64_t expected)
{
	if (a->size > INT64_MAX || a->offset > INT64_MAX || a->restarts > INT64_MAX)
		return vs_fail(VS_E_USAGE, "audit anchor out of range");
	log_arg la = { host, a };
	return sq_write((sq_ledger *)l, do_log_anchor, &la, expected);
}

static VS_MUST_USE vs_err sq_list_locked(vs_ledger *l, vs_err (*cb)(void *, const vs_vnf_record *), void *ctx)
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

static VS_MUST_USE vs_err sq_list(vs_ledger *l, vs_err (*cb)(void *, const vs_vnf_record *), void *ctx)
{
	sq_ledger *s = (sq_ledger *)l;
	pthread_mutex_lock(&s->db_mu); /* recursive: cb may read the ledger */
	vs_err rc = sq_list_locked(l, cb, ctx);
	pthread_mutex_unlock(&s->db_mu);
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
	pthread_mutex_destroy(&s->q_mu);
	pthread_cond_destroy(&s->q_cv);
	pthread_mutex_destroy(&s->db_mu);
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

static VS_MUST_USE vs_err sq_prepare(sq_ledger *s)
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
static VS_MUST_USE vs_err add_columns(sqlite3 *db, const char *path, const char *cols, const char *alter)
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
static VS_MUST_USE vs_err upgrade_fencing(sqlite3 *db, const char *path)
{
	return add_columns(db, path, "latest_host, token_hash",
			   "BEGIN IMMEDIATE;"
			   "ALTER TABLE vnfs ADD COLUMN latest_host TEXT NOT NULL DEFAULT '';"
			   "ALTER TABLE vnfs ADD COLUMN token_hash BLOB NOT NULL DEFAULT x'';"
			   "COMMIT;");
}

/* A ledger made before latest_final/activation existed gets the columns
 * (false and no activation id: the safe reading, see docs/ledger.md). */
static VS_MUST_USE vs_err upgrade(sqlite3 *db, const char *path)
{
	sqlite3_stmt *st = NULL;
	bool restarts = sqlite3_prepare_v2(db, "SELECT restarts FROM log_anchors LIMIT 0", -1, &st,
					   NULL) == SQLITE_OK;
	sqlite3_finalize(st);
	bool mac = sqlite3_prepare_v2(db, "SELECT mac FROM anchor LIMIT 0", -1, &st, NULL) == SQLITE_OK;
	sqlite3_finalize(st);
	if (!mac) /* bound by an earlier version: settle() asks for VNFSAFE_TPM_ADOPT=1 */
		sqlite3_exec(db, "ALTER TABLE anchor ADD COLUMN mac BLOB", NULL, NULL, NULL);
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

VS_MUST_USE vs_err vs_ledger_sqlite_open(vs_ledger **out, const char *path)
{
	sq_ledger *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	s->base.ops = &sq_ops;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&s->db_mu, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_mutex_init(&s->q_mu, NULL);
	pthread_cond_init(&s->q_cv, NULL);
	/* Created private; SQLite keeps the mode for its -wal and -shm files.
	 * Kept open: its flock orders the anchor protocol between processes. */
	s->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		vs_err e = vs_fail_errno(VS_E_ENV, "cannot open ledger %s", path);
		free(s);
		return e;
	}
	/* On a full disk SQLite cannot even make its -shm to read: read-only,
	 * through a private wal-index (writes then fail with "no space"). */
	char uri[8600];
	s->read_only = vs_space_low(path);
	vs_err rc = s->read_only ? vs_sqlite_readonly_uri(path, uri, sizeof uri) : VS_OK;
	if (rc == VS_OK &&
	    sqlite3_open_v2(s->read_only ? uri : path, &s->db,
			    (s->read_only ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI : SQLITE_OPEN_READWRITE) |
				    SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK)
		rc = vs_fail(VS_E_ENV, "cannot open ledger %s: %s", path,
			     s->db ? sq_errmsg(s->db) : "out of memory");
	if (rc == VS_OK) {
		sqlite3_busy_timeout(s->db, 30000);
		char *err = NULL;
		if (sqlite3_exec(s->db, s->read_only ? "PRAGMA synchronous=FULL;"
						     : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
				 NULL, NULL, &err) != SQLITE_OK ||
		    sqlite3_exec(s->db, schema, NULL, NULL, &err) != SQLITE_OK)
			rc = vs_fail(sqlite3_errcode(s->db) == SQLITE_NOTADB ? VS_E_INTEGRITY : VS_E_ENV,
				     "ledger %s: %s", path, sq_errmsg(s->db));
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
