/* vnfsafe vnf register|status|list|start|stop|pause|resume|recover|release|retire */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vnfsafe/anchor.h"
#include "vnfsafe/ops.h"

/* The group page, then one page per verb ('vnfsafe vnf VERB --help'). */
static const char help[] =
	"Usage: vnfsafe vnf VERB NAME [OPTIONS]\n"
	"\n"
	"The lineage ledger records, for every VNF, which host runs it and at which\n"
	"generation; every change is a compare-and-swap, so of racing hosts exactly\n"
	"one wins (docs/ledger.md). This host is named by its home's host key.\n"
	"\n"
	"Verbs ('vnfsafe vnf VERB --help' describes each):\n"
	"  register NAME             add a VNF (state REGISTERED)\n"
	"  status NAME               its record: state, host, generation, latest snapshot\n"
	"  list                      every VNF in the ledger\n"
	"  start NAME                ACTIVE here at generation+1, with the fencing token\n"
	"  stop | pause | resume NAME  with this host's valid fencing token\n"
	"  recover NAME              settle whatever an interrupted operation left\n"
	"  release NAME --host HOST --reason TEXT\n"
	"                            operator: HOST is dead; stop the VNF and fence HOST\n"
	"  retire NAME               REGISTERED or STOPPED -> RETIRED, for good\n"
	"\n"
	"Exit status: 0 done; 1 bad arguments or unknown VNF; 2 the ledger, the\n"
	"keystore or the audit log failed an integrity check; 3 refused by the\n"
	"ledger (fork, roll-back, stale token, wrong state); 4 ledger unreachable,\n"
	"outcome unknown, I/O error or no space left.\n";

/* Every verb's options beyond its own. */
static const char common_opts[] =
	"  --home DIR           state home (see 'vnfsafe --help')\n"
	"  --ledger URI         sqlite:PATH or etcd:https://HOST:PORT[,HOST:PORT...]\n"
	"                       (default: $VNFSAFE_LEDGER, else sqlite:HOME/ledger.db)\n"
	"  --etcd-cacert, --etcd-cert, --etcd-key, --etcd-user, --etcd-password-file\n"
	"                       etcd TLS and credentials (see 'vnfsafe --help')\n"
	"  --json               print the record as JSON\n";

/* The exit codes every audited verb shares. */
#define AUDITED_2                                                                        \
	"  2  the ledger or the keystore failed its integrity or anti-rollback\n"       \
	"     check, or the audit log does not hold what the ledger anchored\n"        \
	"     (nothing done: see 'vnfsafe log verify')\n"
#define AUDITED_4                                                                        \
	"  4  the ledger cannot be reached or read, the audit log cannot record\n"     \
	"     the command, an I/O error, or no space left on the home's file\n"        \
	"     system (checked before anything is done)\n"

