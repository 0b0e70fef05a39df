#define _GNU_SOURCE
/* The etcd ledger backend and the record JSON it stores.
 *
 * The JSON tests need nothing. The backend tests need a real cluster: they
 * read its endpoints from VS_ETCD_ENDPOINTS (comma-separated; set by
 * `tests/integration/etcd_cluster.sh run test_etcd`) and are skipped when it
 * is unset. Every run uses VNF names of its own, so runs can share a
 * cluster. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "vnfsafe/crypto.h"
#include "vnfsafe/ledger.h"

/* ---------- record JSON ---------- */

static const char golden[] =
	"{\"name\":\"fw1\",\"lineage\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\",\"generation\":3,"
	"\"state\":\"ACTIVE\",\"owner\":\"host-a\",\"target\":\"\",\"has_snapshot\":true,"
	"\"latest_snapshot\":\"000102030405060708090a0b0c0d0e0f\",\"latest_snapshot_gen\":2,"
	"\"latest_final\":true,\"latest_host\":\"host-b\","
	"\"activation\":\"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf\","
	"\"token_hash\":\"d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef\","
	"\"sensitive\":\"secrets,tls\",\"updated\":1700000000}";

static vs_vnf_record sample(const char *name)
{
	vs_vnf_record r;
	memset(&r, 0, sizeof r);
	snprintf(r.name, sizeof r.name, "%s", name);
	for (int i = 0; i < VS_ID_LEN; i++) {
		r.lineage[i] = (uint8_t)(0xa0 + i);
		r.latest_snapshot[i] = (uint8_t)i;
		r.activation[i] = (uint8_t)(0xc0 + i);
	}
	for (int i = 0; i < VS_HASH_LEN; i++)
		r.token_hash[i] = (uint8_t)(0xd0 + i);
	snprintf(r.latest_host, sizeof r.latest_host, "host-b");
	r.latest_final = true;
	r.generation = 3;
	r.state = VS_VNF_ACTIVE;
	snprintf(r.owner, sizeof r.owner, "host-a");
	r.has_snapshot = true;
	r.latest_snapshot_gen = 2;
	snprintf(r.sensitive, sizeof r.sensitive, "secrets,tls");
	r.updated = 1700000000;
	return r;
}

static void assert_same_record(const vs_vnf_record *a, const vs_vnf_record *b)
{
	assert_string_equal(a->name, b->name);
	assert_memory_equal(a->lineage, b->lineage, VS_ID_LEN);
	assert_int_equal(a->generation, b->generation);
	assert_int_equal(a->state, b->state);
	assert_string_equal(a->owner, b->owner);
	assert_string_equal(a->target, b->target);
	assert_int_equal(a->has_snapshot, b->has_snapshot);
	assert_memory_equal(a->latest_snapshot, b->latest_snapshot, VS_ID_LEN);
	assert_int_equal(a->latest_snapshot_gen, b->latest_snapshot_gen);
	assert_int_equal(a->latest_final, b->latest_final);
	assert_memory_equal(a->activation, b->activation, VS_ID_LEN);
	assert_string_equal(a->latest_host, b->latest_host);
	assert_memory_equal(a->token_hash, b->token_hash, VS_HASH_LEN);
	assert_string_equal(a->sensitive, b->sensitive);
	assert_int_equal(a->updated, b->updated);
}

static void test_json_round_trip(void **st)
{
	(void)st;
	vs_vnf_record r = sample("fw1"), back;
	r.version = 42;
	char *s = vs_vnf_record_to_json(&r);
	assert_non_null(s);
	assert_string_equal(s, golden);
	memset(&back, 0xff, sizeof back);
	assert_int_equal(vs_vnf_record_from_json(s, strlen(s), &back), VS_OK);
	assert_same_record(&r, &back);
	assert_int_equal(back.version, 0); /* not stored: the backend's */
	free(s);

	/* Every state, and a record without a snapshot. */
	for (int st8 = VS_VNF_REGISTERED; st8 <= VS_VNF_RETIRED; st8++) {
		r = sample("x.y_z-9");
		r.state = (vs_vnf_state)st8;
		r.has_snapshot = false;
		memset(r.latest_snapshot, 0, VS_ID_LEN);
		r.latest_snapshot_gen = 0;
		r.latest_final = false;
		r.latest_host[0] = 0;
		snprintf(r.target, sizeof r.target, "host \"b\" \\ c");
		memset(r.sensitive, 'd', sizeof r.sensitive - 1);
		r.sensitive[sizeof r.sensitive - 1] = 0;
		s = vs_vnf_record_to_json(&r);
		assert_non_null(s);
		assert_int_equal(vs_vnf_record_from_json(s, strlen(s), &back), VS_OK);
		assert_same_record(&r, &back);
		free(s);
	}
}

#define NSPOIL 9

/* Spoils r the i-th way; says how. */
static const char *spoil(int i, vs_vnf_record *r)
{
	switch (i) {
	case 0: snprintf(r->name, sizeof r->name, "a/b"); return "bad name";
	case 1: r->name[0] = 0; return "empty name";
	case 2: memset(r->name, 'a', sizeof r->name); return "unterminated name";
	case 3: snprintf(r->owner, sizeof r->owner, "a\nb"); return "control char in owner";
	case 4: snprintf(r->target, sizeof r->target, "h\xc3\xa9"); return "non-ASCII target";
	case 5: memset(r->sensitive, 'a', sizeof r->sensitive); return "unterminated sensitive";
	case 6: r->state = (vs_vnf_state)17; return "unknown state";
	case 7: r->generation = UINT64_MAX; return "huge generation";
	default: r->updated = -1; return "negative time";
	}
}

static void test_json_encoder_normalizes_and_refuses(void **st)
{
	(void)st;
	/* Without a snapshot, stale snapshot fields are written as zeros. */
	vs_vnf_record r = sample("fw1"), back;
	r.has_snapshot = false;
	char *s = vs_vnf_record_to_json(&r);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"latest_snapshot\":\"00000000000000000000000000000000\","
				  "\"latest_snapshot_gen\":0,\"latest_final\":false,"
				  "\"latest_host\":\"\","));
	assert_int_equal(vs_vnf_record_from_json(s, strlen(s), &back), VS_OK);
	free(s);

	/* What the parser would refuse is never written. */
	for (int i = 0; i < NSPOIL; i++) {
		r = sample("fw1");
		const char *what = spoil(i, &r);
		s = vs_vnf_record_to_json(&r);
		if (s)
			fail_msg("encoder accepted a record with %s: %s", what, s);
		assert_non_null(strstr(vs_errmsg(), "ledger record"));
	}
}

