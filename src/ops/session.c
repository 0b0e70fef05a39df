/* Every audited operation leaves one record in the home's audit log,
 * success or not, and moves this host's anchor in the ledger (docs/audit.md).
 * The log is opened before the operation does anything: an operation that
 * cannot be recorded does not run. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/forward.h"
#include "vnfsafe/ops.h"
#include "vnfsafe/session.h"

struct vs_session {
	vs_home *home;
	vs_audit *log;
	vs_session_opts o;
	vs_principal who;
	char action[VS_AUDIT_ACTION_MAX + 1];
	char vnf[VS_NAME_MAX];
	char snapshot[37];
	uint64_t generation;
	char reason[VS_AUDIT_REASON_MAX + 1];
};

/* Messages can quote untrusted bytes (paths, names): the record keeps
 * printable ASCII and says '?' for the rest. */
static void ascii_only(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

VS_MUST_USE vs_err vs_principal_local(uint32_t uid, const char *user, vs_principal *p)
{
	memset(p, 0, sizeof *p);
	if (user && *user)
		snprintf(p->name, sizeof p->name, "uid:%s", user);
	else
		snprintf(p->name, sizeof p->name, "uid:%u", (unsigned)uid);
	ascii_only(p->name);
	p->has_uid = true;
	p->uid = uid;
	return VS_OK;
}

VS_MUST_USE vs_err vs_principal_cert(const char *identity, vs_principal *p)
{
	memset(p, 0, sizeof *p);
	if (!identity || !*identity || strlen(identity) + 5 > VS_AUDIT_ACTOR_MAX)
		return vs_fail(VS_E_USAGE, "a certificate principal needs an identity of 1-%d bytes",
			       VS_AUDIT_ACTOR_MAX - 5);
	snprintf(p->name, sizeof p->name, "cert:%s", identity);
	ascii_only(p->name);
	return VS_OK;
}

__attribute__((format(printf, 2, 3))) static void notice(const vs_session_opts *o, const char *fmt,
							 ...)
{
	char msg[2048];
	va_list ap;
	if (!o->notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	o->notice(o->notice_ctx, msg);
}

static VS_MUST_USE vs_err open_ledger(const vs_session_opts *o, vs_ledger **l)
{
	if (!o->open_ledger)
		return vs_fail(VS_E_ENV, "no ledger");
	return o->open_ledger(o->ledger_ctx, l);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* A home made before the audit log existed gets one now; its seed stays in
 * the home until the operator moves it (said once, here). */
static VS_MUST_USE vs_err ensure_log(vs_home *h, const vs_session_opts *so, const char *dir)
{
	char params[4300], seed[4300];
	snprintf(params, sizeof params, "%s/params", dir);
	if (exists(params))
		return VS_OK;
	/* Gone, not new, if the ledger remembers records of it; new only when
	 * the ledger says it never anchored one (no answer: nothing starts). */
	vs_ledger *l;
	vs_log_anchor a;
	bool found = false;
	vs_err rc = open_ledger(so, &l);
	if (rc == VS_OK)
		rc = vs_ledger_log_anchor_get(l, vs_home_host(h), &a, &found);
	if (rc != VS_OK)
		return vs_wrap(VS_E_ENV, "the audit log of this home is missing (%s) and the ledger "
					 "cannot say whether it anchored records of it", dir);
	if (found)
		return vs_fail(VS_E_INTEGRITY, "the audit log of this home is gone (%s), though the "
					       "ledger anchored %llu records of it; nothing done",
			       dir, (unsigned long long)a.size);
	snprintf(seed, sizeof seed, "%s/audit-seed", vs_home_path(h));
	/* A seed without its log is what a crash during 'init' leaves: useless,
	 * and in the way of a new one. */
	if (!exists(dir) && exists(seed))
		unlink(seed);
	vs_audit_opts o = { .host = vs_home_host(h), .signer = vs_home_signer(h) };
	VS_TRY(vs_audit_init(dir, seed, vs_home_signer(h), 0, &o));
	char esc[4 * sizeof seed + 1];
	notice(so, "started the audit log of this home; its verification seed is %s: move it off "
		   "this host", vs_escape(seed, esc, sizeof esc));
	return VS_OK;
}

static VS_MUST_USE vs_err check_signed_anchor(vs_home *h, const vs_log_anchor *a)
{
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	vs_home_pub(h, pub, id);
	return vs_log_anchor_check_signed(vs_home_host(h), a, pub);
}

/* Fail closed: a log that lost what the ledger anchored (truncated,
 * replaced, rolled back) takes no more records until an operator has
 * looked at it. An unreachable ledger only delays the check (said at the
 * end of the operation). */
static VS_MUST_USE vs_err check_log(vs_session *s, const char *dir)
{
	vs_ledger *l;
	vs_log_anchor a;
	bool found = false;
	if (open_ledger(&s->o, &l) != VS_OK ||
	    vs_ledger_log_anchor_get(l, vs_home_host(s->home), &a, &found) != VS_OK)
		return VS_OK;
	vs_err rc = vs_audit_witness_check(dir, &a, found); /* etcd: key deleted? */
	if (rc == VS_OK && found)
		rc = vs_audit_check_anchor(dir, &a);
	if (rc == VS_OK && found && a.form != VS_ANCHOR_PLAIN) /* etcd: what this host signed */
		rc = check_signed_anchor(s->home, &a);
	return rc == VS_E_INTEGRITY ? vs_wrap(rc, "nothing done") : VS_OK;
}

VS_MUST_USE vs_err vs_session_begin(vs_home *h, const vs_session_opts *o, vs_session **out)
{
	*out = NULL;
	if (!o->principal || !o->action)
		return vs_fail(VS_E_USAGE, "an audited session needs a principal and an action");
	vs_session *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	s->home = h;
	s->o = *o;
	s->who = *o->principal;
	s->o.principal = &s->who;
	snprintf(s->action, sizeof s->action, "%s", o->action);
	char dir[4200];
	vs_err rc = vs_home_audit_dir(h, dir, sizeof dir);
	if (rc == VS_OK)
		rc = ensure_log(h, o, dir);
	vs_audit_opts ao = { .host = vs_home_host(h), .signer = vs_home_signer(h) };
	if (rc == VS_OK) {
		rc = vs_audit_open(&s->log, dir, &ao);
		if (rc != VS_OK)
			rc = vs_wrap(rc, "the audit log cannot record this command, so it does not run");
	} else if (rc != VS_E_INTEGRITY) {
		rc = vs_wrap(rc, "the audit log cannot record this command, so it does not run");
	}
	if (rc == VS_OK)
		rc = check_log(s, dir);
	if (rc != VS_OK) {
		vs_audit_close(s->log);
		free(s);
		return rc;
	}
	*out = s;
	return VS_OK;
}

void vs_session_vnf(vs_session *s, const char *vnf)
{
	const char *v = !vnf || !*vnf ? "" : vs_name_ok(vnf) ? vnf : "(invalid name)";
	if (s)
		snprintf(s->vnf, sizeof s->vnf, "%s", v);
}

void vs_session_snapshot(vs_session *s, const uint8_t id[VS_ID_LEN])
{
	static const uint8_t zero[VS_ID_LEN];
	if (s && memcmp(id, zero, VS_ID_LEN) != 0)
		vs_id_format(id, s->snapshot);
}

void vs_session_generation(vs_session *s, uint64_t g)
{
	if (s)
		s->generation = g;
}

void vs_session_reason(vs_session *s, const char *reason)
{
	if (s)
		snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
}

vs_audit *vs_session_log(vs_session *s)
{
	return s ? s->log : NULL;
}

/* With a collector configured (log forward --save), the record leaves the
 * host at once; if the collector is away it stays queued (the log is the
 * queue) and the next operation or 'log forward' sends it. A short timeout:
 * the operation is done already. */
static void forward(const vs_session_opts *o, const char *dir)
{
	vs_forward_cfg cfg;
	bool present = false;
	vs_forward_stats st;
	if (vs_forward_cfg_load(dir, &cfg, &present) != VS_OK) {
		notice(o, "audit forwarding: %s", vs_errmsg());
		return;
	}
	if (!present)
		return;
	if (cfg.timeout_ms > 3000)
		cfg.timeout_ms = 3000;
	memset(&st, 0, sizeof st);
	if (vs_forward_pending(dir, &cfg, &st) != VS_OK)
		notice(o, "audit forwarding: %s; %llu record%s queued to forward later",
		       vs_errmsg(), (unsigned long long)st.queued, st.queued == 1 ? "" : "s");
}

/* Appends s, cut at cap (the record's text is ASCII by then: any cut is fine). */
static void append(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst), add = strlen(s);
	if (n + 1 >= cap)
		return;
	if (add > cap - 1 - n)
		add = cap - 1 - n;
	memcpy(dst + n, s, add);
	dst[n + add] = 0;
}

static vs_audit_outcome outcome_of(vs_err rc)
{
	return rc == VS_OK		? VS_AUDIT_OUT_OK
	       : rc == VS_E_POLICY	? VS_AUDIT_OUT_REFUSED
	       : rc == VS_E_INTEGRITY ? VS_AUDIT_OUT_INTEGRITY /* VS_E_UNKNOWN: failed */
				      : VS_AUDIT_OUT_FAILED;
}

static VS_MUST_USE vs_err record(vs_session *s, vs_err rc, uint64_t *seq)
{
	char reason[VS_AUDIT_REASON_MAX + 1] = "";
	if (s->reason[0]) {
		append(reason, sizeof reason, "operator's reason: ");
		append(reason, sizeof reason, s->reason);
		if (rc != VS_OK) {
			append(reason, sizeof reason, "; ");
			append(reason, sizeof reason, vs_errmsg());
		}
	} else if (rc != VS_OK)
		snprintf(reason, sizeof reason, "%s", vs_errmsg());
	ascii_only(reason);
	vs_audit_event ev = {
		.actor = s->who.name,
		.has_uid = s->who.has_uid,
		.uid = s->who.uid,
		.action = s->action,
		.vnf = s->vnf,
		.snapshot = s->snapshot,
		.generation = s->generation,
		.outcome = outcome_of(rc),
		.reason = reason,
	};
	vs_err arc = vs_audit_append(s->log, &ev, seq);
	vs_audit_close(s->log);
	s->log = NULL;
	return arc;
}

VS_MUST_USE vs_err vs_session_end(vs_session *s, vs_err rc)
{
	if (!s)
		return rc;
	uint64_t seq = 0;
	char msg[1024], vnf[256];
	vs_reason why = vs_errreason(); /* the operation's, for the caller */
	vs_field field = vs_errfield();
	snprintf(msg, sizeof msg, "%s", vs_errmsg());
	snprintf(vnf, sizeof vnf, "%s", vs_errvnf());
	vs_err arc = record(s, rc, &seq);
	if (arc != VS_OK) {
		notice(&s->o, "audit log: this command was not recorded: %s", vs_errmsg());
		free(s);
		return rc ? rc : VS_E_ENV;
	}
	/* The anchor: where the ledger says this host's log stands. */
	char dir[4200];
	vs_ledger *l;
	vs_err lrc = vs_home_audit_dir(s->home, dir, sizeof dir);
	if (lrc == VS_OK)
		lrc = open_ledger(&s->o, &l);
	if (lrc == VS_OK)
		lrc = vs_audit_anchor_sync(dir, l, vs_home_host(s->home), NULL);
	if (lrc == VS_E_INTEGRITY) {
		notice(&s->o, "audit log: %s", vs_errmsg());
		free(s);
		return rc ? rc : VS_E_INTEGRITY;
	}
	if (lrc != VS_OK)
		notice(&s->o, "audit log: record %llu written, but its anchor in the ledger was not "
			      "advanced: %s", (unsigned long long)seq, vs_errmsg());
	forward(&s->o, dir);
	free(s);
	if (rc != VS_OK) /* the caller reports the operation's own message */
		return vs_set_field(vs_refuse(rc, why, vnf[0] ? vnf : NULL, "%s", msg), field);
	return rc;
}
