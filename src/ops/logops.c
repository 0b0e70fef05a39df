/* The audit log's operations for any front end (docs/audit.md): verify
 * against the seed and the ledger's anchor, an inclusion proof, a signed
 * checkpoint, and the operator's restart of a log that lost what the
 * ledger anchored. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vnfsafe/fsutil.h"
#include "vnfsafe/logops.h"

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

VS_MUST_USE vs_err vs_log_dir(const vs_home *h, bool must_exist, char *out, size_t cap)
{
	VS_TRY(vs_home_audit_dir(h, out, cap));
	if (must_exist && !exists(out))
		return vs_fail(VS_E_ENV, "this home has no audit log yet (%s)", out);
	return VS_OK;
}

VS_MUST_USE vs_err vs_log_read(const vs_home *h, vs_audit_each_fn fn, void *ctx)
{
	char dir[4200];
	VS_TRY(vs_log_dir(h, true, dir, sizeof dir));
	return vs_audit_read(dir, fn, ctx);
}

/* The anchor: how far the ledger says this host's log went. */
static void read_anchor(vs_home *h, vs_ledger_open_fn open, void *ctx, vs_log_verify_result *v,
			char *err, size_t cap)
{
	vs_ledger *l = NULL;
	vs_err rc = open ? open(ctx, &l) : vs_fail(VS_E_ENV, "no ledger");
	if (rc == VS_OK)
		rc = vs_ledger_log_anchor_get(l, vs_home_host(h), &v->anchor, &v->anchored);
	/* An etcd anchor that does not parse was written by someone else. */
	v->anchor_bad = rc == VS_E_INTEGRITY && l && !strcmp(l->ops->scheme, "etcd");
	v->ledger = l;
	v->ledger_auth = l ? vs_ledger_auth_status(l) : NULL;
	if (rc != VS_OK) {
		snprintf(v->anchor_note, sizeof v->anchor_note, "not checked: %s", vs_errmsg());
		snprintf(err, cap, "%s", vs_errmsg());
		v->anchored = false;
		memset(&v->anchor, 0, sizeof v->anchor);
	}
}

static void damage(vs_log_verify_result *v, vs_audit_damage kind, uint64_t seq, const char *msg)
{
	v->rep.kind = kind;
	if (seq)
		v->rep.seq = seq;
	snprintf(v->rep.message, sizeof v->rep.message, "%s", msg);
}

/* The ledger's side: the etcd witness, the signed anchor, the anchored
 * record itself. */
static VS_MUST_USE vs_err check_anchor(vs_home *h, const char *dir, const vs_audit_seed *seed,
				       const char *err, vs_log_verify_result *v)
{
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	vs_err rc = VS_OK;
	vs_home_pub(h, pub, id);
	if (v->anchor_bad) {
		damage(v, VS_AUDIT_ANCHOR_MOVED, 0, err);
		return VS_E_INTEGRITY;
	}
	/* etcd: the key this log was anchored in, deleted or created anew. */
	if (v->ledger && err[0] == 0) {
		rc = vs_audit_witness_check(dir, &v->anchor, v->anchored);
		if (rc == VS_E_INTEGRITY)
			damage(v, VS_AUDIT_ANCHOR_MOVED, 0, vs_errmsg());
	}
	/* etcd: the anchor is what this host's checkpoint key last wrote there. */
	if (rc == VS_OK && v->anchor.form != VS_ANCHOR_PLAIN) {
		rc = vs_log_anchor_check_signed(vs_home_host(h), &v->anchor, seed ? seed->pub : pub);
		if (rc == VS_E_INTEGRITY)
			damage(v, VS_AUDIT_ANCHOR_MOVED, v->anchor.size, vs_errmsg());
	}
	if (rc == VS_OK && v->anchored) {
		rc = vs_audit_check_anchor(dir, &v->anchor);
		if (rc == VS_E_INTEGRITY)
			damage(v, VS_AUDIT_INCONSISTENT, v->anchor.size, vs_errmsg());
	}
	return rc;
}

