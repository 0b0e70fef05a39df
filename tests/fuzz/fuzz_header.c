/* libFuzzer target: vs_snap_header_parse() on arbitrary bytes. A header that
 * parses must re-encode to exactly the bytes it was parsed from (the format
 * is canonical), with the same length and digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_header: invariant broken: %s\n", what);
	abort();
}

static void check_fields(const vs_snap_header *h)
{
	if (h->nsections == 0 || h->nsections > VS_SNAP_MAX_SECTIONS)
		broken("section count out of range");
	if (h->chunk_size < VS_SNAP_MIN_CHUNK || h->chunk_size > VS_SNAP_MAX_CHUNK)
		broken("chunk size out of range");
	if (!vs_name_ok(h->vnf) || !vs_name_ok(h->engine))
		broken("bad vnf or engine name accepted");
	for (unsigned i = 0; i < h->nsections; i++)
		if (!vs_name_ok(h->sections[i].name) || !vs_name_ok(h->sections[i].domain))
			broken("bad section or domain name accepted");
}

static void check_roundtrip(const uint8_t *data, size_t consumed, const vs_snap_header *h)
{
	vs_snap_header copy = *h;
	vs_wr w = { 0 };
	if (vs_snap_header_encode(&copy, &w) != VS_OK)
		broken("a parsed header does not encode");
	if (w.len != consumed || memcmp(w.p, data, consumed) != 0)
		broken("re-encoded header differs from the parsed bytes");
	if (copy.header_len != h->header_len || memcmp(copy.digest, h->digest, VS_HASH_LEN))
		broken("re-encoded header has another length or digest");
	vs_wr_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vs_snap_header *h = malloc(sizeof *h);
	size_t consumed = 0;
	if (!h)
		abort();
	vs_err rc = vs_snap_header_parse(data, size, h, &consumed);
	if ((unsigned)rc > VS_E_ENV)
		broken("unknown error code");
	if (rc == VS_OK) {
		if (consumed < VS_SNAP_PREFIX_LEN || consumed > size || consumed != h->header_len)
			broken("consumed length out of range");
		check_fields(h);
		check_roundtrip(data, consumed, h);
	}
	free(h);
	return 0;
}