/* golden with the first `from` replaced by `to`. */
static char *mutate(const char *from, const char *to)
{
	const char *at = strstr(golden, from);
	if (!at)
		fail_msg("'%s' is not in the sample record", from);
	char *out = malloc(sizeof golden + strlen(to));
	assert_non_null(out);
	size_t pre = (size_t)(at - golden);
	memcpy(out, golden, pre);
	strcpy(out + pre, to);
	strcat(out, at + strlen(from));
	return out;
}

static char *field_of(const char *key, char fill, size_t n)
{
	char *out = malloc(n + strlen(key) + 8);
	assert_non_null(out);
	int k = sprintf(out, "\"%s\":\"", key);
	memset(out + k, fill, n);
	strcpy(out + k + n, "\"");
	return out;
}

static void expect_refused(const char *json, size_t len, const char *what)
{
	vs_vnf_record r;
	vs_err rc = vs_vnf_record_from_json(json, len, &r);
	if (rc != VS_E_INTEGRITY)
		fail_msg("%s: expected VS_E_INTEGRITY, got %d (%.300s)", what, rc, json);
	const char *m = vs_errmsg();
	if (strncmp(m, "ledger record", 13) || strchr(m, '\n'))
		fail_msg("%s: unexpected message '%s'", what, m);
	vs_vnf_record zero;
	memset(&zero, 0, sizeof zero);
	assert_memory_equal(&r, &zero, sizeof r);
}