static const cli_verb_page pages[] = {
	{ "register",
	  "Usage: vnfsafe vnf register NAME [--sensitive-domain DOMAIN]... [OPTIONS]\n"
	  "\n"
	  "Adds VNF NAME to the ledger in state REGISTERED, with a new random lineage\n"
	  "id at generation 0. No host runs it yet: 'vnf start' or 'snapshot restore'\n"
	  "activates it. A name is registered once per ledger; of two hosts\n"
	  "registering the same name at once, exactly one succeeds. Audited.\n"
	  "\n"
	  "  --sensitive-domain DOMAIN  a trust domain every snapshot of this VNF must\n"
	  "                       map with --domain (else 'snapshot create' refuses,\n"
	  "                       exit 3); repeatable\n",
	  "Exit status:\n"
	  "  0  registered (the record is printed)\n"
	  "  1  bad arguments, an invalid name, or a VNF of that name is already\n"
	  "     registered\n"
	  AUDITED_2 AUDITED_4 },
	{ "status",
	  "Usage: vnfsafe vnf status NAME [OPTIONS]\n"
	  "\n"
	  "Prints VNF NAME's ledger record: state (and migration target), the host\n"
	  "that runs it or ran it last ('this host' when it is this home), generation,\n"
	  "lineage, latest snapshot, sensitive domains; then the ledger's and the\n"
	  "keystore's anti-rollback status and whether the ledger is authenticated\n"
	  "(and as which etcd user). Reads only: not audited, changes nothing, and\n"
	  "works on a full disk.\n",
	  "Exit status:\n"
	  "  0  shown\n"
	  "  1  bad arguments or unknown VNF\n"
	  "  2  the ledger or the keystore failed its integrity or anti-rollback check\n"
	  "  4  the ledger cannot be reached or read\n" },
	{ "list",
	  "Usage: vnfsafe vnf list [OPTIONS]\n"
	  "\n"
	  "Lists every VNF in the ledger: name, state, generation and host, then the\n"
	  "ledger's anti-rollback status. Reads only: not audited, changes nothing,\n"
	  "and works on a full disk.\n",
	  "Exit status:\n"
	  "  0  listed (also when empty)\n"
	  "  1  bad arguments\n"
	  "  2  the ledger or the keystore failed its integrity or anti-rollback check\n"
	  "  4  the ledger cannot be reached or read\n" },
	{ "start",
	  "Usage: vnfsafe vnf start NAME [--discard-latest --reason TEXT] [OPTIONS]\n"
	  "\n"
	  "Makes VNF NAME ACTIVE on this host at generation+1; this host receives its\n"
	  "fencing token, which every later stop, pause, resume and snapshot of the\n"
	  "live VNF must show. Allowed when the VNF is REGISTERED, or STOPPED with\n"
	  "this host as the last one that ran it. Refused while it is ACTIVE, PAUSED\n"
	  "or MIGRATING anywhere (a fork), when it is RETIRED, and when it last ran\n"
	  "on another host (its state is there: restore its latest snapshot here).\n"
	  "Also refused when the latest snapshot is final and was taken on another\n"
	  "host: restore it here instead, or give it up with --discard-latest.\n"
	  "The activation is journaled in the home first: if the ledger cannot say\n"
	  "whether it took it, 'vnfsafe vnf recover NAME' settles it. Audited.\n"
	  "\n"
	  "  --discard-latest     start although a final latest snapshot taken\n"
	  "                       elsewhere is newer than this host's state\n"
	  "  --reason TEXT        why (required with --discard-latest; recorded in\n"
	  "                       the audit log)\n",
	  "Exit status:\n"
	  "  0  ACTIVE here (the record is printed)\n"
	  "  1  bad arguments or unknown VNF\n"
	  AUDITED_2
	  "  3  refused by the ledger (fork, wrong state, another host's state, a\n"
	  "     final snapshot elsewhere)\n"
	  AUDITED_4
	  "     (also when the ledger's answer was lost: the outcome is unknown;\n"
	  "     run 'vnfsafe vnf recover NAME')\n" },
	{ "stop",
	  "Usage: vnfsafe vnf stop NAME [OPTIONS]\n"
	  "\n"
	  "Records that VNF NAME, ACTIVE or PAUSED on this host, has stopped: state\n"
	  "STOPPED, this host stays its last host, and the fencing token is dropped.\n"
	  "Needs this host's valid token: a host that was fenced (released, or\n"
	  "superseded by another activation) is refused. Stop the VNF's processes\n"
	  "first. A later 'vnf start' on this host, or a restore of a snapshot taken\n"
	  "after the stop, continues it. Audited.\n",
	  "Exit status:\n"
	  "  0  STOPPED (the record is printed)\n"
	  "  1  bad arguments or unknown VNF\n"
	  AUDITED_2
	  "  3  refused by the ledger (stale or missing token, wrong state)\n"
	  AUDITED_4 },
	{ "pause",
	  "Usage: vnfsafe vnf pause NAME [OPTIONS]\n"
	  "\n"
	  "Records that VNF NAME, ACTIVE on this host, is paused: state PAUSED, this\n"
	  "host keeps its fencing token, no other host may start or restore it.\n"
	  "Needs this host's valid token. 'vnf resume' makes it ACTIVE again.\n"
	  "Audited.\n",
	  "Exit status:\n"
	  "  0  PAUSED (the record is printed)\n"
	  "  1  bad arguments or unknown VNF\n"
	  AUDITED_2
	  "  3  refused by the ledger (stale or missing token, not ACTIVE)\n"
	  AUDITED_4 },
	{ "resume",
	  "Usage: vnfsafe vnf resume NAME [OPTIONS]\n"
	  "\n"
	  "Makes VNF NAME, PAUSED on this host, ACTIVE again. On a VNF that is already\n"
	  "ACTIVE, it is a confirming compare-and-swap on the fencing token: after a\n"
	  "host crash, or a stop whose reply was lost, restart the VNF's processes\n"
	  "only once this succeeded (a fenced host is refused). Needs this host's\n"
	  "valid token. Audited.\n",
	  "Exit status:\n"
	  "  0  ACTIVE here (the record is printed)\n"
	  "  1  bad arguments or unknown VNF\n"
	  AUDITED_2
	  "  3  refused by the ledger (stale or missing token, wrong state)\n"
	  AUDITED_4 },
	{ "recover",
	  "Usage: vnfsafe vnf recover NAME [OPTIONS]\n"
	  "\n"
	  "Settles whatever an interrupted operation on VNF NAME left on this host\n"
	  "(docs/ledger.md, \"Recovery\"): first fences the ledger (a compare-and-swap\n"
	  "that makes every earlier in-flight request of this host land or fail),\n"
	  "then aborts a half-done migration, finishes or discards a start or restore\n"
	  "by its journaled activation id (a restore's staged state is moved into its\n"
	  "target, or removed), drops a token the ledger no longer honours, and\n"
	  "settles snapshots left BUILDING. Prints what it did on standard error.\n"
	  "Never invents a token from a read, never releases another host (that is\n"
	  "'vnf release'). Safe to repeat; run it after any exit 4 of start,\n"
	  "restore or migrate. Audited.\n",
	  "Exit status:\n"
	  "  0  settled (the record is printed)\n"
	  "  1  bad arguments or unknown VNF\n"
	  AUDITED_2
	  "  3  refused by the ledger\n"
	  AUDITED_4
	  "     (nothing is lost: run it again)\n" },
	{ "release",
	  "Usage: vnfsafe vnf release NAME --host HOST --reason TEXT [OPTIONS]\n"
	  "\n"
	  "For the operator: asserts that HOST, which the ledger says runs VNF NAME\n"
	  "(ACTIVE or PAUSED), is dead. The VNF becomes STOPPED at generation+1,\n"
	  "which fences HOST: if it returns, its token is refused. What HOST wrote\n"
	  "after the latest snapshot is given up: that snapshot becomes final and\n"
	  "is what a restore continues from. Any host may be named, this one too,\n"
	  "except while this home holds the VNF's valid token (then stop it). The\n"
	  "reason and who released go to the audit log. Audited.\n"
	  "\n"
	  "  --host HOST          the dead host, as 'vnf status' names it (required)\n"
	  "  --reason TEXT        why (required; recorded in the audit log)\n",
	  "Exit status:\n"
	  "  0  released (the record is printed)\n"
	  "  1  bad arguments or unknown VNF\n"
	  AUDITED_2
	  "  3  refused by the ledger (HOST does not run it, or this home holds its\n"
	  "     valid token)\n"
	  AUDITED_4 },
	{ "retire",
	  "Usage: vnfsafe vnf retire NAME [OPTIONS]\n"
	  "\n"
	  "Retires VNF NAME for good: REGISTERED or STOPPED -> RETIRED. A RETIRED VNF\n"
	  "is never started, restored, snapshotted or migrated again, and its latest\n"
	  "snapshot may then be deleted without --force ('snapshot delete'). The\n"
	  "name stays taken in this ledger. Refused while the VNF is live (ACTIVE,\n"
	  "PAUSED, MIGRATING): stop it first. Audited.\n",
	  "Exit status:\n"
	  "  0  RETIRED (the record is printed)\n"
	  "  1  bad arguments or unknown VNF\n"
	  AUDITED_2
	  "  3  refused by the ledger (live, or already RETIRED)\n"
	  AUDITED_4 },
};

