/* vnfsafe: the command-line front end; every command is a thin user of libvnfsafe. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/nodump.h"
#include "vnfsafe/ops.h"
#include "vnfsafe/version.h"

cli_globals g_cli;

static const char usage[] =
	"Usage: vnfsafe [--home DIR] [--ledger URI] [--quiet] COMMAND [ARGS]\n"
	"\n"
	"vnfsafe makes snapshots of virtualized network functions safe: each trust\n"
	"domain of a VNF's state is encrypted with its own key, the snapshot is signed\n"
	"by the host, and nothing is restored before all of it verifies.\n"
	"\n"
	"Commands:\n"
	"  init                      create the state home (keys, keystore, catalog)\n"
	"  snapshot create           seal a VNF's state into a .vsnap file or stream\n"
	"  snapshot verify           check a snapshot completely, release nothing\n"
	"  snapshot inspect          show a snapshot's header (no keys needed)\n"
	"  snapshot restore          verify, then restore into a new directory\n"
	"  snapshot list             list the snapshots made by this home\n"
	"  snapshot delete           crypto-erase a snapshot's keys\n"
	"  vnf register|status|list  the lineage ledger: who runs which VNF, at which\n"
	"  vnf start|stop|pause|resume  generation (no fork, no roll-back)\n"
	"  vnf recover|release       settle an interrupted operation; fence a dead host\n"
	"  vnf retire                retire a stopped VNF for good\n"
	"  log show|verify           the tamper-evident audit log of this home\n"
	"  log checkpoint|proof      signed tree heads; inclusion proofs\n"
	"  log forward|restart       send it to a syslog collector; start a new one\n"
	"  version                   print the version\n"
	"\n"
	"Global options:\n"
	"  --home DIR    state home (default: $VNFSAFE_HOME, else ~/.local/share/vnfsafe)\n"
	"  --ledger URI  sqlite:PATH or etcd:https://HOST:PORT[,HOST:PORT...]\n"
	"                (http:// for local tests only: reported unauthenticated)\n"
	"                (default: $VNFSAFE_LEDGER, else sqlite:HOME/ledger.db)\n"
	"%s"
	"  -q, --quiet   no progress bar\n"
	"  -h, --help    this text; 'vnfsafe COMMAND [VERB] --help' for a command\n"
	"\n"
	"Exit status:\n"
	"  0 success; 1 usage error; 2 integrity or authenticity failure (tampered,\n"
	"  truncated, spliced, wrong key, unknown version); 3 refused by policy;\n"
	"  4 environment error (I/O, no space left, permission denied, missing home\n"
	"  or tool, ledger unreachable or its answer lost).\n"
	"\n"
	"Each command and verb has its own --help; docs/cli.md collects them and\n"
	"docs/format.md describes the snapshot format.\n";

VS_MUST_USE vs_err cli_open_home(vs_home **h)
{
	char path[4096];
	if (!g_cli.home) {
		VS_TRY(vs_open_home(g_cli.home_arg, path, sizeof path, &g_cli.home));
		vs_fault("home.opened"); /* holds the KEK: integration.coredump */
	}
	*h = g_cli.home;
	return cli_audit_open(g_cli.home);
}

/* An option wins over its environment variable; an empty variable is unset. */
static void etcd_env(const char **v, const char *name)
{
	const char *env = getenv(name);
	if (!*v && env && *env)
		*v = env;
}

VS_MUST_USE vs_err cli_open_ledger(vs_home *h, vs_ledger **l)
{
	char uri[4200];
	const char *env = getenv("VNFSAFE_LEDGER");
	if (g_cli.ledger) {
		*l = g_cli.ledger;
		return VS_OK;
	}
	if (g_cli.ledger_arg)
		snprintf(uri, sizeof uri, "%s", g_cli.ledger_arg);
	else if (env && *env)
		snprintf(uri, sizeof uri, "%s", env);
	else
		uri[0] = 0;
	vs_etcd_opts o = g_cli.etcd_arg;
	if (!strncmp(uri, "etcd:", 5)) { /* the environment speaks of etcd ledgers only */
		etcd_env(&o.cacert, "VNFSAFE_ETCD_CACERT");
		etcd_env(&o.cert, "VNFSAFE_ETCD_CERT");
		etcd_env(&o.key, "VNFSAFE_ETCD_KEY");
		etcd_env(&o.user, "VNFSAFE_ETCD_USER");
		etcd_env(&o.password_file, "VNFSAFE_ETCD_PASSWORD_FILE");
	}
	VS_TRY(vs_open_ledger(h, uri[0] ? uri : NULL, &o, &g_cli.ledger));
	*l = g_cli.ledger;
	return VS_OK;
}

