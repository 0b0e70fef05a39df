/* libFuzzer target: the dir engine's archive decoder. The first input byte
 * chooses how the rest is cut into pieces for vs_arc_dec_feed(); the stream is
 * decoded once whole and once in pieces, and both runs must deliver the same
 * callbacks ("feed any split"). Callbacks abort() on broken invariants. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	uint64_t hash; /* FNV-1a over every callback and its bytes */
	uint64_t entries;
	bool in_file;
	uint64_t size, got;
	const uint8_t *lo, *hi; /* the piece being fed */
	vs_err feed_rc, finish_rc;
} run_state;

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_archive: invariant broken: %s\n", what);
	abort();
}

static void mix(run_state *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ b[i]) * 0x100000001b3ull;
}

static void check_entry(const vs_arc_entry *e)
{
	if (e->type != VS_ARC_DIR && e->type != VS_ARC_FILE && e->type != VS_ARC_SYMLINK)
		broken("unknown entry type delivered");
	if (!vs_arc_path_ok(e->path) || (!strcmp(e->path, ".") && e->type != VS_ARC_DIR))
		broken("unsafe path delivered");
	if ((e->mode & ~07777u) || e->mtime_nsec >= 1000000000u)
		broken("bad mode or mtime delivered");
	if (e->type != VS_ARC_FILE && e->size != 0)
		broken("non-file entry with a size");
	size_t tlen = strnlen(e->target, VS_PATH_MAX);
	if (tlen == VS_PATH_MAX || (e->type == VS_ARC_SYMLINK) != (tlen > 0))
		broken("bad symlink target delivered");
}

static vs_err on_entry(void *ctx, const vs_arc_entry *e)
{
	run_state *s = ctx;
	if (s->in_file)
		broken("entry delivered before the previous file ended");
	check_entry(e);
	mix(s, "E", 1);
	mix(s, &e->type, sizeof e->type);
	mix(s, e->path, strlen(e->path) + 1);
	mix(s, &e->mode, sizeof e->mode);
	mix(s, &e->mtime_sec, sizeof e->mtime_sec);
	mix(s, &e->mtime_nsec, sizeof e->mtime_nsec);
	mix(s, &e->size, sizeof e->size);
	mix(s, e->target, strlen(e->target) + 1);
	s->entries++;
	s->in_file = e->type == VS_ARC_FILE;
	s->size = e->size;
	s->got = 0;
	return VS_OK;
}

static vs_err on_data(void *ctx, const uint8_t *p, size_t n)
{
	run_state *s = ctx;
	if (!s->in_file)
		broken("data delivered outside a file");
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)s->lo, hi = (uintptr_t)s->hi;
	if (n == 0 || a < lo || a > hi || n > hi - a)
		broken("data delivered outside the piece being fed");
	if (n > s->size - s->got)
		broken("more data delivered than the entry's size");
	s->got += n;
	mix(s, p, n);
	return VS_OK;
}

static vs_err on_file_end(void *ctx)
{
	run_state *s = ctx;
	if (!s->in_file || s->got != s->size)
		broken("file ended without exactly its declared data");
	s->in_file = false;
	mix(s, "F", 1);
	return VS_OK;
}

/* Size of piece i for selector sel: constant, growing, pseudo-random, or
 * a short head then everything. */
static size_t piece_size(uint8_t sel, size_t i, uint32_t *rng)
{
	size_t k = (size_t)(sel & 63) + 1;
	switch (sel >> 6) {
	case 0:
		return k;
	case 1:
		return 1 + i % k;
	case 2:
		*rng = *rng * 1103515245u + 12345u;
		return 1 + (*rng >> 16) % (k * 8);
	default:
		return i == 0 ? k : SIZE_MAX;
	}
}

/* Each piece is copied into a buffer of exactly its size for ASan. */
static vs_err feed_piece(vs_arc_dec *d, run_state *s, const uint8_t *p, size_t k)
{
	uint8_t *copy = malloc(k ? k : 1);
	if (!copy)
		abort();
	memcpy(copy, p, k);
	s->lo = copy, s->hi = copy + k;
	vs_err rc = vs_arc_dec_feed(d, copy, k);
	free(copy);
	return rc;
}

static void run(run_state *s, const uint8_t *p, size_t n, int split, uint8_t sel)
{
	vs_arc_ops ops = { s, on_entry, on_data, on_file_end };
	vs_arc_dec *d = malloc(sizeof *d);
	uint32_t rng = sel;
	if (!d)
		abort();
	memset(s, 0, sizeof *s);
	s->hash = 0xcbf29ce484222325ull;
	vs_arc_dec_init(d, &ops);
	for (size_t i = 0, off = 0; off < n && s->feed_rc == VS_OK; i++) {
		size_t k = split ? piece_size(sel, i, &rng) : n;
		k = k < n - off ? k : n - off;
		s->feed_rc = feed_piece(d, s, p + off, k);
		off += k;
	}
	s->finish_rc = s->feed_rc == VS_OK ? vs_arc_dec_finish(d) : VS_OK;
	if (s->feed_rc == VS_OK && s->finish_rc == VS_OK && s->in_file)
		broken("stream accepted inside a file's data");
	free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	run_state whole, pieces;
	run(&whole, data + 1, size - 1, 0, 0);
	run(&pieces, data + 1, size - 1, 1, data[0]);
	if (whole.hash != pieces.hash || whole.entries != pieces.entries ||
	    whole.feed_rc != pieces.feed_rc || whole.finish_rc != pieces.finish_rc)
		broken("whole and split decoding disagree");
	return 0;
}
