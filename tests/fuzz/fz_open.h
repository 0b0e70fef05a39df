/* Unseals a whole .vsnap held in memory with the fixed fuzz keys, feeding each
 * section's plaintext to its own archive decoder. Shared by fuzz_unseal and
 * gen_corpus (which asserts that its seeds open). Library invariants that
 * must hold for ANY input are checked here and abort() when broken. */
#ifndef VS_FUZZ_OPEN_H
#define VS_FUZZ_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/snapshot.h"

/* section_key policy, driven by the (signed) header so seeds can select it:
 * section i is skipped when bit (i % 8) of snapshot_id[15] is set, and
 * section_key fails with VS_E_POLICY when key_id[0] == key_id[1] == 0xEE. */
#define FZ_SKIP_BYTE 15
#define FZ_REFUSE_MARK 0xEE

typedef struct {
	bool skipped;
	bool final_seen;
	bool arc_ok; /* decoder accepted every byte and the end */
	uint64_t chunks, plain_len, entries;
} fz_section_result;

typedef struct {
	vs_err rc;
	vs_snap_header h;
	vs_snap_summary sum;
	fz_section_result sec[VS_SNAP_MAX_SECTIONS];
} fz_open_result;

void fz_open(const uint8_t *p, size_t n, fz_open_result *res);
/* Decodes a whole archive stream with the same callbacks; true if accepted. */
bool fz_archive_ok(const uint8_t *p, size_t n, uint64_t *entries);

#endif
