/* vnfsafe snapshot create|verify|inspect|restore|list|delete */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "vnfsafe/ops.h"

#define MAX_DOMAINS (VS_SNAP_MAX_SECTIONS - 1)

static const char help_create[] =
	"Usage: vnfsafe snapshot create --vnf NAME --engine dir --source DIR\n"
	"                               [--domain NAME=RELPATH]... -o FILE|-\n"
	"\n"
	"Seals the state of VNF NAME into a snapshot. Everything under each --domain\n"
	"path goes to that trust domain's section; the rest goes to domain 'default'.\n"
	"Each (snapshot, domain) gets a fresh AES-256-GCM data key, stored wrapped in\n"
	"this home's keystore and never in the file. The file is signed by the host.\n"
	"\n"
	"  --vnf NAME            VNF name (1-63 of A-Z a-z 0-9 . _ -)\n"
	"  --engine dir          checkpoint engine (dir: a state directory)\n"
	"  --source DIR          the state directory to capture\n"
	"  --domain NAME=RELPATH put RELPATH (relative to DIR) in trust domain NAME;\n"
	"                        repeatable; the longest matching path wins; RELPATH\n"
	"                        must be a real file or directory, not a symlink or\n"
	"                        below one (exit 1: the files behind a link would\n"
	"                        land in 'default')\n"
	"  -o, --output FILE|-   write FILE (created atomically, never overwritten),\n"
	"                        or stream to standard output with '-'\n"
	"  --chunk-size BYTES    encryption chunk size (default 262144)\n"
	"  --json                print the result as JSON\n"
	"\n"
	"Files, directories, symlinks, modes and mtimes are captured; ownership,\n"
	"hard links and set-id bits are not. Sockets, FIFOs and devices are refused.\n"
	"Quiesce the VNF first: a file whose size, mtime or ctime changes while it\n"
	"is read (appended, or rewritten anywhere) fails the capture with exit 4.\n"
	"On failure no file is left under FILE (with '-', the stream ends without\n"
	"a trailer, so it never verifies) and the data keys are erased.\n"
	"\n"
	"The VNF must be registered (vnfsafe vnf register). The snapshot carries its\n"
	"lineage and generation and becomes the latest of the lineage. A VNF that is\n"
	"live can be captured only by the host holding its fencing token; a stopped\n"
	"one only on the host where it last ran; never while MIGRATING or RETIRED.\n"
	"Every sensitive domain the VNF was registered with (--sensitive-domain)\n"
	"must be mapped by a --domain, else the capture is refused (exit 3).\n"
	"\n"
	"Exit status: 0 sealed; 1 bad arguments or unregistered VNF; 3 refused by the\n"
	"ledger, or a sensitive domain not mapped; 4 source unreadable, a file\n"
	"changed during capture, or output unwritable.\n";

static const char help_verify[] =
	"Usage: vnfsafe snapshot verify [--json] FILE|-\n"
	"\n"
	"Checks the whole snapshot without releasing any plaintext: the signer is this\n"
	"home's host key, every chunk of every trust domain authenticates under its\n"
	"data key in order, no chunk is missing, moved, spliced or appended, and the\n"
	"trailer signature holds. Reads standard input with '-'.\n"
	"\n"
	"Audited: the result goes to the audit log, so on a full disk it exits 4\n"
	"before reading anything ('snapshot inspect' still works there).\n"
	"\n"
	"  --json   print the result as JSON\n"
	"\n"
	"Exit status: 0 intact; 2 tampered, truncated, spliced, unknown version,\n"
	"signed by an untrusted key or keys not in this home; 1 bad arguments;\n"
	"4 the file cannot be read, the audit log cannot record the command, or no\n"
	"space left on the home's file system.\n";

