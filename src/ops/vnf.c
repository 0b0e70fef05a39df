/* VNF lifecycle on this host: ledger transitions plus the fencing token this
 * host keeps in its home; and recovery of interrupted operations. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vnfsafe/anchor.h"
#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/ops.h"

static VS_MUST_USE vs_err start_journaled(vs_home *h, vs_ledger *l, vs_pending *p, bool discard_latest,
			      vs_fence *tok, vs_vnf_record *rec)
{
	/* Journaled first, with the token secret: after a crash, recovery adopts
	 * the activation only if the ledger carries this id (never on a read
	 * alone), and then holds the secret whose hash the record carries. */
	VS_TRY(vs_home_pending_put(h, p));
	vs_fault("start.after_journal");
	vs_err rc = vs_ledger_start(l, p->vnf, vs_home_host(h), &p->act, discard_latest, tok, rec);
	if (rc != VS_OK) {
		/* Refused or failed: unless the outcome is unknown (the ledger
		 * could not say whether it applied), nothing was activated. */
		if (rc != VS_E_ENV && rc != VS_E_UNKNOWN)
			vs_ignore(vs_home_pending_drop(h, p->vnf)); /* recovery drops a leftover row */
		return rc;
	}
	vs_fault("start.after_cas");
	return vs_home_token_keep(h, p->vnf, tok);
}

static VS_MUST_USE vs_err start_locked(vs_home *h, vs_ledger *l, const char *name, bool discard_latest,
			   vs_vnf_record *rec)
{
	vs_fence tok;
	vs_pending p;
	memset(&p, 0, sizeof p);
	snprintf(p.vnf, sizeof p.vnf, "%s", name);
	p.kind = VS_PENDING_START;
	vs_err rc = vs_activation_new(&p.act);
	if (rc == VS_OK)
		rc = start_journaled(h, l, &p, discard_latest, &tok, rec);
	vs_wipe(&p.act, sizeof p.act);
	vs_wipe(&tok, sizeof tok);
	return rc;
}

VS_MUST_USE vs_err vs_vnf_start(vs_home *h, vs_ledger *l, const char *name,
				const char *discard_reason, vs_vnf_record *rec)
{
	int lock;
	if (discard_reason && !*discard_reason)
		return vs_refuse(VS_E_USAGE, VS_R_NEED_REASON, name,
				 "discarding the latest snapshot of VNF '%s' needs the operator's "
				 "reason (it goes to the audit log)", name);
	VS_TRY(vs_home_lock(h, name, true, &lock));
	vs_err rc = start_locked(h, l, name, discard_reason != NULL, rec);
	vs_home_unlock(lock);
	return rc;
}

typedef vs_err (*token_op)(vs_ledger *, const char *, const vs_fence *, vs_vnf_record *);

static VS_MUST_USE vs_err with_token(vs_home *h, vs_ledger *l, const char *name, token_op op,
			 vs_vnf_record *rec)
{
	vs_fence tok;
	bool found;
	VS_TRY(vs_home_token_get(h, name, &tok, &found));
	vs_err rc = op(l, name, found ? &tok : NULL, rec);
	vs_wipe(&tok, sizeof tok);
	return rc;
}

VS_MUST_USE vs_err vs_vnf_stop(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec)
{
	VS_TRY(with_token(h, l, name, vs_ledger_stop, rec));
	vs_fault("stop.after_cas");
	return vs_home_token_drop(h, name);
}

VS_MUST_USE vs_err vs_vnf_pause(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec)
{
	return with_token(h, l, name, vs_ledger_pause, rec);
}

VS_MUST_USE vs_err vs_vnf_resume(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec)
{
	return with_token(h, l, name, vs_ledger_resume, rec);
}

