/* vnfsafe log show|verify|checkpoint|proof: the home's audit log. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "vnfsafe/forward.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/logops.h"
#include "vnfsafe/ops.h"

/* The group page, then one page per verb ('vnfsafe log VERB --help'). */
static const char help[] =
	"Usage: vnfsafe log VERB [OPTIONS]\n"
	"\n"
	"The home's audit log (docs/audit.md): one record per audited command (init,\n"
	"snapshot create/verify/restore/delete, vnf register/start/stop/pause/resume/\n"
	"recover/release/retire, log checkpoint), success or not, with who, what,\n"
	"the outcome and the reason. Records are hash-chained, MACed under a key\n"
	"that evolves one way, covered by Ed25519-signed Merkle tree heads\n"
	"(RFC 6962), and the ledger keeps how far the log went (this host's anchor),\n"
	"so that editing, deleting, inserting, reordering, truncating or replacing\n"
	"records is detected.\n"
	"\n"
	"Verbs ('vnfsafe log VERB --help' describes each):\n"
	"  show        print the records\n"
	"  verify      check the whole log, and the ledger's anchor of it\n"
	"  checkpoint  sign a tree head over the whole log now\n"
	"  proof       RFC 6962 inclusion proof of one record\n"
	"  forward     send the records to a syslog collector over TLS\n"
	"  restart     operator: start a new log after damage was found\n"
	"\n"
	"Exit status: 0 done (verify: intact); 1 bad arguments; 2 the log is\n"
	"damaged (verify prints the first bad record and the kind of damage);\n"
	"4 the log or the ledger cannot be read.\n";

/* Every verb's options beyond its own. */
static const char common_opts[] =
	"  --home DIR           state home (see 'vnfsafe --help')\n"
	"  --ledger URI         the ledger that holds this host's anchor (sqlite:PATH\n"
	"                       or etcd:https://HOST:PORT[,...]; default as for 'vnf')\n"
	"  --etcd-cacert, --etcd-cert, --etcd-key, --etcd-user, --etcd-password-file\n"
	"                       etcd TLS and credentials (see 'vnfsafe --help')\n";