static const char help_inspect[] =
	"Usage: vnfsafe snapshot inspect [--json] FILE\n"
	"\n"
	"Shows a snapshot's header: ids, VNF, lineage and generation, times, engine,\n"
	"signer key id, trust domains and their key ids. Needs no keys and shows no\n"
	"secret. The header is NOT verified by this command: use 'snapshot verify'.\n"
	"Needs no home, is not audited, and works on a full disk.\n"
	"\n"
	"  --json   print the header as JSON (with \"verified\": false)\n"
	"\n"
	"Exit status: 0 shown; 2 not a readable snapshot header; 1 bad arguments.\n";

static const char help_restore[] =
	"Usage: vnfsafe snapshot restore FILE|- --to DIR [--domain NAME]... [--allow-rollback]\n"
	"\n"
	"Verifies the snapshot completely, then restores it into DIR, which must not\n"
	"exist or be empty. Plaintext is written only to a private staging directory\n"
	"beside DIR and renamed into place after everything verified; on any failure\n"
	"nothing is left. With --domain, only the named trust domains are decrypted\n"
	"and restored (the others are still checked against the signature).\n"
	"Paths cannot escape DIR: '..', absolute paths and paths through symlinks\n"
	"are refused. DIR itself must not be a symlink (also not as 'LINK/'): it is\n"
	"checked before anything is activated. The staged tree stays 0700 until the\n"
	"last rename gives DIR the snapshot root's mode. Every step acts on\n"
	"directory descriptors, so a local user who can write DIR's parent (/tmp)\n"
	"cannot redirect it; stale staging directories of killed restores are\n"
	"removed only when they are real directories owned by the same user.\n"
	"\n"
	"Restoring is activating (docs/ledger.md): the VNF becomes ACTIVE on this\n"
	"host at a new generation, and this host receives its fencing token. It is\n"
	"refused while the VNF is ACTIVE, PAUSED or MIGRATING on any host (a fork),\n"
	"and for any snapshot but the latest of the VNF's lineage (a roll-back)\n"
	"unless --allow-rollback is given; the ledger then records the roll-back\n"
	"as a new generation. The latest snapshot of a STOPPED VNF counts as a\n"
	"roll-back too when it was taken while the VNF still ran (the state it\n"
	"stopped with is newer): snapshot it again now that it is stopped.\n"
	"If the ledger cannot say whether it took the activation, the staged state\n"
	"is kept for 'vnfsafe vnf recover NAME' (exit 4). A 'snapshot delete' of the\n"
	"snapshot that ends before the activation makes the restore fail (exit 2).\n"
	"If DIR is replaced after the activation (publish fails), the VNF is ACTIVE\n"
	"here and the message says where its 0700 state waits: free DIR, then\n"
	"'vnfsafe vnf recover NAME' moves it there (exit 4).\n"
	"\n"
	"  --to DIR          target directory\n"
	"  --domain NAME     restore only this trust domain (repeatable)\n"
	"  --allow-rollback  explicit authorization to restore an older snapshot\n"
	"  --json            print the result as JSON\n"
	"\n"
	"Exit status: 0 restored; 2 integrity or authenticity failure (nothing\n"
	"restored); 3 refused by the ledger (fork or roll-back; nothing restored);\n"
	"1 bad arguments, DIR not empty, or DIR's parent directory missing; 4 I/O\n"
	"error, or no space left on the home's file system.\n";

static const char help_list[] =
	"Usage: vnfsafe snapshot list [--json]\n"
	"\n"
	"Lists the snapshots this home created: id, VNF, creation time, state\n"
	"(BUILDING, AVAILABLE, FAILED, ERASED), size, trust domains and file.\n"
	"Reads this home's catalog only; not audited.\n"
	"\n"
	"  --json   print the list as JSON\n"
	"\n"
	"Exit status: 0 listed (also when empty); 1 bad arguments; 4 no home, or its\n"
	"catalog cannot be read.\n";

