/* Ledger transitions (docs/ledger.md): read, check, compare-and-swap; a lost
 * race re-reads and re-checks, so a refusal always reflects the latest state. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/ledger.h"

#define MAX_ATTEMPTS 200
/* Internal: a mutate function found nothing to change. */
#define NOTHING_TO_DO ((vs_err)100)

typedef vs_err (*mutate_fn)(void *ctx, vs_vnf_record *r);

static bool live(vs_vnf_state s)
{
	return s == VS_VNF_ACTIVE || s == VS_VNF_PAUSED || s == VS_VNF_MIGRATING;
}

static void backoff(int attempt)
{
	uint8_t r = 0;
	if (vs_random(&r, 1) != VS_OK)
		r = 0; /* no jitter this once */
	int ms = (attempt < 6 ? 1 << attempt : 50) + r % 16;
	struct timespec ts = { 0, (long)ms * 1000000L };
	nanosleep(&ts, NULL);
}

static VS_MUST_USE vs_err transact(vs_ledger *l, const char *name, mutate_fn fn, void *ctx,
		       vs_vnf_record *out)
{
	bool from_cache = l->cached && !strcmp(l->cache.name, name);
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		vs_vnf_record r;
		bool fresh = !from_cache;
		if (from_cache)
			r = l->cache;
		else
			VS_TRY(l->ops->get(l, name, &r));
		from_cache = false;
		l->cached = false;
		uint64_t expected = r.version;
		uint64_t gen_before = r.generation;
		vs_err rc = fn(ctx, &r);
		if (rc != VS_OK && !fresh)
			continue; /* judged on cached data: judge again on a fresh read */
		VS_TRY(rc);
		if (r.generation < gen_before)
			return vs_fail(VS_E_ENV, "internal error: generation would decrease");
		r.updated = (int64_t)time(NULL);
		l->last_version = 0;
		rc = l->ops->cas(l, &r, expected);
		if (rc == VS_OK) {
			if (l->last_version)
				r.version = l->last_version;
			if (l->last_version) {
				l->cache = r;
				l->cache.version = l->last_version;
				l->cached = true;
			}
			if (out)
				*out = r;
			return VS_OK;
		}
		if (rc != VS_E_POLICY) /* VS_E_POLICY from cas means: lost a race */
			return rc;
		if (fresh)
			backoff(attempt);
	}
	return vs_refuse(VS_E_ENV, VS_R_LOST_RACE, name,
			 "VNF '%s': the ledger kept changing under %d attempts; try again", name,
			 MAX_ATTEMPTS);
}

static VS_MUST_USE vs_err refuse(const vs_vnf_record *r, vs_reason reason, const char *why)
{
	return vs_refuse(VS_E_POLICY, reason, r->name, "VNF '%s' is %s%s%s (generation %llu): %s", r->name,
		       vs_vnf_state_name(r->state), r->owner[0] ? " on " : "", r->owner,
		       (unsigned long long)r->generation, why);
}

VS_MUST_USE vs_err vs_token_hash(const uint8_t secret[VS_TOKEN_SECRET_LEN], uint8_t hash[VS_HASH_LEN])
{
	static const char tag[] = "vnfsafe fencing token v1";
	uint8_t buf[sizeof tag + VS_TOKEN_SECRET_LEN];
	memcpy(buf, tag, sizeof tag);
	memcpy(buf + sizeof tag, secret, VS_TOKEN_SECRET_LEN);
	vs_err rc = vs_sha256(buf, sizeof buf, hash);
	vs_wipe(buf, sizeof buf);
	return rc;
}

VS_MUST_USE vs_err vs_activation_new(vs_activation *a)
{
	VS_TRY(vs_random(a->id, VS_ID_LEN));
	return vs_random(a->secret, VS_TOKEN_SECRET_LEN);
}

