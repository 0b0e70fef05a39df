#ifndef VS_CLI_H
#define VS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vnfsafe/audit.h"
#include "vnfsafe/err.h"
#include "vnfsafe/home.h"
#include "vnfsafe/ledger.h"
#include "vnfsafe/session.h"

/* What the running command records in the audit log (cli/audit.c). */
typedef struct {
	const char *action; /* "snapshot.create", ...; NULL: the command is not audited */
	char vnf[VS_NAME_MAX];
	uint8_t snapshot[VS_ID_LEN]; /* zero: none */
	uint64_t generation;
	char reason[VS_AUDIT_REASON_MAX + 1]; /* the operator's --reason, or "" */
} cli_event_info;

typedef struct {
	const char *home_arg;   /* --home, may be NULL */
	const char *ledger_arg; /* --ledger, may be NULL: sqlite:<home>/ledger.db */
	vs_etcd_opts etcd_arg;  /* --etcd-*; unset ones from $VNFSAFE_ETCD_* */
	bool quiet;
	cli_event_info ev;
	/* Opened once per process, closed at exit. */
	vs_home *home;
	vs_ledger *ledger;
	vs_session *session; /* the audited command's (cli/audit.c) */
} cli_globals;

extern cli_globals g_cli;

/* The --etcd-* options, in every command that takes --ledger. */
enum { CLI_ETCD_CACERT = 0x1e0, CLI_ETCD_CERT, CLI_ETCD_KEY, CLI_ETCD_USER, CLI_ETCD_PWFILE };
#define CLI_ETCD_OPTIONS                                                                  \
	{ "etcd-cacert", required_argument, NULL, CLI_ETCD_CACERT },                      \
		{ "etcd-cert", required_argument, NULL, CLI_ETCD_CERT },                  \
		{ "etcd-key", required_argument, NULL, CLI_ETCD_KEY },                    \
		{ "etcd-user", required_argument, NULL, CLI_ETCD_USER },                  \
		{ "etcd-password-file", required_argument, NULL, CLI_ETCD_PWFILE }
/* Stores the value when c is one of them; false otherwise. */
bool cli_etcd_option(int c, const char *arg);
/* Their --help lines. */
extern const char cli_etcd_help[];
/* s escaped for the terminal (vs_escape): names and paths that come from
 * files, the catalog, the ledger or the audit log never print raw. Eight
 * results stay valid at once, enough for one printf. */
const char *cli_esc(const char *s);

/* What the operator can do about the current error, phrased with the CLI's
 * flags and verbs from its reason code (vs_errreason), or "". */
const char *cli_hint(void);
/* The current error's message, prefixed with the option that names the
 * request field it is about (vs_errfield): "--source: ...". */
const char *cli_errmsg(void);

/* A verb's own --help: its page, then the group's common options, then its
 * exit status section. */
typedef struct {
	const char *verb, *page, *exit;
} cli_verb_page;
/* Prints verb's page from pages[0..n), or group_help when verb is none of them. */
void cli_print_verb_help(const cli_verb_page *pages, size_t n, const char *verb,
			 const char *common_opts, const char *group_help);

/* Describes the option getopt just refused (unknown, or missing its value). */
struct option;
const char *cli_bad_option(char **argv, const struct option *opts);
/* "option '--NAME' does not apply to 'VERB'" for the option whose val is c. */
const char *cli_not_for_verb(const struct option *opts, int c, const char *verb);

/* Opens the resolved home (once per process) or fails with a clear message;
 * for an audited command, also its audit log (cli_audit_open). */
VS_MUST_USE vs_err cli_open_home(vs_home **h);
/* Opens --ledger, $VNFSAFE_LEDGER, or the home's embedded ledger (once). */
VS_MUST_USE vs_err cli_open_ledger(vs_home *h, vs_ledger **l);

/* The audit record of this command (cli/audit.c). Set the action before the
 * home is opened; the rest as it becomes known. */
void cli_event(const char *action);
void cli_event_vnf(const char *vnf);
void cli_event_snapshot(const uint8_t id[VS_ID_LEN]);
void cli_event_generation(uint64_t g);
/* The operator's --reason TEXT for the command (release, start
 * --discard-latest): recorded whether the command succeeds or not. */
void cli_event_reason(const char *reason);
VS_MUST_USE vs_err cli_audit_open(vs_home *h);
/* "uid:<name>" with the uid beside it: who runs this command. */
void cli_principal(vs_principal *p);
/* Prints a library notice on stderr ("vnfsafe: MSG"). */
void cli_notice(void *ctx, const char *msg);
int cli_audit_finish(int rc);

/* Progress bar on a TTY (stderr), silent otherwise. */
typedef struct {
	const char *label;
	bool enabled;
	double start, last;
	uint64_t done, total;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
void cli_progress_update(void *ctx, uint64_t done, uint64_t total);
void cli_progress_end(cli_progress *p, bool ok);

void cli_format_bytes(uint64_t n, char *out, size_t cap);
void cli_format_time(int64_t t, char *out, size_t cap);

int cmd_init(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_vnf(int argc, char **argv);
int cmd_log(int argc, char **argv);

#endif