const char cli_etcd_help[] =
	"  --etcd-cacert FILE   CA that signed the etcd servers' certificates\n"
	"  --etcd-cert FILE     client certificate (no CN: etcd 3.4 refuses CNs\n"
	"                       when auth is on), with --etcd-key FILE\n"
	"  --etcd-user NAME     this host's etcd user (scripts/etcd-rbac.sh), with\n"
	"  --etcd-password-file FILE  its password (one line; mode 0600, yours)\n"
	"                       (defaults: $VNFSAFE_ETCD_CACERT, _CERT, _KEY, _USER,\n"
	"                       _PASSWORD_FILE; only over etcd:https://)\n";

bool cli_etcd_option(int c, const char *arg)
{
	vs_etcd_opts *o = &g_cli.etcd_arg;
	switch (c) {
	case CLI_ETCD_CACERT: o->cacert = arg; return true;
	case CLI_ETCD_CERT: o->cert = arg; return true;
	case CLI_ETCD_KEY: o->key = arg; return true;
	case CLI_ETCD_USER: o->user = arg; return true;
	case CLI_ETCD_PWFILE: o->password_file = arg; return true;
	default: return false;
	}
}

const char *cli_not_for_verb(const struct option *opts, int c, const char *verb)
{
	static char msg[128];
	const struct option *o = opts;
	while (o->name && o->val != c)
		o++;
	snprintf(msg, sizeof msg, "option '--%s' does not apply to '%s'", o->name ? o->name : "?",
		 verb);
	return msg;
}

const char *cli_bad_option(char **argv, const struct option *opts)
{
	static char msg[160];
	const char *arg = argv[optind - 1];
	if (arg[0] == '-' && arg[1] == '-') {
		size_t n = strcspn(arg + 2, "=");
		for (const struct option *o = opts; o->name; o++)
			if (strlen(o->name) == n && !strncmp(o->name, arg + 2, n)) {
				snprintf(msg, sizeof msg, "option '--%s' %s", o->name,
					 o->has_arg ? "needs a value" : "takes no value");
				return msg;
			}
		snprintf(msg, sizeof msg, "unknown option '%.*s'", (int)(n < 60 ? n + 2 : 62), arg);
	} else if (optopt && strchr("oH", optopt)) {
		snprintf(msg, sizeof msg, "option '-%c' needs a value", optopt);
	} else {
		snprintf(msg, sizeof msg, "unknown option '-%c'", optopt ? optopt : '?');
	}
	return msg;
}

static void on_signal(int sig)
{
	(void)sig;
	vs_interrupted = 1;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe becomes a write error that cleans up, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "ledger", required_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		CLI_ETCD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	umask(077); /* every file vnfsafe creates is private */
	/* Before any key is read: no core dump or crash report holds one. */
	if (vs_no_core_dumps() != VS_OK) {
		fprintf(stderr, "vnfsafe: %s\n", vs_errmsg());
		return VS_E_ENV;
	}
	install_signals();
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'H': g_cli.home_arg = optarg; break;
		case 'L': g_cli.ledger_arg = optarg; break;
		case 'q': g_cli.quiet = true; break;
		case 'h': printf(usage, cli_etcd_help); return 0;
		case 'V': printf("vnfsafe %s\n", VNFSAFE_VERSION); return 0;
		default:
			if (cli_etcd_option(c, optarg))
				break;
			fprintf(stderr, "vnfsafe: %s (see 'vnfsafe --help')\n", cli_bad_option(argv, opts));
			return VS_E_USAGE;
		}
	}
	if (optind >= argc) {
		fputs("vnfsafe: a command is required (see 'vnfsafe --help')\n", stderr);
		return VS_E_USAGE;
	}
	const char *cmd = argv[optind];
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	optind = 0; /* 0: glibc re-initializes getopt (argument permutation included) */
	int rc;
	if (!strcmp(cmd, "init")) {
		rc = cmd_init(sub_argc, sub_argv);
	} else if (!strcmp(cmd, "snapshot")) {
		rc = cmd_snapshot(sub_argc, sub_argv);
	} else if (!strcmp(cmd, "vnf")) {
		rc = cmd_vnf(sub_argc, sub_argv);
	} else if (!strcmp(cmd, "log")) {
		rc = cmd_log(sub_argc, sub_argv);
	} else if (!strcmp(cmd, "version")) {
		printf("vnfsafe %s\n", VNFSAFE_VERSION);
		return 0;
	} else if (!strcmp(cmd, "help")) {
		printf(usage, cli_etcd_help);
		return 0;
	} else {
		fprintf(stderr, "vnfsafe: unknown command '%s' (see 'vnfsafe --help')\n", cmd);
		return VS_E_USAGE;
	}
	rc = cli_audit_finish(rc);
	vs_ledger_close(g_cli.ledger);
	vs_home_close(g_cli.home);
	return vs_exit_code((vs_err)rc);
}

