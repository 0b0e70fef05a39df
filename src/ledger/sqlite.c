/* SQLite ledger backend: one row per VNF, CAS = UPDATE ... WHERE version = ?.
 * WAL + synchronous=FULL: a committed transition survives power loss. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnfsafe/ledger.h"

typedef struct {
	vs_ledger base;
	sqlite3 *db;
	sqlite3_stmt *get_st, *cas_st; /* prepared once: the hot path */
} sq_ledger;

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS vnfs(name TEXT PRIMARY KEY, lineage BLOB NOT NULL,"
	" generation INTEGER NOT NULL, state INTEGER NOT NULL, owner TEXT NOT NULL,"
	" target TEXT NOT NULL, has_snapshot INTEGER NOT NULL, latest BLOB NOT NULL,"
	" latest_gen INTEGER NOT NULL, sensitive TEXT NOT NULL, version INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	/* Defence in depth: the generation can never go down, whoever writes. */
	"CREATE TRIGGER IF NOT EXISTS generation_monotonic BEFORE UPDATE ON vnfs"
	" WHEN NEW.generation < OLD.generation OR NEW.lineage <> OLD.lineage"
	" BEGIN SELECT RAISE(ABORT, 'generation decrease or lineage change refused'); END;"
	"CREATE TRIGGER IF NOT EXISTS no_delete BEFORE DELETE ON vnfs"
	" BEGIN SELECT RAISE(ABORT, 'ledger records are never deleted'); END;";

static vs_err sq_fail(sqlite3 *db, const char *what)
{
	return vs_fail(VS_E_ENV, "ledger %s: %s", what, sqlite3_errmsg(db));
}

#define COLS "name,lineage,generation,state,owner,target,has_snapshot,latest,latest_gen,sensitive,version,updated"

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
}

static const char get_sql[] = "SELECT " COLS " FROM vnfs WHERE name=?";
static const char cas_sql[] = "UPDATE vnfs SET name=?1, lineage=?2, generation=?3, state=?4,"
			      " owner=?5, target=?6, has_snapshot=?7, latest=?8, latest_gen=?9,"
			      " sensitive=?10, version=?11, updated=?12"
			      " WHERE name=?1 AND version=?13";

static vs_err sq_get(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_stmt *st = s->get_st;
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

static vs_err sq_create(vs_ledger *l, const vs_vnf_record *r)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "INSERT INTO vnfs(" COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s->db, "write");
	bind_record(st, r);
	sqlite3_bind_int64(st, 11, 1);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_CONSTRAINT)
		rc = vs_fail(VS_E_USAGE, "a VNF named '%s' is already registered", r->name);
	else if (step != SQLITE_DONE)
		rc = sq_fail(s->db, "write");
	sqlite3_finalize(st);
	return rc;
}

static vs_err sq_cas(vs_ledger *l, const vs_vnf_record *r, uint64_t expected)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_stmt *st = s->cas_st;
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

static void sq_close(vs_ledger *l)
{
	sq_ledger *s = (sq_ledger *)l;
	sqlite3_finalize(s->get_st);
	sqlite3_finalize(s->cas_st);
	sqlite3_close(s->db);
	free(s);
}

static const vs_ledger_ops sq_ops = { "sqlite", sq_get, sq_create, sq_cas, sq_list, sq_close };

vs_err vs_ledger_sqlite_open(vs_ledger **out, const char *path)
{
	/* Created private; SQLite keeps the mode for its -wal and -shm files. */
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open ledger %s", path);
	close(fd);
	sq_ledger *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	s->base.ops = &sq_ops;
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
	if (rc == VS_OK && (sqlite3_prepare_v2(s->db, get_sql, -1, &s->get_st, NULL) != SQLITE_OK ||
			    sqlite3_prepare_v2(s->db, cas_sql, -1, &s->cas_st, NULL) != SQLITE_OK))
		rc = sq_fail(s->db, "prepare");
	if (rc != VS_OK) {
		sqlite3_finalize(s->get_st);
		sqlite3_finalize(s->cas_st);
		sqlite3_close(s->db);
		free(s);
		return rc;
	}
	*out = &s->base;
	return VS_OK;
}
