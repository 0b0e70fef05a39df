/* The CLI's side of the audited session (vs_session, docs/audit.md): the
 * principal from getuid(), the ledger it opens, notices on stderr, and the
 * record's fields as the command learns them. */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vnfsafe/session.h"

void cli_event(const char *action)
{
	g_cli.ev.action = action;
}

void cli_event_vnf(const char *vnf)
{
	snprintf(g_cli.ev.vnf, sizeof g_cli.ev.vnf, "%s", vnf ? vnf : "");
}

void cli_event_snapshot(const uint8_t id[VS_ID_LEN])
{
	memcpy(g_cli.ev.snapshot, id, VS_ID_LEN);
}

void cli_event_generation(uint64_t g)
{
	g_cli.ev.generation = g;
}

void cli_event_reason(const char *reason)
{
	snprintf(g_cli.ev.reason, sizeof g_cli.ev.reason, "%s", reason ? reason : "");
}

void cli_principal(vs_principal *p)
{
	uid_t uid = getuid();
	struct passwd *pw = getpwuid(uid);
	vs_ignore(vs_principal_local((uint32_t)uid, pw ? pw->pw_name : NULL, p));
}

void cli_notice(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "vnfsafe: %s\n", msg);
}

static vs_err open_ledger(void *ctx, vs_ledger **l)
{
	return cli_open_ledger(ctx, l);
}

VS_MUST_USE vs_err cli_audit_open(vs_home *h)
{
	if (!g_cli.ev.action || g_cli.session)
		return VS_OK;
	vs_principal who;
	cli_principal(&who);
	vs_session_opts o = {
		.principal = &who,
		.action = g_cli.ev.action,
		.open_ledger = open_ledger,
		.ledger_ctx = h,
		.notice = cli_notice,
	};
	return vs_session_begin(h, &o, &g_cli.session);
}

/* After the command: its record, then the ledger anchor. rc is the
 * command's exit status; the result is the process's. */
int cli_audit_finish(int rc)
{
	vs_session *s = g_cli.session;
	if (!s)
		return rc;
	g_cli.session = NULL;
	vs_session_vnf(s, g_cli.ev.vnf);
	vs_session_snapshot(s, g_cli.ev.snapshot);
	vs_session_generation(s, g_cli.ev.generation);
	vs_session_reason(s, g_cli.ev.reason);
	return (int)vs_session_end(s, (vs_err)rc);
}
