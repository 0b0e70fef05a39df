/* The audit log (docs/audit.md): Merkle proofs against a naive RFC 6962
 * reference, the strict record format, append/verify, every kind of damage,
 * forward security, concurrent writers (threads and processes). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../src/audit/audit_priv.h"
#include "testutil.h"
#include "vnfsafe/audit.h"
#include "vnfsafe/crypto.h"

/* --- naive RFC 6962 reference (section 2.1), straight from the text --- */

static void ref_leaf(unsigned i, uint8_t out[32])
{
	char d[16];
	int n = snprintf(d, sizeof d, "leaf-%u", i);
	assert_int_equal(vs_merkle_leaf_hash(d, (size_t)n, out), VS_OK);
}

static unsigned ref_k(unsigned n)
{
	unsigned k = 1;
	while (k * 2 < n)
		k *= 2;
	return k;
}

static void ref_mth(const uint8_t (*d)[32], unsigned n, uint8_t out[32])
{
	if (n == 0) {
		assert_int_equal(vs_sha256("", 0, out), VS_OK);
	} else if (n == 1) {
		memcpy(out, d[0], 32);
	} else {
		uint8_t l[32], r[32], buf[65];
		unsigned k = ref_k(n);
		ref_mth(d, k, l);
		ref_mth(d + k, n - k, r);
		buf[0] = 1;
		memcpy(buf + 1, l, 32);
		memcpy(buf + 33, r, 32);
		assert_int_equal(vs_sha256(buf, sizeof buf, out), VS_OK);
	}
}