static void test_json_strict_rejects(void **st)
{
	(void)st;
	struct {
		const char *from, *to;
	} subs[] = {
		/* types */
		{ "\"generation\":3", "\"generation\":\"3\"" },
		{ "\"generation\":3", "\"generation\":3.0" },
		{ "\"generation\":3", "\"generation\":1e2" },
		{ "\"generation\":3", "\"generation\":null" },
		{ "\"generation\":3", "\"generation\":-1" },
		{ "\"generation\":3", "\"generation\":-0" },
		{ "\"generation\":3", "\"generation\":03" },
		{ "\"generation\":3", "\"generation\":99999999999999999999" },
		{ "\"updated\":1700000000", "\"updated\":-5" },
		{ "\"latest_snapshot_gen\":2", "\"latest_snapshot_gen\":true" },
		{ "\"latest_final\":true", "\"latest_final\":1" },
		{ "\"latest_final\":true", "\"latest_final\":null" },
		{ ",\"latest_final\":true", "" },
		{ "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF" },
		{ "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "c0c1c2" },
		{ ",\"activation\":\"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf\"", "" },
		{ ",\"latest_host\":\"host-b\"", "" },
		{ "\"latest_host\":\"host-b\"", "\"latest_host\":null" },
		{ "\"latest_host\":\"host-b\"", "\"latest_host\":\"a\\tb\"" },
		{ "d0d1d2d3", "D0D1D2D3" },
		{ "d0d1d2d3", "d0d1d2" },
		{ "\"token_hash\":\"d0", "\"token_hash\":\"d0d0" },
		{ "\"token_hash\":\"d0", "\"token_hash\":5,\"x\":\"d0" },
		{ "\"has_snapshot\":true", "\"has_snapshot\":1" },
		{ "\"has_snapshot\":true", "\"has_snapshot\":\"true\"" },
		{ "\"has_snapshot\":true", "\"has_snapshot\":false" }, /* with a snapshot id */
		{ "\"name\":\"fw1\"", "\"name\":5" },
		{ "\"owner\":\"host-a\"", "\"owner\":[]" },
		{ "\"owner\":\"host-a\"", "\"owner\":{}" },
		{ "\"state\":\"ACTIVE\"", "\"state\":1" },
		/* values */
		{ "\"state\":\"ACTIVE\"", "\"state\":\"active\"" },
		{ "\"state\":\"ACTIVE\"", "\"state\":\"UNKNOWN\"" },
		{ "\"state\":\"ACTIVE\"", "\"state\":\"ACTIVEX\"" },
		{ "\"state\":\"ACTIVE\"", "\"state\":\"\"" },
		{ "\"state\":\"ACTIVE\"", "\"state\":\"ACTIVE\\u0000\"" },
		{ "\"state\":\"ACTIVE\"", "\"state\":\"MIGRATINGMIGRATINGMIGRATING\"" },
		{ "\"name\":\"fw1\"", "\"name\":\"\"" },
		{ "\"name\":\"fw1\"", "\"name\":\"a/b\"" },
		{ "\"name\":\"fw1\"", "\"name\":\"-x\"" },
		{ "\"name\":\"fw1\"", "\"name\":\"..\"" },
		{ "\"name\":\"fw1\"", "\"name\":\"f\\u0000w\"" },
		{ "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF" },
		{ "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "a0a1a2a3a4a5a6a7a8a9aaabacadaea" },
		{ "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0" },
		{ "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "g0a1a2a3a4a5a6a7a8a9aaabacadaeaf" },
		{ "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "a0a1a2a3-4a5a6a7a8a9aaabacadaeaf" },
		{ "\"latest_snapshot\":\"000102030405060708090a0b0c0d0e0f\"",
		  "\"latest_snapshot\":null" },
		{ "000102030405060708090a0b0c0d0e0f", "" },
		{ "\"owner\":\"host-a\"", "\"owner\":\"a\\nb\"" },
		{ "\"owner\":\"host-a\"", "\"owner\":\"\\u00e9\"" },
		{ "\"owner\":\"host-a\"", "\"owner\":\"\xc3\xa9\"" },
		{ "\"owner\":\"host-a\"", "\"owner\":\"\xff\"" },
		{ "\"owner\":\"host-a\"", "\"owner\":\"\\u0000\"" },
		{ "\"owner\":\"host-a\"", "\"owner\":\"host\\u002da\"" }, /* not canonical */
		{ "\"sensitive\":\"secrets,tls\"", "\"sensitive\":\"secrets\\/tls\"" },
		/* structure */
		{ ",\"target\":\"\"", "" },
		{ "\"target\"", "\"targets\"" },
		{ ",\"updated\":1700000000", "" },
		{ "\"updated\":1700000000}", "\"updated\":1700000000,\"extra\":1}" },
		{ "{\"name\":\"fw1\",", "{\"name\":\"fw1\",\"name\":\"fw1\"," },
		{ "{\"name\":\"fw1\",\"lineage\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"",
		  "{\"lineage\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\",\"name\":\"fw1\"" },
		{ "\"generation\":3,", "\"generation\": 3," },
		{ "{", "{ " },
		{ "{", "[{" },
		{ "1700000000}", "1700000000}]" },
		{ "1700000000}", "1700000000} " },
		{ "1700000000}", "1700000000}x" },
		{ "1700000000}", "1700000000}{}" },
		{ "1700000000}", "1700000000" },
	};
	char what[64];
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		char *bad = mutate(subs[i].from, subs[i].to);
		snprintf(what, sizeof what, "substitution %zu", i);
		expect_refused(bad, strlen(bad), what);
		free(bad);
	}

	/* Strings one past their bounds (the name also fails vs_name_ok's length). */
	struct {
		const char *key, *field;
		size_t n;
	} longs[] = {
		{ "name", "\"name\":\"fw1\"", VS_NAME_MAX },
		{ "owner", "\"owner\":\"host-a\"", VS_HOST_MAX },
		{ "target", "\"target\":\"\"", VS_HOST_MAX },
		{ "latest_host", "\"latest_host\":\"host-b\"", VS_HOST_MAX },
		{ "sensitive", "\"sensitive\":\"secrets,tls\"", VS_SENSITIVE_MAX },
	};
	for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
		char *f = field_of(longs[i].key, 'a', longs[i].n);
		char *bad = mutate(longs[i].field, f);
		expect_refused(bad, strlen(bad), longs[i].key);
		free(bad);
		free(f);
		/* One shorter fits (the name needs vs_name_ok too). */
		f = field_of(longs[i].key, 'a', longs[i].n - 1);
		bad = mutate(longs[i].field, f);
		vs_vnf_record r;
		assert_int_equal(vs_vnf_record_from_json(bad, strlen(bad), &r), VS_OK);
		free(bad);
		free(f);
	}

	/* Raw inputs, and lengths that do not match the text. */
	const char *raws[] = { "", "{", "}", "[]", "{}", "null", "\"fw1\"", "3", "\xff\xfe" };
	for (size_t i = 0; i < sizeof raws / sizeof raws[0]; i++)
		expect_refused(raws[i], strlen(raws[i]), raws[i]);
	expect_refused(golden, sizeof golden - 2, "truncated by one");
	expect_refused(golden, sizeof golden, "with a trailing NUL");
	expect_refused(golden, 0, "zero length");

	/* Oversized input: refused before parsing. */
	size_t big = 1 << 20;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	memcpy(huge, golden, sizeof golden - 1);
	expect_refused(huge, big, "1 MiB");
	free(huge);

	/* And the unchanged sample is fine. */
	vs_vnf_record r;
	assert_int_equal(vs_vnf_record_from_json(golden, sizeof golden - 1, &r), VS_OK);
}

/* ---------- against a cluster ---------- */

static const char *endpoints(void)
{
	const char *e = getenv("VS_ETCD_ENDPOINTS");
	if (!e || !*e) {
		print_message("SKIP: VS_ETCD_ENDPOINTS not set (run under "
			      "tests/integration/etcd_cluster.sh run)\n");
		skip();
	}
	return e;
}

static char run_id[32];

/* A VNF name of this run: "t<pid>-<time>-<what>". */
static void vnf_name(char *out, size_t cap, const char *what)
{
	if (!run_id[0])
		snprintf(run_id, sizeof run_id, "t%ld-%ld", (long)getpid(), (long)time(NULL));
	snprintf(out, cap, "%s-%s", run_id, what);
}

static vs_vnf_record fresh(const char *what)
{
	char name[VS_NAME_MAX];
	vnf_name(name, sizeof name, what);
	vs_vnf_record r = sample(name);
	r.state = VS_VNF_REGISTERED;
	r.generation = 0;
	r.owner[0] = 0;
	r.has_snapshot = false;
	memset(r.latest_snapshot, 0, VS_ID_LEN);
	r.latest_snapshot_gen = 0;
	r.latest_final = false;
	r.latest_host[0] = 0;
	assert_int_equal(vs_random(r.lineage, VS_ID_LEN), VS_OK);
	r.updated = (int64_t)time(NULL);
	return r;
}

static vs_ledger *open_with(const char *eps)
{
	vs_ledger *l = NULL;
	vs_err rc = vs_ledger_etcd_open(&l, eps);
	if (rc != VS_OK)
		fail_msg("cannot open etcd ledger at %s: %s", eps, vs_errmsg());
	assert_string_equal(l->ops->scheme, "etcd");
	return l;
}

static void expect_rc(vs_err got, vs_err want, const char *msg_part)
{
	if (got != want)
		fail_msg("expected %d, got %d: %s", want, got, got ? vs_errmsg() : "ok");
	if (msg_part && !strstr(vs_errmsg(), msg_part))
		fail_msg("message '%s' lacks '%s'", vs_errmsg(), msg_part);
}

/* One ACTIVE transition on r through l; returns the new version. */
static uint64_t activate(vs_ledger *l, vs_vnf_record *r, const char *host)
{
	vs_vnf_record cur;
	expect_rc(l->ops->get(l, r->name, &cur), VS_OK, NULL);
	*r = cur;
	r->state = VS_VNF_ACTIVE;
	r->generation++;
	snprintf(r->owner, sizeof r->owner, "%s", host);
	expect_rc(l->ops->cas(l, r, cur.version), VS_OK, NULL);
	vs_vnf_record after;
	expect_rc(l->ops->get(l, r->name, &after), VS_OK, NULL);
	assert_true(after.version > cur.version);
	assert_same_record(r, &after);
	return after.version;
}

static void test_create_get(void **st)
{
	(void)st;
	vs_ledger *l = open_with(endpoints());
	vs_vnf_record r = fresh("create"), got;
	r.version = 999; /* ignored */
	expect_rc(l->ops->create(l, &r), VS_OK, NULL);
	expect_rc(l->ops->get(l, r.name, &got), VS_OK, NULL);
	assert_same_record(&r, &got);
	assert_true(got.version > 0);

	/* A second registration of the name is refused, whatever it holds. */
	vs_vnf_record other = fresh("create");
	other.generation = 7;
	expect_rc(l->ops->create(l, &other), VS_E_USAGE, "is already registered");
	vs_vnf_record again;
	expect_rc(l->ops->get(l, r.name, &again), VS_OK, NULL);
	assert_same_record(&r, &again);
	assert_int_equal(again.version, got.version);

	/* Absent and invalid names. */
	char name[VS_NAME_MAX];
	vnf_name(name, sizeof name, "absent");
	expect_rc(l->ops->get(l, name, &got), VS_E_USAGE, "no VNF named");
	expect_rc(l->ops->get(l, "../etc", &got), VS_E_USAGE, "not a valid VNF name");
	vs_vnf_record bad = fresh("bad");
	bad.owner[0] = '\n';
	expect_rc(l->ops->create(l, &bad), VS_E_USAGE, "cannot store");
	vs_ledger_close(l);
}

static void test_cas(void **st)
{
	(void)st;
	vs_ledger *l = open_with(endpoints());
	vs_vnf_record r = fresh("cas"), cur;
	expect_rc(l->ops->create(l, &r), VS_OK, NULL);
	expect_rc(l->ops->get(l, r.name, &cur), VS_OK, NULL);
	uint64_t v0 = cur.version;

	uint64_t v1 = activate(l, &r, "host-a");
	assert_true(v1 > v0);

	/* The stale version loses, even when it would write the same bytes. */
	r.state = VS_VNF_STOPPED;
	expect_rc(l->ops->cas(l, &r, v0), VS_E_POLICY, "changed concurrently");
	expect_rc(l->ops->get(l, r.name, &cur), VS_OK, NULL);
	assert_int_equal(cur.state, VS_VNF_ACTIVE);
	assert_int_equal(cur.version, v1);
	expect_rc(l->ops->cas(l, &cur, v0), VS_E_POLICY, "changed concurrently");

	/* The current one wins, once. */
	expect_rc(l->ops->cas(l, &r, v1), VS_OK, NULL);
	expect_rc(l->ops->cas(l, &r, v1), VS_E_POLICY, "changed concurrently");
	expect_rc(l->ops->get(l, r.name, &cur), VS_OK, NULL);
	assert_int_equal(cur.state, VS_VNF_STOPPED);
	assert_true(cur.version > v1);

	/* Version 0 (an absent key's mod_revision) and absent records. */
	expect_rc(l->ops->cas(l, &r, 0), VS_E_USAGE, "invalid record version");
	vs_vnf_record ghost = fresh("ghost");
	expect_rc(l->ops->cas(l, &ghost, v1), VS_E_USAGE, "no VNF named");
	expect_rc(l->ops->cas(l, &ghost, 0), VS_E_USAGE, "invalid record version");
	expect_rc(l->ops->get(l, ghost.name, &cur), VS_E_USAGE, "no VNF named");
	vs_ledger_close(l);
}

#define NRACERS 8

typedef struct {
	vs_vnf_record rec;
	uint64_t expected;
	pthread_barrier_t *go;
	vs_err rc;
} racer;

static void *race_main(void *arg)
{
	racer *r = arg;
	vs_ledger *l;
	r->rc = vs_ledger_etcd_open(&l, getenv("VS_ETCD_ENDPOINTS"));
	pthread_barrier_wait(r->go);
	if (r->rc == VS_OK) {
		r->rc = l->ops->cas(l, &r->rec, r->expected);
		vs_ledger_close(l);
	}
	return NULL;
}

/* Racing activations from one version, each on its own connection: exactly
 * one wins, the others are told the record changed. */
static void test_cas_race(void **st)
{
	(void)st;
	vs_ledger *l = open_with(endpoints());
	vs_vnf_record r = fresh("race"), cur;
	expect_rc(l->ops->create(l, &r), VS_OK, NULL);
	expect_rc(l->ops->get(l, r.name, &cur), VS_OK, NULL);
	racer rs[NRACERS];
	pthread_t th[NRACERS];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, NRACERS);
	for (int i = 0; i < NRACERS; i++) {
		rs[i] = (racer){ .rec = cur, .expected = cur.version, .go = &go };
		rs[i].rec.state = VS_VNF_ACTIVE;
		rs[i].rec.generation = 1;
		snprintf(rs[i].rec.owner, sizeof rs[i].rec.owner, "host-%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, race_main, &rs[i]), 0);
	}
	int won = -1;
	for (int i = 0; i < NRACERS; i++) {
		pthread_join(th[i], NULL);
		if (rs[i].rc == VS_OK) {
			assert_int_equal(won, -1);
			won = i;
		} else {
			assert_int_equal(rs[i].rc, VS_E_POLICY);
		}
	}
	pthread_barrier_destroy(&go);
	assert_true(won >= 0);
	expect_rc(l->ops->get(l, r.name, &cur), VS_OK, NULL);
	assert_same_record(&rs[won].rec, &cur);
	vs_ledger_close(l);
}

#define NLIST 150 /* more than one page of the backend's list */

typedef struct {
	const char *prefix;
	int seen[NLIST];
	int count, others;
	uint64_t versions[NLIST];
	int stop_after;
} list_ctx;

static vs_err on_record(void *ctx, const vs_vnf_record *r)
{
	list_ctx *c = ctx;
	size_t n = strlen(c->prefix);
	int i;
	if (strncmp(r->name, c->prefix, n) || sscanf(r->name + n, "%d", &i) != 1 || i < 0 ||
	    i >= NLIST) {
		c->others++;
		return VS_OK;
	}
	c->seen[i]++;
	c->versions[i] = r->version;
	assert_int_equal(r->generation, (uint64_t)i);
	if (++c->count == c->stop_after)
		return vs_fail(VS_E_POLICY, "stop here");
	return VS_OK;
}

static void test_list(void **st)
{
	(void)st;
	vs_ledger *l = open_with(endpoints());
	char prefix[VS_NAME_MAX], what[32], name[VS_NAME_MAX + 32];
	vnf_name(prefix, sizeof prefix, "list-");
	for (unsigned i = 0; i < NLIST; i++) {
		snprintf(what, sizeof what, "list-%03u", i);
		vs_vnf_record r = fresh(what);
		r.generation = i;
		expect_rc(l->ops->create(l, &r), VS_OK, NULL);
	}
	list_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->prefix = prefix;
	expect_rc(l->ops->list(l, on_record, c), VS_OK, NULL);
	assert_int_equal(c->count, NLIST);
	for (unsigned i = 0; i < NLIST; i++) {
		assert_int_equal(c->seen[i], 1);
		vs_vnf_record r;
		snprintf(name, sizeof name, "%s%03u", prefix, i);
		expect_rc(l->ops->get(l, name, &r), VS_OK, NULL);
		assert_int_equal(r.version, c->versions[i]);
	}

	/* The callback's error stops the listing and is returned. */
	memset(c, 0, sizeof *c);
	c->prefix = prefix;
	c->stop_after = 3;
	expect_rc(l->ops->list(l, on_record, c), VS_E_POLICY, "stop here");
	assert_int_equal(c->count, 3);
	free(c);
	vs_ledger_close(l);
}

/* ---------- failover ---------- */

/* A port on 127.0.0.1 with nothing listening (bound, then released). */
static int dead_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* A listener on 127.0.0.1 (port in *port) that never accepts: connections
 * complete in the kernel, requests are never answered. */
static int blackhole(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_failover_dead_first(void **st)
{
	(void)st;
	char eps[1024];
	/* No scheme on the dead one: host:port is accepted too. */
	snprintf(eps, sizeof eps, "127.0.0.1:%d,%s", dead_port(), endpoints());
	vs_ledger *l = open_with(eps);
	vs_vnf_record r = fresh("failover"), got;
	expect_rc(l->ops->create(l, &r), VS_OK, NULL);
	expect_rc(l->ops->get(l, r.name, &got), VS_OK, NULL);
	assert_same_record(&r, &got);
	activate(l, &r, "host-b");
	list_ctx *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->prefix = "no-such-prefix-";
	expect_rc(l->ops->list(l, on_record, c), VS_OK, NULL);
	assert_true(c->others > 0);
	free(c);
	vs_ledger_close(l);

	/* A fresh handle with the dead endpoint again first: still fine. */
	l = open_with(eps);
	expect_rc(l->ops->get(l, r.name, &got), VS_OK, NULL);
	vs_ledger_close(l);
}

static void test_all_dead(void **st)
{
	(void)st;
	char eps[256];
	int a = dead_port(), b = dead_port();
	snprintf(eps, sizeof eps, "http://127.0.0.1:%d,127.0.0.1:%d/", a, b);
	vs_ledger *l = open_with(eps);
	vs_vnf_record r = sample("fw1"), got;
	expect_rc(l->ops->get(l, "fw1", &got), VS_E_ENV, "etcd unreachable at all endpoints (");
	assert_non_null(strstr(vs_errmsg(), "http://127.0.0.1:"));
	expect_rc(l->ops->create(l, &r), VS_E_ENV, "etcd unreachable at all endpoints");
	/* Nothing was sent: no doubt about the outcome. */
	assert_null(strstr(vs_errmsg(), "unknown"));
	expect_rc(l->ops->cas(l, &r, 5), VS_E_ENV, "etcd unreachable at all endpoints");
	vs_ledger_close(l);
}

static void test_open_rejects(void **st)
{
	(void)st;
	const char *bad[] = {
		"", ",", "127.0.0.1:2379,", "127.0.0.1", "http://127.0.0.1", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:23x", "ftp://127.0.0.1:21", "http://a b:1",
		"http://127.0.0.1:2379/v3", "http://u:secret@127.0.0.1:2379",
		"127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,127.0.0.1:5,127.0.0.1:6,"
		"127.0.0.1:7,127.0.0.1:8,127.0.0.1:9,127.0.0.1:10,127.0.0.1:11,127.0.0.1:12,"
		"127.0.0.1:13,127.0.0.1:14,127.0.0.1:15,127.0.0.1:16,127.0.0.1:17",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vs_ledger *l = (vs_ledger *)1;
		if (vs_ledger_etcd_open(&l, bad[i]) != VS_E_USAGE)
			fail_msg("accepted endpoints '%s'", bad[i]);
		assert_null(l);
		assert_null(strstr(vs_errmsg(), "secret"));
	}
	const char *good[] = { "127.0.0.1:2379", "http://localhost:2379/", " 127.0.0.1:1 , [::1]:2 ",
			       "https://etcd-1.example:2379" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		vs_ledger *l;
		if (vs_ledger_etcd_open(&l, good[i]) != VS_OK)
			fail_msg("refused endpoints '%s': %s", good[i], vs_errmsg());
		vs_ledger_close(l);
	}
}

/* Credentials and TLS options: only over https, in pairs, with a private
 * password file; the status line says how the ledger authenticates. */
static void test_open_tls_options(void **st)
{
	(void)st;
	char dir[] = "/tmp/vs-etcd-opts-XXXXXX", pw[64], open_pw[64];
	assert_non_null(mkdtemp(dir));
	snprintf(pw, sizeof pw, "%s/pw", dir);
	snprintf(open_pw, sizeof open_pw, "%s/open", dir);
	FILE *f = fopen(pw, "w");
	assert_non_null(f);
	fputs("s3cret-pass\n", f);
	fclose(f);
	assert_int_equal(chmod(pw, 0600), 0);
	f = fopen(open_pw, "w");
	assert_non_null(f);
	fputs("s3cret-pass\n", f);
	fclose(f);
	assert_int_equal(chmod(open_pw, 0644), 0);
	struct {
		const char *eps;
		vs_etcd_opts o;
		const char *why;
	} bad[] = {
		{ "http://127.0.0.1:1", { .user = "u", .password_file = pw }, "plain http://" },
		{ "127.0.0.1:1", { .cacert = pw }, "plain http://" },
		{ "https://127.0.0.1:1,http://127.0.0.1:2", { 0 }, "mix" },
		{ "https://127.0.0.1:1", { .user = "u" }, "go together" },
		{ "https://127.0.0.1:1", { .password_file = pw }, "go together" },
		{ "https://127.0.0.1:1", { .cert = pw }, "go together" },
		{ "https://127.0.0.1:1", { .user = "u", .password_file = open_pw }, "mode 0644" },
		{ "https://127.0.0.1:1", { .user = "a b", .password_file = pw }, "user name" },
		{ "https://127.0.0.1:1", { .user = "u", .password_file = dir }, "regular file" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		vs_ledger *l = (vs_ledger *)1;
		if (vs_ledger_etcd_open_opts(&l, bad[i].eps, &bad[i].o) != VS_E_USAGE)
			fail_msg("case %zu accepted", i);
		assert_null(l);
		if (!strstr(vs_errmsg(), bad[i].why))
			fail_msg("case %zu: '%s' lacks '%s'", i, vs_errmsg(), bad[i].why);
		assert_null(strstr(vs_errmsg(), "s3cret"));
	}
	vs_ledger *l;
	vs_etcd_opts ok = { .user = "node-1", .password_file = pw };
	assert_int_equal(vs_ledger_etcd_open_opts(&l, "https://127.0.0.1:1,127.0.0.1:2", &ok), VS_OK);
	assert_non_null(strstr(vs_ledger_auth_status(l), "authenticated as etcd user node-1"));
	vs_ledger_close(l);
	assert_int_equal(vs_ledger_open(&l, "etcd:http://127.0.0.1:1"), VS_OK);
	assert_non_null(strstr(vs_ledger_auth_status(l), "unauthenticated"));
	vs_ledger_close(l);
	assert_int_equal(vs_ledger_open_opts(&l, "sqlite:/nonexistent/x.db", &ok), VS_E_USAGE);
	unlink(pw);
	unlink(open_pw);
	rmdir(dir);
}

/* The first endpoint accepts the connection and never answers: after the
 * timeout the write's outcome is unknown, and it is sent to the next one. */
static void test_failover_timeout(void **st)
{
	(void)st;
	const char *real = endpoints();
	int port, hole = blackhole(&port);
	char eps[1024];
	snprintf(eps, sizeof eps, "http://127.0.0.1:%d,%s", port, real);
	vs_ledger *l = open_with(eps);
	vs_vnf_record r = fresh("timeout");
	time_t t0 = time(NULL);
	expect_rc(l->ops->create(l, &r), VS_OK, NULL);
	assert_true(time(NULL) - t0 >= 4); /* waited for the hole */
	vs_ledger_close(l);

	l = open_with(real);
	activate(l, &r, "host-a");
	vs_ledger_close(l);
	close(hole);
}

/* ---------- a lost answer: applied, but the reply never arrives ---------- */

typedef struct {
	int fd;             /* listener */
	const char *target; /* the real endpoints: "http://HOST:PORT,..." */
	int forwarded;
} proxy;

/* Reads one HTTP request; returns its path and body (malloc'd). */
static bool read_request(int c, char *path, size_t pcap, char **body, size_t *blen)
{
	char buf[65536];
	size_t n = 0;
	char *end = NULL;
	while (!end && n < sizeof buf - 1) {
		ssize_t k = read(c, buf + n, sizeof buf - 1 - n);
		if (k <= 0)
			return false;
		n += (size_t)k;
		buf[n] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	if (!end)
		return false;
	size_t head = (size_t)(end + 4 - buf), len = 0;
	char *cl = strcasestr(buf, "\r\nContent-Length:");
	if (!cl || sscanf(cl + 17, "%zu", &len) != 1 || len > sizeof buf)
		return false;
	if (sscanf(buf, "POST %255s ", path) != 1 || pcap < 256)
		return false;
	*body = malloc(len + 1);
	if (!*body)
		return false;
	size_t have = n - head < len ? n - head : len;
	memcpy(*body, buf + head, have);
	while (have < len) {
		ssize_t k = read(c, *body + have, len - have);
		if (k <= 0) {
			free(*body);
			return false;
		}
		have += (size_t)k;
	}
	(*body)[len] = 0;
	*blen = len;
	return true;
}

static size_t discard(char *p, size_t s, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return s * n;
}

/* POSTs body to url; true when an answer came back. */
static bool forward(const char *url, const char *body, size_t blen)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)blen);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_PROXY, "");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	bool ok = curl_easy_perform(h) == CURLE_OK;
	curl_easy_cleanup(h);
	curl_slist_free_all(hd);
	return ok;
}

/* Forwards the request to the first real endpoint that answers, then hangs
 * up on the client without a word. */
static void *proxy_main(void *arg)
{
	proxy *p = arg;
	for (;;) {
		int c = accept(p->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char path[256], url[512], *body;
		size_t blen;
		if (read_request(c, path, sizeof path, &body, &blen)) {
			for (const char *t = p->target; t; t = strchr(t, ',') ? strchr(t, ',') + 1 : NULL) {
				const char *comma = strchr(t, ',');
				int n = (int)(comma ? (size_t)(comma - t) : strlen(t));
				snprintf(url, sizeof url, "%.*s%s", n, t, path);
				if (forward(url, body, blen)) {
					p->forwarded++;
					break;
				}
			}
			free(body);
		}
		close(c);
	}
}

static void test_lost_answer(void **st)
{
	(void)st;
	const char *real = endpoints();
	proxy p = { .target = real };
	int port;
	p.fd = blackhole(&port);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, proxy_main, &p), 0);

	char eps[1024];
	snprintf(eps, sizeof eps, "http://127.0.0.1:%d,%s", port, real);
	/* create: applied through the proxy; the retry finds our bytes. */
	vs_ledger *l = open_with(eps);
	vs_vnf_record r = fresh("lost"), cur;
	expect_rc(l->ops->create(l, &r), VS_OK, NULL);
	assert_int_equal(p.forwarded, 1);
	vs_ledger_close(l);

	vs_ledger *direct = open_with(real);
	expect_rc(direct->ops->get(direct, r.name, &cur), VS_OK, NULL);
	assert_same_record(&r, &cur);

	/* cas: same. */
	l = open_with(eps);
	r.state = VS_VNF_ACTIVE;
	r.generation = 1;
	snprintf(r.owner, sizeof r.owner, "host-a");
	expect_rc(l->ops->cas(l, &r, cur.version), VS_OK, NULL);
	assert_int_equal(p.forwarded, 2);
	vs_vnf_record after;
	expect_rc(direct->ops->get(direct, r.name, &after), VS_OK, NULL);
	assert_same_record(&r, &after);
	assert_true(after.version > cur.version);
	vs_ledger_close(l);

	/* A lost cas that did not win (stale version): the retry finds other
	 * bytes than ours, so it is refused, not taken for applied. */
	l = open_with(eps);
	vs_vnf_record mine = after;
	mine.state = VS_VNF_PAUSED;
	expect_rc(l->ops->cas(l, &mine, cur.version), VS_E_POLICY, "changed concurrently");
	vs_ledger_close(l);

	/* Reads through the proxy fail over too. */
	l = open_with(eps);
	expect_rc(l->ops->get(l, r.name, &cur), VS_OK, NULL);
	assert_int_equal(cur.version, after.version);
	vs_ledger_close(l);
	vs_ledger_close(direct);

	shutdown(p.fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(p.fd);
}

/* ---------- a fake etcd: canned answers, no cluster needed ---------- */

typedef struct {
	int fd;
	const char *status; /* "200 OK" */
	const char *body;
	size_t body_len;
} fake;

static void send_all(int c, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(c, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

static void *fake_main(void *arg)
{
	fake *f = arg;
	for (;;) {
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char path[256], head[256], *body;
		size_t blen;
		if (read_request(c, path, sizeof path, &body, &blen)) {
			free(body);
			int n = snprintf(head, sizeof head,
					 "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
					 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
					 f->status, f->body_len);
			send_all(c, head, (size_t)n);
			send_all(c, f->body, f->body_len);
		}
		close(c);
	}
}

static char *b64(const char *s)
{
	static char out[4][8192];
	static int next;
	char *o = out[next++ % 4];
	EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)s, (int)strlen(s));
	return o;
}

#define HDR "\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"9\",\"raft_term\":\"2\"}"

/* {"header":..,"kvs":[{"key":K,"mod_revision":REV,"value":V}]} into out. */
static void kvs_body(char *out, size_t cap, const char *key, const char *rev, const char *val)
{
	snprintf(out, cap, "{" HDR ",\"kvs\":[{\"key\":\"%s\",\"create_revision\":\"3\","
		 "\"mod_revision\":%s,\"version\":\"1\",\"value\":\"%s\"}],\"count\":\"1\"}",
		 key, rev, val);
}

enum { OP_GET, OP_CREATE, OP_CAS, OP_LIST };

static vs_err no_op(void *ctx, const vs_vnf_record *r)
{
	(void)ctx;
	(void)r;
	return VS_OK;
}

static vs_err fake_op(fake *f, int op, const char *status, const char *body, size_t len)
{
	char eps[64];
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
	snprintf(eps, sizeof eps, "127.0.0.1:%d", ntohs(a.sin_port));
	f->status = status;
	f->body = body;
	f->body_len = len;
	vs_ledger *l = open_with(eps);
	vs_vnf_record r = sample("fw1");
	vs_err rc = VS_OK;
	switch (op) {
	case OP_GET: rc = l->ops->get(l, "fw1", &r); break;
	case OP_CREATE: rc = l->ops->create(l, &r); break;
	case OP_CAS: rc = l->ops->cas(l, &r, 5); break;
	default: rc = l->ops->list(l, no_op, NULL); break;
	}
	if (op == OP_GET && rc == VS_OK)
		assert_int_equal(r.version, 77);
	vs_ledger_close(l);
	return rc;
}

typedef struct {
	int op;
	const char *status;
	const char *body;
	vs_err want;
	const char *msg;
} fake_case;

/* Every answer is untrusted: malformed ones are integrity failures (or,
 * for HTTP errors, environment ones), never taken at face value. */
static void test_untrusted_answers(void **st)
{
	(void)st;
	fake f = { 0 };
	int port;
	f.fd = blackhole(&port);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, fake_main, &f), 0);

	static char bodies[24][12288];
	char *fw1 = strdup(golden), *fw2 = mutate("fw1", "fw2");
	char *badstate = mutate("ACTIVE", "BUSY");
	char k1[128], k2[128], kbad[128];
	snprintf(k1, sizeof k1, "%s", b64("/vnfsafe/vnf/fw1"));
	snprintf(k2, sizeof k2, "%s", b64("/vnfsafe/vnf/fw2"));
	snprintf(kbad, sizeof kbad, "%s", b64("/vnfsafe/vnf/../x"));
	int nb = 0, nc = 0;
	fake_case cases[32];