static const char help_delete[] =
	"Usage: vnfsafe snapshot delete [--keep-file] [--force] [--json] ID\n"
	"\n"
	"Crypto-erases snapshot ID: its data keys are deleted from the keystore (with\n"
	"SQLite secure_delete and a WAL checkpoint), so every copy of the file, wherever\n"
	"it is, becomes unreadable. The file at its recorded path is also removed when\n"
	"it is still that snapshot, unless --keep-file.\n"
	"\n"
	"The latest snapshot of a VNF that is not RETIRED is what the VNF continues\n"
	"from (docs/ledger.md): deleting it is refused unless --force, which accepts\n"
	"that the VNF can then only be started where it last ran, or rolled back.\n"
	"Keys are erased only on a definite answer from the ledger (--ledger, as for\n"
	"restore): the VNF is RETIRED, or continues from another snapshot. When the\n"
	"ledger cannot be reached or read, nothing is erased (exit 4): retry with the\n"
	"ledger the VNF lives in; a ledger that does not know the VNF is the wrong\n"
	"one (exit 3, nothing erased).\n"
	"The check and the erase hold the VNF's lock on this host: a restore of the\n"
	"snapshot that is activating finishes first; one not yet there is refused.\n"
	"\n"
	"  --keep-file  erase the keys only; leave the file\n"
	"  --force      also delete the latest snapshot of a live or stopped VNF\n"
	"  --json       print the result as JSON\n"
	"\n"
	"Exit status: 0 erased; 1 unknown ID or bad arguments; 2 the ledger is\n"
	"damaged; 3 refused (the latest snapshot of a VNF, without --force); 4 no\n"
	"answer from the ledger (nothing erased), or a keystore error.\n";

typedef struct {
	const char *help;
	const char *allowed; /* option letters this verb takes (see parse) */
	bool json;
	const char *out, *vnf, *engine, *source, *to;
	uint32_t chunk_size;
	bool keep_file;
	bool allow_rollback;
	bool force;
	vs_domain_map *domains;
	size_t ndomains;
	const char *names[MAX_DOMAINS + 1];
	size_t nnames;
	const char *arg;
} args;

static int usage_fail(const char *verb, const char *msg)
{
	fprintf(stderr, "vnfsafe snapshot %s: %s (see 'vnfsafe snapshot %s --help')\n", verb, msg, verb);
	return VS_E_USAGE;
}

static int fail(const char *verb, vs_err rc)
{
	fprintf(stderr, "vnfsafe snapshot %s: %s%s\n", verb, cli_errmsg(), cli_hint());
	return rc;
}

/* Parses the verb's options; 0 = go on, -1 = help shown, else exit code. */
static int parse(const char *verb, int argc, char **argv, args *a, bool wants_file)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' }, { "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' }, { "vnf", required_argument, NULL, 'v' },
		{ "engine", required_argument, NULL, 'e' }, { "source", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' }, { "to", required_argument, NULL, 't' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "keep-file", no_argument, NULL, 'k' }, { "help", no_argument, NULL, 'h' },
		{ "ledger", required_argument, NULL, 'L' },
		{ "allow-rollback", no_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' }, CLI_ETCD_OPTIONS, { NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0; /* one error line, ours */
	while ((c = getopt_long(argc, argv, "o:hq", opts, NULL)) != -1) {
		if (cli_etcd_option(c, optarg)) {
			if (!strchr(a->allowed, 'L'))
				return usage_fail(verb, cli_not_for_verb(opts, c, verb));
			continue; /* they go with --ledger */
		}
		if (c != '?' && !strchr(a->allowed, c))
			return usage_fail(verb, cli_not_for_verb(opts, c, verb));
		switch (c) {
		case 'H': g_cli.home_arg = optarg; break;
		case 'L': g_cli.ledger_arg = optarg; break;
		case 'r': a->allow_rollback = true; break;
		case 'f': a->force = true; break;
		case 'j': a->json = true; break;
		case 'q': g_cli.quiet = true; break;
		case 'o': a->out = optarg; break;
		case 'v': a->vnf = optarg; break;
		case 'e': a->engine = optarg; break;
		case 's': a->source = optarg; break;
		case 't': a->to = optarg; break;
		case 'k': a->keep_file = true; break;
		case 'c': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*optarg == 0 || *end || v > VS_SNAP_MAX_CHUNK || v < VS_SNAP_MIN_CHUNK)
				return usage_fail(verb, "--chunk-size must be a number of bytes between 64 and 16777216");
			a->chunk_size = (uint32_t)v;
			break;
		}
		case 'd':
			if (a->nnames >= MAX_DOMAINS)
				return usage_fail(verb, "too many --domain options");
			a->names[a->nnames++] = optarg;
			break;
		case 'h': fputs(a->help, stdout); return -1;
		default: return usage_fail(verb, cli_bad_option(argv, opts));
		}
	}
	if (wants_file) {
		if (optind != argc - 1)
			return usage_fail(verb, optind >= argc ? "FILE (or - for standard input) is required"
							       : "exactly one FILE is expected");
		a->arg = argv[optind];
	} else if (optind < argc) {
		return usage_fail(verb, "unexpected argument");
	}
	return 0;
}

