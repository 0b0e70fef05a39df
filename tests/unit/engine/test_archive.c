/* The dir engine's archive stream: path rules, split-independent decoding,
 * malformed entries refused. */
#include "testutil.h"
#include "vnfsafe/engine.h"

typedef struct {
	int entries, ends;
	uint64_t data;
	char last_path[VS_PATH_MAX];
	char log[4096];
} rec;

static vs_err on_entry(void *ctx, const vs_arc_entry *e)
{
	rec *r = ctx;
	r->entries++;
	snprintf(r->last_path, sizeof r->last_path, "%s", e->path);
	size_t n = strlen(r->log);
	snprintf(r->log + n, sizeof r->log - n, "%d:%s:%o:%lld.%u:%llu:%s|", e->type, e->path, e->mode,
		 (long long)e->mtime_sec, e->mtime_nsec, (unsigned long long)e->size, e->target);
	return VS_OK;
}
static vs_err on_data(void *ctx, const uint8_t *p, size_t n)
{
	rec *r = ctx;
	(void)p;
	r->data += n;
	return VS_OK;
}
static vs_err on_end(void *ctx)
{
	((rec *)ctx)->ends++;
	return VS_OK;
}

static void test_path_rules(void **st)
{
	(void)st;
	const char *ok[] = { ".", "a", "a/b", "a.b/c..d", "...", ".hidden/x" };
	const char *bad[] = { "", "/", "/etc/passwd", "..", "../x", "a/../b", "a/..", "./a",
			      "a/./b", "a//b", "a/", "a/." };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (!vs_arc_path_ok(ok[i]))
			fail_msg("'%s' refused", ok[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (vs_arc_path_ok(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
}

/* Offsets where an entry (with its data) ends. */
static size_t bounds[8];
static size_t nbounds;

static size_t build_stream(uint8_t *buf, size_t cap)
{
	static vs_arc_entry e;
	size_t o = 0, n;
	memset(&e, 0, sizeof e);
	e.type = VS_ARC_DIR;
	strcpy(e.path, ".");
	e.mode = 0755;
	e.mtime_sec = 1000;
	o += vs_arc_encode(&e, buf + o, cap - o);
	nbounds = 0;
	bounds[nbounds++] = o;
	e.type = VS_ARC_FILE;
	strcpy(e.path, "dir/file");
	e.mode = 0640;
	e.mtime_nsec = 123456789;
	e.size = 300;
	n = vs_arc_encode(&e, buf + o, cap - o);
	assert_true(n > 0);
	o += n;
	memset(buf + o, 'x', 300), o += 300;
	bounds[nbounds++] = o;
	e.type = VS_ARC_SYMLINK;
	strcpy(e.path, "link");
	strcpy(e.target, "dir/file");
	e.size = 0;
	o += vs_arc_encode(&e, buf + o, cap - o);
	bounds[nbounds++] = o;
	e.type = VS_ARC_FILE;
	strcpy(e.path, "empty");
	e.target[0] = 0;
	o += vs_arc_encode(&e, buf + o, cap - o);
	bounds[nbounds++] = o;
	return o;
}

static void decode(const uint8_t *p, size_t n, size_t step, rec *r, vs_err *feed, vs_err *fin)
{
	vs_arc_ops ops = { r, on_entry, on_data, on_end };
	static vs_arc_dec d;
	memset(r, 0, sizeof *r);
	vs_arc_dec_init(&d, &ops);
	*feed = VS_OK;
	for (size_t off = 0; off < n && *feed == VS_OK; off += step)
		*feed = vs_arc_dec_feed(&d, p + off, n - off < step ? n - off : step);
	*fin = *feed == VS_OK ? vs_arc_dec_finish(&d) : *feed;
}

static void test_split_independent(void **st)
{
	(void)st;
	static uint8_t buf[2 * VS_ARC_HDR_MAX + 1024];
	size_t n = build_stream(buf, sizeof buf);
	rec whole, piece;
	vs_err f1, f2;
	decode(buf, n, n, &whole, &f1, &f2);
	assert_int_equal(f2, VS_OK);
	assert_int_equal(whole.entries, 4);
	assert_int_equal(whole.ends, 2);
	assert_int_equal(whole.data, 300);
	for (size_t step = 1; step < 40; step++) {
		decode(buf, n, step, &piece, &f1, &f2);
		assert_int_equal(f2, VS_OK);
		assert_string_equal(piece.log, whole.log);
		assert_int_equal(piece.data, 300);
	}
	/* A stream may end only on an entry boundary. */
	for (size_t cut = 0; cut <= n; cut++) {
		bool boundary = cut == 0;
		for (size_t i = 0; i < nbounds; i++)
			boundary |= bounds[i] == cut;
		decode(buf, cut, 7, &piece, &f1, &f2);
		if ((f2 == VS_OK) != boundary)
			fail_msg("cut at %zu: rc %d, boundary %d", cut, f2, boundary);
	}
	decode(buf, n - 1, n, &piece, &f1, &f2);
	assert_int_equal(f2, VS_E_INTEGRITY);
}

static void expect_bad(const uint8_t *p, size_t n, const char *what)
{
	rec r;
	vs_err f1, f2;
	decode(p, n, n, &r, &f1, &f2);
	if (f1 != VS_E_INTEGRITY)
		fail_msg("%s: rc %d", what, f1);
	assert_int_equal(r.entries, 0);
}

static void test_malformed(void **st)
{
	(void)st;
	static vs_arc_entry e;
	uint8_t buf[VS_ARC_HDR_MAX];
	size_t n;
	memset(&e, 0, sizeof e);
	e.type = VS_ARC_FILE;
	strcpy(e.path, "../escape");
	n = vs_arc_encode(&e, buf, sizeof buf);
	expect_bad(buf, n, "dot-dot path");
	strcpy(e.path, "/etc/passwd");
	n = vs_arc_encode(&e, buf, sizeof buf);
	expect_bad(buf, n, "absolute path");
	strcpy(e.path, ".");
	n = vs_arc_encode(&e, buf, sizeof buf);
	expect_bad(buf, n, "file as root");
	strcpy(e.path, "ok");
	e.mode = 0170777;
	n = vs_arc_encode(&e, buf, sizeof buf);
	expect_bad(buf, n, "type bits in mode");
	e.mode = 0644;
	e.mtime_nsec = 1000000000u;
	n = vs_arc_encode(&e, buf, sizeof buf);
	expect_bad(buf, n, "nanoseconds out of range");
	e.mtime_nsec = 0;
	n = vs_arc_encode(&e, buf, sizeof buf);
	buf[0] = 9;
	expect_bad(buf, n, "unknown type");
	buf[0] = VS_ARC_FILE;
	buf[4] = 0; /* NUL inside the path "ok" */
	expect_bad(buf, n, "NUL in path");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_rules),
		cmocka_unit_test(test_split_independent),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