static void print_help(const char *verb)
{
	cli_print_verb_help(pages, sizeof pages / sizeof *pages, verb, common_opts, help);
}

static int fail(const char *verb, vs_err rc)
{
	fprintf(stderr, "vnfsafe vnf %s: %s%s\n", verb, cli_errmsg(), cli_hint());
	return rc;
}

static int usage_fail(const char *verb, const char *msg)
{
	fprintf(stderr, "vnfsafe vnf %s: %s (see 'vnfsafe vnf %s --help')\n", verb, msg, verb);
	return VS_E_USAGE;
}

static json_t *record_json(const vs_vnf_record *r)
{
	char lin[37], snap[37], t[32];
	vs_id_format(r->lineage, lin);
	cli_format_time(r->updated, t, sizeof t);
	json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "vnf", r->name, "state",
			      vs_vnf_state_name(r->state), "lineage_id", lin, "generation",
			      (json_int_t)r->generation, "host", r->owner, "sensitive_domains",
			      r->sensitive, "updated_at", t);
	if (r->state == VS_VNF_MIGRATING)
		json_object_set_new(o, "migrating_to", json_string(r->target));
	if (r->has_snapshot) {
		vs_id_format(r->latest_snapshot, snap);
		json_object_set_new(o, "latest_snapshot_id", json_string(snap));
		json_object_set_new(o, "latest_snapshot_generation",
				    json_integer((json_int_t)r->latest_snapshot_gen));
	} else {
		json_object_set_new(o, "latest_snapshot_id", json_null());
	}
	return o;
}

