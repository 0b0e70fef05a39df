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
#include "vnfsafe/ops.h"

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
	"  show [--json] [--vnf NAME] [--since TIME]\n"
	"        print the records (TIME: 2026-11-23, 2026-11-23T21:15:03Z or\n"
	"        @UNIX-SECONDS)\n"
	"  verify [--seed FILE] [--json]\n"
	"        check the whole log: canonical records, sequence, hash chain,\n"
	"        epochs and times, every signed checkpoint, and the ledger's anchor;\n"
	"        with --seed (written by 'vnfsafe init'), every record's MAC too.\n"
	"        Reads only: it does not repair or append.\n"
	"  checkpoint [--json]\n"
	"        sign a tree head over the whole log now (also made automatically\n"
	"        every 1000 records)\n"
	"  proof --seq N [--json]\n"
	"        RFC 6962 inclusion proof of record N in the latest signed\n"
	"        checkpoint (or the whole log when N is newer), checked before\n"
	"        it is printed\n"
	"  forward [--to HOST[:PORT] --ca FILE [--cert FILE --key FILE]\n"
	"          [--server-name NAME] [--timeout MS] [--save]] [--json]\n"
	"        send every record the collector does not have yet as RFC 5424\n"
	"        syslog over TLS (RFC 5425; docs/forwarding.md). The log is the\n"
	"        queue: a collector outage loses nothing, the next forward sends\n"
	"        it. --save keeps the settings in HOME/audit/forward.conf; then\n"
	"        every audited command forwards its record at once (and a failure\n"
	"        there is a warning, not the command's failure).\n"
	"  restart --reason TEXT [--audit-seed FILE]\n"
	"        operator only, after 'log verify' found the log damaged: audited\n"
	"        commands refuse to run while the log does not hold what the ledger\n"
	"        anchored. Moves the log aside (HOME/audit.retired-TIME, kept as\n"
	"        evidence), starts a new one (new seed to FILE, default\n"
	"        HOME/audit-seed) whose first record says why and what was\n"
	"        anchored, and counts the restart in the ledger for good ('log\n"
	"        verify' shows the count).\n"
	"\n"
	"Every verb takes --home DIR, --ledger URI and the --etcd-* options (see\n"
	"'vnfsafe --help'). On an etcd ledger, the anchor is signed with this host's\n"
	"checkpoint key; verify checks that signature, its update count against the\n"
	"key's etcd version and its create revision (kind anchor-moved), and says\n"
	"whether the ledger is authenticated.\n"
	"\n"
	"Exit status: 0 done (verify: intact); 1 bad arguments; 2 the log is\n"
	"damaged (verify prints the first bad record and the kind of damage);\n"
	"4 the log or the ledger cannot be read.\n";

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
	fprintf(stderr, "vnfsafe log %s: %s (see 'vnfsafe log --help')\n", verb, msg);
	return VS_E_USAGE;
}