static json_t *header_json(const vs_snap_header *h)
{
	char id[37], lin[37], signer[2 * VS_HASH_LEN + 1], digest[2 * VS_HASH_LEN + 1], t[32];
	vs_id_format(h->snapshot_id, id);
	vs_id_format(h->lineage_id, lin);
	vs_hex(h->signer_id, VS_HASH_LEN, signer);
	vs_hex(h->digest, VS_HASH_LEN, digest);
	json_t *secs = json_array();
	for (unsigned i = 0; i < h->nsections; i++) {
		char kid[2 * VS_ID_LEN + 1];
		vs_hex(h->sections[i].key_id, VS_ID_LEN, kid);
		json_array_append_new(secs, json_pack("{s:s,s:s,s:s}", "name", h->sections[i].name,
						      "trust_domain", h->sections[i].domain, "key_id", kid));
	}
	cli_format_time((int64_t)h->created, t, sizeof t);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:I,s:i,s:I,s:{s:s,s:s},s:o}",
			      "snapshot_id", id, "vnf", h->vnf, "engine", h->engine, "lineage_id", lin,
			      "generation", (json_int_t)h->generation, "created_at", t,
			      "signer_key_id", signer, "encryption", "AES-256-GCM",
			      "chunk_size", (json_int_t)h->chunk_size, "format_version", VS_SNAP_VERSION,
			      "header_length", (json_int_t)h->header_len, "header_checksum",
			      "algorithm", "SHA-256", "hash", digest, "sections", secs);
	if (h->expires) {
		cli_format_time((int64_t)h->expires, t, sizeof t);
		json_object_set_new(o, "expires_at", json_string(t));
	} else {
		json_object_set_new(o, "expires_at", json_null());
	}
	return o;
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