VS_MUST_USE vs_err vs_log_verify(vs_home *h, vs_ledger_open_fn open_ledger, void *ledger_ctx,
				 const char *seed_path, vs_log_verify_result *v)
{
	vs_audit_seed seed;
	char dir[4200], err[256] = "";
	memset(v, 0, sizeof *v);
	VS_TRY(vs_log_dir(h, true, dir, sizeof dir));
	if (seed_path && vs_audit_seed_load(seed_path, &seed) != VS_OK) /* a wrong argument */
		return vs_wrap(access(seed_path, R_OK) != 0 && errno == EACCES ? VS_E_ENV : VS_E_USAGE,
			       "the seed %s is not a usable audit seed", seed_path);
	read_anchor(h, open_ledger, ledger_ctx, v, err, sizeof err);
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	vs_home_pub(h, pub, id);
	vs_audit_verify_opts o = { seed_path ? &seed : NULL, pub, v->anchored ? v->anchor.size : 0,
				   NULL };
	vs_err rc = vs_audit_verify(dir, &o, &v->rep);
	if (rc == VS_OK)
		rc = check_anchor(h, dir, seed_path ? &seed : NULL, err, v);
	if (seed_path)
		vs_audit_seed_wipe(&seed);
	if (rc != VS_OK && rc != VS_E_INTEGRITY)
		return rc;
	snprintf(v->seed_file, sizeof v->seed_file, "%s/audit-seed", vs_home_path(h));
	v->seed_in_home = exists(v->seed_file);
	if (v->anchored)
		snprintf(v->anchor_note, sizeof v->anchor_note, "%llu records%s%s",
			 (unsigned long long)v->anchor.size,
			 v->anchor.restarts ? " (this host's log was restarted by an operator)" : "",
			 v->anchor.form == VS_ANCHOR_SIGNED ? ", signed by this host's checkpoint key, "
							      "current in etcd" : "");
	else if (!v->anchor_note[0])
		snprintf(v->anchor_note, sizeof v->anchor_note, "none yet");
	if (rc == VS_E_INTEGRITY) /* the report is the message */
		return vs_fail(rc, "%s at record %llu (line %llu, byte %llu): %s",
			       vs_audit_damage_name(v->rep.kind), (unsigned long long)v->rep.seq,
			       (unsigned long long)v->rep.line, (unsigned long long)v->rep.offset,
			       v->rep.message);
	return VS_OK;
}

VS_MUST_USE vs_err vs_log_checkpoint(vs_session *s, vs_audit_checkpoint *cp)
{
	vs_audit *a = vs_session_log(s);
	if (!a)
		return vs_fail(VS_E_USAGE, "a checkpoint is signed inside an audited session");
	return vs_audit_checkpoint_now(a, cp);
}

VS_MUST_USE vs_err vs_log_prove(const vs_home *h, uint64_t seq, vs_log_proof *p)
{
	char dir[4200];
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	vs_audit_checkpoint cp;
	memset(p, 0, sizeof *p);
	p->seq = seq;
	VS_TRY(vs_log_dir(h, true, dir, sizeof dir));
	vs_home_pub(h, pub, id);
	/* No checkpoint yet (VS_E_USAGE) means unsigned; a damaged or unreadable
	 * one is reported, never quietly downgraded to an unsigned proof. */
	vs_err cp_rc = vs_audit_latest_checkpoint(dir, &cp);
	if (cp_rc != VS_OK && cp_rc != VS_E_USAGE)
		return cp_rc;
	p->signed_cp = cp_rc == VS_OK && seq <= cp.size;
	if (p->signed_cp && vs_audit_checkpoint_verify(&cp, pub) != VS_OK)
		return VS_E_INTEGRITY;
	vs_err rc = vs_audit_prove_inclusion(dir, seq, p->signed_cp ? cp.size : 0, p->leaf, p->root,
					     p->path, &p->n);
	p->size = p->signed_cp ? cp.size : 0;
	if (rc == VS_OK && !p->signed_cp) {
		vs_log_anchor t;
		rc = vs_audit_tail(dir, &t);
		p->size = t.size;
	}
	if (rc == VS_OK && p->signed_cp && memcmp(p->root, cp.root, VS_HASH_LEN) != 0)
		rc = vs_fail(VS_E_INTEGRITY, "the log's tree of %llu records does not match its "
					     "signed checkpoint", (unsigned long long)cp.size);
	if (rc == VS_OK)
		rc = vs_merkle_verify_inclusion(p->leaf, seq - 1, p->size, (const uint8_t *)p->path,
						p->n * VS_HASH_LEN, p->root);
	return rc;
}