static const cli_verb_page pages[] = {
	{ "show",
	  "Usage: vnfsafe log show [--vnf NAME] [--since TIME] [--json] [OPTIONS]\n"
	  "\n"
	  "Prints the records of the home's audit log, oldest first: sequence number,\n"
	  "time (UTC), outcome (ok, refused, integrity, failed), action, VNF,\n"
	  "snapshot, generation, who ran it and the reason or error. Names and\n"
	  "messages are printed escaped. Checks nothing: 'log verify' does. Reads\n"
	  "only: not audited, and works on a full disk.\n"
	  "\n"
	  "  --vnf NAME           only the records of VNF NAME\n"
	  "  --since TIME         only records from TIME on (2026-11-23,\n"
	  "                       2026-11-23T21:15:03Z or @UNIX-SECONDS)\n"
	  "  --json               print the records as a JSON array (with prev and mac)\n",
	  "Exit status:\n"
	  "  0  shown\n"
	  "  1  bad arguments\n"
	  "  2  a record cannot be parsed\n"
	  "  4  no home, no audit log, or the log cannot be read\n" },
	{ "verify",
	  "Usage: vnfsafe log verify [--seed FILE] [--json] [OPTIONS]\n"
	  "\n"
	  "Checks the whole log: canonical records, sequence, hash chain, epochs and\n"
	  "times, every signed checkpoint, and the ledger's anchor (the log holds at\n"
	  "least the records the ledger saw, unchanged; on etcd also the anchor's\n"
	  "signature, update count and create revision). With --seed, every record's\n"
	  "MAC too. Says whether the ledger is authenticated, and warns while the\n"
	  "verification seed is still in the home. A ledger that cannot be reached\n"
	  "leaves the anchor unchecked (said in the output), not the log. Reads\n"
	  "only: it does not repair or append, is not audited, and works on a full\n"
	  "disk.\n"
	  "\n"
	  "  --seed FILE          the verification seed written by 'vnfsafe init'\n"
	  "                       (or 'log restart'): checks every record's MAC\n"
	  "  --json               print the result as JSON (with the damage, if any)\n",
	  "Exit status:\n"
	  "  0  intact\n"
	  "  1  bad arguments, or FILE is not an audit seed\n"
	  "  2  the log is damaged or does not match the ledger's anchor (the first\n"
	  "     bad record, its line and byte, and the kind of damage are printed)\n"
	  "  4  no home, no audit log, or the log or FILE cannot be read\n" },
	{ "checkpoint",
	  "Usage: vnfsafe log checkpoint [--json] [OPTIONS]\n"
	  "\n"
	  "Signs a tree head (RFC 6962 Merkle root over every record, with the size\n"
	  "and time) with this host's key now, and appends it to HOME/audit/\n"
	  "checkpoints. One is also made automatically every 1000 records. Prints\n"
	  "the size, root, time and signing key id. Audited (action log.checkpoint).\n"
	  "\n"
	  "  --json               print the checkpoint as JSON\n",
	  "Exit status:\n"
	  "  0  signed\n"
	  "  1  bad arguments\n"
	  "  2  the log is damaged or does not hold what the ledger anchored\n"
	  "     (nothing done: see 'vnfsafe log verify')\n"
	  "  4  the log cannot be written, or no space left on the home's file\n"
	  "     system (checked before anything is done)\n" },
	{ "proof",
	  "Usage: vnfsafe log proof --seq N [--json] [OPTIONS]\n"
	  "\n"
	  "Prints the RFC 6962 inclusion proof of record N (the leaf hash, the root\n"
	  "and the audit path) in the latest signed checkpoint, or, when N is newer\n"
	  "than it, in the whole log (said: unsigned). The checkpoint's signature\n"
	  "and the proof are checked before anything is printed. Reads only.\n"
	  "\n"
	  "  --seq N              the record's sequence number (1, 2, ...; required)\n"
	  "  --json               print the proof as JSON\n",
	  "Exit status:\n"
	  "  0  proof printed and verified\n"
	  "  1  bad arguments, or no record N in the log\n"
	  "  2  the checkpoint's signature or the log's tree does not verify\n"
	  "  4  no home, no audit log, or the log cannot be read\n" },
	{ "forward",
	  "Usage: vnfsafe log forward [--to HOST[:PORT] --ca FILE [--cert FILE --key FILE]\n"
	  "                           [--server-name NAME] [--timeout MS] [--save]]\n"
	  "                           [--json] [OPTIONS]\n"
	  "\n"
	  "Sends every record the collector does not have yet as RFC 5424 syslog over\n"
	  "TLS (RFC 5425; docs/forwarding.md). The log is the queue: a collector\n"
	  "outage loses nothing, the next forward sends it. Without --to, uses the\n"
	  "settings saved in HOME/audit/forward.conf. Not audited itself.\n"
	  "\n"
	  "  --to HOST[:PORT]     the collector (port default 6514; [IPv6]:PORT)\n"
	  "  --ca FILE            CA that signed the collector's certificate (required\n"
	  "                       with --to)\n"
	  "  --cert FILE, --key FILE  client certificate and key (mutual TLS)\n"
	  "  --server-name NAME   the name the collector's certificate must carry\n"
	  "                       (default HOST)\n"
	  "  --timeout MS         connect and send timeout in milliseconds\n"
	  "  --save               keep the settings in HOME/audit/forward.conf; then\n"
	  "                       every audited command forwards its record at once\n"
	  "                       (a failure there is a warning, not the command's)\n"
	  "  --json               print the result as JSON\n",
	  "Exit status:\n"
	  "  0  every record sent\n"
	  "  1  bad arguments, bad settings, or no collector configured\n"
	  "  2  the collector's certificate is refused, or the log or forward.conf\n"
	  "     is damaged\n"
	  "  4  the collector cannot be reached (the records stay queued), or the\n"
	  "     log cannot be read\n" },
	{ "restart",
	  "Usage: vnfsafe log restart --reason TEXT [--audit-seed FILE] [OPTIONS]\n"
	  "\n"
	  "For the operator, after 'log verify' found the log damaged: audited\n"
	  "commands refuse to run while the log does not hold what the ledger\n"
	  "anchored. Moves the log aside (HOME/audit.retired-TIME, kept as evidence,\n"
	  "with its seed if it was in the home), starts a new one whose first record\n"
	  "(action log.restart) says why and how many records the ledger had\n"
	  "anchored, and counts the restart in the ledger for good ('log verify'\n"
	  "shows the count). Each step can be redone after a crash: run it again.\n"
	  "\n"
	  "  --reason TEXT        why (required; the new log's first record)\n"
	  "  --audit-seed FILE    write the new verification seed to FILE (default\n"
	  "                       HOME/audit-seed: move it off this host)\n",
	  "Exit status:\n"
	  "  0  a new log was started\n"
	  "  1  bad arguments (no --reason) or an unusable seed FILE\n"
	  "  2  the ledger failed its integrity check\n"
	  "  4  the ledger cannot be reached (nothing moved), or the log cannot be\n"
	  "     moved or written\n" },
};