static void ref_path(unsigned m, const uint8_t (*d)[32], unsigned n, uint8_t (*out)[32],
		     size_t *len)
{
	if (n <= 1)
		return;
	unsigned k = ref_k(n);
	if (m < k) {
		ref_path(m, d, k, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_path(m - k, d + k, n - k, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static void ref_subproof(unsigned m, const uint8_t (*d)[32], unsigned n, bool b,
			 uint8_t (*out)[32], size_t *len)
{
	if (m == n) {
		if (!b)
			ref_mth(d, n, out[(*len)++]);
		return;
	}
	unsigned k = ref_k(n);
	if (m <= k) {
		ref_subproof(m, d, k, b, out, len);
		ref_mth(d + k, n - k, out[(*len)++]);
	} else {
		ref_subproof(m - k, d + k, n - k, false, out, len);
		ref_mth(d, k, out[(*len)++]);
	}
}

static void test_merkle_against_reference(void **st)
{
	(void)st;
	enum { N = 64 };
	uint8_t d[N][32], root[N + 1][32], want[64][32], got[64][32], r[32];
	for (unsigned i = 0; i < N; i++)
		ref_leaf(i, d[i]);
	vs_merkle m;
	assert_int_equal(vs_merkle_init(&m), VS_OK);
	assert_int_equal(vs_merkle_root(&m, r), VS_OK);
	ref_mth(d, 0, root[0]);
	assert_memory_equal(r, root[0], 32);
	for (unsigned n = 1; n <= N; n++) {
		assert_int_equal(vs_merkle_add(&m, d[n - 1]), VS_OK);
		assert_int_equal(vs_merkle_root(&m, r), VS_OK);
		ref_mth(d, n, root[n]);
		assert_memory_equal(r, root[n], 32);
	}
	vs_merkle_free(&m);

	for (unsigned n = 1; n <= N; n++) {
		for (unsigned i = 0; i < n; i++) {
			size_t wl = 0, gl = 0;
			ref_path(i, (const uint8_t(*)[32])d, n, want, &wl);
			assert_int_equal(vs_merkle_inclusion_proof((const uint8_t(*)[32])d, n, i, got,
								   64, &gl),
					 VS_OK);
			assert_int_equal(gl, wl);
			assert_memory_equal(got, want, wl * 32);
			assert_int_equal(vs_merkle_verify_inclusion(d[i], i, n, got[0], gl * 32,
								    root[n]),
					 VS_OK);
			/* Any flipped bit, another index or size, a shorter proof: refused. */
			uint8_t *flat = &got[0][0];
			for (size_t b = 0; b < gl * 32; b += 7) {
				flat[b] ^= 0x10;
				assert_int_equal(vs_merkle_verify_inclusion(d[i], i, n, got[0],
									    gl * 32, root[n]),
						 VS_E_INTEGRITY);
				flat[b] ^= 0x10;
			}
			uint8_t bad[32];
			memcpy(bad, root[n], 32);
			bad[31] ^= 1;
			assert_int_equal(vs_merkle_verify_inclusion(d[i], i, n, got[0], gl * 32, bad),
					 VS_E_INTEGRITY);
			if (n > 1) {
				assert_int_equal(vs_merkle_verify_inclusion(d[i], (i + 1) % n, n,
									    got[0], gl * 32,
									    root[n]),
						 VS_E_INTEGRITY);
				assert_int_equal(vs_merkle_verify_inclusion(d[i], i, n, got[0],
									    (gl - 1) * 32, root[n]),
						 VS_E_INTEGRITY);
			}
			/* (The same path can also fit a larger size whose left part has the
			 * same shape: the root and size come from one signed checkpoint.) */
			assert_int_equal(vs_merkle_verify_inclusion(d[i], n, n, got[0], gl * 32,
								    root[n]),
					 VS_E_INTEGRITY);
		}
		for (unsigned k = 1; k <= n; k++) {
			size_t wl = 0, gl = 0;
			ref_subproof(k, (const uint8_t(*)[32])d, n, true, want, &wl);
			assert_int_equal(vs_merkle_consistency_proof((const uint8_t(*)[32])d, k, n,
								     got, 64, &gl),
					 VS_OK);
			assert_int_equal(gl, wl);
			assert_memory_equal(got, want, wl * 32);
			assert_int_equal(vs_merkle_verify_consistency(k, n, got[0], gl * 32, root[k],
								      root[n]),
					 VS_OK);
			uint8_t *flat = &got[0][0];
			for (size_t b = 0; b < gl * 32; b += 5) {
				flat[b] ^= 0x01;
				assert_int_equal(vs_merkle_verify_consistency(k, n, got[0], gl * 32,
									      root[k], root[n]),
						 VS_E_INTEGRITY);
				flat[b] ^= 0x01;
			}
			if (k < n) {
				assert_int_equal(vs_merkle_verify_consistency(k, n, got[0], gl * 32,
									      root[k - 1], root[n]),
						 VS_E_INTEGRITY);
				assert_int_equal(vs_merkle_verify_consistency(k, n, got[0], gl * 32,
									      root[k], root[n - 1]),
						 VS_E_INTEGRITY);
			}
		}
	}
}

/* --- records --- */

static void sample(vs_audit_record *r)
{
	memset(r, 0, sizeof *r);
	r->seq = 42;
	r->time_us = 1795468503123456LL; /* 2026-11-23T... */
	r->epoch = 7;
	snprintf(r->host, sizeof r->host, "host-1");
	snprintf(r->actor, sizeof r->actor, "CN=op \"admin\"\\ü");
	snprintf(r->action, sizeof r->action, "snapshot.create");
	snprintf(r->vnf, sizeof r->vnf, "vnf-a");
	snprintf(r->snapshot, sizeof r->snapshot, "0123abcd-0000-4000-8000-00000000beef");
	r->generation = 3;
	r->outcome = VS_AUDIT_OUT_REFUSED;
	snprintf(r->reason, sizeof r->reason, "tab\there\nnew line \x01\x7f end");
	memset(r->prev, 0xab, 32);
	memset(r->mac, 0xcd, 32);
}

/* The numeric uid beside a local principal: optional (older records have
 * none and verify as before), canonical, a uint32. */
static void test_record_uid_field(void **st)
{
	(void)st;
	vs_audit_record r, back;
	char line[VS_AUDIT_LINE_MAX], bad[VS_AUDIT_LINE_MAX + 32];
	size_t n;
	sample(&r);
	assert_int_equal(vs_audit_record_format(&r, line, sizeof line, &n), VS_OK);
	assert_null(strstr(line, "\"uid\":")); /* none: the old form, byte for byte */
	assert_int_equal(vs_audit_record_parse(line, n - 1, &back), VS_OK);
	assert_false(back.has_uid);
	memset(r.actor, 0, sizeof r.actor);
	snprintf(r.actor, sizeof r.actor, "uid:root");
	r.has_uid = true;
	r.uid = 0;
	assert_int_equal(vs_audit_record_format(&r, line, sizeof line, &n), VS_OK);
	assert_non_null(strstr(line, "\"actor\":\"uid:root\",\"uid\":0,\"action\":"));
	assert_int_equal(vs_audit_record_parse(line, n - 1, &back), VS_OK);
	assert_memory_equal(&r, &back, sizeof r);
	/* Out of range, signed, leading zero, or after the action: refused. */
	static const char *const wrong[] = { "\"uid\":4294967296,", "\"uid\":-1,", "\"uid\":00," };
	for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
		const char *at = strstr(line, "\"uid\":0,");
		int pre = (int)(at - line);
		snprintf(bad, sizeof bad, "%.*s%s%s", pre, line, wrong[i], at + strlen("\"uid\":0,"));
		assert_int_equal(vs_audit_record_parse(bad, strlen(bad) - 1, &back), VS_E_INTEGRITY);
	}
}

static void test_record_roundtrip_and_strict(void **st)
{
	(void)st;
	vs_audit_record r, back;
	char line[VS_AUDIT_LINE_MAX];
	size_t n;
	sample(&r);
	assert_int_equal(vs_audit_record_format(&r, line, sizeof line, &n), VS_OK);
	assert_int_equal(line[n - 1], '\n');
	assert_non_null(strstr(line, "\"time\":\"2026-11-23T"));
	assert_non_null(strstr(line, "\\u0001\\u007f"));
	assert_int_equal(strncmp(line, "{\"seq\":42,", 10), 0);
	assert_int_equal(vs_audit_record_parse(line, n - 1, &back), VS_OK);
	assert_memory_equal(&r, &back, sizeof r);
	assert_int_equal(vs_audit_mac_span(line, n - 1), n - 1 - 8 - 64 - 2);

	/* Non-canonical variants of the same record are refused. */
	static const struct {
		const char *from, *to;
	} edits[] = {
		{ "{\"seq\":42,", "{\"seq\":042," },   { "{\"seq\":42,", "{ \"seq\":42," },
		{ "\"epoch\":7", "\"epoch\":+7" },     { "\"vnf\":\"vnf-a\"", "\"vnf\":\"vnf-\\u0061\"" },
		{ "\"outcome\":\"refused\"", "\"outcome\":\"Refused\"" },
		{ "\"generation\":3", "\"generation\":3.0" },
		{ "abababab", "ABABABAB" },            { "T", "t" },
		{ "\\t", "\\u0009" },                  { "\"host\":\"host-1\"", "\"host\":\"\"" },
		{ "0123abcd-", "0123ABCD-" },          { "\"vnf\":\"vnf-a\",", "" },
	};
	for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
		char bad[VS_AUDIT_LINE_MAX];
		char *at = strstr(line, edits[i].from);
		assert_non_null(at);
		size_t pre = (size_t)(at - line);
		snprintf(bad, sizeof bad, "%.*s%s%s", (int)pre, line, edits[i].to,
			 at + strlen(edits[i].from));
		memset(&back, 0x5a, sizeof back);
		assert_int_equal(vs_audit_record_parse(bad, strlen(bad) - 1, &back), VS_E_INTEGRITY);
		assert_int_equal(back.seq, 0);
	}
	/* Trailing garbage, the '\n' itself, truncation. */
	assert_int_equal(vs_audit_record_parse(line, n, &back), VS_E_INTEGRITY);
	assert_int_equal(vs_audit_record_parse(line, n - 2, &back), VS_E_INTEGRITY);
	/* A date that does not exist, and invalid UTF-8. */
	char bad[VS_AUDIT_LINE_MAX];
	snprintf(bad, sizeof bad, "%s", line);
	memcpy(strstr(bad, "2026-11-23"), "2026-02-30", 10);
	assert_int_equal(vs_audit_record_parse(bad, n - 1, &back), VS_E_INTEGRITY);
	snprintf(bad, sizeof bad, "%s", line);
	*strstr(bad, "host-1") = (char)0xc0;
	assert_int_equal(vs_audit_record_parse(bad, n - 1, &back), VS_E_INTEGRITY);

	/* Limits on the writer side are usage errors. */
	memset(r.reason, 'x', VS_AUDIT_REASON_MAX);
	r.reason[VS_AUDIT_REASON_MAX] = 0;
	assert_int_equal(vs_audit_record_format(&r, line, sizeof line, &n), VS_OK);
	snprintf(r.action, sizeof r.action, "Bad Action");
	assert_int_equal(vs_audit_record_format(&r, line, sizeof line, &n), VS_E_USAGE);
}

/* --- a log in a temp dir, with a fake clock --- */

typedef struct {
	int64_t t;
	int64_t step;
} fake_clock;

static int64_t tick(void *ctx)
{
	fake_clock *c = ctx;
	return __atomic_add_fetch(&c->t, c->step, __ATOMIC_SEQ_CST);
}

typedef struct {
	char dir[300], log[400], seed_path[400], key_path[400], cps[400];
	vs_signer *signer;
	fake_clock clk;
	vs_audit_opts opts;
	vs_audit_seed seed;
	vs_audit *a;
} fixture;

static void fx_open(fixture *f)
{
	assert_int_equal(vs_audit_open(&f->a, f->dir, &f->opts), VS_OK);
}

/* interval 1 s; each record 0.4 s later than the one before. */
static void fx_init(fixture *f, uint64_t cp_every)
{
	memset(f, 0, sizeof *f);
	char base[256];
	tu_tmpdir(base, sizeof base);
	snprintf(f->dir, sizeof f->dir, "%s/audit", base);
	snprintf(f->log, sizeof f->log, "%s/log", f->dir);
	snprintf(f->seed_path, sizeof f->seed_path, "%s/seed", base);
	snprintf(f->key_path, sizeof f->key_path, "%s/key", f->dir);
	snprintf(f->cps, sizeof f->cps, "%s/checkpoints", f->dir);
	assert_int_equal(vs_signer_generate(&f->signer), VS_OK);
	f->clk.t = 1764000000000000LL; /* 2025-11-24, safely in the past */
	f->clk.step = 400000;
	f->opts.host = "unit-host";
	f->opts.signer = f->signer;
	f->opts.checkpoint_every = cp_every;
	f->opts.clock = tick;
	f->opts.clock_ctx = &f->clk;
	assert_int_equal(vs_audit_init(f->dir, f->seed_path, f->signer, 1, &f->opts), VS_OK);
	assert_int_equal(vs_audit_seed_load(f->seed_path, &f->seed), VS_OK);
	fx_open(f);
}

static void fx_done(fixture *f)
{
	vs_audit_close(f->a);
	vs_signer_free(f->signer);
	vs_audit_seed_wipe(&f->seed);
	char base[300];
	snprintf(base, sizeof base, "%s", f->dir);
	*strrchr(base, '/') = 0;
	tu_rmdir(base);
}

static uint64_t add(fixture *f, const char *action, const char *reason)
{
	vs_audit_event ev = { "uid:1000", action, "vnf-a", "", 1, VS_AUDIT_OUT_OK, reason, true, 1000 };
	uint64_t seq = 0;
	assert_int_equal(vs_audit_append(f->a, &ev, &seq), VS_OK);
	return seq;
}

static void add_n(fixture *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char reason[32];
		snprintf(reason, sizeof reason, "event %u", i);
		add(f, "vnf.start", reason);
	}
}

static vs_err verify(fixture *f, bool with_seed, vs_audit_report *rep)
{
	vs_audit_verify_opts o = { with_seed ? &f->seed : NULL, NULL, 0, NULL };
	return vs_audit_verify(f->dir, &o, rep);
}

static void expect_damage(fixture *f, bool with_seed, vs_audit_damage kind, uint64_t seq)
{
	vs_audit_report rep;
	vs_err rc = verify(f, with_seed, &rep);
	if (rc != VS_E_INTEGRITY || rep.kind != kind || rep.seq != seq)
		fail_msg("want %s at seq %llu, got rc %d %s at seq %llu: %s",
			 vs_audit_damage_name(kind), (unsigned long long)seq, rc,
			 vs_audit_damage_name(rep.kind), (unsigned long long)rep.seq, rep.message);
}

static void expect_intact(fixture *f, bool with_seed, uint64_t records)
{
	vs_audit_report rep;
	vs_err rc = verify(f, with_seed, &rep);
	if (rc != VS_OK)
		fail_msg("verify: %s", vs_errmsg());
	assert_int_equal(rep.kind, VS_AUDIT_INTACT);
	assert_int_equal(rep.records, records);
	assert_int_equal(rep.macs_checked, with_seed);
}

/* The log as lines, to tamper with. */
typedef struct {
	char *buf;
	char *line[4096];
	size_t len[4096];
	size_t n;
} lines;

static void load_lines(const char *path, lines *l)
{
	uint8_t *p;
	size_t n;
	assert_int_equal(vs_read_small_file(path, 1 << 24, &p, &n), VS_OK);
	l->buf = (char *)p;
	l->n = 0;
	for (size_t off = 0; off < n;) {
		char *nl = memchr(l->buf + off, '\n', n - off);
		assert_non_null(nl);
		l->line[l->n] = l->buf + off;
		l->len[l->n++] = (size_t)(nl - (l->buf + off)) + 1;
		off += l->len[l->n - 1];
	}
}

static void save_lines(const char *path, const lines *l)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (size_t i = 0; i < l->n; i++)
		assert_int_equal(fwrite(l->line[i], 1, l->len[i], fp), l->len[i]);
	assert_int_equal(fclose(fp), 0);
}

