#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "vnfsafe/crypto.h"

static const char help[] =
	"Usage: vnfsafe [--home DIR] init\n"
	"\n"
	"Creates a new state home (mode 0700) holding:\n"
	"  host.key     the host's Ed25519 signing key (0600)\n"
	"  host.pub     its public key\n"
	"  kek          the key-encryption key that wraps every data key (0600)\n"
	"  vnfsafe.db   SQLite keystore (wrapped data keys) and snapshot catalog (0600)\n"
	"\n"
	"The home is built in a staging directory and renamed into place, so a crash\n"
	"never leaves a half-made home. An existing home is never overwritten.\n"
	"Default location: $VNFSAFE_HOME, else ~/.local/share/vnfsafe.\n"
	"\n"
	"Exit status: 0 created; 1 a home (or a non-empty directory) is already there;\n"
	"4 the directory could not be written.\n";

int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "home", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'H') {
			g_cli.home_arg = optarg;
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
	char path[4096];
	vs_home *h = NULL;
	vs_err rc = vs_home_resolve(g_cli.home_arg, path, sizeof path);
	if (rc == VS_OK)
		rc = vs_home_init(path);
	if (rc == VS_OK)
		rc = vs_home_open(&h, path);
	if (rc != VS_OK) {
		fprintf(stderr, "vnfsafe init: %s\n", vs_errmsg());
		return rc;
	}
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	char hex[2 * VS_HASH_LEN + 1];
	vs_home_pub(h, pub, id);
	vs_hex(id, VS_HASH_LEN, hex);
	printf("initialized vnfsafe home %s\nhost key id %s\n", path, hex);
	vs_home_close(h);
	return 0;
}