static void print_help(const char *verb)
{
	cli_print_verb_help(pages, sizeof pages / sizeof *pages, verb, common_opts, help);
}

typedef struct {
	bool json, save;
	const char *to, *ca, *cert, *key, *server_name, *timeout, *reason, *new_seed;
	const char *vnf, *since, *seed;
	uint64_t seq;
	bool has_seq;
	int64_t since_us;
} largs;

static int usage_fail(const char *verb, const char *msg)
{
	fprintf(stderr, "vnfsafe log %s: %s (see 'vnfsafe log %s --help')\n", verb, msg, verb);
	return VS_E_USAGE;
}

static int fail(const char *verb, vs_err rc)
{
	fprintf(stderr, "vnfsafe log %s: %s%s\n", verb, cli_errmsg(), cli_hint());
	return rc;
}

/* 2026-11-23, 2026-11-23T21:15:03Z (fraction allowed) or @UNIX-SECONDS. */
static bool parse_time(const char *s, int64_t *us)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	char *end;
	if (s[0] == '@') {
		long long v = strtoll(s + 1, &end, 10);
		if (!s[1] || *end || v < 0)
			return false;
		*us = (int64_t)v * 1000000;
		return true;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end)
		return false;
	if (*end == 'T') {
		end = strptime(end + 1, "%H:%M:%S", &tm);
		if (!end)
			return false;
		if (*end == '.')
			for (end++; *end >= '0' && *end <= '9'; end++)
				;
		if (*end != 'Z')
			return false;
		end++;
	}
	if (*end)
		return false;
	time_t t = timegm(&tm);
	if (t < 0)
		return false;
	*us = (int64_t)t * 1000000;
	return true;
}