static VS_MUST_USE vs_err release_locked(vs_home *h, vs_ledger *l, const char *name, const char *host,
			     vs_vnf_record *rec)
{
	vs_fence tok;
	bool found;
	VS_TRY(vs_home_token_get(h, name, &tok, &found));
	/* The ledger refuses it, on the record its CAS is based on, if this
	 * home's token is valid: a host that runs the VNF is not dead. */
	vs_err rc = vs_ledger_release(l, name, host, found ? &tok : NULL, rec);
	vs_wipe(&tok, sizeof tok);
	if (rc == VS_OK && found && !strcmp(host, vs_home_host(h)))
		rc = vs_home_token_drop(h, name); /* fenced now */
	return rc;
}

VS_MUST_USE vs_err vs_vnf_release(vs_home *h, vs_ledger *l, const char *name, const char *host,
				  const char *reason, vs_vnf_record *rec)
{
	int lock;
	if (!reason || !*reason)
		return vs_refuse(VS_E_USAGE, VS_R_NEED_REASON, name,
				 "releasing a host needs the operator's reason (it asserts the host is "
				 "dead; it goes to the audit log)");
	VS_TRY(vs_ledger_get(l, name, rec)); /* "no VNF named X" before a lock file is made */
	VS_TRY(vs_home_lock(h, name, true, &lock));
	vs_err rc = release_locked(h, l, name, host, rec);
	vs_home_unlock(lock);
	return rc;
}

__attribute__((format(printf, 3, 4))) static void note(char *buf, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(buf);
	char raw[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap); /* one escaped line per action */
	va_end(ap);
	if (n < cap)
		vs_escape(raw, buf + n, cap - n);
	n = strlen(buf);
	if (n + 1 < cap)
		strcat(buf, "\n");
}

static bool mine(const vs_home *h, const vs_vnf_record *r)
{
	return (r->state == VS_VNF_ACTIVE || r->state == VS_VNF_PAUSED ||
		r->state == VS_VNF_MIGRATING) && !strcmp(r->owner, vs_home_host(h));
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* Rule 2: an activation (start or restore) journaled on this host. The
 * ledger is fenced first (no CAS sent before the crash can land after the
 * decision), then the activation counts only if the record carries its id. */
static VS_MUST_USE vs_err settle_activation(vs_home *h, vs_ledger *l, vs_vnf_record *r, char *act,
				size_t cap)
{
	vs_pending p;
	bool found;
	VS_TRY(vs_home_pending_get(h, r->name, &p, &found));
	if (!found)
		return VS_OK;
	VS_TRY(vs_ledger_fence(l, r->name, r));
	bool won = mine(h, r) && !memcmp(r->activation, p.act.id, VS_ID_LEN);
	if (won) {
		vs_fence tok;
		/* The journaled secret: the one whose hash the activation wrote. */
		vs_fence_make(r, p.act.secret, &tok);
		vs_wipe(&p.act, sizeof p.act);
		vs_err rc = VS_OK;
		if (p.kind == VS_PENDING_RESTORE && exists(p.staging)) {
			rc = vs_dir_publish(p.staging, p.target);
			if (rc == VS_OK)
				note(act, cap, "published the interrupted restore into %s", p.target);
		}
		if (rc == VS_OK)
			rc = vs_home_token_put(h, r->name, &tok);
		vs_wipe(&tok, sizeof tok);
		VS_TRY(rc);
		note(act, cap, "the interrupted %s had activated it: this host holds its token "
			       "(generation %llu)", p.kind == VS_PENDING_START ? "start" : "restore",
		     (unsigned long long)r->generation);
	} else {
		if (p.kind == VS_PENDING_RESTORE && exists(p.staging)) {
			VS_TRY(vs_rm_rf(p.staging));
			note(act, cap, "discarded an interrupted restore that never activated");
		} else {
			note(act, cap, "the interrupted %s never activated it",
			     p.kind == VS_PENDING_START ? "start" : "restore");
		}
	}
	vs_wipe(&p.act, sizeof p.act);
	if (p.kind == VS_PENDING_RESTORE)
		vs_dir_sweep_stale(p.target); /* a restore killed before it was staged */
	return vs_home_pending_drop(h, r->name);
}

/* Rule 3: a token that no longer matches the ledger is dropped. A token is
 * never made from a read (gap 5): the record may say ACTIVE here because
 * of an activation this host cannot prove was its own. */
static VS_MUST_USE vs_err settle_token(vs_home *h, const vs_vnf_record *r, char *act, size_t cap)
{
	vs_fence tok;
	bool found;
	VS_TRY(vs_home_token_get(h, r->name, &tok, &found));
	bool valid = found && vs_fence_valid(r, &tok);
	vs_wipe(tok.secret, sizeof tok.secret);
	if (found && !valid) {
		VS_TRY(vs_home_token_drop(h, r->name));
		note(act, cap, "dropped a stale fencing token (generation %llu)",
		     (unsigned long long)tok.generation);
		found = false;
	}
	if (mine(h, r) && !found)
		note(act, cap, "the ledger says it runs here (generation %llu) but this host holds no "
			       "token for it and no record of activating it: not adopting it (if this "
			       "host lost it, release it)",
		     (unsigned long long)r->generation);
	return VS_OK;
}

typedef struct {
	const char *vnf;
	uint8_t (*ids)[VS_ID_LEN];
	size_t n, cap;
} building_list;

/* Collected first: the catalog cannot change under its own open query. */
static VS_MUST_USE vs_err collect_building(void *ctx, const vs_catalog_entry *e)
{
	building_list *b = ctx;
	uint8_t id[VS_ID_LEN];
	if (strcmp(e->state, "BUILDING") != 0 || strcmp(e->vnf, b->vnf) != 0 ||
	    vs_id_parse(e->id, id) != VS_OK)
		return VS_OK;
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		void *p = realloc(b->ids, cap * sizeof *b->ids);
		if (!p)
			return vs_fail(VS_E_ENV, "out of memory");
		b->ids = p;
		b->cap = cap;
	}
	memcpy(b->ids[b->n++], id, VS_ID_LEN);
	return VS_OK;
}