#define CASE(o, s, b, w, m) cases[nc++] = (fake_case){ o, s, b, w, m }
#define BODY(...) (snprintf(bodies[nb], sizeof bodies[nb], __VA_ARGS__), bodies[nb++])
	/* the good one first */
	kvs_body(bodies[nb], sizeof bodies[0], k1, "\"77\"", b64(fw1));
	CASE(OP_GET, "200 OK", bodies[nb++], VS_OK, NULL);
	CASE(OP_GET, "200 OK", "{}", VS_E_INTEGRITY, "malformed response");
	CASE(OP_GET, "200 OK", "not json", VS_E_INTEGRITY, "malformed response");
	CASE(OP_GET, "200 OK", "[" HDR "]", VS_E_INTEGRITY, "malformed response");
	CASE(OP_GET, "200 OK", "{\"header\":{\"revision\":\"-1\"}}", VS_E_INTEGRITY, "malformed");
	CASE(OP_GET, "200 OK", "{" HDR ",\"kvs\":{}}", VS_E_INTEGRITY, "malformed range");
	kvs_body(bodies[nb], sizeof bodies[0], k2, "\"77\"", b64(fw2));
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "another key");
	kvs_body(bodies[nb], sizeof bodies[0], k1, "\"77\"", b64(fw2));
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "record of another VNF");
	kvs_body(bodies[nb], sizeof bodies[0], kbad, "\"77\"", b64(fw1));
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "unexpected key");
	kvs_body(bodies[nb], sizeof bodies[0], k1, "\"77\"", "!!!!");
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "malformed value");
	kvs_body(bodies[nb], sizeof bodies[0], k1, "\"77\"", "YQ==YWJj");
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "malformed value");
	kvs_body(bodies[nb], sizeof bodies[0], k1, "\"7x\"", b64(fw1));
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "mod_revision");
	kvs_body(bodies[nb], sizeof bodies[0], k1, "\"0\"", b64(fw1));
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "mod_revision");
	kvs_body(bodies[nb], sizeof bodies[0], k1, "\"77\"", b64(badstate));
	CASE(OP_GET, "200 OK", bodies[nb++], VS_E_INTEGRITY, "ledger record");
	CASE(OP_GET, "200 OK",
	     BODY("{" HDR ",\"kvs\":[{\"key\":\"%s\"},{\"key\":\"%s\"}]}", k1, k1),
	     VS_E_INTEGRITY, "several values");
	CASE(OP_GET, "404 Not Found", "404 page not found", VS_E_ENV,
	     "refused the request (HTTP 404)");
	CASE(OP_GET, "503 Service Unavailable", "{\"error\":\"etcdserver: no leader\",\"code\":14}",
	     VS_E_ENV, "unreachable at all endpoints (http://127.0.0.1:");
	CASE(OP_CREATE, "503 Service Unavailable", "{\"error\":\"etcdserver: no\\nleader\"}",
	     VS_E_UNKNOWN, "HTTP 503: etcdserver: no?leader); whether the change was applied is unknown");
	CASE(OP_CREATE, "200 OK", "{" HDR ",\"succeeded\":\"yes\"}", VS_E_INTEGRITY,
	     "malformed transaction");
	CASE(OP_CREATE, "200 OK", "{" HDR "}", VS_E_INTEGRITY, "malformed transaction");
	CASE(OP_CAS, "200 OK", "{" HDR ",\"responses\":[{\"response_range\":{" HDR "}}]}",
	     VS_E_USAGE, "no VNF named fw1");
	CASE(OP_LIST, "200 OK", "{" HDR ",\"more\":true}", VS_E_INTEGRITY, "empty page");
	CASE(OP_LIST, "200 OK",
	     BODY("{" HDR ",\"kvs\":[{\"key\":\"%s\",\"mod_revision\":\"4\",\"value\":\"%s\"},"
		  "{\"key\":\"%s\",\"mod_revision\":\"4\",\"value\":\"%s\"}]}",
		  k2, b64(fw2), k1, b64(fw1)),
	     VS_E_INTEGRITY, "out of order");
