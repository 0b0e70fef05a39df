/* Ledger transitions (docs/ledger.md): read, check, compare-and-swap; a lost
 * race re-reads and re-checks, so a refusal always reflects the latest state. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	vs_random(&r, 1);
	int ms = (attempt < 6 ? 1 << attempt : 50) + r % 16;
	struct timespec ts = { 0, (long)ms * 1000000L };
	nanosleep(&ts, NULL);
}

static vs_err transact(vs_ledger *l, const char *name, mutate_fn fn, void *ctx,
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
	return vs_fail(VS_E_ENV, "VNF '%s': the ledger kept changing under %d attempts; try again",
		       name, MAX_ATTEMPTS);
}

static vs_err refuse(const vs_vnf_record *r, const char *why)
{
	return vs_fail(VS_E_POLICY, "VNF '%s' is %s%s%s (generation %llu): %s", r->name,
		       vs_vnf_state_name(r->state), r->owner[0] ? " on " : "", r->owner,
		       (unsigned long long)r->generation, why);
}

bool vs_fence_valid(const vs_vnf_record *r, const vs_fence *tok)
{
	return tok && live(r->state) && !memcmp(r->lineage, tok->lineage, VS_ID_LEN) &&
	       r->generation == tok->generation && !strcmp(r->owner, tok->host);
}

static vs_err check_token(const vs_vnf_record *r, const vs_fence *tok)
{
	if (!tok)
		return refuse(r, "this host holds no fencing token for it");
	if (!vs_fence_valid(r, tok))
		return vs_fail(VS_E_POLICY,
			       "VNF '%s': stale fencing token (this host: generation %llu on %s; ledger: %s "
			       "generation %llu on %s)", r->name, (unsigned long long)tok->generation,
			       tok->host, vs_vnf_state_name(r->state), (unsigned long long)r->generation,
			       r->owner[0] ? r->owner : "no host");
	return VS_OK;
}

static void issue(const vs_vnf_record *r, vs_fence *tok)
{
	if (!tok)
		return;
	memset(tok, 0, sizeof *tok);
	memcpy(tok->lineage, r->lineage, VS_ID_LEN);
	tok->generation = r->generation;
	snprintf(tok->host, sizeof tok->host, "%s", r->owner);
}

vs_err vs_ledger_get(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	return l->ops->get(l, name, out);
}

vs_err vs_ledger_list(vs_ledger *l, vs_err (*cb)(void *ctx, const vs_vnf_record *r), void *ctx)
{
	return l->ops->list(l, cb, ctx);
}

vs_err vs_ledger_register(vs_ledger *l, const char *name, const char *sensitive,
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
	const uint8_t *act; /* activation id */
	bool allow_rollback;
	const vs_fence *tok;
	const char *target;
	uint64_t gen;
} args;

/* What every activation writes: a new generation on host, a fresh id. */
static void activate(vs_vnf_record *r, const char *host, const uint8_t act[VS_ID_LEN])
{
	r->state = VS_VNF_ACTIVE;
	r->generation++;
	snprintf(r->owner, sizeof r->owner, "%s", host);
	r->target[0] = 0;
	r->latest_final = false; /* from now on the running copy is newer */
	memcpy(r->activation, act, VS_ID_LEN);
}

/* After a refusal: did an earlier copy of this activation apply (a lost
 * reply)? Then the refusal was about our own effect: it succeeded. */
static bool own_activation(vs_ledger *l, const char *name, const char *host,
			   const uint8_t act[VS_ID_LEN], vs_vnf_record *r)
{
	return l->ops->get(l, name, r) == VS_OK && live(r->state) &&
	       (!host || !strcmp(r->owner, host)) && !memcmp(r->activation, act, VS_ID_LEN);
}

static vs_err activation_id(const uint8_t *given, uint8_t act[VS_ID_LEN])
{
	if (given) {
		memcpy(act, given, VS_ID_LEN);
		return VS_OK;
	}
	return vs_random(act, VS_ID_LEN);
}

/* One activation: its id (given, or fresh), the transaction, a refusal
 * re-checked against the request's own effect (owner: the host that must
 * own it, or NULL), then the token. */