static void copy_file(const char *from, const char *to)
{
	uint8_t *p;
	size_t n;
	assert_int_equal(vs_read_small_file(from, 1 << 24, &p, &n), VS_OK);
	FILE *fp = fopen(to, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	free(p);
}

/* --- tests --- */

static int collect(const vs_audit_record *r, void *ctx)
{
	vs_audit_record *last = ctx;
	*last = *r;
	return 0;
}

static void test_append_verify_roundtrip(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 0);
	assert_int_equal(add(&f, "snapshot.create", "first"), 1);
	assert_int_equal(add(&f, "vnf.start", ""), 2);
	add_n(&f, 18);
	expect_intact(&f, true, 20);
	expect_intact(&f, false, 20);
	vs_audit_record *last = malloc(sizeof *last);
	assert_int_equal(vs_audit_read(f.dir, collect, last), VS_OK);
	assert_int_equal(last->seq, 20);
	assert_string_equal(last->host, "unit-host");
	assert_string_equal(last->actor, "uid:1000");
	assert_true(last->has_uid); /* "uid":1000 beside the actor */
	assert_int_equal(last->uid, 1000);
	assert_string_equal(last->reason, "event 17");
	free(last);
	/* Bad events are usage errors and write nothing. */
	vs_audit_event ev = { "uid:0", "Not An Action", "", "", 0, VS_AUDIT_OUT_OK, "", false, 0 };
	assert_int_equal(vs_audit_append(f.a, &ev, NULL), VS_E_USAGE);
	char big[VS_AUDIT_REASON_MAX + 2];
	memset(big, 'r', sizeof big - 1);
	big[sizeof big - 1] = 0;
	vs_audit_event ev2 = { "uid:0", "vnf.stop", "", "", 0, VS_AUDIT_OUT_OK, big, false, 0 };
	assert_int_equal(vs_audit_append(f.a, &ev2, NULL), VS_E_USAGE);
	expect_intact(&f, true, 20);
	/* Reopening carries on from the tail. */
	vs_audit_close(f.a);
	fx_open(&f);
	assert_int_equal(add(&f, "vnf.stop", ""), 21);
	expect_intact(&f, true, 21);
	fx_done(&f);
}

