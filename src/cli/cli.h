#ifndef VS_CLI_H
#define VS_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vnfsafe/err.h"
#include "vnfsafe/home.h"

typedef struct {
	const char *home_arg;   /* --home, may be NULL */
	const char *ledger_arg; /* --ledger, may be NULL: sqlite:<home>/ledger.db */
	bool quiet;
} cli_globals;

extern cli_globals g_cli;

/* Describes the option getopt just refused (unknown, or missing its value). */
struct option;
const char *cli_bad_option(char **argv, const struct option *opts);

/* Opens the resolved home or fails with a clear message. */
vs_err cli_open_home(vs_home **h);
/* Opens --ledger, $VNFSAFE_LEDGER, or the home's embedded ledger. */
vs_err cli_open_ledger(vs_home *h, vs_ledger **l);

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

#endif