static int do_create(int argc, char **argv)
{
	args a = { .help = help_create, .allowed = "HLjqovesdch" };
	vs_domain_map doms[MAX_DOMAINS];
	int r = parse("create", argc, argv, &a, false);
	if (r)
		return r < 0 ? 0 : r;
	if (!a.vnf || !a.engine || !a.source || !a.out)
		return usage_fail("create", "--vnf, --engine, --source and -o are required");
	if (a.json && !strcmp(a.out, "-"))
		return usage_fail("create", "--json cannot share standard output with the snapshot stream");
	for (size_t i = 0; i < a.nnames; i++)
		if (vs_domain_map_parse(a.names[i], &doms[i]) != VS_OK)
			return usage_fail("create", cli_errmsg());
	vs_home *h;
	vs_ledger *l = NULL;
	cli_event("snapshot.create");
	cli_event_vnf(a.vnf);
	vs_err rc = cli_open_home(&h);
	if (rc != VS_OK)
		return fail("create", rc);
	rc = cli_open_ledger(h, &l);
	cli_progress p;
	cli_progress_init(&p, "sealing");
	vs_create_opts o = { a.vnf, a.engine, a.source, doms, a.nnames, a.out, a.chunk_size, 0,
			     p.enabled ? cli_progress_update : NULL, &p, l };
	vs_snap_result res;
	memset(&res, 0, sizeof res);
	if (rc == VS_OK)
		rc = vs_snapshot_create(h, &o, &res);
	cli_progress_end(&p, rc == VS_OK);
	cli_event_snapshot(res.header.snapshot_id);
	cli_event_generation(res.header.generation);
	if (rc != VS_OK)
		return fail("create", rc);
	char id[37];
	vs_id_format(res.header.snapshot_id, id);
	if (a.json) {
		json_t *j = header_json(&res.header);
		json_object_set_new(j, "file", json_string(a.out));
		json_object_set_new(j, "file_size", json_integer((json_int_t)res.summary.file_len));
		print_json(j);
	} else if (strcmp(a.out, "-") != 0) {
		char sz[32];
		cli_format_bytes(res.summary.file_len, sz, sizeof sz);
		printf("%s\n", id);
		fprintf(stderr, "sealed snapshot %s of %s into %s (%s, %u trust domain%s)\n", id, a.vnf,
			cli_esc(a.out), sz, res.header.nsections, res.header.nsections > 1 ? "s" : "");
	} else {
		fprintf(stderr, "sealed snapshot %s of %s to standard output\n", id, a.vnf);
	}
	return 0;
}

static bool domain_named(const args *a, const char *domain)
{
	for (size_t k = 0; k < a->nnames; k++)
		if (!strcmp(a->names[k], domain))
			return true;
	return a->nnames == 0;
}

static int do_open(const char *verb, int argc, char **argv)
{
	bool restore = !strcmp(verb, "restore");
	args a = { .help = restore ? help_restore : help_verify,
		   .allowed = restore ? "HLjqtdrh" : "HLjqh" };
	int r = parse(verb, argc, argv, &a, true);
	if (r)
		return r < 0 ? 0 : r;
	if (restore && !a.to)
		return usage_fail(verb, "--to DIR is required");
	vs_home *h;
	vs_ledger *l = NULL;
	cli_event(restore ? "snapshot.restore" : "snapshot.verify");
	vs_err rc = cli_open_home(&h);
	if (rc != VS_OK)
		return fail(verb, rc);
	if (restore)
		rc = cli_open_ledger(h, &l);
	cli_progress p;
	cli_progress_init(&p, restore ? "restoring" : "verifying");
	vs_open_opts o = { a.arg, restore ? a.to : NULL, a.nnames ? a.names : NULL, a.nnames,
			   p.enabled ? cli_progress_update : NULL, &p, l, a.allow_rollback };
	vs_snap_result res;
	vs_vnf_record rec;
	memset(&rec, 0, sizeof rec);
	memset(&res, 0, sizeof res);
	if (rc == VS_OK)
		rc = vs_snapshot_open(h, &o, &res, &rec);
	cli_progress_end(&p, rc == VS_OK);
	/* What the header claims, even if the file then failed to verify. */
	res.header.vnf[sizeof res.header.vnf - 1] = 0;
	cli_event_vnf(res.header.vnf);
	cli_event_snapshot(res.header.snapshot_id);
	cli_event_generation(restore && rc == VS_OK ? rec.generation : res.header.generation);
	if (rc != VS_OK)
		return fail(verb, rc);
	char id[37];
	uint64_t plain = 0;
	vs_id_format(res.header.snapshot_id, id);
	for (unsigned i = 0; i < res.header.nsections; i++)
		plain += res.summary.sections[i].plain_len;
	if (a.json) {
		json_t *j = header_json(&res.header);
		json_object_set_new(j, "verified", json_true());
		json_object_set_new(j, "file_size", json_integer((json_int_t)res.summary.file_len));
		json_object_set_new(j, "state_size", json_integer((json_int_t)plain));
		if (restore) {
			json_t *d = json_array();
			for (unsigned i = 0; i < res.header.nsections; i++)
				if (domain_named(&a, res.header.sections[i].domain))
					json_array_append_new(d, json_string(res.header.sections[i].domain));
			json_object_set_new(j, "restored_to", json_string(a.to));
			json_object_set_new(j, "restored_domains", d);
			json_object_set_new(j, "active_generation", json_integer((json_int_t)rec.generation));
			json_object_set_new(j, "owner", json_string(rec.owner));
		}
		print_json(j);
	} else if (restore) {
		printf("restored snapshot %s of %s into %s; %s is ACTIVE here (%s) at generation %llu\n",
		       id, res.header.vnf, cli_esc(a.to), res.header.vnf, cli_esc(rec.owner),
		       (unsigned long long)rec.generation);
	} else {
		char sz[32];
		cli_format_bytes(plain, sz, sizeof sz);
		printf("OK snapshot %s of %s: signature, %u trust domain%s and %s of state verified\n",
		       id, res.header.vnf, res.header.nsections, res.header.nsections > 1 ? "s" : "", sz);
	}
	return 0;
}

