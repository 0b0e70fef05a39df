/* SQLite keystore and catalog. WAL + synchronous=FULL: a commit survives a
 * crash; secure_delete overwrites erased keys in the database file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "home_priv.h"
#include "vnfsafe/fsutil.h"

#define SCHEMA_VERSION "1"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
	"INSERT INTO meta VALUES('schema', '" SCHEMA_VERSION "');"
	"CREATE TABLE snapshots(id TEXT PRIMARY KEY, vnf TEXT NOT NULL, engine TEXT NOT NULL,"
	" created INTEGER NOT NULL, expires INTEGER NOT NULL, state TEXT NOT NULL,"
	" path TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,"
	" header_digest TEXT NOT NULL DEFAULT '', domains TEXT NOT NULL);"
	"CREATE TABLE data_keys(key_id BLOB PRIMARY KEY, snapshot_id BLOB NOT NULL,"
	" domain TEXT NOT NULL, wrapped BLOB NOT NULL, created INTEGER NOT NULL);"
	"CREATE INDEX data_keys_snapshot ON data_keys(snapshot_id);"
	"CREATE TABLE fences(vnf TEXT PRIMARY KEY, lineage BLOB NOT NULL,"
	" generation INTEGER NOT NULL, host TEXT NOT NULL);"
	"CREATE TABLE pending_restores(vnf TEXT PRIMARY KEY, snapshot BLOB NOT NULL,"
	" staging TEXT NOT NULL, target TEXT NOT NULL);";

/* Added to schema 1 (homes made before it get it at open); replaces
 * pending_restores, which stays unused. */
static const char schema_pending[] =
	"CREATE TABLE IF NOT EXISTS pending_activations(vnf TEXT PRIMARY KEY,"
	" kind INTEGER NOT NULL, activation BLOB NOT NULL, snapshot BLOB NOT NULL,"
	" staging TEXT NOT NULL, target TEXT NOT NULL, secret BLOB NOT NULL DEFAULT x'');";

/* Fencing-token secrets (docs/ledger.md), added at open to homes made
 * before them: a row without one is a token the ledger refuses. */
static const char *const secret_columns[][2] = {
	{ "SELECT secret FROM fences LIMIT 0",
	  "ALTER TABLE fences ADD COLUMN secret BLOB NOT NULL DEFAULT x''" },
	{ "SELECT secret FROM pending_activations LIMIT 0",
	  "ALTER TABLE pending_activations ADD COLUMN secret BLOB NOT NULL DEFAULT x''" },
};

const char *ks_errmsg(sqlite3 *db)
{
	/* SQLite says "disk I/O error" for a -shm or -wal it cannot grow. */
	if (sqlite3_errcode(db) == SQLITE_FULL || sqlite3_system_errno(db) == ENOSPC)
		return "no space left on device";
	if (sqlite3_errcode(db) == SQLITE_READONLY && sqlite3_db_readonly(db, "main") == 1)
		return "no space left on device (opened read-only)";
	return sqlite3_errmsg(db);
}

static VS_MUST_USE vs_err db_fail(sqlite3 *db, const char *what)
{
	int code = sqlite3_errcode(db);
	vs_err kind = (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) ? VS_E_INTEGRITY : VS_E_ENV;
	return vs_fail(kind, "keystore database: %s: %s", what, ks_errmsg(db));
}

static VS_MUST_USE vs_err exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		vs_err rc = vs_fail(VS_E_ENV, "keystore database: %s", ks_errmsg(db));
		sqlite3_free(err);
		return rc;
	}
	return VS_OK;
}

static VS_MUST_USE vs_err open_db(const char *path, int flags, sqlite3 **out)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		vs_err rc = vs_fail(VS_E_ENV, "cannot open %s: %s", path,
				    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 10000);
	*out = db;
	return VS_OK;
}

static const char pragmas[] = "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
			      "PRAGMA foreign_keys=ON;";

VS_MUST_USE vs_err vs_db_create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot create %s", path);
	close(fd);
	sqlite3 *db = NULL; /* gcc -O3 cannot see open_db set it on VS_OK */
	VS_TRY(open_db(path, SQLITE_OPEN_READWRITE, &db));
	vs_err rc = exec(db, pragmas);
	if (rc == VS_OK)
		rc = exec(db, schema);
	sqlite3_close(db);
	return rc;
}