/* Rule 4: snapshots a crash left BUILDING (the ledger is fenced by then:
 * a record_snapshot CAS still in flight cannot land after this). */
static VS_MUST_USE vs_err settle_snapshot(vs_home *h, const vs_vnf_record *r, const uint8_t id[VS_ID_LEN],
			      char *act, size_t cap)
{
	char sid[37];
	vs_id_format(id, sid);
	if (r->has_snapshot && !memcmp(r->latest_snapshot, id, VS_ID_LEN)) {
		vs_catalog_entry e;
		VS_TRY(vs_catalog_get(h, id, &e));
		VS_TRY(vs_catalog_finish(h, id, "AVAILABLE", e.size, NULL));
		note(act, cap, "snapshot %s was recorded: now AVAILABLE", sid);
		return VS_OK;
	}
	vs_delete_result res;
	VS_TRY(vs_snapshot_delete(h, id, false, &res));
	VS_TRY(vs_catalog_finish(h, id, "FAILED", 0, NULL));
	note(act, cap, "snapshot %s was never recorded: keys erased, marked FAILED", sid);
	return VS_OK;
}

static VS_MUST_USE vs_err settle_snapshots(vs_home *h, vs_ledger *l, vs_vnf_record *r, bool fenced,
			       char *act, size_t cap)
{
	building_list b = { r->name, NULL, 0, 0 };
	vs_err rc = vs_catalog_list(h, collect_building, &b);
	if (rc == VS_OK && b.n && !fenced)
		rc = vs_ledger_fence(l, r->name, r);
	for (size_t i = 0; rc == VS_OK && i < b.n; i++)
		rc = settle_snapshot(h, r, b.ids[i], act, cap);
	free(b.ids);
	return rc;
}

