/* bench/ledger: ledger transitions per second beside a bare baseline measured
 * in the same run, printed as a ratio (see docs/performance.md).
 *   ledger_bench sqlite DIR [N]      vnfsafe start/stop vs a plain SQLite
 *                                    UPDATE ... WHERE version transaction loop
 *   ledger_bench etcd ENDPOINTS [N]  vnfsafe start/stop vs a plain etcd CAS txn
 *                                    loop (one txn per write, keep-alive) */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/ledger.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "ledger_bench: %s: %s\n", what, vs_errmsg());
	exit(4);
}

/* N transitions through the full path: read, check, CAS, (token). */
static double run_transitions(vs_ledger *l, const char *name, int n)
{
	vs_fence tok;
	vs_vnf_record r;
	double t0 = now();
	for (int i = 0; i < n; i += 2) {
		if (vs_ledger_start(l, name, "bench-host", NULL, false, &tok, &r) != VS_OK)
			die("start");
		if (vs_ledger_stop(l, name, &tok, &r) != VS_OK)
			die("stop");
	}
	return n / (now() - t0);
}

/* The same number of compare-and-swap writes, each its own transaction,
 * with nothing around them. */
static double run_bare_sqlite(const char *path, int n)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("open bare db");
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE t(k TEXT PRIMARY KEY, v BLOB, version INTEGER);"
			 "INSERT INTO t VALUES('k', zeroblob(200), 1);", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "UPDATE t SET v=?, version=version+1 WHERE k='k' AND version=?", -1,
			   &st, NULL);
	uint8_t blob[200] = { 0 };
	double t0 = now();
	for (int i = 0; i < n; i++) {
		sqlite3_bind_blob(st, 1, blob, sizeof blob, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, i + 1);
		if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db) != 1)
			die("bare update");
		sqlite3_reset(st);
	}
	double rate = n / (now() - t0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rate;
}

static size_t discard(char *p, size_t sz, size_t n, void *ctx)
{
	(void)p, (void)ctx;
	return sz * n;
}

static void b64(const char *in, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

/* A plain etcd CAS chain: one txn per write, comparing the key's version
 * (which etcd bumps by one per put), on one keep-alive connection. */
static double run_bare_etcd(const char *endpoint, const char *key, int n)
{
	char url[600], k64[256], v64[512], body[2048], value[300];
	CURL *c = curl_easy_init();
	if (!c)
		die("curl");
	snprintf(url, sizeof url, "%s/v3/kv/txn", endpoint);
	b64(key, k64);
	memset(value, 'x', 200);
	value[200] = 0;
	b64(value, v64);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	double t0 = now();
	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof body,
			 "{\"compare\":[{\"key\":\"%s\",\"target\":\"VERSION\",\"result\":\"EQUAL\","
			 "\"version\":\"%d\"}],\"success\":[{\"requestPut\":{\"key\":\"%s\","
			 "\"value\":\"%s\"}}]}", k64, i, k64, v64);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		long code = 0;
		if (curl_easy_perform(c) != CURLE_OK ||
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200)
			die("bare etcd txn");
	}
	double rate = n / (now() - t0);
	curl_easy_cleanup(c);
	return rate;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ledger_bench sqlite DIR [N] | etcd ENDPOINTS [N]\n");
		return 1;
	}
	int n = argc > 3 ? atoi(argv[3]) : 2000;
	char uri[1024], name[64], bare[1024];
	uint8_t rnd[4];
	char hex[9];
	if (vs_random(rnd, sizeof rnd) != VS_OK)
		return 1;
	vs_hex(rnd, sizeof rnd, hex);
	snprintf(name, sizeof name, "bench-%s", hex);
	bool sq = !strcmp(argv[1], "sqlite");
	snprintf(uri, sizeof uri, sq ? "sqlite:%s/ledger.db" : "etcd:%s", argv[2]);
	vs_ledger *l;
	if (vs_ledger_open(&l, uri) != VS_OK)
		die("open ledger");
	if (vs_ledger_register(l, name, "", NULL) != VS_OK)
		die("register");
	/* Interleaved halves, so a change of machine load hits both alike. */
	double ours = 0, base = 0;
	for (int round = 0; round < 2; round++) {
		ours += run_transitions(l, name, n / 2) / 2;
		if (sq) {
			snprintf(bare, sizeof bare, "%s/bare-%d.db", argv[2], round);
			base += run_bare_sqlite(bare, n / 2) / 2;
		} else {
			char bkey[128], ep[400];
			snprintf(bkey, sizeof bkey, "/vnfsafe-bench/%s-bare%d", name, round);
			snprintf(ep, sizeof ep, "%.*s", (int)strcspn(argv[2], ","), argv[2]);
			base += run_bare_etcd(ep, bkey, n / 2) / 2;
		}
	}
	printf("%-7s vnfsafe transitions/s %9.0f   bare %-22s/s %9.0f   overhead %.2fx (target < 1.5x)\n",
	       argv[1], ours, sq ? "SQLite CAS transactions" : "etcd CAS txns", base, base / ours);
	vs_ledger_close(l);
	return 0;
}
