/* libFuzzer target: a whole .vsnap stream through vs_unseal() with the fixed
 * keys of fz_keys.c; plaintext goes on to one archive decoder per section. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fz_open.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* vs_snap_header is large (64 sections): keep it off the stack. */
	fz_open_result *res = malloc(sizeof *res);
	if (!res)
		abort();
	fz_open(data, size, res);
	free(res);
	return 0;
}