static void print_record(const vs_vnf_record *r, bool json, const char *host,
			 const char *anchor, const char *auth)
{
	if (json) {
		json_t *o = record_json(r);
		json_object_set_new(o, "this_host", json_string(host));
		json_object_set_new(o, "ledger_anti_rollback", anchor ? json_string(anchor) : json_null());
		json_object_set_new(o, "ledger_auth", auth ? json_string(auth) : json_null());
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(o);
		return;
	}
	char lin[37], snap[37] = "none";
	vs_id_format(r->lineage, lin);
	if (r->has_snapshot)
		vs_id_format(r->latest_snapshot, snap);
	printf("vnf          %s\nstate        %s%s%s\nhost         %s%s\ngeneration   %llu\n"
	       "lineage      %s\nlatest       %s\nsensitive    %s\n", r->name,
	       vs_vnf_state_name(r->state), r->state == VS_VNF_MIGRATING ? " -> " : "",
	       r->state == VS_VNF_MIGRATING ? cli_esc(r->target) : "",
	       r->owner[0] ? cli_esc(r->owner) : "-", !strcmp(r->owner, host) ? " (this host)" : "",
	       (unsigned long long)r->generation, lin, snap,
	       r->sensitive[0] ? cli_esc(r->sensitive) : "-");
	if (anchor)
		printf("anti-rollback %s\n", anchor);
	if (auth)
		printf("ledger auth  %s\n", auth);
}

typedef struct {
	bool json;
	json_t *arr;
} list_ctx;

static VS_MUST_USE vs_err list_one(void *ctx, const vs_vnf_record *r)
{
	list_ctx *c = ctx;
	if (c->json)
		json_array_append_new(c->arr, record_json(r));
	else
		printf("%-24s %-11s %6llu  %s\n", cli_esc(r->name), vs_vnf_state_name(r->state),
		       (unsigned long long)r->generation, r->owner[0] ? cli_esc(r->owner) : "-");
	return VS_OK;
}

typedef struct {
	bool json;
	const char *name, *host, *reason;
	bool discard_latest;
	char sensitive[VS_SENSITIVE_MAX];
} vargs;

static int parse(const char *verb, int argc, char **argv, vargs *a, bool wants_name)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' }, { "ledger", required_argument, NULL, 'L' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ "sensitive-domain", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'o' }, { "reason", required_argument, NULL, 'R' },
		{ "discard-latest", no_argument, NULL, 'D' }, CLI_ETCD_OPTIONS, { NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_etcd_option(c, optarg))
			continue;
		switch (c) {
		case 'H': g_cli.home_arg = optarg; break;
		case 'L': g_cli.ledger_arg = optarg; break;
		case 'j': a->json = true; break;
		case 'h': print_help(verb); return -1;
		case 'o': a->host = optarg; break;
		case 'R': a->reason = optarg; break;
		case 'D': a->discard_latest = true; break;
		case 's':
			if (strcmp(verb, "register") != 0)
				return usage_fail(verb, "--sensitive-domain applies to 'register' only");
			if (!vs_name_ok(optarg))
				return usage_fail(verb, "--sensitive-domain: not a valid trust domain name");
			if (strlen(a->sensitive) + strlen(optarg) + 2 > sizeof a->sensitive)
				return usage_fail(verb, "too many sensitive domains");
			if (a->sensitive[0])
				strcat(a->sensitive, ",");
			strcat(a->sensitive, optarg);
			break;
		default: return usage_fail(verb, cli_bad_option(argv, opts));
		}
	}
	if (a->host && strcmp(verb, "release") != 0)
		return usage_fail(verb, "--host applies to 'release' only");
	if (a->discard_latest && strcmp(verb, "start") != 0)
		return usage_fail(verb, "--discard-latest applies to 'start' only");
	bool needs_reason = !strcmp(verb, "release") || a->discard_latest;
	if (a->reason && !needs_reason)
		return usage_fail(verb, "--reason applies to 'release' and 'start --discard-latest' only");
	if (needs_reason && (!a->reason || !*a->reason))
		return usage_fail(verb, !strcmp(verb, "release")
					? "--reason TEXT is required (releasing a host asserts it is "
					  "dead; the reason goes to the audit log)"
					: "--discard-latest needs --reason TEXT (it goes to the audit log)");
	if (!strcmp(verb, "release") && !a->host)
		return usage_fail(verb, "--host HOST (the dead host) is required");
	if (wants_name) {
		if (optind != argc - 1)
			return usage_fail(verb, "exactly one VNF NAME is expected");
		a->name = argv[optind];
	} else if (optind < argc) {
		return usage_fail(verb, "unexpected argument");
	}
	return 0;
}