static vs_err run_activation(vs_ledger *l, const char *name, mutate_fn fn, args *a,
			     const uint8_t *given, const char *owner, vs_fence *tok,
			     vs_vnf_record *out)
{
	uint8_t id[VS_ID_LEN];
	VS_TRY(activation_id(given, id));
	a->act = id;
	vs_vnf_record r;
	vs_err rc = transact(l, name, fn, a, &r);
	if (rc == VS_E_POLICY && own_activation(l, name, owner, id, &r))
		rc = VS_OK;
	VS_TRY(rc);
	issue(&r, tok);
	if (out)
		*out = r;
	return VS_OK;
}

static vs_err start_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	if (live(r->state))
		return refuse(r, "starting it here would fork it");
	if (r->state == VS_VNF_RETIRED)
		return refuse(r, "it is retired");
	if (r->state == VS_VNF_STOPPED && strcmp(r->owner, a->host) != 0)
		return refuse(r, r->latest_final
				 ? "its state is on that host; restore its latest snapshot here instead"
				 : "its state is on that host: start it there, or snapshot it there "
				   "and restore that snapshot here");
	activate(r, a->host, a->act);
	return VS_OK;
}

vs_err vs_ledger_start(vs_ledger *l, const char *name, const char *host,
		       const uint8_t act[VS_ID_LEN], vs_fence *tok, vs_vnf_record *out)
{
	args a = { .host = host };
	return run_activation(l, name, start_fn, &a, act, host, tok, out);
}

static vs_err restore_check(const args *a, const vs_vnf_record *r)
{
	char id[37];
	if (memcmp(r->lineage, a->lineage, VS_ID_LEN) != 0)
		return refuse(r, "the snapshot belongs to another lineage of this name");
	if (live(r->state))
		return refuse(r, "restoring it would fork it");
	if (r->state == VS_VNF_RETIRED)
		return refuse(r, "it is retired");
	if ((!r->has_snapshot || memcmp(r->latest_snapshot, a->snap, VS_ID_LEN) != 0) &&
	    !a->allow_rollback) {
		if (!r->has_snapshot)
			return refuse(r, "the ledger records no snapshot of it: restoring this one would be a "
					 "roll-back (use --allow-rollback if authorized)");
		vs_id_format(r->latest_snapshot, id);
		return vs_fail(VS_E_POLICY, "VNF '%s': this snapshot is not the latest of its lineage "
					    "(latest is %s): restoring it would be a roll-back "
					    "(use --allow-rollback if authorized)", r->name, id);
	}
	/* Gap 1: the latest snapshot of a VNF that ran after it is older than
	 * the state its last owner stopped with. */
	if (!r->latest_final && !a->allow_rollback)
		return refuse(r, "its latest snapshot was taken while it ran, so the state it stopped "
				 "with is newer: snapshot it now that it is stopped and restore that one, "
				 "or start it where it stopped (use --allow-rollback to accept losing "
				 "the newer state)");
	return VS_OK;
}

vs_err vs_ledger_check_restore(vs_ledger *l, const char *name, const uint8_t lineage[VS_ID_LEN],
			       const uint8_t snap[VS_ID_LEN], bool allow_rollback)
{
	vs_vnf_record r;
	args a = { .lineage = lineage, .snap = snap, .allow_rollback = allow_rollback };
	VS_TRY(l->ops->get(l, name, &r));
	return restore_check(&a, &r);
}

static vs_err restore_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(restore_check(a, r));
	activate(r, a->host, a->act);
	r->has_snapshot = true;
	memcpy(r->latest_snapshot, a->snap, VS_ID_LEN);
	return VS_OK;
}

vs_err vs_ledger_restore(vs_ledger *l, const char *name, const char *host,
			 const uint8_t lineage[VS_ID_LEN], const uint8_t snap[VS_ID_LEN],
			 bool allow_rollback, const uint8_t act[VS_ID_LEN], vs_fence *tok,
			 vs_vnf_record *out)
{
	args a = { .host = host, .lineage = lineage, .snap = snap, .allow_rollback = allow_rollback };
	return run_activation(l, name, restore_fn, &a, act, host, tok, out);
}

