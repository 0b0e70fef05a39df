/* vnfsafe vnf register|status|list|start|stop|pause|resume|recover|release|retire */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vnfsafe/anchor.h"
#include "vnfsafe/ops.h"

static const char help[] =
	"Usage: vnfsafe vnf VERB NAME [OPTIONS]\n"
	"\n"
	"The lineage ledger records, for every VNF, which host runs it and at which\n"
	"generation; every change is a compare-and-swap, so of racing hosts exactly\n"
	"one wins (docs/ledger.md). This host is named by its home's host key.\n"
	"\n"
	"  register NAME [--sensitive-domain D]...  add a VNF (state REGISTERED)\n"
	"  status NAME [--json]      its record: state, host, generation, latest snapshot\n"
	"  list [--json]             every VNF in the ledger\n"
	"  start NAME [--discard-latest --reason TEXT]\n"
	"                            ACTIVE here at generation+1; this host gets the\n"
	"                            fencing token (only where it last ran, or if new).\n"
	"                            Refused if the latest snapshot is final and was\n"
	"                            taken on another host: restore it here instead, or\n"
	"                            give it up with --discard-latest (--reason required,\n"
	"                            recorded in the audit log)\n"
	"  stop | pause | resume NAME  needs this host's valid fencing token; resume\n"
	"                            of an ACTIVE VNF confirms the token (restart it\n"
	"                            after a host crash only once this succeeded)\n"
	"  recover NAME              settle whatever an interrupted operation left:\n"
	"                            fence the ledger, abort a half-done migration,\n"
	"                            finish or discard a start or restore by its\n"
	"                            activation id, drop a stale token, settle snapshots\n"
	"                            left BUILDING; safe to repeat\n"
	"  release NAME --host HOST --reason TEXT\n"
	"                            operator: asserts that HOST is dead; stops the VNF\n"
	"                            and fences HOST (generation+1), so a returning HOST\n"
	"                            is refused; what HOST wrote after the latest\n"
	"                            snapshot is given up (that snapshot becomes final).\n"
	"                            Any host may be named, this one too, except while\n"
	"                            this home holds the VNF's valid token (stop it).\n"
	"                            The reason and who released go to the audit log\n"
	"  retire NAME               REGISTERED or STOPPED -> RETIRED, for good\n"
	"\n"
	"Options: --ledger URI (sqlite:PATH or etcd:https://HOST:PORT[,...]),\n"
	"--etcd-cacert/--etcd-cert/--etcd-key/--etcd-user/--etcd-password-file\n"
	"(see 'vnfsafe --help'), --home DIR, --json. status says whether the ledger\n"
	"is authenticated, and as which etcd user.\n"
	"\n"
	"Exit status: 0 done; 1 bad arguments or unknown VNF; 3 refused by the ledger\n"
	"(fork, roll-back, stale token, wrong state); 4 ledger unreachable.\n";

static int fail(const char *verb, vs_err rc)
{
	fprintf(stderr, "vnfsafe vnf %s: %s%s\n", verb, vs_errmsg(), cli_hint());
	return rc;
}

static int usage_fail(const char *verb, const char *msg)
{
	fprintf(stderr, "vnfsafe vnf %s: %s (see 'vnfsafe vnf --help')\n", verb, msg);
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
		case 'h': fputs(help, stdout); return -1;
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