static void test_many_epochs(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 0);
	uint8_t k0_file[300];
	memcpy(k0_file, &f.seed.k0, VS_KEY_LEN);
	add_n(&f, 50); /* 20 s: 20 epochs of 1 s */
	f.clk.step = 3500000; /* idle epochs in between */
	add_n(&f, 10);
	expect_intact(&f, true, 60);
	vs_audit_record *last = malloc(sizeof *last);
	assert_int_equal(vs_audit_read(f.dir, collect, last), VS_OK);
	assert_true(last->epoch > 40);
	/* DIR/key holds exactly k_e for the last epoch, derived from k0. */
	uint8_t *p;
	size_t n;
	assert_int_equal(vs_read_small_file(f.key_path, 4096, &p, &n), VS_OK);
	char want[200], hex[65];
	vs_key k = f.seed.k0;
	for (uint64_t e = 0; e < last->epoch; e++)
		assert_int_equal(vs_audit_key_evolve(&k, &k), VS_OK);
	vs_hex(k.k, VS_KEY_LEN, hex);
	snprintf(want, sizeof want, "vnfsafe-audit-key 1\nepoch %llu\nkey %s\n",
		 (unsigned long long)last->epoch, hex);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(p, want, n);
	struct stat sb;
	assert_int_equal(stat(f.key_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(f.seed_path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(p);
	free(last);
	/* vs_audit_evolve moves an idle log's key forward. */
	f.clk.step = 10000000;
	assert_int_equal(vs_audit_evolve(f.a), VS_OK);
	assert_int_equal(vs_read_small_file(f.key_path, 4096, &p, &n), VS_OK);
	assert_null(strstr((char *)p, hex));
	free(p);
	/* A wrong seed fails every MAC. */
	f.seed.k0.k[0] ^= 1;
	expect_damage(&f, true, VS_AUDIT_MODIFIED, 1);
	fx_done(&f);
}

static void tampered(fixture *f, void (*edit)(lines *), bool with_seed, vs_audit_damage kind,
		     uint64_t seq)
{
	lines l;
	load_lines(f->log, &l);
	char *orig = malloc(1 << 20);
	size_t total = 0;
	for (size_t i = 0; i < l.n; i++) {
		memcpy(orig + total, l.line[i], l.len[i]);
		total += l.len[i];
	}
	edit(&l);
	save_lines(f->log, &l);
	expect_damage(f, with_seed, kind, seq);
	FILE *fp = fopen(f->log, "w");
	assert_int_equal(fwrite(orig, 1, total, fp), total);
	fclose(fp);
	free(orig);
	free(l.buf);
	expect_intact(f, with_seed, 20);
}

static void edit_modify(lines *l)
{
	char *at = strstr(l->line[6], "event 4");
	assert_non_null(at);
	at[6] = '9';
}

static void edit_delete(lines *l)
{
	memmove(&l->line[6], &l->line[7], (l->n - 7) * sizeof l->line[0]);
	memmove(&l->len[6], &l->len[7], (l->n - 7) * sizeof l->len[0]);
	l->n--;
}

static void edit_insert(lines *l)
{
	memmove(&l->line[7], &l->line[6], (l->n - 6) * sizeof l->line[0]);
	memmove(&l->len[7], &l->len[6], (l->n - 6) * sizeof l->len[0]);
	l->n++;
}

static void edit_reorder(lines *l)
{
	char *p = l->line[6];
	size_t n = l->len[6];
	l->line[6] = l->line[7], l->len[6] = l->len[7];
	l->line[7] = p, l->len[7] = n;
}

static void edit_truncate(lines *l)
{
	l->n -= 3;
}

static void test_tamper_kinds(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 0);
	add(&f, "log.init", "e0");
	add(&f, "log.init", "e1");
	add_n(&f, 18); /* reasons "event 0".."event 17" are seqs 3..20 */
	vs_audit_checkpoint cp;
	assert_int_equal(vs_audit_checkpoint_now(f.a, &cp), VS_OK);
	assert_int_equal(cp.size, 20);
	expect_intact(&f, true, 20);
	for (int s = 1; s >= 0; s--) {
		tampered(&f, edit_modify, s, VS_AUDIT_MODIFIED, 7);
		tampered(&f, edit_delete, s, VS_AUDIT_SEQUENCE, 8);
		tampered(&f, edit_insert, s, VS_AUDIT_SEQUENCE, 7);
		tampered(&f, edit_reorder, s, VS_AUDIT_SEQUENCE, 8);
		tampered(&f, edit_truncate, s, VS_AUDIT_TRUNCATED, 18);
	}
	/* A malformed line. */
	lines l;
	load_lines(f.log, &l);
	l.line[4][0] = '[';
	save_lines(f.log, &l);
	expect_damage(&f, true, VS_AUDIT_MALFORMED, 5);
	free(l.buf);
	fx_done(&f);
}

static void test_replay_old_copy(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 0);
	char old_log[500], old_cps[500];
	snprintf(old_log, sizeof old_log, "%s.old", f.log);
	snprintf(old_cps, sizeof old_cps, "%s.old", f.cps);
	add_n(&f, 10);
	vs_audit_checkpoint cp;
	assert_int_equal(vs_audit_checkpoint_now(f.a, &cp), VS_OK);
	copy_file(f.log, old_log);
	copy_file(f.cps, old_cps);
	add_n(&f, 10);
	assert_int_equal(vs_audit_checkpoint_now(f.a, &cp), VS_OK);
	assert_int_equal(cp.size, 20);
	/* cp is anchored elsewhere (ledger / TPM). */
	vs_audit_verify_opts o = { &f.seed, NULL, cp.size, cp.root };
	vs_audit_report rep;
	assert_int_equal(vs_audit_verify(f.dir, &o, &rep), VS_OK);
	vs_audit_close(f.a);
	f.a = NULL;
	/* The intruder puts the old copy back: consistent in itself... */
	copy_file(old_log, f.log);
	copy_file(old_cps, f.cps);
	expect_intact(&f, true, 10);
	/* ...but shorter than the anchor. */
	assert_int_equal(vs_audit_verify(f.dir, &o, &rep), VS_E_INTEGRITY);
	assert_int_equal(rep.kind, VS_AUDIT_TRUNCATED);
	assert_int_equal(rep.seq, 11);
	/* Grown past the anchor with other records: does not extend it. */
	fx_open(&f);
	add_n(&f, 15);
	assert_int_equal(vs_audit_verify(f.dir, &o, &rep), VS_E_INTEGRITY);
	assert_int_equal(rep.kind, VS_AUDIT_INCONSISTENT);
	assert_int_equal(rep.seq, 20);
	fx_done(&f);
}