static vs_err stop_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state == VS_VNF_MIGRATING)
		return refuse(r, "a migration is in progress");
	r->state = VS_VNF_STOPPED;
	return VS_OK;
}

static vs_err pause_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state != VS_VNF_ACTIVE)
		return refuse(r, "only an ACTIVE VNF can be paused");
	r->state = VS_VNF_PAUSED;
	return VS_OK;
}

static vs_err resume_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	/* From ACTIVE: a host restarting the VNF after a crash confirms with a
	 * CAS that its token still holds (gap 5); a read would not do: its own
	 * stop could still be in flight. */
	if (r->state != VS_VNF_PAUSED && r->state != VS_VNF_ACTIVE)
		return refuse(r, "only a PAUSED or ACTIVE VNF can be resumed");
	r->state = VS_VNF_ACTIVE;
	return VS_OK;
}

vs_err vs_ledger_stop(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .tok = tok };
	return transact(l, name, stop_fn, &a, out);
}

vs_err vs_ledger_pause(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .tok = tok };
	return transact(l, name, pause_fn, &a, out);
}

vs_err vs_ledger_resume(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .tok = tok };
	return transact(l, name, resume_fn, &a, out);
}

static vs_err snapshot_check(const args *a, const vs_vnf_record *r)
{
	switch (r->state) {
	case VS_VNF_REGISTERED:
		return VS_OK;
	case VS_VNF_ACTIVE:
	case VS_VNF_PAUSED:
		return check_token(r, a->tok);
	case VS_VNF_STOPPED:
		if (strcmp(r->owner, a->host) != 0)
			return refuse(r, "its state is on that host, not here");
		return VS_OK;
	case VS_VNF_MIGRATING:
		return refuse(r, "a migration is in progress");
	case VS_VNF_RETIRED:
		return refuse(r, "it is retired");
	}
	return refuse(r, "unknown state");
}

vs_err vs_ledger_check_snapshot(vs_ledger *l, const char *name, const char *host,
				const vs_fence *tok, vs_vnf_record *out)
{
	args a = { .host = host, .tok = tok };
	VS_TRY(l->ops->get(l, name, out));
	return snapshot_check(&a, out);
}

static vs_err record_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(snapshot_check(a, r));
	if (r->generation != a->gen)
		return refuse(r, "it changed generation while the snapshot was being taken");
	r->has_snapshot = true;
	memcpy(r->latest_snapshot, a->snap, VS_ID_LEN);
	r->latest_snapshot_gen = r->generation;
	/* Taken while nothing ran it: no state is newer. */
	r->latest_final = r->state == VS_VNF_STOPPED || r->state == VS_VNF_REGISTERED;
	return VS_OK;
}

vs_err vs_ledger_record_snapshot(vs_ledger *l, const char *name, const char *host,
				 const vs_fence *tok, const uint8_t snap[VS_ID_LEN], uint64_t gen)
{
	args a = { .host = host, .tok = tok, .snap = snap, .gen = gen };
	vs_err rc = transact(l, name, record_fn, &a, NULL);
	if (rc == VS_E_POLICY) {
		/* Gap 3: an earlier copy of this CAS may have applied. */
		vs_vnf_record r;
		if (l->ops->get(l, name, &r) == VS_OK && r.has_snapshot &&
		    !memcmp(r.latest_snapshot, snap, VS_ID_LEN))
			return VS_OK;
	}
	return rc;
}

static vs_err mig_begin_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state != VS_VNF_ACTIVE)
		return refuse(r, "only an ACTIVE VNF can be migrated");
	if (!strcmp(a->target, r->owner))
		return refuse(r, "the target is the host it runs on");
	r->state = VS_VNF_MIGRATING;
	snprintf(r->target, sizeof r->target, "%s", a->target);
	return VS_OK;
}