void vs_fence_make(const vs_vnf_record *r, const uint8_t secret[VS_TOKEN_SECRET_LEN],
		   vs_fence *tok)
{
	memset(tok, 0, sizeof *tok);
	memcpy(tok->lineage, r->lineage, VS_ID_LEN);
	tok->generation = r->generation;
	snprintf(tok->host, sizeof tok->host, "%s", r->owner);
	memcpy(tok->secret, secret, VS_TOKEN_SECRET_LEN);
}

static bool public_fields_match(const vs_vnf_record *r, const vs_fence *tok)
{
	return live(r->state) && !memcmp(r->lineage, tok->lineage, VS_ID_LEN) &&
	       r->generation == tok->generation && !strcmp(r->owner, tok->host);
}

/* Constant time; a record without a hash (all zero) accepts no secret. */
static bool secret_matches(const vs_vnf_record *r, const vs_fence *tok)
{
	static const uint8_t none[VS_HASH_LEN];
	uint8_t h[VS_HASH_LEN];
	bool ok = vs_token_hash(tok->secret, h) == VS_OK &&
		  CRYPTO_memcmp(h, r->token_hash, VS_HASH_LEN) == 0 &&
		  CRYPTO_memcmp(none, r->token_hash, VS_HASH_LEN) != 0;
	vs_wipe(h, sizeof h);
	return ok;
}

bool vs_fence_valid(const vs_vnf_record *r, const vs_fence *tok)
{
	return tok && public_fields_match(r, tok) && secret_matches(r, tok);
}