static void test_torn_tail(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 0);
	add_n(&f, 20);
	vs_audit_close(f.a);
	f.a = NULL;
	struct stat sb;
	assert_int_equal(stat(f.log, &sb), 0);
	/* A crash in the middle of writing record 21. */
	lines l;
	load_lines(f.log, &l);
	FILE *fp = fopen(f.log, "a");
	assert_int_equal(fwrite(l.line[19], 1, 57, fp), 57);
	fclose(fp);
	free(l.buf);
	expect_damage(&f, true, VS_AUDIT_TORN_TAIL, 21);
	/* The next writer moves the bytes aside and says so in the log (the
	 * frontier still names record 20, before the torn bytes). */
	fx_open(&f);
	vs_audit_open_info info;
	vs_audit_open_info_get(f.a, &info);
	assert_int_equal(info.path, VS_AUDIT_OPEN_FRONTIER);
	assert_int_equal(info.start, (uint64_t)sb.st_size);
	char torn[500];
	snprintf(torn, sizeof torn, "%s/log.torn-%lld", f.dir, (long long)sb.st_size);
	struct stat tb;
	assert_int_equal(stat(torn, &tb), 0);
	assert_int_equal(tb.st_size, 57);
	expect_intact(&f, true, 21);
	vs_audit_record *last = malloc(sizeof *last);
	assert_int_equal(vs_audit_read(f.dir, collect, last), VS_OK);
	assert_int_equal(last->seq, 21);
	assert_string_equal(last->action, "audit.torn_tail");
	assert_int_equal(last->outcome, VS_AUDIT_OUT_INTEGRITY);
	assert_non_null(strstr(last->reason, "57 bytes"));
	free(last);
	assert_int_equal(add(&f, "vnf.start", ""), 22);
	expect_intact(&f, true, 22);
	fx_done(&f);
}

/* Rewrites records from index k on (0-based) with key, re-chaining prev;
 * epochs and times kept, or moved into key_epoch when move is set. */
static void forge_from(fixture *f, size_t k, const vs_key *key, bool relabel_epoch,
		       uint64_t key_epoch)
{
	lines l;
	load_lines(f->log, &l);
	uint8_t prev[32];
	char *out = malloc(1 << 22);
	size_t used = 0;
	for (size_t i = 0; i < l.n; i++) {
		vs_audit_record r;
		size_t n;
		assert_int_equal(vs_audit_record_parse(l.line[i], l.len[i] - 1, &r), VS_OK);
		if (i >= k) {
			memcpy(r.prev, prev, 32);
			if (i == k)
				snprintf(r.reason, sizeof r.reason, "nothing happened here");
			if (relabel_epoch)
				r.epoch = key_epoch;
			assert_int_equal(vs_audit_record_format(&r, out + used, 1 << 16, &n), VS_OK);
			assert_int_equal(vs_audit_record_mac(key, out + used, n - 1, r.mac), VS_OK);
			assert_int_equal(vs_audit_record_format(&r, out + used, 1 << 16, &n), VS_OK);
		} else {
			memcpy(out + used, l.line[i], l.len[i]);
			n = l.len[i];
		}
		assert_int_equal(vs_merkle_leaf_hash(out + used, n - 1, prev), VS_OK);
		used += n;
	}
	FILE *fp = fopen(f->log, "w");
	assert_int_equal(fwrite(out, 1, used, fp), used);
	fclose(fp);
	free(out);
	free(l.buf);
}

static void test_current_key_cannot_forge_the_past(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 0);
	add_n(&f, 30); /* epochs 0..12 */
	vs_audit_close(f.a);
	f.a = NULL;
	/* The intruder is root now: it reads DIR/key. */
	uint8_t *p;
	size_t n;
	assert_int_equal(vs_read_small_file(f.key_path, 4096, &p, &n), VS_OK);
	unsigned long long epoch;
	char hex[65];
	assert_int_equal(sscanf((char *)p, "vnfsafe-audit-key 1\nepoch %llu\nkey %64s", &epoch, hex),
			 2);
	free(p);
	vs_key stolen;
	assert_int_equal(vs_unhex(hex, stolen.k, 32), VS_OK);
	assert_true(epoch >= 10);
	char saved[500];
	snprintf(saved, sizeof saved, "%s.orig", f.log);
	copy_file(f.log, saved);
	/* Rewrite record 5 (epoch 1) and re-chain everything after it. */
	forge_from(&f, 4, &stolen, false, 0);
	expect_damage(&f, true, VS_AUDIT_MODIFIED, 5);
	/* Without the seed (and no checkpoint), the chain alone cannot tell. */
	expect_intact(&f, false, 30);
	/* Claiming the stolen key's epoch for old times: outside that epoch. */
	copy_file(saved, f.log);
	forge_from(&f, 4, &stolen, true, epoch);
	expect_damage(&f, true, VS_AUDIT_TIME_ORDER, 5);
	expect_damage(&f, false, VS_AUDIT_TIME_ORDER, 5);
	/* Records of the current epoch at the end remain forgeable: documented. */
	copy_file(saved, f.log);
	expect_intact(&f, true, 30);
	fx_done(&f);
}