static int parse(const char *verb, int argc, char **argv, largs *a, const char *allowed)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },  { "vnf", required_argument, NULL, 'v' },
		{ "since", required_argument, NULL, 's' }, { "seed", required_argument, NULL, 'S' },
		{ "seq", required_argument, NULL, 'n' }, { "home", required_argument, NULL, 'H' },
		{ "ledger", required_argument, NULL, 'L' }, { "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, 't' }, { "ca", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' }, { "key", required_argument, NULL, 'K' },
		{ "server-name", required_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 'T' }, { "save", no_argument, NULL, 'W' },
		{ "reason", required_argument, NULL, 'R' },
		{ "audit-seed", required_argument, NULL, 'A' }, CLI_ETCD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_etcd_option(c, optarg))
			continue;
		if (c != '?' && c != 'h' && c != 'H' && c != 'L' && !strchr(allowed, c))
			return usage_fail(verb, cli_not_for_verb(opts, c, verb));
		switch (c) {
		case 'j': a->json = true; break;
		case 'v': a->vnf = optarg; break;
		case 's':
			a->since = optarg;
			if (!parse_time(optarg, &a->since_us))
				return usage_fail(verb, "--since takes 2026-11-23, 2026-11-23T21:15:03Z "
							"or @UNIX-SECONDS");
			break;
		case 'S': a->seed = optarg; break;
		case 't': a->to = optarg; break;
		case 'c': a->ca = optarg; break;
		case 'C': a->cert = optarg; break;
		case 'K': a->key = optarg; break;
		case 'N': a->server_name = optarg; break;
		case 'T': a->timeout = optarg; break;
		case 'W': a->save = true; break;
		case 'R': a->reason = optarg; break;
		case 'A': a->new_seed = optarg; break;
		case 'H': g_cli.home_arg = optarg; break;
		case 'L': g_cli.ledger_arg = optarg; break;
		case 'n': {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || v == 0 || optarg[0] == '-')
				return usage_fail(verb, "--seq takes a record number (1, 2, ...)");
			a->seq = v;
			a->has_seq = true;
			break;
		}
		case 'h': print_help(verb); return -1;
		default: return usage_fail(verb, cli_bad_option(argv, opts));
		}
	}
	if (optind < argc)
		return usage_fail(verb, "unexpected argument");
	return 0;
}

static void fmt_time(int64_t us, char *out, size_t cap)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[64];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%06dZ", base, (int)(us % 1000000));
}

typedef struct {
	const largs *a;
	json_t *arr;
	uint64_t shown;
} show_ctx;

static int show_one(const vs_audit_record *r, void *ctx)
{
	show_ctx *c = ctx;
	if (c->a->vnf && strcmp(r->vnf, c->a->vnf) != 0)
		return 0;
	if (c->a->since && r->time_us < c->a->since_us)
		return 0;
	char t[80], prev[2 * VS_HASH_LEN + 1], mac[2 * VS_HASH_LEN + 1];
	fmt_time(r->time_us, t, sizeof t);
	c->shown++;
	if (c->arr) {
		vs_hex(r->prev, VS_HASH_LEN, prev);
		vs_hex(r->mac, VS_HASH_LEN, mac);
		json_array_append_new(
			c->arr, json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "seq",
					  (json_int_t)r->seq, "time", t, "epoch", (json_int_t)r->epoch,
					  "host", r->host, "actor", r->actor, "action", r->action, "vnf",
					  r->vnf, "snapshot", r->snapshot, "generation",
					  (json_int_t)r->generation, "outcome",
					  vs_audit_outcome_name(r->outcome), "reason", r->reason, "prev",
					  prev, "mac", mac));
		if (r->has_uid)
			json_object_set_new(json_array_get(c->arr, json_array_size(c->arr) - 1),
					    "uid", json_integer(r->uid));
		return 0;
	}
	printf("%-6llu %s %-9s %-18s %-16s %-36s %4llu %s%s%s\n", (unsigned long long)r->seq, t,
	       vs_audit_outcome_name(r->outcome), cli_esc(r->action), r->vnf[0] ? cli_esc(r->vnf) : "-",
	       r->snapshot[0] ? cli_esc(r->snapshot) : "-", (unsigned long long)r->generation,
	       cli_esc(r->actor), r->reason[0] ? ": " : "", cli_esc(r->reason));
	return 0;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

static int do_show(const largs *a, const vs_home *h)
{
	show_ctx c = { a, a->json ? json_array() : NULL, 0 };
	if (!a->json)
		printf("%-6s %-27s %-9s %-18s %-16s %-36s %4s %s\n", "SEQ", "TIME (UTC)", "OUTCOME",
		       "ACTION", "VNF", "SNAPSHOT", "GEN", "ACTOR: REASON");
	vs_err rc = vs_log_read(h, show_one, &c);
	if (rc != VS_OK) {
		json_decref(c.arr);
		return fail("show", rc);
	}
	if (c.arr)
		print_json(c.arr);
	return 0;
}