static VS_MUST_USE vs_err recover_locked(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec,
			     char *act, size_t cap)
{
	vs_vnf_record before;
	act[0] = 0;
	VS_TRY(vs_ledger_get(l, name, &before));
	VS_TRY(vs_ledger_recover(l, name, rec));
	if (before.state == VS_VNF_MIGRATING && rec->state == VS_VNF_ACTIVE)
		note(act, cap, "aborted the interrupted migration to %s: ACTIVE on %s again",
		     before.target, rec->owner);
	vs_pending p;
	bool pending;
	VS_TRY(vs_home_pending_get(h, name, &p, &pending));
	VS_TRY(settle_activation(h, l, rec, act, cap));
	VS_TRY(settle_token(h, rec, act, cap));
	VS_TRY(settle_snapshots(h, l, rec, pending, act, cap));
	if (!act[0])
		note(act, cap, "nothing to recover");
	return VS_OK;
}

VS_MUST_USE vs_err vs_vnf_recover(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec,
		      char *act, size_t cap)
{
	int lock;
	act[0] = 0;
	VS_TRY(vs_ledger_get(l, name, rec)); /* "no VNF named X" before anything is made */
	VS_TRY(vs_home_lock(h, name, true, &lock));
	vs_err rc = recover_locked(h, l, name, rec, act, cap);
	vs_home_unlock(lock);
	return rc;
}

VS_MUST_USE vs_err vs_vnf_register(vs_ledger *l, const char *name, const char *sensitive,
				   vs_vnf_record *rec)
{
	return vs_ledger_register(l, name, sensitive ? sensitive : "", rec);
}

VS_MUST_USE vs_err vs_vnf_status(vs_ledger *l, const char *name, vs_vnf_record *rec)
{
	return vs_ledger_get(l, name, rec);
}

VS_MUST_USE vs_err vs_vnf_list(vs_ledger *l, vs_err (*cb)(void *ctx, const vs_vnf_record *r),
			       void *ctx)
{
	return vs_ledger_list(l, cb, ctx);
}

VS_MUST_USE vs_err vs_vnf_retire(vs_ledger *l, const char *name, vs_vnf_record *rec)
{
	return vs_ledger_retire(l, name, rec);
}

VS_MUST_USE vs_err vs_open_ledger(vs_home *h, const char *uri, const vs_etcd_opts *etcd,
				  vs_ledger **l)
{
	char def[4200];
	if (!uri) {
		if (!h)
			return vs_fail(VS_E_USAGE, "no ledger named and no home to take its own");
		vs_home_default_ledger(h, def, sizeof def);
		uri = def;
	}
	VS_TRY(vs_ledger_open_opts(l, uri, etcd));
	if (h) /* the etcd audit anchor is signed with the checkpoint key */
		(*l)->anchor_signer = vs_home_signer(h);
	return VS_OK;
}

void vs_host_notes_get(const vs_home *h, vs_ledger *l, vs_host_notes *n)
{
	n->host = h ? vs_home_host(h) : NULL;
	n->keystore = h ? vs_home_keystore_status(h) : NULL;
	n->ledger_anchor = l ? vs_ledger_anchor_status(l) : NULL;
	n->ledger_auth = l ? vs_ledger_auth_status(l) : NULL;
	n->key_id[0] = 0;
	if (h) {
		uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
		vs_home_pub(h, pub, id);
		vs_hex(id, VS_HASH_LEN, n->key_id);
	}
}

VS_MUST_USE vs_err vs_open_home(const char *arg, char *path, size_t cap, vs_home **h)
{
	VS_TRY(vs_home_resolve(arg, path, cap));
	return vs_home_open(h, path);
}

VS_MUST_USE vs_err vs_init_home(const char *arg, const char *seed_path, uint64_t interval,
				char *path, size_t cap, char *seed_out, size_t seed_cap,
				vs_home **h)
{
	VS_TRY(vs_home_resolve(arg, path, cap));
	VS_TRY(vs_home_create(path, seed_path, interval, seed_out, seed_cap));
	return vs_home_open(h, path);
}

VS_MUST_USE vs_err vs_snapshot_list(vs_home *h,
				    vs_err (*cb)(void *ctx, const vs_catalog_entry *e), void *ctx)
{
	return vs_catalog_list(h, cb, ctx);
}