static void test_checkpoints(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 10);
	add_n(&f, 35);
	vs_audit_checkpoint cp;
	assert_int_equal(vs_audit_latest_checkpoint(f.dir, &cp), VS_OK);
	assert_int_equal(cp.size, 30);
	vs_audit_report rep;
	assert_int_equal(verify(&f, true, &rep), VS_OK);
	assert_int_equal(rep.checkpoints, 3);
	assert_true(rep.signer_pinned);
	uint8_t pub[VS_PUB_LEN];
	assert_int_equal(vs_signer_public(f.signer, pub), VS_OK);
	assert_int_equal(vs_audit_checkpoint_verify(&cp, pub), VS_OK);

	/* The inclusion proof of record 17 against checkpoint 30's root. */
	uint8_t leaf[32], root[32], path[64][32];
	size_t plen;
	assert_int_equal(vs_audit_prove_inclusion(f.dir, 17, 30, leaf, root, path, &plen), VS_OK);
	assert_memory_equal(root, cp.root, 32);
	assert_int_equal(vs_merkle_verify_inclusion(leaf, 16, 30, path[0], plen * 32, cp.root), VS_OK);
	path[1][3] ^= 4;
	assert_int_equal(vs_merkle_verify_inclusion(leaf, 16, 30, path[0], plen * 32, cp.root),
			 VS_E_INTEGRITY);
	/* Consistency 20 -> 30 between two signed heads. */
	lines c;
	load_lines(f.cps, &c);
	assert_int_equal(c.n, 3);
	vs_audit_checkpoint c20;
	assert_int_equal(vs_audit_checkpoint_parse(c.line[1], c.len[1] - 1, &c20), VS_OK);
	assert_int_equal(c20.size, 20);
	assert_int_equal(vs_audit_prove_consistency(f.dir, 20, 30, path, &plen), VS_OK);
	assert_int_equal(vs_merkle_verify_consistency(20, 30, path[0], plen * 32, c20.root, cp.root),
			 VS_OK);
	path[0][0] ^= 1;
	assert_int_equal(vs_merkle_verify_consistency(20, 30, path[0], plen * 32, c20.root, cp.root),
			 VS_E_INTEGRITY);

	/* A flipped signature hex digit. */
	char *orig = malloc(c.len[2] + 1);
	memcpy(orig, c.line[2], c.len[2]);
	char *sig = strstr(c.line[2], "\"sig\":\"") + 7;
	sig[5] = sig[5] == '0' ? '1' : '0';
	save_lines(f.cps, &c);
	expect_damage(&f, true, VS_AUDIT_BAD_SIGNATURE, 30);
	/* A root that is signed but wrong (the signer itself lying). */
	char line[600], tmp[600], rh[65], sh[129];
	uint8_t wrong[32], sg[VS_SIG_LEN];
	memcpy(wrong, cp.root, 32);
	wrong[0] ^= 1;
	vs_hex(wrong, 32, rh);
	snprintf(tmp, sizeof tmp, "%.*s", (int)c.len[2] - 1, orig);
	memcpy(strstr(tmp, "\"root\":\"") + 8, rh, 64);
	char *s = strstr(tmp, ",\"sig\":\"");
	assert_int_equal(vs_sign(f.signer, tmp, (size_t)(s - tmp), sg), VS_OK);
	vs_hex(sg, VS_SIG_LEN, sh);
	memcpy(s + 8, sh, 128);
	size_t n = (size_t)snprintf(line, sizeof line, "%s\n", tmp);
	c.line[2] = line;
	c.len[2] = n;
	save_lines(f.cps, &c);
	expect_damage(&f, true, VS_AUDIT_ROOT_MISMATCH, 30);
	/* Signed by another key. */
	vs_signer *other;
	assert_int_equal(vs_signer_generate(&other), VS_OK);
	uint8_t opub[VS_PUB_LEN];
	assert_int_equal(vs_signer_public(other, opub), VS_OK);
	vs_audit_verify_opts o = { &f.seed, opub, 0, NULL };
	memcpy(line, orig, c.len[2]);
	save_lines(f.cps, &c);
	assert_int_equal(vs_audit_verify(f.dir, &o, &rep), VS_E_INTEGRITY);
	assert_int_equal(rep.kind, VS_AUDIT_BAD_SIGNATURE);
	vs_signer_free(other);
	expect_intact(&f, true, 35);
	free(orig);
	free(c.buf);
	fx_done(&f);
}


/* --- the frontier (DIR/frontier): opening without reading the log --- */

/* MTH of the log as it is on disk, computed here from its lines. */
static void log_root(fixture *f, uint64_t *n, uint8_t root[32])
{
	lines l;
	vs_merkle m;
	uint8_t leaf[32];
	load_lines(f->log, &l);
	assert_int_equal(vs_merkle_init(&m), VS_OK);
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(vs_merkle_leaf_hash(l.line[i], l.len[i] - 1, leaf), VS_OK);
		assert_int_equal(vs_merkle_add(&m, leaf), VS_OK);
	}
	assert_int_equal(vs_merkle_root(&m, root), VS_OK);
	*n = l.n;
	vs_merkle_free(&m);
	free(l.buf);
}