#undef CASE
#undef BODY
	assert_true(nc <= (int)(sizeof cases / sizeof cases[0]));
	assert_true(nb <= (int)(sizeof bodies / sizeof bodies[0]));
	for (int i = 0; i < nc; i++) {
		vs_err rc = fake_op(&f, cases[i].op, cases[i].status, cases[i].body,
				    strlen(cases[i].body));
		if (rc != cases[i].want || (cases[i].msg && !strstr(vs_errmsg(), cases[i].msg)))
			fail_msg("case %d: got %d '%s', want %d '%s'", i, rc, rc ? vs_errmsg() : "",
				 cases[i].want, cases[i].msg ? cases[i].msg : "");
	}

	/* An endless answer is cut off. */
	size_t big = 5u << 20;
	char *huge = malloc(big);
	assert_non_null(huge);
	memset(huge, ' ', big);
	expect_rc(fake_op(&f, OP_GET, "200 OK", huge, big), VS_E_INTEGRITY, "sent more than");
	free(huge);

	shutdown(f.fd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(f.fd);
	free(fw1);
	free(fw2);
	free(badstate);
}

static void test_log_anchor_json(void **st)
{
	(void)st;
	vs_log_anchor a, b;
	memset(&a, 0, sizeof a);
	a.size = 12;
	a.offset = 3456;
	a.restarts = 2;
	memset(a.head, 0x5a, sizeof a.head);
	char *s = vs_log_anchor_to_json(&a);
	assert_non_null(s);
	assert_string_equal(s, "{\"size\":12,\"offset\":3456,\"head\":\""
			       "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
			       "\"restarts\":2}");
	assert_int_equal(vs_log_anchor_from_json(s, strlen(s), &b), VS_OK);
	assert_memory_equal(&a, &b, sizeof a);
	free(s);
	const char *bad[] = {
		"{\"size\":12,\"offset\":3456,\"head\":\"5A5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\"}",
		"{\"size\":12,\"offset\":3456,\"head\":\"5a5a\"}",
		"{\"size\":-1,\"offset\":3456,\"head\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\"}",
		"{\"offset\":3456,\"size\":12,\"head\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\"}",
		"{\"size\":12, \"offset\":3456,\"head\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\"}",
		"{\"size\":12,\"offset\":3456}",
		"{\"size\":12,\"offset\":3456,\"head\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"x\":1}",
		"{\"size\":\"12\",\"offset\":3456,\"head\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\"}",
		"[]", "", "{",
		"{\"size\":12,\"offset\":3456,\"head\":\"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\",\"restarts\":-1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&b, 0xa5, sizeof b);
		assert_int_equal(vs_log_anchor_from_json(bad[i], strlen(bad[i]), &b), VS_E_INTEGRITY);
		static const vs_log_anchor zero;
		assert_memory_equal(&b, &zero, sizeof zero);
	}
}

