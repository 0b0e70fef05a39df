#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "vnfsafe/crypto.h"
#include "vnfsafe/ops.h"

static const char help[] =
	"Usage: vnfsafe [--home DIR] init [--audit-seed FILE] [--audit-interval SECONDS]\n"
	"\n"
	"Creates a new state home (mode 0700) holding:\n"
	"  host.key     the host's Ed25519 signing key (0600)\n"
	"  host.pub     its public key\n"
	"  kek          the key-encryption key that wraps every data key (0600)\n"
	"  vnfsafe.db   SQLite keystore (wrapped data keys) and snapshot catalog (0600)\n"
	"  audit/       the tamper-evident audit log (docs/audit.md)\n"
	"\n"
	"The audit log's MAC key evolves one way every --audit-interval seconds\n"
	"(default 900) and the old key is wiped. Its verification seed (the first\n"
	"key) is written once, to FILE (default HOME/audit-seed): keep it off this\n"
	"host; 'vnfsafe log verify --seed FILE' checks every record with it. While\n"
	"the seed stays on the host, root can forge past records.\n"
	"\n"
	"The home and its audit log are built in a staging directory and renamed\n"
	"into place last: everything that can be checked (the home path, the seed\n"
	"FILE: new, not a link, in an existing directory) is checked first, and a\n"
	"failure or a crash leaves no home and no seed behind. An existing home is\n"
	"never overwritten.\n"
	"Default location: $VNFSAFE_HOME, else ~/.local/share/vnfsafe.\n"
	"\n"
	"Exit status: 0 created; 1 a home (or a non-empty directory) is already there,\n"
	"or the seed FILE exists, is a link or its directory is missing; 4 the\n"
	"directory could not be written.\n";

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "audit-seed", required_argument, NULL, 's' },
		{ "audit-interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	const char *seed = NULL;
	uint64_t interval = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'H') {
			g_cli.home_arg = optarg;
		} else if (c == 's') {
			seed = optarg;
		} else if (c == 'i') {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || v < 1 || v > 86400ULL * 366) {
				fputs("vnfsafe init: --audit-interval must be 1 to 31622400 seconds\n", stderr);
				return VS_E_USAGE;
			}
			interval = v;
		} else if (c == 'h') {
			fputs(help, stdout);
			return 0;
		} else {
			fprintf(stderr, "vnfsafe init: %s (see 'vnfsafe init --help')\n",
				cli_bad_option(argv, opts));
			return VS_E_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vnfsafe init: unexpected argument '%s'\n", argv[optind]);
		return VS_E_USAGE;
	}
	char path[4096], seedpath[4200];
	vs_home *h = NULL;
	vs_err rc = vs_init_home(g_cli.home_arg, seed, interval, path, sizeof path, seedpath,
				 sizeof seedpath, &h);
	if (rc == VS_OK) {
		g_cli.home = h;
		cli_event("home.init");
		rc = cli_audit_open(h);
	}
	if (rc != VS_OK) {
		fprintf(stderr, "vnfsafe init: %s%s\n", cli_errmsg(), cli_hint());
		return rc;
	}
	vs_host_notes notes;
	vs_host_notes_get(h, NULL, &notes);
	printf("initialized vnfsafe home %s\nhost key id %s\n", cli_esc(path), notes.key_id);
	fprintf(stderr, "audit log verification seed written to %s%s\n", cli_esc(seedpath),
		seed ? "" : ": move it off this host (vnfsafe log verify --seed FILE)");
	return 0;
}