VS_MUST_USE vs_err vs_db_open(vs_home *h, const char *path)
{
	/* On a full disk SQLite cannot even make its -shm to read: read-only,
	 * through a private wal-index (writes then fail with "no space"). */
	h->read_only = vs_space_low(path);
	if (h->read_only) {
		char uri[8600];
		VS_TRY(vs_sqlite_readonly_uri(path, uri, sizeof uri));
		VS_TRY(open_db(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, &h->db));
	} else {
		VS_TRY(open_db(path, SQLITE_OPEN_READWRITE, &h->db));
	}
	sqlite3_stmt *st = NULL;
	vs_err rc = exec(h->db, pragmas);
	if (rc == VS_OK && sqlite3_prepare_v2(h->db, "SELECT v FROM meta WHERE k='schema'", -1, &st,
					      NULL) != SQLITE_OK)
		rc = db_fail(h->db, "not a vnfsafe database");
	if (rc == VS_OK && (sqlite3_step(st) != SQLITE_ROW ||
			    strcmp((const char *)sqlite3_column_text(st, 0), SCHEMA_VERSION) != 0))
		rc = vs_fail(VS_E_ENV, "keystore database %s has an unknown schema", path);
	sqlite3_finalize(st);
	if (rc == VS_OK)
		rc = exec(h->db, schema_pending);
	for (size_t i = 0; rc == VS_OK && i < sizeof secret_columns / sizeof *secret_columns; i++) {
		bool has = sqlite3_prepare_v2(h->db, secret_columns[i][0], -1, &st, NULL) == SQLITE_OK;
		sqlite3_finalize(st);
		st = NULL;
		if (!has)
			rc = exec(h->db, secret_columns[i][1]);
	}
	if (rc == VS_OK)
		rc = ks_anchor_open(h, path);
	return rc;
}

void vs_db_close(vs_home *h)
{
	if (h->db)
		sqlite3_close(h->db);
	h->db = NULL;
	ks_anchor_close(h);
}

static size_t wrap_aad(uint8_t *aad, const uint8_t key_id[VS_ID_LEN],
		       const uint8_t snap[VS_ID_LEN], const char *domain)
{
	static const char label[] = "vnfsafe-dek-v1";
	size_t o = 0, dn = strlen(domain);
	memcpy(aad + o, label, sizeof label), o += sizeof label;
	memcpy(aad + o, key_id, VS_ID_LEN), o += VS_ID_LEN;
	memcpy(aad + o, snap, VS_ID_LEN), o += VS_ID_LEN;
	memcpy(aad + o, domain, dn), o += dn;
	return o;
}

#define AAD_MAX (16 + 2 * VS_ID_LEN + VS_NAME_MAX)

