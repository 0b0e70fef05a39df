/* Every audited command leaves one record in the home's audit log, success
 * or not, and moves this host's anchor in the ledger (docs/audit.md). The
 * log is opened with the home, before the command does anything: a command
 * that cannot be recorded does not run. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "vnfsafe/forward.h"
#include "vnfsafe/ops.h"

void cli_event(const char *action)
{
	g_cli.ev.action = action;
}

/* vnf may come from an unverified header: only a valid name is recorded. */
void cli_event_vnf(const char *vnf)
{
	const char *v = !vnf || !*vnf ? "" : vs_name_ok(vnf) ? vnf : "(invalid name)";
	snprintf(g_cli.ev.vnf, sizeof g_cli.ev.vnf, "%s", v);
}

void cli_event_snapshot(const uint8_t id[VS_ID_LEN])
{
	static const uint8_t zero[VS_ID_LEN];
	if (memcmp(id, zero, VS_ID_LEN) != 0)
		vs_id_format(id, g_cli.ev.snapshot);
}

void cli_event_generation(uint64_t g)
{
	g_cli.ev.generation = g;
}

void cli_event_reason(const char *reason)
{
	snprintf(g_cli.ev.reason, sizeof g_cli.ev.reason, "%s", reason ? reason : "");
}

void cli_actor(char *out, size_t cap)
{
	uid_t uid = getuid();
	struct passwd *pw = getpwuid(uid);
	if (pw && pw->pw_name)
		snprintf(out, cap, "uid:%u(%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(out, cap, "uid:%u", (unsigned)uid);
}

/* Messages can quote untrusted bytes (paths, names): the record keeps
 * printable ASCII and says '?' for the rest. */
static void ascii_only(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* A home made before the audit log existed gets one now; its seed stays in
 * the home until the operator moves it (said once, here). */
static VS_MUST_USE vs_err ensure_log(vs_home *h, const char *dir)
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
	vs_err rc = cli_open_ledger(h, &l);
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
	fprintf(stderr, "vnfsafe: started the audit log of this home; its verification seed is %s: "
			"move it off this host\n", cli_esc(seed));
	return VS_OK;
}

static VS_MUST_USE vs_err check_signed_anchor(vs_home *h, const vs_log_anchor *a)
{
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	vs_home_pub(h, pub, id);
	return vs_log_anchor_check_signed(vs_home_host(h), a, pub);
}

VS_MUST_USE vs_err cli_audit_open(vs_home *h)
{
	if (!g_cli.ev.action || g_cli.audit)
		return VS_OK;
	char dir[4200];
	VS_TRY(vs_home_audit_dir(h, dir, sizeof dir));
	vs_err rc = ensure_log(h, dir);
	vs_audit_opts o = { .host = vs_home_host(h), .signer = vs_home_signer(h) };
	if (rc == VS_E_INTEGRITY)
		return rc;
	if (rc == VS_OK)
		rc = vs_audit_open(&g_cli.audit, dir, &o);
	if (rc != VS_OK)
		return vs_wrap(rc, "the audit log cannot record this command, so it does not run");
	/* Fail closed: a log that lost what the ledger anchored (truncated,
	 * replaced, rolled back) takes no more records until an operator has
	 * looked at it ('vnfsafe log verify'). An unreachable ledger only
	 * delays the check (said at the end of the command). */
	vs_ledger *l;
	vs_log_anchor a;
	bool found = false;
	if (cli_open_ledger(h, &l) == VS_OK &&
	    vs_ledger_log_anchor_get(l, vs_home_host(h), &a, &found) == VS_OK) {
		rc = vs_audit_witness_check(dir, &a, found); /* etcd: key deleted? */
		if (rc == VS_OK && found)
			rc = vs_audit_check_anchor(dir, &a);
		if (rc == VS_OK && found && a.form != VS_ANCHOR_PLAIN) /* etcd: what this host signed */
			rc = check_signed_anchor(h, &a);
		if (rc == VS_E_INTEGRITY) {
			vs_audit_close(g_cli.audit);
			g_cli.audit = NULL;
			return vs_wrap(rc, "nothing done");
		}
	}
	return VS_OK;
}

/* With a collector configured (log forward --save), the record leaves the
 * host at once; if the collector is away it stays queued (the log is the
 * queue) and the next command or 'log forward' sends it. A short timeout:
 * the command is done already. */
static void forward(const char *dir)
{
	vs_forward_cfg cfg;
	bool present = false;
	vs_forward_stats st;
	if (vs_forward_cfg_load(dir, &cfg, &present) != VS_OK) {
		fprintf(stderr, "vnfsafe: audit forwarding: %s\n", vs_errmsg());
		return;
	}
	if (!present)
		return;
	if (cfg.timeout_ms > 3000)
		cfg.timeout_ms = 3000;
	memset(&st, 0, sizeof st);
	if (vs_forward_pending(dir, &cfg, &st) != VS_OK)
		fprintf(stderr, "vnfsafe: audit forwarding: %s; %llu record%s queued for 'vnfsafe log "
				"forward'\n", vs_errmsg(), (unsigned long long)st.queued,
			st.queued == 1 ? "" : "s");
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

/* After the command: its record, then the ledger anchor. rc is the
 * command's exit status; the result is the process's. */
int cli_audit_finish(int rc)
{
	if (!g_cli.audit)
		return rc;
	char reason[VS_AUDIT_REASON_MAX + 1] = "", who[128];
	if (g_cli.ev.reason[0]) {
		append(reason, sizeof reason, "operator's reason: ");
		append(reason, sizeof reason, g_cli.ev.reason);
		if (rc != 0) {
			append(reason, sizeof reason, "; ");
			append(reason, sizeof reason, vs_errmsg());
		}
	} else if (rc != 0)
		snprintf(reason, sizeof reason, "%s", vs_errmsg());
	cli_actor(who, sizeof who);
	ascii_only(reason);
	ascii_only(who);
	vs_audit_event ev = {
		.actor = who,
		.action = g_cli.ev.action,
		.vnf = g_cli.ev.vnf,
		.snapshot = g_cli.ev.snapshot,
		.generation = g_cli.ev.generation,
		.outcome = rc == 0		   ? VS_AUDIT_OUT_OK
			   : rc == VS_E_POLICY	   ? VS_AUDIT_OUT_REFUSED
			   : rc == VS_E_INTEGRITY ? VS_AUDIT_OUT_INTEGRITY
						   : VS_AUDIT_OUT_FAILED,
		.reason = reason,
	};
	uint64_t seq;
	vs_err arc = vs_audit_append(g_cli.audit, &ev, &seq);
	vs_audit_close(g_cli.audit);
	g_cli.audit = NULL;
	if (arc != VS_OK) {
		fprintf(stderr, "vnfsafe: audit log: this command was not recorded: %s\n", vs_errmsg());
		return rc ? rc : VS_E_ENV;
	}
	/* The anchor: where the ledger says this host's log stands. */
	char dir[4200];
	vs_ledger *l = g_cli.ledger;
	vs_err lrc = vs_home_audit_dir(g_cli.home, dir, sizeof dir);
	if (lrc == VS_OK && !l)
		lrc = cli_open_ledger(g_cli.home, &l);
	if (lrc == VS_OK)
		lrc = vs_audit_anchor_sync(dir, l, vs_home_host(g_cli.home), NULL);
	if (lrc == VS_E_INTEGRITY) {
		fprintf(stderr, "vnfsafe: audit log: %s\n", vs_errmsg());
		return rc ? rc : VS_E_INTEGRITY;
	}
	if (lrc != VS_OK)
		fprintf(stderr, "vnfsafe: audit log: record %llu written, but its anchor in the ledger "
				"was not advanced: %s\n", (unsigned long long)seq, vs_errmsg());
	forward(dir);
	return rc;
}