/* Moves dir (and the home's seed) aside, to DIR.retired-<time>[.N]. */
static VS_MUST_USE vs_err move_aside(vs_home *h, const char *dir, vs_log_restart_result *r,
				     char *old_seed, size_t cap)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof t, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(r->retired, sizeof r->retired, "%s.retired-%s", dir, t);
	for (int i = 1; exists(r->retired) && i < 100; i++)
		snprintf(r->retired, sizeof r->retired, "%s.retired-%s.%d", dir, t, i);
	if (exists(dir)) {
		if (rename(dir, r->retired) != 0)
			return vs_fail_errno(VS_E_ENV, "cannot move %s aside", dir);
		r->moved = true;
	}
	snprintf(old_seed, cap, "%s/audit-seed", vs_home_path(h));
	if (r->moved && exists(old_seed)) {
		char kept[4500];
		snprintf(kept, sizeof kept, "%s/audit-seed", r->retired);
		if (rename(old_seed, kept) != 0)
			return vs_fail_errno(VS_E_ENV, "cannot move %s aside", old_seed);
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_log_restart(vs_home *h, vs_ledger *l, const vs_principal *who,
				  const char *reason, const char *new_seed, vs_log_restart_result *r)
{
	char dir[4200], old_seed[4400], why[9000];
	vs_log_anchor anchored, tail, now_anchor;
	bool found = false;
	memset(r, 0, sizeof *r);
	if (!reason || !*reason)
		return vs_fail(VS_E_USAGE, "a restart needs the operator's reason (it opens the new log)");
	VS_TRY(vs_log_dir(h, false, dir, sizeof dir));
	vs_err rc = vs_ledger_log_anchor_get(l, vs_home_host(h), &anchored, &found);
	if (rc == VS_E_INTEGRITY && !strcmp(l->ops->scheme, "etcd"))
		rc = VS_OK, found = false; /* an etcd anchor that does not parse: replaced below */
	VS_TRY(rc);
	VS_TRY(move_aside(h, dir, r, old_seed, sizeof old_seed));
	snprintf(r->seed, sizeof r->seed, "%s", new_seed ? new_seed : old_seed);
	if (!new_seed && exists(r->seed))
		unlink(r->seed); /* a seed without its log (an interrupted restart) */
	vs_audit_opts o = { .host = vs_home_host(h), .signer = vs_home_signer(h) };
	rc = vs_fsync_dir_of(dir);
	if (rc == VS_OK)
		rc = vs_audit_init(dir, r->seed, vs_home_signer(h), 0, &o);
	snprintf(why, sizeof why,
		 "%s; the previous log is in %s; the ledger had anchored %llu records of it "
		 "(restart %llu)", reason, r->moved ? r->retired : "(none: it was gone)",
		 found ? (unsigned long long)anchored.size : 0ULL,
		 found ? (unsigned long long)anchored.restarts + 1 : 1ULL);
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	why[VS_AUDIT_REASON_MAX] = 0; /* ASCII: cut anywhere */
	vs_audit_event ev = { .actor = who->name, .has_uid = who->has_uid, .uid = who->uid,
			      .action = "log.restart", .outcome = VS_AUDIT_OUT_OK, .reason = why };
	vs_audit *au = NULL;
	if (rc == VS_OK)
		rc = vs_audit_open(&au, dir, &o);
	if (rc == VS_OK)
		rc = vs_audit_append(au, &ev, NULL);
	vs_audit_close(au);
	if (rc == VS_OK)
		rc = vs_audit_tail(dir, &tail);
	if (rc == VS_OK)
		rc = vs_ledger_log_anchor_restart(l, vs_home_host(h), &tail, &now_anchor);
	if (rc == VS_OK) /* the new log's etcd anchor key, from now on */
		rc = vs_audit_witness_note(dir, l, vs_home_host(h));
	if (rc == VS_OK)
		r->restarts = now_anchor.restarts;
	return rc;
}