vs_err vs_ledger_migrate_begin(vs_ledger *l, const char *name, const vs_fence *tok,
			       const char *target)
{
	args a = { .tok = tok, .target = target };
	return transact(l, name, mig_begin_fn, &a, NULL);
}

static vs_err mig_commit_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	VS_TRY(check_token(r, a->tok));
	if (r->state != VS_VNF_MIGRATING)
		return refuse(r, "no migration is in progress");
	char target[VS_HOST_MAX];
	snprintf(target, sizeof target, "%s", r->target);
	activate(r, target, a->act);
	return VS_OK;
}

vs_err vs_ledger_migrate_commit(vs_ledger *l, const char *name, const vs_fence *tok,
				vs_fence *target_tok)
{
	args a = { .tok = tok };
	return run_activation(l, name, mig_commit_fn, &a, NULL, NULL, target_tok, NULL);
}

static vs_err mig_abort_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	if (r->state != VS_VNF_MIGRATING)
		return refuse(r, "no migration is in progress");
	r->state = VS_VNF_ACTIVE;
	r->target[0] = 0;
	return VS_OK;
}

vs_err vs_ledger_migrate_abort(vs_ledger *l, const char *name)
{
	return transact(l, name, mig_abort_fn, NULL, NULL);
}

static vs_err release_fn(void *ctx, vs_vnf_record *r)
{
	args *a = ctx;
	if (!live(r->state) || strcmp(r->owner, a->host) != 0)
		return refuse(r, "it is not running on the host to release");
	r->state = VS_VNF_STOPPED;
	r->target[0] = 0;
	r->generation++; /* fences the released host's token */
	/* The operator gives up what the released host wrote after the latest
	 * snapshot: that snapshot is what the VNF continues from. */
	r->latest_final = r->has_snapshot;
	return VS_OK;
}

vs_err vs_ledger_release(vs_ledger *l, const char *name, const char *host, vs_vnf_record *out)
{
	args a = { .host = host };
	return transact(l, name, release_fn, &a, out);
}

static vs_err retire_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	if (r->state != VS_VNF_REGISTERED && r->state != VS_VNF_STOPPED)
		return refuse(r, "only a REGISTERED or STOPPED VNF can be retired");
	r->state = VS_VNF_RETIRED;
	return VS_OK;
}

vs_err vs_ledger_retire(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	return transact(l, name, retire_fn, NULL, out);
}

static vs_err recover_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	if (r->state != VS_VNF_MIGRATING)
		return NOTHING_TO_DO;
	r->state = VS_VNF_ACTIVE;
	r->target[0] = 0;
	return VS_OK;
}

vs_err vs_ledger_recover(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	vs_err rc = transact(l, name, recover_fn, NULL, out);
	if (rc == NOTHING_TO_DO)
		return l->ops->get(l, name, out);
	return rc;
}

static vs_err fence_fn(void *ctx, vs_vnf_record *r)
{
	(void)ctx;
	(void)r;
	return VS_OK; /* no change: the CAS itself bumps the version */
}

vs_err vs_ledger_fence(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	return transact(l, name, fence_fn, NULL, out);
}

static vs_err host_ok(const char *host)
{
	size_t n = strnlen(host, VS_HOST_MAX);
	bool ok = n > 0 && n < VS_HOST_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = host[i] > 0x20 && host[i] < 0x7f && host[i] != '/';
	return ok ? VS_OK : vs_fail(VS_E_USAGE, "invalid host name for an audit anchor");
}

vs_err vs_ledger_log_anchor_get(vs_ledger *l, const char *host, vs_log_anchor *a, bool *found)
{
	uint64_t version;
	VS_TRY(host_ok(host));
	return l->ops->log_anchor_get(l, host, a, &version, found);
}

vs_err vs_ledger_log_anchor_advance(vs_ledger *l, const char *host, const vs_log_anchor *a)
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
	return vs_fail(VS_E_ENV, "the audit anchor of %s kept changing; try again", host);
}

vs_err vs_ledger_log_anchor_restart(vs_ledger *l, const char *host, const vs_log_anchor *a,
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
	return vs_fail(VS_E_ENV, "the audit anchor of %s kept changing; try again", host);
}