static int fail(const char *verb, vs_err rc)
{
	fprintf(stderr, "vnfsafe log %s: %s%s\n", verb, vs_errmsg(), cli_hint());
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
		case 'h': fputs(help, stdout); return -1;
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

static int do_show(const largs *a, const char *dir)
{
	show_ctx c = { a, a->json ? json_array() : NULL, 0 };
	if (!a->json)
		printf("%-6s %-27s %-9s %-18s %-16s %-36s %4s %s\n", "SEQ", "TIME (UTC)", "OUTCOME",
		       "ACTION", "VNF", "SNAPSHOT", "GEN", "ACTOR: REASON");
	vs_err rc = vs_audit_read(dir, show_one, &c);
	if (rc != VS_OK) {
		json_decref(c.arr);
		return fail("show", rc);
	}
	if (c.arr)
		print_json(c.arr);
	return 0;
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static int do_verify(const largs *a, vs_home *h, const char *dir)
{
	vs_audit_seed seed;
	bool have_seed = false;
	vs_err rc = VS_OK;
	if (a->seed) {
		rc = vs_audit_seed_load(a->seed, &seed);
		if (rc != VS_OK) /* a file that is not a seed is a wrong argument */
			return fail("verify", vs_wrap(access(a->seed, R_OK) != 0 && errno == EACCES
							       ? VS_E_ENV
							       : VS_E_USAGE,
						      "--seed %s is not a usable audit seed", a->seed));
		have_seed = true;
	}
	/* The anchor: how far the ledger says this host's log went. */
	vs_ledger *l = NULL;
	vs_log_anchor anchor;
	memset(&anchor, 0, sizeof anchor);
	bool anchored = false;
	char anchor_note[512] = "";
	rc = cli_open_ledger(h, &l);
	if (rc == VS_OK)
		rc = vs_ledger_log_anchor_get(l, vs_home_host(h), &anchor, &anchored);
	/* An etcd anchor that does not parse was written by someone else. */
	bool anchor_bad = rc == VS_E_INTEGRITY && l && !strcmp(l->ops->scheme, "etcd");
	char anchor_err[256] = "";
	if (rc != VS_OK) {
		snprintf(anchor_note, sizeof anchor_note, "not checked: %s", vs_errmsg());
		snprintf(anchor_err, sizeof anchor_err, "%s", vs_errmsg());
		anchored = false;
		memset(&anchor, 0, sizeof anchor);
	}
	const char *auth = l ? vs_ledger_auth_status(l) : NULL;
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	vs_home_pub(h, pub, id);
	vs_audit_verify_opts o = { have_seed ? &seed : NULL, pub, anchored ? anchor.size : 0, NULL };
	vs_audit_report rep;
	memset(&rep, 0, sizeof rep);
	rc = vs_audit_verify(dir, &o, &rep);
	if (rc == VS_OK && anchor_bad) {
		rc = VS_E_INTEGRITY;
		rep.kind = VS_AUDIT_ANCHOR_MOVED;
		snprintf(rep.message, sizeof rep.message, "%s", anchor_err);
	}
	/* etcd: the key this log was anchored in, deleted or created anew. */
	if (rc == VS_OK && l && anchor_err[0] == 0) {
		rc = vs_audit_witness_check(dir, &anchor, anchored);
		if (rc == VS_E_INTEGRITY) {
			rep.kind = VS_AUDIT_ANCHOR_MOVED;
			snprintf(rep.message, sizeof rep.message, "%s", vs_errmsg());
		}
	}
	/* etcd: the anchor is what this host's checkpoint key last wrote there. */
	if (rc == VS_OK && anchor.form != VS_ANCHOR_PLAIN) {
		rc = vs_log_anchor_check_signed(vs_home_host(h), &anchor,
						have_seed ? seed.pub : pub);
		if (rc == VS_E_INTEGRITY) {
			rep.kind = VS_AUDIT_ANCHOR_MOVED;
			rep.seq = anchor.size;
			snprintf(rep.message, sizeof rep.message, "%s", vs_errmsg());
		}
	}
	if (rc == VS_OK && anchored) {
		rc = vs_audit_check_anchor(dir, &anchor);
		if (rc == VS_E_INTEGRITY) {
			rep.kind = VS_AUDIT_INCONSISTENT;
			rep.seq = anchor.size;
			snprintf(rep.message, sizeof rep.message, "%s", vs_errmsg());
		}
	}
	if (have_seed)
		vs_audit_seed_wipe(&seed);
	if (rc != VS_OK && rc != VS_E_INTEGRITY)
		return fail("verify", rc);
	char seedfile[4200];
	snprintf(seedfile, sizeof seedfile, "%s/audit-seed", vs_home_path(h));
	bool seed_here = exists(seedfile);
	if (anchored)
		snprintf(anchor_note, sizeof anchor_note, "%llu records%s%s",
			 (unsigned long long)anchor.size,
			 anchor.restarts ? " (this host's log was restarted by an operator)" : "",
			 anchor.form == VS_ANCHOR_SIGNED ? ", signed by this host's checkpoint key, "
							   "current in etcd" : "");
	else if (!anchor_note[0])
		snprintf(anchor_note, sizeof anchor_note, "none yet");
	if (a->json) {
		json_t *j = json_pack("{s:b,s:I,s:I,s:b,s:b,s:s}", "intact", rc == VS_OK, "records",
				      (json_int_t)rep.records, "checkpoints",
				      (json_int_t)rep.checkpoints, "macs_checked", rep.macs_checked,
				      "seed_in_home", seed_here, "anchor", anchor_note);
		if (auth)
			json_object_set_new(j, "ledger_auth", json_string(auth));
		if (rc != VS_OK)
			json_object_set_new(j, "damage",
					    json_pack("{s:s,s:I,s:I,s:I,s:s}", "kind",
						      vs_audit_damage_name(rep.kind), "seq",
						      (json_int_t)rep.seq, "line", (json_int_t)rep.line,
						      "offset", (json_int_t)rep.offset, "message",
						      rep.message));
		print_json(j);
	}
	if (rc != VS_OK) {
		fprintf(stderr, "vnfsafe log verify: %s at record %llu (line %llu, byte %llu): %s\n",
			vs_audit_damage_name(rep.kind), (unsigned long long)rep.seq,
			(unsigned long long)rep.line, (unsigned long long)rep.offset, rep.message);
		return VS_E_INTEGRITY;
	}
	if (!a->json) {
		printf("intact: %llu records, %llu signed checkpoints; MACs %s; ledger anchor: %s\n",
		       (unsigned long long)rep.records, (unsigned long long)rep.checkpoints,
		       rep.macs_checked ? "checked with the seed" : "not checked (no --seed)",
		       anchor_note);
		if (auth)
			printf("ledger: %s\n", auth);
		if (seed_here)
			printf("warning: the verification seed is still in the home (%s): whoever is "
			       "root here can forge past records\n", seedfile);
	}
	return 0;
}

static int do_checkpoint(const largs *a)
{
	vs_audit_checkpoint cp;
	vs_err rc = vs_audit_checkpoint_now(vs_session_log(g_cli.session), &cp);
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

static int do_proof(const largs *a, vs_home *h, const char *dir)
{
	if (!a->has_seq)
		return usage_fail("proof", "--seq N is required");
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN], leaf[VS_HASH_LEN], root[VS_HASH_LEN];
	uint8_t path[64][VS_HASH_LEN];
	size_t n = 0;
	vs_home_pub(h, pub, id);
	vs_audit_checkpoint cp;
	/* No checkpoint yet (VS_E_USAGE) means unsigned; a damaged or unreadable
	 * one is reported, never quietly downgraded to an unsigned proof. */
	vs_err cp_rc = vs_audit_latest_checkpoint(dir, &cp);
	if (cp_rc != VS_OK && cp_rc != VS_E_USAGE)
		return fail("proof", cp_rc);
	bool signed_cp = cp_rc == VS_OK && a->seq <= cp.size;
	if (signed_cp && vs_audit_checkpoint_verify(&cp, pub) != VS_OK)
		return fail("proof", VS_E_INTEGRITY);
	vs_err rc = vs_audit_prove_inclusion(dir, a->seq, signed_cp ? cp.size : 0, leaf, root, path,
					     &n);
	uint64_t size = signed_cp ? cp.size : 0;
	if (rc == VS_OK && !signed_cp) {
		vs_log_anchor t;
		rc = vs_audit_tail(dir, &t);
		size = t.size;
	}
	if (rc == VS_OK && signed_cp && memcmp(root, cp.root, VS_HASH_LEN) != 0)
		rc = vs_fail(VS_E_INTEGRITY, "the log's tree of %llu records does not match its "
					     "signed checkpoint", (unsigned long long)cp.size);
	if (rc == VS_OK)
		rc = vs_merkle_verify_inclusion(leaf, a->seq - 1, size, (const uint8_t *)path,
						n * VS_HASH_LEN, root);
	if (rc != VS_OK)
		return fail("proof", rc);
	char lh[2 * VS_HASH_LEN + 1], rh[2 * VS_HASH_LEN + 1], ph[2 * VS_HASH_LEN + 1];
	vs_hex(leaf, VS_HASH_LEN, lh);
	vs_hex(root, VS_HASH_LEN, rh);
	const char *against = signed_cp ? "the latest signed checkpoint" : "the whole log (unsigned)";
	if (a->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			vs_hex(path[i], VS_HASH_LEN, ph);
			json_array_append_new(arr, json_string(ph));
		}
		print_json(json_pack("{s:I,s:I,s:s,s:s,s:o,s:s}", "seq", (json_int_t)a->seq,
				     "tree_size", (json_int_t)size, "leaf_hash", lh, "root", rh,
				     "audit_path", arr, "tree", against));
		return 0;
	}
	printf("record %llu in a tree of %llu records (%s)\nleaf %s\nroot %s\n",
	       (unsigned long long)a->seq, (unsigned long long)size, against, lh, rh);
	for (size_t i = 0; i < n; i++) {
		vs_hex(path[i], VS_HASH_LEN, ph);
		printf("path %s\n", ph);
	}
	printf("verified: the path leads from the record's leaf hash to the root\n");
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

/* The old log aside, a new one in its place, its first record saying why,
 * the ledger's anchor moved to it with the restart counted. Each step can
 * be redone after a crash: running it again moves whatever is there aside. */
static int do_restart(const largs *a, vs_home *h, const char *dir)
{
	if (!a->reason || !*a->reason)
		return usage_fail("restart", "--reason TEXT is required (it opens the new log)");
	char retired[4400], seed[4400], old_seed[4400], t[32], why[9000];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof t, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(retired, sizeof retired, "%s.retired-%s", dir, t);
	for (int i = 1; exists(retired) && i < 100; i++)
		snprintf(retired, sizeof retired, "%s.retired-%s.%d", dir, t, i);
	vs_ledger *l;
	vs_log_anchor anchored, tail, now_anchor;
	bool found = false;
	vs_err rc = cli_open_ledger(h, &l);
	if (rc == VS_OK)
		rc = vs_ledger_log_anchor_get(l, vs_home_host(h), &anchored, &found);
	if (rc == VS_E_INTEGRITY && !strcmp(l->ops->scheme, "etcd"))
		rc = VS_OK, found = false; /* an etcd anchor that does not parse: replaced below */
	if (rc != VS_OK)
		return fail("restart", rc);
	bool moved = false;
	if (exists(dir)) {
		if (rename(dir, retired) != 0)
			return fail("restart", vs_fail_errno(VS_E_ENV, "cannot move %s aside", dir));
		moved = true;
	}
	snprintf(old_seed, sizeof old_seed, "%s/audit-seed", vs_home_path(h));
	if (moved && exists(old_seed)) {
		char kept[4500];
		snprintf(kept, sizeof kept, "%s/audit-seed", retired);
		if (rename(old_seed, kept) != 0)
			return fail("restart", vs_fail_errno(VS_E_ENV, "cannot move %s aside", old_seed));
	}
	snprintf(seed, sizeof seed, "%s", a->new_seed ? a->new_seed : old_seed);
	if (!a->new_seed && exists(seed))
		unlink(seed); /* a seed without its log (an interrupted restart) */
	vs_audit_opts o = { .host = vs_home_host(h), .signer = vs_home_signer(h) };
	rc = vs_fsync_dir_of(dir);
	if (rc == VS_OK)
		rc = vs_audit_init(dir, seed, vs_home_signer(h), 0, &o);
	snprintf(why, sizeof why,
		 "%s; the previous log is in %s; the ledger had anchored %llu records of it "
		 "(restart %llu)", a->reason, moved ? retired : "(none: it was gone)",
		 found ? (unsigned long long)anchored.size : 0ULL,
		 found ? (unsigned long long)anchored.restarts + 1 : 1ULL);
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	why[VS_AUDIT_REASON_MAX] = 0; /* ASCII: cut anywhere */
	vs_principal who;
	cli_principal(&who);
	vs_audit_event ev = { .actor = who.name, .has_uid = who.has_uid, .uid = who.uid,
			      .action = "log.restart", .outcome = VS_AUDIT_OUT_OK, .reason = why };
	vs_audit *au = NULL;
	if (rc == VS_OK)
		rc = vs_audit_open(&au, dir, &o);
	if (rc == VS_OK)
		rc = vs_audit_append(au, &ev, NULL);
	vs_audit_close(au);
	if (rc == VS_OK)
		rc = vs_audit_tail(dir, &tail);
	if (rc == VS_OK)
		rc = vs_ledger_log_anchor_restart(l, vs_home_host(h), &tail, &now_anchor);
	if (rc == VS_OK) /* the new log's etcd anchor key, from now on */
		rc = vs_audit_witness_note(dir, l, vs_home_host(h));
	if (rc != VS_OK)
		return fail("restart", rc);
	printf("started a new audit log (restart %llu of this host's log); the previous one is in "
	       "%s\n", (unsigned long long)now_anchor.restarts, moved ? retired : "(none)");
	fprintf(stderr, "new audit log verification seed written to %s%s\n", seed,
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
		rc = vs_home_audit_dir(h, dir, sizeof dir);
	if (rc == VS_OK && !exists(dir) && strcmp(verb, "restart") != 0)
		rc = vs_fail(VS_E_ENV, "this home has no audit log yet (%s)", dir);
	if (rc != VS_OK)
		return fail(verb, rc);
	if (!strcmp(verb, "show"))
		return do_show(&a, dir);
	if (!strcmp(verb, "verify"))
		return do_verify(&a, h, dir);
	if (!strcmp(verb, "checkpoint"))
		return do_checkpoint(&a);
	if (!strcmp(verb, "forward"))
		return do_forward(&a, dir);
	if (!strcmp(verb, "restart"))
		return do_restart(&a, h, dir);
	return do_proof(&a, h, dir);
}