static int do_inspect(int argc, char **argv)
{
	args a = { .help = help_inspect, .allowed = "HLjqh" };
	int r = parse("inspect", argc, argv, &a, true);
	if (r)
		return r < 0 ? 0 : r;
	vs_snap_header hd;
	uint64_t size;
	vs_err rc = vs_snapshot_inspect(a.arg, &hd, &size);
	if (rc != VS_OK)
		return fail("inspect", rc);
	if (a.json) {
		json_t *j = header_json(&hd);
		json_object_set_new(j, "file_size", size ? json_integer((json_int_t)size) : json_null());
		json_object_set_new(j, "verified", json_false());
		print_json(j);
		return 0;
	}
	char id[37], lin[37], signer[2 * VS_HASH_LEN + 1], t[32], cs[32];
	vs_id_format(hd.snapshot_id, id);
	vs_id_format(hd.lineage_id, lin);
	vs_hex(hd.signer_id, VS_HASH_LEN, signer);
	cli_format_time((int64_t)hd.created, t, sizeof t);
	cli_format_bytes(hd.chunk_size, cs, sizeof cs);
	printf("snapshot     %s\nvnf          %s\nengine       %s\nlineage      %s generation %llu\n"
	       "created      %s\n", id, hd.vnf, hd.engine, lin, (unsigned long long)hd.generation, t);
	if (hd.expires)
		cli_format_time((int64_t)hd.expires, t, sizeof t);
	printf("expires      %s\nsigner key   %s\nformat       vsnap v%d, AES-256-GCM, %s chunks\n",
	       hd.expires ? t : "never", signer, VS_SNAP_VERSION, cs);
	printf("trust domains:\n");
	for (unsigned i = 0; i < hd.nsections; i++) {
		char kid[2 * VS_ID_LEN + 1];
		vs_hex(hd.sections[i].key_id, VS_ID_LEN, kid);
		printf("  %-20s key %s\n", hd.sections[i].domain, kid);
	}
	printf("integrity    not checked here: run 'vnfsafe snapshot verify %s'\n", cli_esc(a.arg));
	return 0;
}

typedef struct {
	bool json;
	json_t *arr;
} list_ctx;

static VS_MUST_USE vs_err list_one(void *ctx, const vs_catalog_entry *e)
{
	list_ctx *l = ctx;
	char t[32];
	cli_format_time(e->created, t, sizeof t);
	if (l->json) {
		json_array_append_new(l->arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "snapshot_id",
							e->id, "vnf", e->vnf, "engine", e->engine,
							"created_at", t, "state", e->state, "file_size",
							(json_int_t)e->size, "trust_domains", e->domains,
							"file", e->path));
	} else {
		char sz[32];
		cli_format_bytes(e->size, sz, sizeof sz);
		printf("%-36s  %-16s  %-20s  %-9s  %10s  %-20s  %s\n", cli_esc(e->id), cli_esc(e->vnf), t,
		       cli_esc(e->state), sz, cli_esc(e->domains), cli_esc(e->path));
	}
	return VS_OK;
}