static vs_err open_ledger(void *ctx, vs_ledger **l)
{
	return cli_open_ledger(ctx, l);
}

static int do_verify(const largs *a, vs_home *h)
{
	vs_log_verify_result v;
	vs_err rc = vs_log_verify(h, open_ledger, h, a->seed, &v);
	if (rc != VS_OK && rc != VS_E_INTEGRITY)
		return fail("verify", rc);
	const vs_audit_report *rep = &v.rep;
	if (a->json) {
		json_t *j = json_pack("{s:b,s:I,s:I,s:b,s:b,s:s}", "intact", rc == VS_OK, "records",
				      (json_int_t)rep->records, "checkpoints",
				      (json_int_t)rep->checkpoints, "macs_checked", rep->macs_checked,
				      "seed_in_home", v.seed_in_home, "anchor", v.anchor_note);
		if (v.ledger_auth)
			json_object_set_new(j, "ledger_auth", json_string(v.ledger_auth));
		if (rc != VS_OK)
			json_object_set_new(j, "damage",
					    json_pack("{s:s,s:I,s:I,s:I,s:s}", "kind",
						      vs_audit_damage_name(rep->kind), "seq",
						      (json_int_t)rep->seq, "line", (json_int_t)rep->line,
						      "offset", (json_int_t)rep->offset, "message",
						      rep->message));
		print_json(j);
	}
	if (rc != VS_OK) {
		fprintf(stderr, "vnfsafe log verify: %s%s\n", cli_errmsg(), cli_hint());
		return VS_E_INTEGRITY;
	}
	if (!a->json) {
		printf("intact: %llu records, %llu signed checkpoints; MACs %s; ledger anchor: %s\n",
		       (unsigned long long)rep->records, (unsigned long long)rep->checkpoints,
		       rep->macs_checked ? "checked with the seed" : "not checked (no --seed)",
		       v.anchor_note);
		if (v.ledger_auth)
			printf("ledger: %s\n", v.ledger_auth);
		if (v.seed_in_home)
			printf("warning: the verification seed is still in the home (%s): whoever is "
			       "root here can forge past records\n", v.seed_file);
	}
	return 0;
}

static int do_checkpoint(const largs *a)
{
	vs_audit_checkpoint cp;
	vs_err rc = vs_log_checkpoint(g_cli.session, &cp);
	if (rc != VS_OK)
		return fail("checkpoint", rc);
	char root[2 * VS_HASH_LEN + 1], kid[2 * VS_HASH_LEN + 1], t[80];
	vs_hex(cp.root, VS_HASH_LEN, root);
	vs_hex(cp.keyid, VS_HASH_LEN, kid);
	fmt_time(cp.time_us, t, sizeof t);
	if (a->json)
		print_json(json_pack("{s:I,s:s,s:s,s:s}", "size", (json_int_t)cp.size, "root", root,
				     "time", t, "signer", kid));
	else
		printf("checkpoint: %llu records, root %s, signed %s by host key %s\n",
		       (unsigned long long)cp.size, root, t, kid);
	return 0;
}