static VS_MUST_USE vs_err check_token(const vs_vnf_record *r, const vs_fence *tok)
{
	if (!tok)
		return refuse(r, VS_R_STALE_TOKEN, "this host holds no fencing token for it");
	if (!public_fields_match(r, tok))
		return vs_refuse(VS_E_POLICY, VS_R_STALE_TOKEN, r->name,
			       "VNF '%s': stale fencing token (this host: generation %llu on %s; ledger: %s "
			       "generation %llu on %s)", r->name, (unsigned long long)tok->generation,
			       tok->host, vs_vnf_state_name(r->state), (unsigned long long)r->generation,
			       r->owner[0] ? r->owner : "no host");
	if (!secret_matches(r, tok))
		return vs_refuse(VS_E_POLICY, VS_R_STALE_TOKEN, r->name,
			       "VNF '%s': the fencing token this host presents for generation %llu on %s "
			       "lacks the secret its activation created (a copied token, or one made "
			       "before token secrets): refused", r->name,
			       (unsigned long long)tok->generation, tok->host);
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_get(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	return l->ops->get(l, name, out);
}

VS_MUST_USE vs_err vs_ledger_list(vs_ledger *l, vs_err (*cb)(void *ctx, const vs_vnf_record *r), void *ctx)
{
	return l->ops->list(l, cb, ctx);
}

VS_MUST_USE vs_err vs_ledger_register(vs_ledger *l, const char *name, const char *sensitive,
			  vs_vnf_record *out)
{
	vs_vnf_record r;
	memset(&r, 0, sizeof r);
	if (!vs_name_ok(name))
		return vs_fail(VS_E_USAGE, "'%s' is not a valid VNF name (1-63 of A-Z a-z 0-9 . _ -)", name);
	if (strlen(sensitive) >= sizeof r.sensitive)
		return vs_fail(VS_E_USAGE, "too many sensitive domains");
	snprintf(r.name, sizeof r.name, "%s", name);
	snprintf(r.sensitive, sizeof r.sensitive, "%s", sensitive);
	VS_TRY(vs_random(r.lineage, VS_ID_LEN));
	r.state = VS_VNF_REGISTERED;
	r.updated = (int64_t)time(NULL);
	VS_TRY(l->ops->create(l, &r));
	if (out)
		*out = r;
	return VS_OK;
}

typedef struct {
	const char *host;
	const uint8_t *lineage, *snap;
	const uint8_t *act;        /* activation id */
	const uint8_t *token_hash; /* of the activating host's token secret */
	bool allow_rollback, discard_latest;
	const vs_fence *tok;
	const char *target;
	uint64_t gen;
} args;

/* What every activation writes: a new generation on host, a fresh id, the
 * hash of the new owner's token secret. */
static void activate(vs_vnf_record *r, const char *host, const args *a)
{
	r->state = VS_VNF_ACTIVE;
	r->generation++;
	snprintf(r->owner, sizeof r->owner, "%s", host);
	r->target[0] = 0;
	r->latest_final = false; /* from now on the running copy is newer */
	memcpy(r->activation, a->act, VS_ID_LEN);
	memcpy(r->token_hash, a->token_hash, VS_HASH_LEN);
}

/* The refusal just reported (why, about vnf), unless the re-read that
 * judges it failed: then whether an earlier copy applied is unknown
 * (VS_E_UNKNOWN), never a refusal whose caller would drop what recovery
 * needs. */
static VS_MUST_USE vs_err refusal_or_unknown(vs_err reread, const char *refusal, vs_reason why,
					     const char *vnf)
{
	if (reread == VS_OK)
		return vs_refuse(VS_E_POLICY, why, vnf, "%s", refusal);
	return vs_set_reason(vs_wrap(VS_E_UNKNOWN, "refused (%s), but the ledger cannot say whether "
						   "an earlier copy of this request applied",
				     refusal),
			     VS_R_RECOVER);
}

/* After a refusal: did an earlier copy of this activation apply (a lost
 * reply)? Then the refusal was about our own effect: it succeeded. */
static VS_MUST_USE vs_err own_activation(vs_ledger *l, const char *name, const char *host,
			     const uint8_t act[VS_ID_LEN], vs_vnf_record *r)
{
	char refusal[512];
	vs_reason why = vs_errreason();
	snprintf(refusal, sizeof refusal, "%s", vs_errmsg());
	vs_err rc = l->ops->get(l, name, r);
	if (rc == VS_OK && live(r->state) && (!host || !strcmp(r->owner, host)) &&
	    !memcmp(r->activation, act, VS_ID_LEN))
		return VS_OK;
	return refusal_or_unknown(rc, refusal, why, name);
}

/* One activation (a->act and a->token_hash set): the transaction, then a
 * refusal re-checked against the request's own effect (owner: the host that
 * must own it, or NULL). */
static VS_MUST_USE vs_err run_activation(vs_ledger *l, const char *name, mutate_fn fn, args *a,
			     const char *owner, vs_vnf_record *out)
{
	vs_err rc = transact(l, name, fn, a, out);
	if (rc == VS_E_POLICY)
		rc = own_activation(l, name, owner, a->act, out);
	return rc;
}

/* An activation of this host: its activation (given, or fresh), then the
 * token, which holds the secret whose hash the record now carries. */
static VS_MUST_USE vs_err activate_here(vs_ledger *l, const char *name, mutate_fn fn, args *a,
			    const vs_activation *given, vs_fence *tok, vs_vnf_record *out)
{
	vs_activation act;
	uint8_t hash[VS_HASH_LEN];
	vs_vnf_record r;
	vs_err rc = VS_OK;
	if (given)
		act = *given;
	else
		rc = vs_activation_new(&act);
	if (rc == VS_OK)
		rc = vs_token_hash(act.secret, hash);
	a->act = act.id;
	a->token_hash = hash;
	if (rc == VS_OK)
		rc = run_activation(l, name, fn, a, a->host, &r);
	if (rc == VS_OK && tok)
		vs_fence_make(&r, act.secret, tok);
	if (rc == VS_OK && out)
		*out = r;
	vs_wipe(&act, sizeof act);
	return rc;
}

static VS_MUST_USE vs_err start_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	if (live(r->state))
		return refuse(r, VS_R_FORK, "starting it here would fork it");
	if (r->state == VS_VNF_RETIRED)
		return refuse(r, VS_R_RETIRED, "it is retired");
	if (r->state == VS_VNF_STOPPED && strcmp(r->owner, a->host) != 0)
		return refuse(r, VS_R_STATE_ELSEWHERE, r->latest_final
				 ? "its state is on that host; restore its latest snapshot here instead"
				 : "its state is on that host: start it there, or snapshot it there "
				   "and restore that snapshot here");
	/* A final latest snapshot recorded elsewhere is the newest state; a
	 * start here would run without it (a fork or a roll-back of it). */
	if (r->has_snapshot && r->latest_final && strcmp(r->latest_host, a->host) != 0 &&
	    !a->discard_latest) {
		char id[37];
		vs_id_format(r->latest_snapshot, id);
		return vs_refuse(VS_E_POLICY, VS_R_DISCARDS_LATEST, r->name,
			       "VNF '%s' is %s (generation %llu): its latest snapshot %s was taken on %s "
			       "and nothing ran after it; starting it here would discard it: restore "
			       "that snapshot here, or start it here discarding it, with a reason",
			       r->name, vs_vnf_state_name(r->state), (unsigned long long)r->generation,
			       id, r->latest_host[0] ? r->latest_host : "an unrecorded host");
	}
	activate(r, a->host, a);
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_start(vs_ledger *l, const char *name, const char *host,
		       const vs_activation *act, bool discard_latest, vs_fence *tok,
		       vs_vnf_record *out)
{
	args a = { .host = host, .discard_latest = discard_latest };
	return activate_here(l, name, start_fn, &a, act, tok, out);
}

static VS_MUST_USE vs_err restore_check(const args *a, const vs_vnf_record *r)
{
	char id[37];
	if (memcmp(r->lineage, a->lineage, VS_ID_LEN) != 0)
		return refuse(r, VS_R_ROLLBACK, "the snapshot belongs to another lineage of this name");
	if (live(r->state))
		return refuse(r, VS_R_FORK, "restoring it would fork it");
	if (r->state == VS_VNF_RETIRED)
		return refuse(r, VS_R_RETIRED, "it is retired");
	if ((!r->has_snapshot || memcmp(r->latest_snapshot, a->snap, VS_ID_LEN) != 0) &&
	    !a->allow_rollback) {
		if (!r->has_snapshot)
			return refuse(r, VS_R_ROLLBACK, "the ledger records no snapshot of it: "
						       "restoring this one would be a roll-back");
		vs_id_format(r->latest_snapshot, id);
		return vs_refuse(VS_E_POLICY, VS_R_ROLLBACK, r->name,
				 "VNF '%s': this snapshot is not the latest of its lineage "
					    "(latest is %s): restoring it would be a roll-back",
				 r->name, id);
	}
	/* Gap 1: the latest snapshot of a VNF that ran after it is older than
	 * the state its last owner stopped with. */
	if (!r->latest_final && !a->allow_rollback)
		return refuse(r, VS_R_NOT_FINAL, "its latest snapshot was taken while it ran, so the state it stopped "
				 "with is newer: snapshot it now that it is stopped and restore that one, "
				 "or start it where it stopped");
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_check_restore(vs_ledger *l, const char *name, const uint8_t lineage[VS_ID_LEN],
			       const uint8_t snap[VS_ID_LEN], bool allow_rollback)
{
	vs_vnf_record r;
	args a = { .lineage = lineage, .snap = snap, .allow_rollback = allow_rollback };
	VS_TRY(l->ops->get(l, name, &r));
	return restore_check(&a, &r);
}

static VS_MUST_USE vs_err restore_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(restore_check(a, r));
	activate(r, a->host, a);
	r->has_snapshot = true;
	memcpy(r->latest_snapshot, a->snap, VS_ID_LEN);
	snprintf(r->latest_host, sizeof r->latest_host, "%s", a->host);
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_restore(vs_ledger *l, const char *name, const char *host,
			 const uint8_t lineage[VS_ID_LEN], const uint8_t snap[VS_ID_LEN],
			 bool allow_rollback, const vs_activation *act, vs_fence *tok,
			 vs_vnf_record *out)
{
	args a = { .host = host, .lineage = lineage, .snap = snap, .allow_rollback = allow_rollback };
	return activate_here(l, name, restore_fn, &a, act, tok, out);
}

static VS_MUST_USE vs_err stop_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state == VS_VNF_MIGRATING)
		return refuse(r, VS_R_STATE, "a migration is in progress");
	r->state = VS_VNF_STOPPED;
	return VS_OK;
}