/* The signed anchor (anchor_json.c): round trip, signature, count against
 * the key's version, create_rev against its create_revision, strictness. */
static void test_signed_anchor(void **st)
{
	(void)st;
	vs_signer *k, *other;
	uint8_t pub[VS_PUB_LEN], opub[VS_PUB_LEN];
	assert_int_equal(vs_signer_generate(&k), VS_OK);
	assert_int_equal(vs_signer_generate(&other), VS_OK);
	assert_int_equal(vs_signer_public(k, pub), VS_OK);
	assert_int_equal(vs_signer_public(other, opub), VS_OK);
	vs_log_anchor a, b;
	memset(&a, 0, sizeof a);
	a.size = 7, a.offset = 900, a.restarts = 1, a.count = 5, a.create_rev = 42;
	memset(a.head, 0x3c, sizeof a.head);
	char *s = vs_log_anchor_sign_json("node-1", &a, k);
	assert_non_null(s);
	assert_non_null(strstr(s, "{\"host\":\"node-1\",\"size\":7,\"offset\":900,\"head\":\"3c3c"));
	assert_non_null(strstr(s, "\"restarts\":1,\"count\":5,\"create_rev\":42,\"sig\":\""));
	assert_int_equal(vs_log_anchor_value_parse("node-1", s, strlen(s), &b), VS_OK);
	assert_int_equal(b.form, VS_ANCHOR_SIGNED);
	assert_true(b.size == 7 && b.offset == 900 && b.count == 5 && b.create_rev == 42);
	b.kv_version = 5, b.kv_create_rev = 42;
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, pub), VS_OK);
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, opub), VS_E_INTEGRITY);
	assert_int_equal(vs_log_anchor_check_signed("node-2", &b, pub), VS_E_INTEGRITY);
	b.kv_version = 6; /* an older value put back: the key's version moved on */
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, pub), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "put back"));
	b.kv_version = 5, b.kv_create_rev = 50; /* deleted and recreated */
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, pub), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "recreated"));
	b.kv_create_rev = 42, b.size = 8; /* a field changed under the signature */
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, pub), VS_E_INTEGRITY);
	/* Another host's name in the value, a non-canonical copy. */
	assert_int_equal(vs_log_anchor_value_parse("node-2", s, strlen(s), &b), VS_E_INTEGRITY);
	char *spaced = malloc(strlen(s) + 2);
	spaced[0] = ' ';
	memcpy(spaced + 1, s, strlen(s) + 1);
	assert_int_equal(vs_log_anchor_value_parse("node-1", spaced, strlen(spaced), &b),
			 VS_E_INTEGRITY);
	free(spaced);
	free(s);
	/* The genesis value: valid only at version 1. */
	s = vs_log_anchor_genesis_json("node-1");
	assert_string_equal(s, "{\"genesis\":\"node-1\"}");
	assert_int_equal(vs_log_anchor_value_parse("node-1", s, strlen(s), &b), VS_OK);
	assert_int_equal(b.form, VS_ANCHOR_GENESIS);
	b.kv_version = 1;
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, pub), VS_OK);
	b.kv_version = 3;
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, pub), VS_E_INTEGRITY);
	free(s);
	/* The unsigned form parses but never passes the check. */
	const char *plain = "{\"size\":1,\"offset\":2,\"head\":\""
			    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\","
			    "\"restarts\":0}";
	assert_int_equal(vs_log_anchor_value_parse("node-1", plain, strlen(plain), &b), VS_OK);
	assert_int_equal(b.form, VS_ANCHOR_UNSIGNED);
	assert_int_equal(vs_log_anchor_check_signed("node-1", &b, pub), VS_E_INTEGRITY);
	const char *bad[] = {
		"{\"genesis\":\"node-1\",\"x\":1}", "{\"genesis\":1}", "{\"genesis\":\"node-1\"} ",
		"{\"host\":\"node-1\",\"size\":7,\"offset\":900,\"head\":\"3c\",\"restarts\":1,"
		"\"count\":5,\"create_rev\":42,\"sig\":\"00\"}",
		"{\"host\":\"node-1\",\"size\":-7,\"offset\":900,\"head\":\"3c\",\"restarts\":1,"
		"\"count\":5,\"create_rev\":42,\"sig\":\"00\"}",
		"", "{}", "[]", "null",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&b, 0xa5, sizeof b);
		assert_int_equal(vs_log_anchor_value_parse("node-1", bad[i], strlen(bad[i]), &b),
				 VS_E_INTEGRITY);
		static const vs_log_anchor zero;
		assert_memory_equal(&b, &zero, sizeof zero);
	}
	vs_signer_free(k);
	vs_signer_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_anchor_json),
		cmocka_unit_test(test_signed_anchor),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_encoder_normalizes_and_refuses),
		cmocka_unit_test(test_json_strict_rejects),
		cmocka_unit_test(test_open_rejects),
		cmocka_unit_test(test_open_tls_options),
		cmocka_unit_test(test_create_get),
		cmocka_unit_test(test_cas),
		cmocka_unit_test(test_cas_race),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_failover_dead_first),
		cmocka_unit_test(test_all_dead),
		cmocka_unit_test(test_untrusted_answers),
		cmocka_unit_test(test_failover_timeout),
		cmocka_unit_test(test_lost_answer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