static int do_proof(const largs *a, vs_home *h)
{
	if (!a->has_seq)
		return usage_fail("proof", "--seq N is required");
	vs_log_proof *p = malloc(sizeof *p);
	if (!p)
		return fail("proof", vs_fail(VS_E_ENV, "out of memory"));
	vs_err rc = vs_log_prove(h, a->seq, p);
	if (rc != VS_OK) {
		free(p);
		return fail("proof", rc);
	}
	char lh[2 * VS_HASH_LEN + 1], rh[2 * VS_HASH_LEN + 1], ph[2 * VS_HASH_LEN + 1];
	vs_hex(p->leaf, VS_HASH_LEN, lh);
	vs_hex(p->root, VS_HASH_LEN, rh);
	const char *against = p->signed_cp ? "the latest signed checkpoint" : "the whole log (unsigned)";
	if (a->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < p->n; i++) {
			vs_hex(p->path[i], VS_HASH_LEN, ph);
			json_array_append_new(arr, json_string(ph));
		}
		print_json(json_pack("{s:I,s:I,s:s,s:s,s:o,s:s}", "seq", (json_int_t)a->seq,
				     "tree_size", (json_int_t)p->size, "leaf_hash", lh, "root", rh,
				     "audit_path", arr, "tree", against));
		free(p);
		return 0;
	}
	printf("record %llu in a tree of %llu records (%s)\nleaf %s\nroot %s\n",
	       (unsigned long long)a->seq, (unsigned long long)p->size, against, lh, rh);
	for (size_t i = 0; i < p->n; i++) {
		vs_hex(p->path[i], VS_HASH_LEN, ph);
		printf("path %s\n", ph);
	}
	printf("verified: the path leads from the record's leaf hash to the root\n");
	free(p);
	return 0;
}

/* forward.conf wants absolute paths (a later command runs elsewhere). */
static VS_MUST_USE vs_err absolute(const char *path, char out[4096])
{
	out[0] = 0;
	if (!path)
		return VS_OK;
	if (!realpath(path, out))
		return vs_fail_errno(VS_E_USAGE, "cannot use %s", path);
	return VS_OK;
}

/* The forward.conf text of the options, parsed by the library's strict
 * parser (one source of truth for what a valid setting is). */