static VS_MUST_USE vs_err pause_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state != VS_VNF_ACTIVE)
		return refuse(r, VS_R_STATE, "only an ACTIVE VNF can be paused");
	r->state = VS_VNF_PAUSED;
	return VS_OK;
}

static VS_MUST_USE vs_err resume_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	/* From ACTIVE: a host restarting the VNF after a crash confirms with a
	 * CAS that its token still holds (gap 5); a read would not do: its own
	 * stop could still be in flight. */
	if (r->state != VS_VNF_PAUSED && r->state != VS_VNF_ACTIVE)
		return refuse(r, VS_R_STATE, "only a PAUSED or ACTIVE VNF can be resumed");
	r->state = VS_VNF_ACTIVE;
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_stop(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .tok = tok };
	return transact(l, name, stop_fn, &a, out);
}

VS_MUST_USE vs_err vs_ledger_pause(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .tok = tok };
	return transact(l, name, pause_fn, &a, out);
}

VS_MUST_USE vs_err vs_ledger_resume(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .tok = tok };
	return transact(l, name, resume_fn, &a, out);
}

static VS_MUST_USE vs_err snapshot_check(const args *a, const vs_vnf_record *r)
{
	switch (r->state) {
	case VS_VNF_REGISTERED:
		return VS_OK;
	case VS_VNF_ACTIVE:
	case VS_VNF_PAUSED:
		return check_token(r, a->tok);
	case VS_VNF_STOPPED:
		if (strcmp(r->owner, a->host) != 0)
			return refuse(r, VS_R_STATE_ELSEWHERE, "its state is on that host, not here");
		return VS_OK;
	case VS_VNF_MIGRATING:
		return refuse(r, VS_R_STATE, "a migration is in progress");
	case VS_VNF_RETIRED:
		return refuse(r, VS_R_RETIRED, "it is retired");
	}
	return refuse(r, VS_R_STATE, "unknown state");
}