static int do_list(int argc, char **argv)
{
	args a = { .help = help_list, .allowed = "HLjqh" };
	int r = parse("list", argc, argv, &a, false);
	if (r)
		return r < 0 ? 0 : r;
	vs_home *h;
	vs_err rc = cli_open_home(&h);
	if (rc != VS_OK)
		return fail("list", rc);
	list_ctx l = { a.json, json_array() };
	if (!a.json)
		printf("%-36s  %-16s  %-20s  %-9s  %10s  %-20s  %s\n", "ID", "VNF", "CREATED", "STATE",
		       "SIZE", "DOMAINS", "FILE");
	rc = vs_snapshot_list(h, list_one, &l);
	if (rc != VS_OK) {
		json_decref(l.arr);
		return fail("list", rc);
	}
	if (a.json)
		print_json(l.arr);
	else
		json_decref(l.arr);
	return 0;
}

static int do_delete(int argc, char **argv)
{
	args a = { .help = help_delete, .allowed = "HLjqkfh" };
	int r = parse("delete", argc, argv, &a, true);
	if (r)
		return r < 0 ? 0 : r;
	uint8_t id[VS_ID_LEN];
	if (vs_id_parse(a.arg, id) != VS_OK)
		return usage_fail("delete", cli_errmsg());
	vs_home *h;
	cli_event("snapshot.delete");
	cli_event_snapshot(id);
	vs_err rc = cli_open_home(&h);
	vs_delete_result res;
	vs_ledger *l = NULL;
	memset(&res, 0, sizeof res);
	if (rc == VS_OK && !a.force)
		rc = cli_open_ledger(h, &l);
	if (rc == VS_OK)
		rc = vs_snapshot_erase(h, l, id, a.force, a.keep_file, &res);
	cli_event_vnf(res.vnf);
	if (rc != VS_OK)
		return fail("delete", rc);
	if (a.json)
		print_json(json_pack("{s:s,s:i,s:s,s:b}", "snapshot_id", a.arg, "keys_erased",
				     res.keys_erased, "file", res.file, "file_removed", res.file_removed));
	else
		printf("erased %d data key%s of snapshot %s; %s\n", res.keys_erased,
		       res.keys_erased == 1 ? "" : "s", a.arg,
		       res.file_removed ? "file removed" : "any remaining copy of the file is now unreadable");
	return 0;
}

int cmd_snapshot(int argc, char **argv)
{
	static const char verbs[] = "create, verify, inspect, restore, list, delete";
	if (argc < 2) {
		fprintf(stderr, "vnfsafe snapshot: a verb is required (%s)\n", verbs);
		return VS_E_USAGE;
	}
	const char *verb = argv[1];
	argc--, argv++;
	if (!strcmp(verb, "create"))
		return do_create(argc, argv);
	if (!strcmp(verb, "verify") || !strcmp(verb, "restore"))
		return do_open(verb, argc, argv);
	if (!strcmp(verb, "inspect"))
		return do_inspect(argc, argv);
	if (!strcmp(verb, "list"))
		return do_list(argc, argv);
	if (!strcmp(verb, "delete"))
		return do_delete(argc, argv);
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
		printf("Usage: vnfsafe snapshot VERB [OPTIONS]\nVerbs: %s\n"
		       "'vnfsafe snapshot VERB --help' describes each.\n\n"
		       "Exit status: 0 done; 1 bad arguments; 2 integrity or authenticity failure;\n"
		       "3 refused by the ledger; 4 I/O error, no space left, or no home.\n", verbs);
		return 0;
	}
	fprintf(stderr, "vnfsafe snapshot: unknown verb '%s' (%s)\n", verb, verbs);
	return VS_E_USAGE;
}
