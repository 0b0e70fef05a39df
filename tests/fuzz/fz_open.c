#include "fz_open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_keys.h"
#include "vnfsafe/engine.h"

typedef struct {
	fz_open_result *res;
	const vs_snap_header *h; /* set by on_header */
	vs_arc_dec *dec[VS_SNAP_MAX_SECTIONS];
	bool arc_failed[VS_SNAP_MAX_SECTIONS];
} open_ctx;

static void broken(const char *what)
{
	fprintf(stderr, "fz_open: invariant broken: %s\n", what);
	abort();
}

static vs_err arc_entry(void *ctx, const vs_arc_entry *e)
{
	uint64_t *entries = ctx;
	if (!vs_arc_path_ok(e->path))
		broken("archive decoder passed an unsafe path");
	(*entries)++;
	return VS_OK;
}

static vs_err arc_data(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx, (void)p, (void)n;
	return VS_OK;
}

static vs_err arc_file_end(void *ctx)
{
	(void)ctx;
	return VS_OK;
}

static vs_err on_header(void *ctx, const vs_snap_header *h, uint8_t pub[VS_PUB_LEN])
{
	open_ctx *c = ctx;
	c->h = h;
	if (h->nsections == 0 || h->nsections > VS_SNAP_MAX_SECTIONS)
		broken("on_header got a header with a bad section count");
	return fz_fixed_pub(pub);
}

static vs_err section_key(void *ctx, const vs_snap_header *h, unsigned i, vs_key *key,
			  bool *skip)
{
	open_ctx *c = ctx;
	if (i >= h->nsections)
		broken("section_key asked for a section past nsections");
	if (h->sections[i].key_id[0] == FZ_REFUSE_MARK && h->sections[i].key_id[1] == FZ_REFUSE_MARK)
		return vs_fail(VS_E_POLICY, "fuzz: key refused");
	*skip = (h->snapshot_id[FZ_SKIP_BYTE] >> (i % 8)) & 1;
	c->res->sec[i].skipped = *skip;
	fz_data_key(key);
	return VS_OK;
}

static vs_arc_dec *section_dec(open_ctx *c, unsigned i)
{
	if (!c->dec[i]) {
		vs_arc_ops ops = { &c->res->sec[i].entries, arc_entry, arc_data, arc_file_end };
		if (!(c->dec[i] = malloc(sizeof *c->dec[i])))
			broken("out of memory");
		vs_arc_dec_init(c->dec[i], &ops);
	}
	return c->dec[i];
}

static void feed_archive(open_ctx *c, unsigned i, const uint8_t *p, size_t n, bool final)
{
	vs_arc_dec *d = section_dec(c, i);
	if (!c->arc_failed[i] && vs_arc_dec_feed(d, p, n) != VS_OK)
		c->arc_failed[i] = true;
	if (final && !c->arc_failed[i])
		c->res->sec[i].arc_ok = vs_arc_dec_finish(d) == VS_OK;
}

static vs_err on_data(void *ctx, unsigned i, const uint8_t *p, size_t n, bool final)
{
	open_ctx *c = ctx;
	if (!c->h || i >= c->h->nsections)
		broken("data for a section that does not exist");
	fz_section_result *s = &c->res->sec[i];
	if (s->skipped)
		broken("data released for a skipped section");
	if (s->final_seen)
		broken("data released after the final chunk");
	if (n > c->h->chunk_size || (!final && n != c->h->chunk_size))
		broken("chunk of a bad length released");
	s->chunks++;
	s->plain_len += n;
	s->final_seen = final;
	feed_archive(c, i, p, n, final);
	return VS_OK;
}

static void check_success(const fz_open_result *res, size_t n)
{
	if (res->sum.file_len != n)
		broken("summary file_len differs from the input length");
	for (unsigned i = 0; i < res->h.nsections; i++) {
		const fz_section_result *s = &res->sec[i];
		if (s->skipped)
			continue;
		if (!s->final_seen || s->chunks != res->sum.sections[i].chunks ||
		    s->plain_len != res->sum.sections[i].plain_len)
			broken("summary disagrees with the chunks released");
	}
}

void fz_open(const uint8_t *p, size_t n, fz_open_result *res)
{
	open_ctx c = { .res = res };
	vs_membuf m = { p, n, 0 };
	vs_source src = vs_source_mem(&m);
	vs_unseal_ops ops = { &c, on_header, section_key, on_data, NULL };
	memset(res, 0, sizeof *res);
	res->rc = vs_unseal(&src, &ops, &res->h, &res->sum);
	if ((unsigned)res->rc > VS_E_ENV)
		broken("vs_unseal returned an unknown error code");
	if (res->rc == VS_OK)
		check_success(res, n);
	for (unsigned i = 0; i < VS_SNAP_MAX_SECTIONS; i++)
		free(c.dec[i]);
}

bool fz_archive_ok(const uint8_t *p, size_t n, uint64_t *entries)
{
	vs_arc_ops ops = { entries, arc_entry, arc_data, arc_file_end };
	vs_arc_dec *d = malloc(sizeof *d);
	if (!d)
		broken("out of memory");
	vs_arc_dec_init(d, &ops);
	bool ok = vs_arc_dec_feed(d, p, n) == VS_OK && vs_arc_dec_finish(d) == VS_OK;
	free(d);
	return ok;
}