static off_t file_size(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static void reopen(fixture *f, vs_audit_open_info *info)
{
	vs_audit_close(f->a);
	fx_open(f);
	vs_audit_open_info_get(f->a, info);
}

/* The writer's tree head (a checkpoint now) is the log's own. */
static void expect_head_is_logs(fixture *f)
{
	vs_audit_checkpoint cp;
	uint8_t want[32];
	uint64_t n;
	assert_int_equal(vs_audit_checkpoint_now(f->a, &cp), VS_OK);
	log_root(f, &n, want);
	assert_int_equal(cp.size, n);
	assert_memory_equal(cp.root, want, 32);
}

static void test_frontier_reopen(void **st)
{
	(void)st;
	fixture f;
	vs_audit_open_info info;
	char fr[500];
	fx_init(&f, 0);
	snprintf(fr, sizeof fr, "%s/frontier", f.dir);
	reopen(&f, &info); /* an empty log: nothing to read either way */
	assert_int_equal(info.records, 0);
	for (uint64_t n = 1; n <= 70; n++) {
		add(&f, "vnf.start", n % 3 ? "x" : "a longer reason to vary the line length");
		/* From the frontier: no record read, reading starts at the end. */
		reopen(&f, &info);
		if (info.path != VS_AUDIT_OPEN_FRONTIER)
			fail_msg("size %llu: frontier not used: %s", (unsigned long long)n, info.why);
		assert_int_equal(info.records, 0);
		assert_int_equal(info.start, (uint64_t)file_size(f.log));
		if (n % 5 == 0 || (n & (n - 1)) == 0 || n == 63)
			expect_head_is_logs(&f);
	}
	/* Without it: the whole log is read, to the same head; and it is back. */
	assert_int_equal(unlink(fr), 0);
	reopen(&f, &info);
	assert_int_equal(info.path, VS_AUDIT_OPEN_FULL);
	assert_int_equal(info.records, 70);
	assert_int_equal(file_size(fr) > 0, 1);
	expect_head_is_logs(&f);
	reopen(&f, &info);
	assert_int_equal(info.path, VS_AUDIT_OPEN_FRONTIER);
	assert_int_equal(add(&f, "vnf.stop", ""), 71);
	expect_intact(&f, true, 71);
	fx_done(&f);
}

/* A crash between the append and the frontier's replacement: the log runs
 * ahead of it; the writer reads only the records after it. */
static void test_frontier_lagging(void **st)
{
	(void)st;
	fixture f;
	vs_audit_open_info info;
	char fr[500], old[500];
	fx_init(&f, 0);
	snprintf(fr, sizeof fr, "%s/frontier", f.dir);
	snprintf(old, sizeof old, "%s/frontier.old", f.dir);
	add_n(&f, 10);
	off_t at10 = file_size(f.log);
	copy_file(fr, old);
	add_n(&f, 5);
	assert_int_equal(rename(old, fr), 0);
	reopen(&f, &info);
	assert_int_equal(info.path, VS_AUDIT_OPEN_FRONTIER);
	assert_int_equal(info.start, (uint64_t)at10);
	assert_int_equal(info.records, 5);
	assert_int_equal(add(&f, "vnf.stop", ""), 16);
	expect_head_is_logs(&f);
	expect_intact(&f, true, 16);
	/* The records it is extended with are chain-checked: record 17 edited
	 * (record 18's prev no longer matches) makes open refuse. */
	copy_file(fr, old);
	add_n(&f, 2);
	vs_audit_close(f.a);
	f.a = NULL;
	assert_int_equal(rename(old, fr), 0);
	lines l;
	load_lines(f.log, &l);
	char *actor = strstr(l.line[16], "uid:1000");
	assert_non_null(actor);
	actor[7] = '1';
	save_lines(f.log, &l);
	free(l.buf);
	assert_int_equal(vs_audit_open(&f.a, f.dir, &f.opts), VS_E_INTEGRITY);
	assert_null(f.a);
	fx_done(&f);
}

/* Replaces line `key` of DIR/frontier with `value`. */
static void edit_frontier(fixture *f, const char *key, const char *value)
{
	char path[500], out[8192];
	uint8_t *p;
	size_t n, used = 0;
	snprintf(path, sizeof path, "%s/frontier", f->dir);
	assert_int_equal(vs_read_small_file(path, 8192, &p, &n), VS_OK);
	char *s = (char *)p;
	for (size_t off = 0; off < n;) {
		char *nl = memchr(s + off, '\n', n - off);
		assert_non_null(nl);
		size_t len = (size_t)(nl - (s + off)) + 1, k = strlen(key);
		if (len > k && !memcmp(s + off, key, k) && s[off + k] == ' ') {
			used += (size_t)snprintf(out + used, sizeof out - used, "%s %s\n", key, value);
			key = "\x01"; /* only the first */
		} else {
			memcpy(out + used, s + off, len);
			used += len;
		}
		off += len;
	}
	free(p);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(out, 1, used, fp), used);
	assert_int_equal(fclose(fp), 0);
}

static void expect_full_read(fixture *f, uint64_t records, const char *why)
{
	vs_audit_open_info info;
	reopen(f, &info);
	assert_int_equal(info.path, VS_AUDIT_OPEN_FULL);
	assert_int_equal(info.start, 0);
	assert_int_equal(info.records, records);
	if (!strstr(info.why, why))
		fail_msg("want '%s', got '%s'", why, info.why);
}

/* A frontier that the log contradicts is never used. */
static void test_frontier_contradicted(void **st)
{
	(void)st;
	fixture f, g;
	char fr[500], saved[500], other[500], hex[65];
	uint8_t h[32];
	fx_init(&f, 0);
	fx_init(&g, 0);
	snprintf(fr, sizeof fr, "%s/frontier", f.dir);
	snprintf(saved, sizeof saved, "%s/frontier.saved", f.dir);
	snprintf(other, sizeof other, "%s/frontier", g.dir);
	add_n(&f, 12);
	add_n(&g, 12); /* same seqs, sizes and times: another log all the same */
	vs_audit_close(f.a);
	f.a = NULL;
	copy_file(fr, saved);
	/* Another log's frontier. */
	copy_file(other, fr);
	expect_full_read(&f, 12, "another hash");
	/* The leaf hash, the offset, the time, the seq edited. */
	memset(h, 0xab, 32);
	vs_hex(h, 32, hex);
	copy_file(saved, fr);
	edit_frontier(&f, "leaf", hex);
	expect_full_read(&f, 12, "another hash");
	copy_file(saved, fr);
	edit_frontier(&f, "offset", "100");
	expect_full_read(&f, 12, "no record ends");
	copy_file(saved, fr);
	edit_frontier(&f, "offset", "99999999");
	expect_full_read(&f, 12, "beyond the log");
	copy_file(saved, fr);
	edit_frontier(&f, "time", "1764000000000001");
	expect_full_read(&f, 12, "not the one it names");
	/* Not canonical (a leading zero): not even parsed. */
	copy_file(saved, fr);
	edit_frontier(&f, "epoch", "01");
	expect_full_read(&f, 12, "not canonical");
	/* Each of these opens wrote a good frontier back. */
	vs_audit_open_info info;
	reopen(&f, &info);
	assert_int_equal(info.path, VS_AUDIT_OPEN_FRONTIER);
	/* A subtree root edited: caught when a signed checkpoint has its size. */
	vs_audit_checkpoint cp;
	assert_int_equal(vs_audit_checkpoint_now(f.a, &cp), VS_OK);
	assert_int_equal(cp.size, 12);
	edit_frontier(&f, "node", hex);
	expect_full_read(&f, 12, "checkpoint");
	expect_head_is_logs(&f);
	/* The log rolled back to an older copy (shorter than the frontier). */
	vs_audit_close(f.a);
	f.a = NULL;
	copy_file(f.log, saved);
	fx_open(&f);
	add_n(&f, 4);
	vs_audit_close(f.a);
	f.a = NULL;
	copy_file(saved, f.log);
	expect_full_read(&f, 12, "beyond the log");
	assert_int_equal(add(&f, "vnf.stop", ""), 13);
	expect_head_is_logs(&f);
	expect_intact(&f, true, 13);
	fx_done(&g);
	fx_done(&f);
}