VS_MUST_USE vs_err vs_ledger_check_snapshot(vs_ledger *l, const char *name, const char *host,
				const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .host = host, .tok = tok };
	VS_TRY(l->ops->get(l, name, out));
	return snapshot_check(&a, out);
}

static VS_MUST_USE vs_err record_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(snapshot_check(a, r));
	if (r->generation != a->gen)
		return refuse(r, VS_R_LOST_RACE, "it changed generation while the snapshot was being taken");
	r->has_snapshot = true;
	memcpy(r->latest_snapshot, a->snap, VS_ID_LEN);
	r->latest_snapshot_gen = r->generation;
	snprintf(r->latest_host, sizeof r->latest_host, "%s", a->host);
	/* Taken while nothing ran it: no state is newer. */
	r->latest_final = r->state == VS_VNF_STOPPED || r->state == VS_VNF_REGISTERED;
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_record_snapshot(vs_ledger *l, const char *name, const char *host,
				 const vs_fence *tok, const uint8_t snap[VS_ID_LEN], uint64_t gen)
{
	args a = { .host = host, .tok = tok, .snap = snap, .gen = gen };
	vs_err rc = transact(l, name, record_fn, &a, NULL);
	if (rc == VS_E_POLICY) {
		/* Gap 3: an earlier copy of this CAS may have applied. */
		vs_vnf_record r;
		char refusal[512];
		vs_reason why = vs_errreason();
		snprintf(refusal, sizeof refusal, "%s", vs_errmsg());
		vs_err reread = l->ops->get(l, name, &r);
		if (reread == VS_OK && r.has_snapshot && !memcmp(r.latest_snapshot, snap, VS_ID_LEN))
			return VS_OK;
		return refusal_or_unknown(reread, refusal, why, name);
	}
	return rc;
}