typedef vs_err (*vnf_op)(vs_home *, vs_ledger *, const char *, vs_vnf_record *);

static VS_MUST_USE vs_err run(const char *verb, const vargs *a, vs_home *h, vs_ledger *l, vs_vnf_record *r)
{
	static const struct {
		const char *verb;
		vnf_op op;
	} ops[] = {
		{ "stop", vs_vnf_stop }, { "pause", vs_vnf_pause }, { "resume", vs_vnf_resume },
	};
	if (!strcmp(verb, "start"))
		return vs_vnf_start(h, l, a->name, a->discard_latest ? a->reason : NULL, r);
	for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
		if (!strcmp(verb, ops[i].verb))
			return ops[i].op(h, l, a->name, r);
	if (!strcmp(verb, "register"))
		return vs_vnf_register(l, a->name, a->sensitive, r);
	if (!strcmp(verb, "status"))
		return vs_vnf_status(l, a->name, r);
	if (!strcmp(verb, "retire"))
		return vs_vnf_retire(l, a->name, r);
	if (!strcmp(verb, "release"))
		return vs_vnf_release(h, l, a->name, a->host, a->reason, r);
	char actions[2048];
	VS_TRY(vs_vnf_recover(h, l, a->name, r, actions, sizeof actions));
	if (!a->json)
		fputs(actions, stderr);
	return VS_OK;
}

int cmd_vnf(int argc, char **argv)
{
	static const char *verbs[] = { "register", "status", "list", "start", "stop", "pause",
				       "resume", "recover", "release", "retire" };
	if (argc < 2) {
		fputs("vnfsafe vnf: a verb is required (see 'vnfsafe vnf --help')\n", stderr);
		return VS_E_USAGE;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
		fputs(help, stdout);
		return 0;
	}
	bool known = false;
	for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
		known |= !strcmp(verb, verbs[i]);
	if (!known) {
		fprintf(stderr, "vnfsafe vnf: unknown verb '%s' (see 'vnfsafe vnf --help')\n", verb);
		return VS_E_USAGE;
	}
	vargs a;
	memset(&a, 0, sizeof a);
	bool is_list = !strcmp(verb, "list");
	int r = parse(verb, argc - 1, argv + 1, &a, !is_list);
	if (r)
		return r < 0 ? 0 : r;
	vs_home *h = NULL;
	vs_ledger *l = NULL;
	static char action[32];
	if (!is_list && strcmp(verb, "status") != 0) {
		snprintf(action, sizeof action, "vnf.%s", verb);
		cli_event(action);
		cli_event_vnf(a.name);
		if (a.reason)
			cli_event_reason(a.reason);
	}
	vs_err rc = cli_open_home(&h);
	if (rc == VS_OK)
		rc = cli_open_ledger(h, &l);
	vs_vnf_record rec;
	list_ctx lc = { a.json, a.json ? json_array() : NULL };
	if (rc == VS_OK && is_list)
		rc = vs_vnf_list(l, list_one, &lc);
	else if (rc == VS_OK)
		rc = run(verb, &a, h, l, &rec);
	if (rc == VS_OK && !is_list)
		cli_event_generation(rec.generation);
	vs_host_notes notes;
	vs_host_notes_get(h, l, &notes);
	const char *anchor = notes.ledger_anchor;
	if (rc == VS_OK && is_list && a.json) {
		char *s = json_dumps(lc.arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
	} else if (rc == VS_OK && is_list && anchor) {
		printf("anti-rollback %s\n", anchor);
	} else if (rc == VS_OK && !is_list) {
		print_record(&rec, a.json, notes.host, anchor, notes.ledger_auth);
		if (!a.json)
			printf("keystore anti-rollback %s\n", notes.keystore);
	}
	json_decref(lc.arr);
	return rc == VS_OK ? 0 : fail(verb, rc);
}