static VS_MUST_USE vs_err keystore_create_do(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *domain,
			  uint8_t key_id[VS_ID_LEN], vs_key *key)
{
	uint8_t wrapped[VS_WRAPPED_LEN], aad[AAD_MAX];
	if (!vs_name_ok(domain))
		return vs_fail(VS_E_USAGE, "invalid trust domain name '%s'", domain);
	VS_TRY(vs_random(key_id, VS_ID_LEN));
	VS_TRY(vs_key_generate(key));
	size_t alen = wrap_aad(aad, key_id, snap, domain);
	vs_err rc = vs_keys_wrap(vs_home_keys(h), key, aad, alen, wrapped);
	sqlite3_stmt *st = NULL;
	if (rc == VS_OK &&
	    sqlite3_prepare_v2(h->db, "INSERT INTO data_keys VALUES(?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		rc = db_fail(h->db, "prepare");
	if (rc == VS_OK) {
		sqlite3_bind_blob(st, 1, key_id, VS_ID_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 2, snap, VS_ID_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, domain, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 4, wrapped, sizeof wrapped, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL));
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(h->db, "storing a data key");
	}
	sqlite3_finalize(st);
	if (rc != VS_OK)
		vs_key_wipe(key);
	return rc;
}

VS_MUST_USE vs_err vs_keystore_create(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *domain,
			  uint8_t key_id[VS_ID_LEN], vs_key *key)
{
	KS_WRITE(h, keystore_create_do(h, snap, domain, key_id, key));
}

VS_MUST_USE vs_err vs_keystore_get(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *domain,
		       const uint8_t key_id[VS_ID_LEN], vs_key *key)
{
	sqlite3_stmt *st = NULL;
	uint8_t aad[AAD_MAX];
	if (sqlite3_prepare_v2(h->db,
			       "SELECT wrapped FROM data_keys WHERE key_id=? AND snapshot_id=? AND domain=?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_blob(st, 1, key_id, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, snap, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, domain, -1, SQLITE_TRANSIENT);
	vs_err rc;
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VS_WRAPPED_LEN) {
		size_t alen = wrap_aad(aad, key_id, snap, domain);
		rc = vs_keys_unwrap(vs_home_keys(h), sqlite3_column_blob(st, 0), aad, alen, key);
	} else if (step == SQLITE_ROW) {
		rc = vs_fail(VS_E_INTEGRITY, "stored key for domain '%s' is damaged", domain);
	} else if (step == SQLITE_DONE) {
		rc = vs_fail(VS_E_INTEGRITY, "no key for trust domain '%s' of this snapshot in this home "
					     "(erased, or the snapshot was made by another home)", domain);
	} else {
		rc = db_fail(h->db, "reading a data key");
	}
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_keystore_erase(vs_home *h, const uint8_t snap[VS_ID_LEN], int *erased)
{
	char id[37];
	sqlite3_stmt *st = NULL;
	vs_id_format(snap, id);
	bool own = !h->in_tx;
	if (own)
		VS_TRY(ks_tx_begin(h));
	vs_err rc = VS_OK;
	if (sqlite3_prepare_v2(h->db, "DELETE FROM data_keys WHERE snapshot_id=?", -1, &st, NULL) != SQLITE_OK)
		rc = db_fail(h->db, "prepare");
	if (rc == VS_OK) {
		sqlite3_bind_blob(st, 1, snap, VS_ID_LEN, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(h->db, "erasing keys");
		*erased = sqlite3_changes(h->db);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == VS_OK && sqlite3_prepare_v2(h->db, "UPDATE snapshots SET state='ERASED' WHERE id=?",
					      -1, &st, NULL) != SQLITE_OK)
		rc = db_fail(h->db, "prepare");
	if (rc == VS_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = db_fail(h->db, "updating the catalog");
	}
	sqlite3_finalize(st);
	if (own)
		rc = ks_tx_end(h, rc);
	if (rc != VS_OK || !own)
		return rc;
	/* Push the overwritten pages into the main file and empty the WAL, so no
	 * copy of the wrapped keys stays in a live file. A checkpoint a reader
	 * blocked (SQLITE_BUSY) did not do that: an error, not a success. */
	int log = 0, done = 0;
	int ck = sqlite3_wal_checkpoint_v2(h->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
	if (ck != SQLITE_OK)
		return vs_fail(VS_E_ENV, "keys erased, but copies stay in the keystore's write-ahead log "
					 "until a checkpoint (another vnfsafe process is reading it: "
					 "retry the delete): %s", sqlite3_errstr(ck));
	return VS_OK;
}

static VS_MUST_USE vs_err catalog_begin_do(vs_home *h, const vs_snap_header *hd, const char *path)
{
	char id[37], domains[VS_SNAP_MAX_SECTIONS * VS_NAME_MAX] = "";
	vs_id_format(hd->snapshot_id, id);
	for (unsigned i = 0; i < hd->nsections; i++) {
		strcat(domains, i ? "," : "");
		strcat(domains, hd->sections[i].domain);
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, "INSERT INTO snapshots(id,vnf,engine,created,expires,state,"
				      "path,domains) VALUES(?,?,?,?,?,'BUILDING',?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hd->vnf, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, hd->engine, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)hd->created);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)hd->expires);
	sqlite3_bind_text(st, 6, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, domains, -1, SQLITE_TRANSIENT);
	vs_err rc = sqlite3_step(st) == SQLITE_DONE ? VS_OK : db_fail(h->db, "adding to the catalog");
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_catalog_begin(vs_home *h, const vs_snap_header *hd, const char *path)
{
	KS_WRITE(h, catalog_begin_do(h, hd, path));
}

static VS_MUST_USE vs_err catalog_finish_do(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *state,
			 uint64_t size, const uint8_t digest[VS_HASH_LEN])
{
	char id[37], hex[2 * VS_HASH_LEN + 1] = "";
	vs_id_format(snap, id);
	if (digest)
		vs_hex(digest, VS_HASH_LEN, hex);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, "UPDATE snapshots SET state=?, size=?, header_digest=? WHERE id=?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)size);
	sqlite3_bind_text(st, 3, hex, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, id, -1, SQLITE_TRANSIENT);
	vs_err rc = sqlite3_step(st) == SQLITE_DONE ? VS_OK : db_fail(h->db, "updating the catalog");
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_catalog_finish(vs_home *h, const uint8_t snap[VS_ID_LEN], const char *state,
			 uint64_t size, const uint8_t digest[VS_HASH_LEN])
{
	KS_WRITE(h, catalog_finish_do(h, snap, state, size, digest));
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void row_to_entry(sqlite3_stmt *st, vs_catalog_entry *e)
{
	memset(e, 0, sizeof *e);
	copy_col(st, 0, e->id, sizeof e->id);
	copy_col(st, 1, e->vnf, sizeof e->vnf);
	copy_col(st, 2, e->engine, sizeof e->engine);
	e->created = sqlite3_column_int64(st, 3);
	e->expires = sqlite3_column_int64(st, 4);
	copy_col(st, 5, e->state, sizeof e->state);
	copy_col(st, 6, e->path, sizeof e->path);
	e->size = (uint64_t)sqlite3_column_int64(st, 7);
	copy_col(st, 8, e->header_digest, sizeof e->header_digest);
	copy_col(st, 9, e->domains, sizeof e->domains);
}

#define CATALOG_COLS "id,vnf,engine,created,expires,state,path,size,header_digest,domains"

VS_MUST_USE vs_err vs_catalog_get(vs_home *h, const uint8_t snap[VS_ID_LEN], vs_catalog_entry *e)
{
	char id[37];
	vs_id_format(snap, id);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, "SELECT " CATALOG_COLS " FROM snapshots WHERE id=?", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_ROW)
		row_to_entry(st, e);
	else if (step == SQLITE_DONE)
		rc = vs_refuse(VS_E_USAGE, VS_R_NO_SNAPSHOT, NULL, "no snapshot %s in this home", id);
	else
		rc = db_fail(h->db, "reading the catalog");
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_catalog_list(vs_home *h, vs_err (*cb)(void *ctx, const vs_catalog_entry *e), void *ctx)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, "SELECT " CATALOG_COLS " FROM snapshots ORDER BY created, id",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	vs_err rc = VS_OK;
	vs_catalog_entry e;
	int step;
	while (rc == VS_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_entry(st, &e);
		rc = cb(ctx, &e);
	}
	if (rc == VS_OK && step != SQLITE_DONE)
		rc = db_fail(h->db, "reading the catalog");
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_home_tx_begin(vs_home *h)
{
	VS_TRY(ks_tx_begin(h));
	h->in_tx = true;
	return VS_OK;
}

VS_MUST_USE vs_err vs_home_tx_commit(vs_home *h)
{
	h->in_tx = false;
	return ks_tx_end(h, VS_OK);
}

void vs_home_tx_rollback(vs_home *h)
{
	h->in_tx = false;
	vs_ignore(ks_tx_end(h, VS_E_ENV));
}

static VS_MUST_USE vs_err home_token_put_do(vs_home *h, const char *vnf, const vs_fence *tok)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO fences(vnf, lineage, generation, host,"
				      " secret) VALUES(?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, vnf, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 2, tok->lineage, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)tok->generation);
	sqlite3_bind_text(st, 4, tok->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, tok->secret, VS_TOKEN_SECRET_LEN, SQLITE_TRANSIENT);
	vs_err rc = sqlite3_step(st) == SQLITE_DONE ? VS_OK : db_fail(h->db, "storing a fencing token");
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_home_token_put(vs_home *h, const char *vnf, const vs_fence *tok)
{
	KS_WRITE(h, home_token_put_do(h, vnf, tok));
}

VS_MUST_USE vs_err vs_home_token_get(vs_home *h, const char *vnf, vs_fence *tok, bool *found)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	memset(tok, 0, sizeof *tok);
	if (sqlite3_prepare_v2(h->db, "SELECT lineage, generation, host, secret FROM fences WHERE vnf=?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, vnf, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VS_ID_LEN) {
		memcpy(tok->lineage, sqlite3_column_blob(st, 0), VS_ID_LEN);
		tok->generation = (uint64_t)sqlite3_column_int64(st, 1);
		copy_col(st, 2, tok->host, sizeof tok->host);
		/* Any other length: no secret (all zero), which the ledger refuses. */
		if (sqlite3_column_bytes(st, 3) == VS_TOKEN_SECRET_LEN)
			memcpy(tok->secret, sqlite3_column_blob(st, 3), VS_TOKEN_SECRET_LEN);
		*found = true;
	} else if (step == SQLITE_ROW) {
		/* Damaged is not absent: recovery must not read it as "none". */
		rc = vs_fail(VS_E_INTEGRITY, "the fencing token of VNF %s in the keystore is damaged", vnf);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(h->db, "reading a fencing token");
	}
	sqlite3_finalize(st);
	return rc;
}

static VS_MUST_USE vs_err delete_by_vnf(vs_home *h, const char *sql, const char *vnf)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, vnf, -1, SQLITE_TRANSIENT);
	vs_err rc = sqlite3_step(st) == SQLITE_DONE ? VS_OK : db_fail(h->db, "deleting");
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_home_token_drop(vs_home *h, const char *vnf)
{
	KS_WRITE(h, delete_by_vnf(h, "DELETE FROM fences WHERE vnf=?", vnf));
}

static VS_MUST_USE vs_err home_pending_put_do(vs_home *h, const vs_pending *p)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO pending_activations(vnf, kind, activation,"
				      " snapshot, staging, target, secret) VALUES(?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, p->vnf, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, (int)p->kind);
	sqlite3_bind_blob(st, 3, p->act.id, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 7, p->act.secret, VS_TOKEN_SECRET_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 4, p->snapshot, VS_ID_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, p->staging, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, p->target, -1, SQLITE_TRANSIENT);
	vs_err rc = sqlite3_step(st) == SQLITE_DONE ? VS_OK
						    : db_fail(h->db, "journaling an activation");
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_home_pending_put(vs_home *h, const vs_pending *p)
{
	KS_WRITE(h, home_pending_put_do(h, p));
}

VS_MUST_USE vs_err vs_home_pending_get(vs_home *h, const char *vnf, vs_pending *p, bool *found)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	memset(p, 0, sizeof *p);
	if (sqlite3_prepare_v2(h->db, "SELECT kind, activation, snapshot, staging, target, secret"
				      " FROM pending_activations WHERE vnf=?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(h->db, "prepare");
	sqlite3_bind_text(st, 1, vnf, -1, SQLITE_TRANSIENT);
	int step = sqlite3_step(st);
	vs_err rc = VS_OK;
	if (step == SQLITE_ROW && sqlite3_column_bytes(st, 1) == VS_ID_LEN &&
	    sqlite3_column_bytes(st, 2) == VS_ID_LEN) {
		snprintf(p->vnf, sizeof p->vnf, "%s", vnf);
		p->kind = (vs_pending_kind)sqlite3_column_int(st, 0);
		memcpy(p->act.id, sqlite3_column_blob(st, 1), VS_ID_LEN);
		if (sqlite3_column_bytes(st, 5) == VS_TOKEN_SECRET_LEN)
			memcpy(p->act.secret, sqlite3_column_blob(st, 5), VS_TOKEN_SECRET_LEN);
		memcpy(p->snapshot, sqlite3_column_blob(st, 2), VS_ID_LEN);
		copy_col(st, 3, p->staging, sizeof p->staging);
		copy_col(st, 4, p->target, sizeof p->target);
		*found = true;
	} else if (step == SQLITE_ROW) {
		rc = vs_fail(VS_E_INTEGRITY, "the activation journal of VNF %s in the keystore is "
					     "damaged", vnf);
	} else if (step != SQLITE_DONE) {
		rc = db_fail(h->db, "reading the activation journal");
	}
	sqlite3_finalize(st);
	return rc;
}

VS_MUST_USE vs_err vs_home_pending_drop(vs_home *h, const char *vnf)
{
	KS_WRITE(h, delete_by_vnf(h, "DELETE FROM pending_activations WHERE vnf=?", vnf));
}

static VS_MUST_USE vs_err token_keep_do(vs_home *h, const char *vnf, const vs_fence *tok)
{
	VS_TRY(home_token_put_do(h, vnf, tok));
	return delete_by_vnf(h, "DELETE FROM pending_activations WHERE vnf=?", vnf);
}

VS_MUST_USE vs_err vs_home_token_keep(vs_home *h, const char *vnf, const vs_fence *tok)
{
	KS_WRITE(h, token_keep_do(h, vnf, tok));
}