/* A crash at each step around the frontier: every acknowledged record is
 * there, and the next open finds the tail (from the frontier or the log). */
static void test_frontier_crash_points(void **st)
{
	(void)st;
	static const char *points[] = { "audit.after_sync", "audit.frontier_before_rename",
					"audit.frontier_after_rename" };
	static const vs_audit_open_path want[] = { VS_AUDIT_OPEN_FRONTIER, VS_AUDIT_OPEN_FRONTIER,
						   VS_AUDIT_OPEN_FRONTIER };
	static const uint64_t extra[] = { 1, 1, 0 };
	fixture f;
	fx_init(&f, 4);
	add_n(&f, 3);
	uint64_t acked = 3;
	for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
		vs_audit_close(f.a);
		f.a = NULL;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			vs_audit *a;
			if (vs_audit_open(&a, f.dir, &f.opts) != VS_OK)
				_exit(10);
			for (int j = 0; j < 5; j++) {
				vs_audit_event ev = { .actor = "uid:9", .action = "vnf.stop", .vnf = "p",
						      .generation = 1, .outcome = VS_AUDIT_OUT_OK,
						      .reason = "acked" };
				if (vs_audit_append(a, &ev, NULL) != VS_OK)
					_exit(11);
			}
			setenv("VNFSAFE_FAULT", points[i], 1);
			vs_audit_event ev = { .actor = "uid:9", .action = "vnf.stop", .vnf = "p",
					      .generation = 1, .outcome = VS_AUDIT_OUT_OK, .reason = "last" };
			vs_ignore(vs_audit_append(a, &ev, NULL));
			_exit(12); /* not killed */
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);
		acked += 5;
		vs_audit_open_info info;
		fx_open(&f);
		vs_audit_open_info_get(f.a, &info);
		assert_int_equal(info.path, want[i]);
		assert_int_equal(info.records, extra[i]);
		acked += 1; /* synced before the kill */
		assert_int_equal(add(&f, "vnf.start", ""), acked + 1);
		acked++;
		expect_head_is_logs(&f);
		expect_intact(&f, true, acked);
	}
	fx_done(&f);
}

/* --- concurrency --- */

typedef struct {
	fixture *f;
	int batch; /* 1: vs_audit_append; more: vs_audit_append_many */
	uint64_t seqs[200];
} worker;

static void *thread_main(void *p)
{
	worker *w = p;
	for (int i = 0; i < 200; i += w->batch) {
		vs_audit_event ev[5];
		for (int k = 0; k < w->batch; k++)
			ev[k] = (vs_audit_event){ "uid:7", "vnf.start", "v", "", (uint64_t)(i + k),
						  VS_AUDIT_OUT_OK, "threaded", false, 0 };
		uint64_t first = 0;
		vs_err rc = w->batch == 1 ? vs_audit_append(w->f->a, ev, &first)
					  : vs_audit_append_many(w->f->a, ev, (size_t)w->batch, &first);
		/* A batch's records have consecutive seqs from the one returned. */
		for (int k = 0; k < w->batch; k++)
			w->seqs[i + k] = rc == VS_OK ? first + (uint64_t)k : 0;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_threads_group_commit(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 100);
	f.clk.step = 10; /* many records per epoch */
	worker w[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		w[i].f = &f;
		w[i].batch = i % 2 ? 5 : 1;
		assert_int_equal(pthread_create(&t[i], NULL, thread_main, &w[i]), 0);
	}
	uint64_t all[800];
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		memcpy(all + 200 * i, w[i].seqs, sizeof w[i].seqs);
	}
	qsort(all, 800, sizeof all[0], cmp_u64);
	for (uint64_t i = 0; i < 800; i++)
		assert_int_equal(all[i], i + 1);
	/* A batch with one bad event writes none of them. */
	vs_audit_event two[2] = { { "uid:7", "vnf.stop", "v", "", 1, VS_AUDIT_OUT_OK, "", false, 0 },
				  { "uid:7", "BAD ACTION", "v", "", 1, VS_AUDIT_OUT_OK, "", false, 0 } };
	assert_int_equal(vs_audit_append_many(f.a, two, 2, NULL), VS_E_USAGE);
	assert_int_equal(vs_audit_append_many(f.a, two, 0, NULL), VS_E_USAGE);
	expect_intact(&f, true, 800);
	vs_audit_checkpoint cp;
	assert_int_equal(vs_audit_latest_checkpoint(f.dir, &cp), VS_OK);
	assert_true(cp.size >= 700);
	fx_done(&f);
}

static void test_processes(void **st)
{
	(void)st;
	fixture f;
	fx_init(&f, 50);
	f.clk.step = 10;
	add(&f, "log.init", "");
	vs_audit_close(f.a);
	f.a = NULL;
	pid_t pids[3];
	for (int i = 0; i < 3; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			vs_audit *a;
			f.clk.t += i; /* each process its own (fake) clock */
			if (vs_audit_open(&a, f.dir, &f.opts) != VS_OK)
				_exit(10);
			for (int j = 0; j < 150; j++) {
				vs_audit_event ev = { "uid:9", "vnf.stop", "p", "", (uint64_t)j,
						      VS_AUDIT_OUT_FAILED, "forked", false, 0 };
				if (vs_audit_append(a, &ev, NULL) != VS_OK)
					_exit(11);
			}
			vs_audit_close(a);
			_exit(0);
		}
	}
	for (int i = 0; i < 3; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	expect_intact(&f, true, 451);
	/* The frontier the last of them left is the log's. */
	fx_open(&f);
	vs_audit_open_info info;
	vs_audit_open_info_get(f.a, &info);
	assert_int_equal(info.path, VS_AUDIT_OPEN_FRONTIER);
	assert_int_equal(info.records, 0);
	expect_head_is_logs(&f);
	fx_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merkle_against_reference),
		cmocka_unit_test(test_record_roundtrip_and_strict),
		cmocka_unit_test(test_record_uid_field),
		cmocka_unit_test(test_append_verify_roundtrip),
		cmocka_unit_test(test_many_epochs),
		cmocka_unit_test(test_tamper_kinds),
		cmocka_unit_test(test_replay_old_copy),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_current_key_cannot_forge_the_past),
		cmocka_unit_test(test_checkpoints),
		cmocka_unit_test(test_frontier_reopen),
		cmocka_unit_test(test_frontier_lagging),
		cmocka_unit_test(test_frontier_contradicted),
		cmocka_unit_test(test_frontier_crash_points),
		cmocka_unit_test(test_threads_group_commit),
		cmocka_unit_test(test_processes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