static VS_MUST_USE vs_err mig_begin_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state != VS_VNF_ACTIVE)
		return refuse(r, VS_R_STATE, "only an ACTIVE VNF can be migrated");
	if (!strcmp(a->target, r->owner))
		return refuse(r, VS_R_STATE, "the target is the host it runs on");
	r->state = VS_VNF_MIGRATING;
	snprintf(r->target, sizeof r->target, "%s", a->target);
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_migrate_begin(vs_ledger *l, const char *name, const vs_fence *tok,
			       const char *target)
{
	args a = { .tok = tok, .target = target };
	return transact(l, name, mig_begin_fn, &a, NULL);
}

static VS_MUST_USE vs_err mig_commit_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state != VS_VNF_MIGRATING)
		return refuse(r, VS_R_STATE, "no migration is in progress");
	char target[VS_HOST_MAX];
	snprintf(target, sizeof target, "%s", r->target);
	activate(r, target, a);
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_migrate_commit(vs_ledger *l, const char *name, const vs_fence *tok,
				const uint8_t target_token_hash[VS_HASH_LEN], vs_vnf_record *out)
{
	static const uint8_t none[VS_HASH_LEN];
	uint8_t id[VS_ID_LEN];
	vs_vnf_record r;
	if (!memcmp(target_token_hash, none, VS_HASH_LEN))
		return vs_fail(VS_E_USAGE, "migration commit: the target sent no token hash");
	VS_TRY(vs_random(id, VS_ID_LEN));
	args a = { .tok = tok, .act = id, .token_hash = target_token_hash };
	VS_TRY(run_activation(l, name, mig_commit_fn, &a, NULL, &r));
	if (out)
		*out = r;
	return VS_OK;
}

static VS_MUST_USE vs_err mig_abort_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	if (r->state != VS_VNF_MIGRATING)
		return refuse(r, VS_R_STATE, "no migration is in progress");
	r->state = VS_VNF_ACTIVE;
	r->target[0] = 0;
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_migrate_abort(vs_ledger *l, const char *name)
{
	return transact(l, name, mig_abort_fn, NULL, NULL);
}

static VS_MUST_USE vs_err release_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	if (!live(r->state) || strcmp(r->owner, a->host) != 0)
		return refuse(r, VS_R_STATE, "it is not running on the host to release");
	if (vs_fence_valid(r, a->tok))
		return refuse(r, VS_R_OWN_LIVE_VNF, "this home holds its live fencing token, so its host is not dead: "
				 "stop it instead (releasing a host asserts it is dead)");
	r->state = VS_VNF_STOPPED;
	r->target[0] = 0;
	r->generation++; /* fences the released host's token */
	/* The operator gives up what the released host wrote after the latest
	 * snapshot: that snapshot is what the VNF continues from. */
	r->latest_final = r->has_snapshot;
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_release(vs_ledger *l, const char *name, const char *host,
			 const vs_fence *caller_tok, vs_vnf_record *out)
{
	args a = { .host = host, .tok = caller_tok };
	return transact(l, name, release_fn, &a, out);
}

static VS_MUST_USE vs_err retire_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	if (r->state != VS_VNF_REGISTERED && r->state != VS_VNF_STOPPED)
		return refuse(r, VS_R_STATE, "only a REGISTERED or STOPPED VNF can be retired");
	r->state = VS_VNF_RETIRED;
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_retire(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	return transact(l, name, retire_fn, NULL, out);
}