static VS_MUST_USE vs_err cfg_from_args(const largs *a, vs_forward_cfg *cfg)
{
	char host[300], text[16384];
	const char *port = NULL;
	snprintf(host, sizeof host, "%s", a->to);
	char *colon = strrchr(host, ':');
	if (colon && host[0] != '[' && strchr(host, ':') == colon) {
		*colon = 0;
		port = colon + 1;
	} else if (host[0] == '[' && colon && colon > host && colon[-1] == ']') {
		*colon = 0;
		port = colon + 1;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	char ca[4096], cert[4096], key[4096];
	VS_TRY(absolute(a->ca, ca));
	VS_TRY(absolute(a->cert, cert));
	VS_TRY(absolute(a->key, key));
	int n = snprintf(text, sizeof text, "host=%s\nca=%s\n", host, ca);
	if (port)
		n += snprintf(text + n, sizeof text - (size_t)n, "port=%s\n", port);
	if (a->cert)
		n += snprintf(text + n, sizeof text - (size_t)n, "cert=%s\n", cert);
	if (a->key)
		n += snprintf(text + n, sizeof text - (size_t)n, "key=%s\n", key);
	if (a->server_name)
		n += snprintf(text + n, sizeof text - (size_t)n, "server_name=%s\n", a->server_name);
	if (a->timeout)
		n += snprintf(text + n, sizeof text - (size_t)n, "timeout_ms=%s\n", a->timeout);
	if (n >= (int)sizeof text)
		return vs_fail(VS_E_USAGE, "forwarding settings too long");
	vs_forward_cfg_init(cfg);
	return vs_forward_cfg_parse(text, (size_t)n, cfg);
}

static int do_forward(const largs *a, const char *dir)
{
	vs_forward_cfg cfg;
	bool given = a->to || a->ca || a->cert || a->key || a->server_name || a->timeout;
	vs_err rc = VS_OK;
	if (given && (!a->to || !a->ca))
		return usage_fail("forward", "--to HOST[:PORT] and --ca FILE go together");
	if (!given && a->save)
		return usage_fail("forward", "--save needs --to and --ca");
	if (given) {
		rc = cfg_from_args(a, &cfg);
	} else {
		bool present;
		rc = vs_forward_cfg_load(dir, &cfg, &present);
		if (rc == VS_OK && !present)
			return usage_fail("forward", "no collector configured: give --to HOST[:PORT] "
						     "--ca FILE (and --save to keep them)");
	}
	if (rc == VS_OK && a->save)
		rc = vs_forward_cfg_save(dir, &cfg);
	vs_forward_stats st;
	memset(&st, 0, sizeof st);
	if (rc == VS_OK)
		rc = vs_forward_pending(dir, &cfg, &st);
	if (a->json)
		print_json(json_pack("{s:b,s:s,s:i,s:I,s:I,s:I,s:b}", "ok", rc == VS_OK, "collector",
				     cfg.host, "port", (int)cfg.port, "sent", (json_int_t)st.sent,
				     "queued", (json_int_t)st.queued, "last_seq",
				     (json_int_t)st.last_seq, "torn_tail", st.torn_tail));
	if (rc != VS_OK)
		return fail("forward", rc);
	if (!a->json)
		printf("forwarded %llu record%s to %s:%u; the collector has every record up to seq "
		       "%llu%s\n", (unsigned long long)st.sent, st.sent == 1 ? "" : "s", cfg.host,
		       (unsigned)cfg.port, (unsigned long long)st.last_seq,
		       st.torn_tail ? " (a partial last record was not sent)" : "");
	return 0;
}

static int do_restart(const largs *a, vs_home *h)
{
	if (!a->reason || !*a->reason)
		return usage_fail("restart", "--reason TEXT is required (it opens the new log)");
	vs_ledger *l;
	vs_principal who;
	vs_log_restart_result r;
	cli_principal(&who);
	vs_err rc = cli_open_ledger(h, &l);
	if (rc == VS_OK)
		rc = vs_log_restart(h, l, &who, a->reason, a->new_seed, &r);
	if (rc != VS_OK)
		return fail("restart", rc);
	printf("started a new audit log (restart %llu of this host's log); the previous one is in "
	       "%s\n", (unsigned long long)r.restarts, r.moved ? r.retired : "(none)");
	fprintf(stderr, "new audit log verification seed written to %s%s\n", r.seed,
		a->new_seed ? "" : ": move it off this host");
	return 0;
}

int cmd_log(int argc, char **argv)
{
	if (argc < 2) {
		fputs("vnfsafe log: a verb is required (see 'vnfsafe log --help')\n", stderr);
		return VS_E_USAGE;
	}
	const char *verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
		fputs(help, stdout);
		return 0;
	}
	static const struct {
		const char *verb, *allowed;
	} verbs[] = {
		{ "show", "jvs" }, { "verify", "jS" }, { "checkpoint", "j" }, { "proof", "jn" },
		{ "forward", "jtcCKNTW" }, { "restart", "RA" },
	};
	const char *allowed = NULL;
	for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
		if (!strcmp(verb, verbs[i].verb))
			allowed = verbs[i].allowed;
	if (!allowed) {
		fprintf(stderr, "vnfsafe log: unknown verb '%s' (see 'vnfsafe log --help')\n", verb);
		return VS_E_USAGE;
	}
	largs a;
	memset(&a, 0, sizeof a);
	int r = parse(verb, argc - 1, argv + 1, &a, allowed);
	if (r)
		return r < 0 ? 0 : r;
	if (!strcmp(verb, "checkpoint"))
		cli_event("log.checkpoint");
	vs_home *h;
	char dir[4200];
	vs_err rc = cli_open_home(&h);
	if (rc == VS_OK)
		rc = vs_log_dir(h, strcmp(verb, "restart") != 0, dir, sizeof dir);
	if (rc != VS_OK)
		return fail(verb, rc);
	if (!strcmp(verb, "show"))
		return do_show(&a, h);
	if (!strcmp(verb, "verify"))
		return do_verify(&a, h);
	if (!strcmp(verb, "checkpoint"))
		return do_checkpoint(&a);
	if (!strcmp(verb, "forward"))
		return do_forward(&a, dir);
	if (!strcmp(verb, "restart"))
		return do_restart(&a, h);
	return do_proof(&a, h);
}