const char *cli_hint(void)
{
	static char hint[400];
	const char *vnf = vs_errvnf()[0] ? cli_esc(vs_errvnf()) : "VNF";
	switch (vs_errreason()) {
	case VS_R_ROLLBACK: return " (use --allow-rollback if authorized)";
	case VS_R_NOT_FINAL: return " (use --allow-rollback to accept losing the newer state)";
	case VS_R_DISCARDS_LATEST: return " (vnf start --discard-latest --reason TEXT)";
	case VS_R_LATEST_SNAPSHOT: return "; use --force to delete it anyway";
	case VS_R_NEED_LEDGER: return " (name the VNF's ledger with --ledger, or --force)";
	case VS_R_OWN_LIVE_VNF: return " ('vnf stop' it)";
	case VS_R_NO_SNAPSHOT: return " (see 'vnfsafe snapshot list')";
	case VS_R_NEED_REASON: return " (--reason TEXT)";
	case VS_R_NO_HOME: return " (run 'vnfsafe init' first, or pass --home)";
	case VS_R_LOG_DAMAGED: return " (run 'vnfsafe log verify')";
	case VS_R_NOT_REGISTERED:
		snprintf(hint, sizeof hint, " (vnfsafe vnf register %s)", vnf);
		return hint;
	case VS_R_RECOVER:
		snprintf(hint, sizeof hint, " (run `vnfsafe vnf recover %s`)", vnf);
		return hint;
	default: return "";
	}
}

/* The option that sets each request field (vs_errfield), as the user typed it. */
static const char *field_flag(vs_field f)
{
	switch (f) {
	case VS_F_VNF: return "--vnf";
	case VS_F_ENGINE: return "--engine";
	case VS_F_SOURCE: return "--source";
	case VS_F_CHUNK_SIZE: return "--chunk-size";
	case VS_F_DOMAIN: return "--domain";
	case VS_F_TO: return "--to";
	case VS_F_AUDIT_SEED: return "--audit-seed";
	case VS_F_LEDGER: return "--ledger";
	case VS_F_ETCD_CERT: return "--etcd-cert";
	case VS_F_ETCD_KEY: return "--etcd-key";
	case VS_F_ETCD_CACERT: return "--etcd-cacert";
	case VS_F_ETCD_USER: return "--etcd-user";
	case VS_F_ETCD_PASSWORD_FILE: return "--etcd-password-file";
	case VS_F_HOME: return "--home";
	case VS_F_OUT: return "-o";
	case VS_F_NONE: break;
	}
	return NULL;
}

const char *cli_errmsg(void)
{
	static char line[1200];
	const char *flag = field_flag(vs_errfield());
	if (!flag)
		return vs_errmsg();
	snprintf(line, sizeof line, "%s: %s", flag, vs_errmsg());
	return line;
}

void cli_print_verb_help(const cli_verb_page *pages, size_t n, const char *verb,
			 const char *common_opts, const char *group_help)
{
	for (size_t i = 0; verb && i < n; i++)
		if (!strcmp(verb, pages[i].verb)) {
			printf("%s\nOptions:\n%s\n%s", pages[i].page, common_opts, pages[i].exit);
			return;
		}
	fputs(group_help, stdout);
}

const char *cli_esc(const char *s)
{
	static char bufs[8][4 * 4096 + 1];
	static unsigned next;
	char *out = bufs[next++ % 8];
	return vs_escape(s, out, sizeof bufs[0]);
}