static VS_MUST_USE vs_err recover_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	if (r->state != VS_VNF_MIGRATING)
		return NOTHING_TO_DO;
	r->state = VS_VNF_ACTIVE;
	r->target[0] = 0;
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_recover(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	vs_err rc = transact(l, name, recover_fn, NULL, out);
	if (rc == NOTHING_TO_DO)
		return l->ops->get(l, name, out);
	return rc;
}

static VS_MUST_USE vs_err fence_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	(void)r;
	return VS_OK; /* no change: the CAS itself bumps the version */
}

VS_MUST_USE vs_err vs_ledger_fence(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	return transact(l, name, fence_fn, NULL, out);
}

static VS_MUST_USE vs_err host_ok(const char *host)
{
	size_t n = strnlen(host, VS_HOST_MAX);
	bool ok = n > 0 && n < VS_HOST_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = host[i] > 0x20 && host[i] < 0x7f && host[i] != '/';
	return ok ? VS_OK : vs_fail(VS_E_USAGE, "invalid host name for an audit anchor");
}

VS_MUST_USE vs_err vs_ledger_log_anchor_get(vs_ledger *l, const char *host, vs_log_anchor *a, bool *found)
{
	uint64_t version;
	VS_TRY(host_ok(host));
	return l->ops->log_anchor_get(l, host, a, &version, found);
}

VS_MUST_USE vs_err vs_ledger_log_anchor_advance(vs_ledger *l, const char *host, const vs_log_anchor *a)
{
	VS_TRY(host_ok(host));
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		vs_log_anchor cur;
		uint64_t version = 0;
		bool found;
		VS_TRY(l->ops->log_anchor_get(l, host, &cur, &version, &found));
		vs_log_anchor next = *a;
		next.restarts = found ? cur.restarts : 0; /* only a restart changes it */
		if (found && cur.size > a->size)
			return vs_fail(VS_E_INTEGRITY,
				       "the audit log of %s has %llu records, fewer than the %llu the "
				       "ledger anchored: it was truncated, replaced or rolled back",
				       host, (unsigned long long)a->size, (unsigned long long)cur.size);
		if (found && cur.size == a->size) {
			if (cur.offset != a->offset || memcmp(cur.head, a->head, VS_HASH_LEN))
				return vs_fail(VS_E_INTEGRITY,
					       "the audit log of %s does not end with the record the "
					       "ledger anchored at %llu records: it was replaced",
					       host, (unsigned long long)a->size);
			return VS_OK;
		}
		vs_err rc = l->ops->log_anchor_cas(l, host, &next, found ? version : 0);
		if (rc != VS_E_POLICY)
			return rc;
		backoff(attempt);
	}
	return vs_refuse(VS_E_ENV, VS_R_LOST_RACE, NULL, "the audit anchor of %s kept changing; try again",
			 host);
}

VS_MUST_USE vs_err vs_ledger_log_anchor_restart(vs_ledger *l, const char *host, const vs_log_anchor *a,
				    vs_log_anchor *out)
{
	VS_TRY(host_ok(host));
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		vs_log_anchor cur, next = *a;
		uint64_t version = 0;
		bool found;
		l->anchor_overwrite = true; /* the operator's decision: whatever is there goes */
		vs_err rc = l->ops->log_anchor_get(l, host, &cur, &version, &found);
		next.restarts = found ? cur.restarts + 1 : 1;
		if (rc == VS_OK)
			rc = l->ops->log_anchor_cas(l, host, &next, found ? version : 0);
		l->anchor_overwrite = false;
		if (rc == VS_OK && out)
			*out = next;
		if (rc != VS_E_POLICY)
			return rc;
		backoff(attempt);
	}
	return vs_refuse(VS_E_ENV, VS_R_LOST_RACE, NULL, "the audit anchor of %s kept changing; try again",
			 host);
}
