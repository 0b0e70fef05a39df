/* Ledger transitions (docs/ledger.md) against a real backend: a temporary
 * SQLite file, or the ledger named by VS_LEDGER_URI (etcd cluster). */
#include <sqlite3.h>
#include <unistd.h>

#include "testutil.h"
#include "vnfsafe/crypto.h"
#include "vnfsafe/ledger.h"

static vs_ledger *L;
static char dir[256];
static int counter;

static int setup(void **st)
{
	(void)st;
	char uri[512];
	const char *env = getenv("VS_LEDGER_URI");
	tu_tmpdir(dir, sizeof dir);
	if (env && *env)
		snprintf(uri, sizeof uri, "%s", env);
	else
		snprintf(uri, sizeof uri, "sqlite:%s/ledger.db", dir);
	if (vs_ledger_open(&L, uri) != VS_OK) {
		fprintf(stderr, "cannot open %s: %s\n", uri, vs_errmsg());
		return -1;
	}
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	vs_ledger_close(L);
	tu_rmdir(dir);
	return 0;
}

/* A fresh, unique VNF name per test (etcd clusters outlive a run). */
static const char *fresh(char *buf, size_t cap)
{
	uint8_t r[4];
	char hex[9];
	assert_int_equal(vs_random(r, sizeof r), VS_OK);
	vs_hex(r, sizeof r, hex);
	snprintf(buf, cap, "t%d-%s", ++counter, hex);
	vs_vnf_record rec;
	assert_int_equal(vs_ledger_register(L, buf, "keys", &rec), VS_OK);
	assert_int_equal(rec.state, VS_VNF_REGISTERED);
	return buf;
}

static void snap_id(uint8_t id[VS_ID_LEN], uint8_t tag)
{
	memset(id, tag, VS_ID_LEN);
}

static void test_register_and_get(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_string_equal(r.sensitive, "keys");
	assert_int_equal(r.generation, 0);
	assert_int_equal(vs_ledger_register(L, n, "", &r), VS_E_USAGE);
	assert_int_equal(vs_ledger_get(L, "no-such-vnf-xyz", &r), VS_E_USAGE);
	assert_int_equal(vs_ledger_register(L, "bad/name", "", &r), VS_E_USAGE);
}

static void test_start_fork_and_fencing(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence a, b, stale;
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(r.generation, 1);
	assert_int_equal(a.generation, 1);
	assert_string_equal(a.host, "host-a");
	/* A second activation anywhere is a fork. */
	assert_int_equal(vs_ledger_start(L, n, "host-b", NULL, false, &b, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &b, &r), VS_E_POLICY);
	/* Operations need a valid token. */
	assert_int_equal(vs_ledger_pause(L, n, NULL, &r), VS_E_POLICY);
	stale = a;
	stale.generation = 0;
	assert_int_equal(vs_ledger_pause(L, n, &stale, &r), VS_E_POLICY);
	strcpy(stale.host, "host-b");
	stale.generation = 1;
	assert_int_equal(vs_ledger_stop(L, n, &stale, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_pause(L, n, &a, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_PAUSED);
	assert_int_equal(vs_ledger_pause(L, n, &a, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_resume(L, n, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_STOPPED);
	/* Stopped: the token is dead, and only the last host may start it. */
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_start(L, n, "host-b", NULL, false, &b, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(r.generation, 2);
}

static void test_restore_rollback_and_lineage(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence t;
	uint8_t s1[VS_ID_LEN], s2[VS_ID_LEN], other[VS_ID_LEN];
	fresh(n, sizeof n);
	snap_id(s1, 1);
	snap_id(s2, 2);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	uint8_t lin[VS_ID_LEN];
	memcpy(lin, r.lineage, VS_ID_LEN);
	/* No snapshot recorded: any restore is a roll-back. */
	assert_int_equal(vs_ledger_check_restore(L, n, lin, s1, false), VS_E_POLICY);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", NULL, s1, 0), VS_OK);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", NULL, s2, 0), VS_OK);
	assert_int_equal(vs_ledger_check_restore(L, n, lin, s2, false), VS_OK);
	assert_int_equal(vs_ledger_restore(L, n, "host-a", lin, s1, false, NULL, &t, &r), VS_E_POLICY);
	/* Another lineage of the same name. */
	memset(other, 7, sizeof other);
	assert_int_equal(vs_ledger_restore(L, n, "host-a", other, s2, true, NULL, &t, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_restore(L, n, "host-b", lin, s2, false, NULL, &t, &r), VS_OK);
	assert_int_equal(r.generation, 1);
	assert_string_equal(r.owner, "host-b");
	/* Live: restoring again anywhere is a fork, even the latest. */
	assert_int_equal(vs_ledger_restore(L, n, "host-a", lin, s2, false, NULL, &t, &r), VS_E_POLICY);
	vs_fence tb = t;
	assert_int_equal(vs_ledger_stop(L, n, &tb, &r), VS_OK);
	/* Authorized roll-back: a new generation, latest becomes the old one. */
	assert_int_equal(vs_ledger_restore(L, n, "host-a", lin, s1, true, NULL, &t, &r), VS_OK);
	assert_int_equal(r.generation, 2);
	assert_memory_equal(r.latest_snapshot, s1, VS_ID_LEN);
	assert_int_equal(vs_ledger_stop(L, n, &t, &r), VS_OK);
	assert_int_equal(vs_ledger_check_restore(L, n, lin, s2, false), VS_E_POLICY);
}

static void test_snapshot_rules(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence a;
	uint8_t s[VS_ID_LEN];
	snap_id(s, 9);
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	/* Live: only the token holder. */
	assert_int_equal(vs_ledger_check_snapshot(L, n, "host-b", NULL, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_check_snapshot(L, n, "host-a", &a, &r), VS_OK);
	/* The generation moved while the snapshot was taken: not recorded. */
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", &a, s, 0), VS_E_POLICY);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", &a, s, 1), VS_OK);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_true(r.has_snapshot);
	assert_int_equal(r.latest_snapshot_gen, 1);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	/* Stopped: only where it last ran. */
	assert_int_equal(vs_ledger_check_snapshot(L, n, "host-b", NULL, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_check_snapshot(L, n, "host-a", NULL, &r), VS_OK);
	assert_int_equal(vs_ledger_retire(L, n, &r), VS_OK);
	assert_int_equal(vs_ledger_check_snapshot(L, n, "host-a", NULL, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_E_POLICY);
}

static void test_migration_and_recover(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence s, t, forged;
	uint8_t t_secret[VS_TOKEN_SECRET_LEN], t_hash[VS_HASH_LEN], zero[VS_HASH_LEN] = { 0 };
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_start(L, n, "src", NULL, false, &s, &r), VS_OK);
	assert_int_equal(vs_ledger_migrate_begin(L, n, &s, "src"), VS_E_POLICY);
	assert_int_equal(vs_ledger_migrate_begin(L, n, &s, "dst"), VS_OK);
	/* While migrating: no second activation, no stop. */
	assert_int_equal(vs_ledger_start(L, n, "dst", NULL, false, &t, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_stop(L, n, &s, &r), VS_E_POLICY);
	/* Interrupted: recovery aborts back to the source, same generation. */
	assert_int_equal(vs_ledger_recover(L, n, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_ACTIVE);
	assert_string_equal(r.owner, "src");
	assert_int_equal(r.generation, 1);
	assert_int_equal(vs_ledger_recover(L, n, &r), VS_OK); /* idempotent */
	assert_int_equal(r.generation, 1);
	/* Begin and commit need the source's secret, not just its public fields. */
	forged = s;
	memset(forged.secret, 0, sizeof forged.secret);
	assert_int_equal(vs_ledger_migrate_begin(L, n, &forged, "dst"), VS_E_POLICY);
	assert_int_equal(vs_ledger_migrate_begin(L, n, &s, "dst"), VS_OK);
	/* The target makes its secret and sends only the hash. */
	assert_int_equal(vs_random(t_secret, sizeof t_secret), VS_OK);
	assert_int_equal(vs_token_hash(t_secret, t_hash), VS_OK);
	assert_int_equal(vs_ledger_migrate_commit(L, n, &forged, t_hash, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_migrate_commit(L, n, &s, zero, &r), VS_E_USAGE);
	assert_int_equal(vs_ledger_migrate_commit(L, n, &s, t_hash, &r), VS_OK);
	assert_memory_equal(r.token_hash, t_hash, VS_HASH_LEN);
	vs_fence_make(&r, t_secret, &t);
	assert_int_equal(t.generation, 2);
	assert_string_equal(t.host, "dst");
	/* Only the holder of the target's secret acts as the new owner. */
	forged = t;
	forged.secret[0] ^= 1;
	assert_int_equal(vs_ledger_pause(L, n, &forged, &r), VS_E_POLICY);
	/* The source's token is now stale. */
	assert_int_equal(vs_ledger_stop(L, n, &s, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_migrate_abort(L, n), VS_E_POLICY);
	assert_int_equal(vs_ledger_stop(L, n, &t, &r), VS_OK);
}

static void test_release_fences_dead_host(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence a;
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_release(L, n, "host-b", NULL, &r), VS_E_POLICY);
	/* The caller holds host-a's live token: host-a is not dead. */
	assert_int_equal(vs_ledger_release(L, n, "host-a", &a, &r), VS_E_POLICY);
	assert_non_null(strstr(vs_errmsg(), "dead"));
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_ACTIVE);
	/* A token without the secret (copied public fields) does not count. */
	vs_fence copied = a;
	memset(copied.secret, 0, sizeof copied.secret);
	assert_int_equal(vs_ledger_release(L, n, "host-a", &copied, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_STOPPED);
	assert_int_equal(r.generation, 2);
	/* host-a comes back with its old token: refused. */
	assert_int_equal(vs_ledger_pause(L, n, &a, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_E_POLICY);
}

/* A second handle changes the record behind the first one's cache. */
static void test_stale_cache_is_never_trusted(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence a, b;
	vs_ledger *other;
	assert_int_equal(vs_ledger_open(&other, L->uri), VS_OK);
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	/* Cache says ACTIVE at gen 1; the other handle fences host-a. */
	assert_int_equal(vs_ledger_release(other, n, "host-a", NULL, &r), VS_OK);
	assert_int_equal(vs_ledger_pause(L, n, &a, &r), VS_E_POLICY);
	/* Cache (fresh from that refusal's read) says STOPPED; the other handle
	 * starts it again on host-a: a pause with the new token must pass. */
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_start(other, n, "host-a", NULL, false, &b, &r), VS_OK);
	assert_int_equal(b.generation, 3);
	assert_int_equal(vs_ledger_pause(L, n, &b, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_PAUSED);
	assert_int_equal(vs_ledger_get(other, n, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_PAUSED);
	vs_ledger_close(other);
}

static void test_cas_conflict(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r, r2;
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	r2 = r;
	r2.generation = 5;
	assert_int_equal(L->ops->cas(L, &r2, r.version), VS_OK);
	/* The same expected version again: the write already happened. */
	r2.generation = 6;
	assert_int_equal(L->ops->cas(L, &r2, r.version), VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_LOST_RACE); /* a lost race, told apart from a refusal */
	assert_int_equal(vs_ledger_get(L, n, &r2), VS_OK);
	assert_int_equal(r2.generation, 5);
}

static void test_generation_never_decreases_in_store(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	fresh(n, sizeof n);
	if (strcmp(L->ops->scheme, "sqlite") != 0) {
		printf("skip: the store-level generation trigger is SQLite's; on %s the "
		       "transitions enforce it (tested above)\n", L->ops->scheme);
		skip();
	}
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	r.generation = 3;
	assert_int_equal(L->ops->cas(L, &r, r.version), VS_OK);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	r.generation = 2;
	assert_int_not_equal(L->ops->cas(L, &r, r.version), VS_OK);
}

/* Gap 1 (docs/ledger.md): a snapshot taken while the VNF ran is not final:
 * once it stopped, the state it stopped with is newer. */
static void test_final_snapshot(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence a, b;
	uint8_t live[VS_ID_LEN], stopped[VS_ID_LEN], lin[VS_ID_LEN];
	fresh(n, sizeof n);
	snap_id(live, 0x31);
	snap_id(stopped, 0x32);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	memcpy(lin, r.lineage, VS_ID_LEN);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_false(r.latest_final);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", &a, live, r.generation), VS_OK);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_false(r.latest_final);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	/* The latest, but taken live: restoring it anywhere drops newer state. */
	assert_int_equal(vs_ledger_check_restore(L, n, lin, live, false), VS_E_POLICY);
	assert_non_null(strstr(vs_errmsg(), "newer"));
	assert_int_equal(vs_ledger_restore(L, n, "host-b", lin, live, false, NULL, &b, &r),
			 VS_E_POLICY);
	assert_int_equal(vs_ledger_restore(L, n, "host-a", lin, live, false, NULL, &b, &r),
			 VS_E_POLICY);
	/* A snapshot of the stopped VNF is final: it restores without authority. */
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", NULL, stopped, r.generation),
			 VS_OK);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_true(r.latest_final);
	assert_int_equal(vs_ledger_restore(L, n, "host-b", lin, stopped, false, NULL, &b, &r), VS_OK);
	assert_false(r.latest_final); /* it runs again from it */
	assert_int_equal(vs_ledger_stop(L, n, &b, &r), VS_OK);
	assert_int_equal(vs_ledger_check_restore(L, n, lin, stopped, false), VS_E_POLICY);
	/* An authorized roll-back may. */
	assert_int_equal(vs_ledger_check_restore(L, n, lin, stopped, true), VS_OK);
	/* A release gives up what the dead host wrote: the latest becomes final. */
	assert_int_equal(vs_ledger_start(L, n, "host-b", NULL, false, &b, &r), VS_OK);
	assert_int_equal(vs_ledger_release(L, n, "host-b", NULL, &r), VS_OK);
	assert_true(r.latest_final);
	assert_int_equal(vs_ledger_check_restore(L, n, lin, stopped, false), VS_OK);
}

/* Gaps 3-4: a host recognises its own activation by its id, so a refusal
 * caused by its own earlier (reply-lost) copy is not taken as final, and a
 * duplicate snapshot record is recognised the same way. */
static void test_own_effect_recognised(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r, r2;
	vs_fence a, a2, b;
	vs_activation act, other;
	uint8_t s1[VS_ID_LEN], lin[VS_ID_LEN];
	fresh(n, sizeof n);
	assert_int_equal(vs_activation_new(&act), VS_OK);
	assert_int_equal(vs_activation_new(&other), VS_OK);
	snap_id(s1, 0x41);
	assert_int_equal(vs_ledger_start(L, n, "host-a", &act, false, &a, &r), VS_OK);
	assert_memory_equal(r.activation, act.id, VS_ID_LEN);
	assert_memory_equal(a.secret, act.secret, VS_TOKEN_SECRET_LEN);
	/* The same request again (a resend after a lost reply): same outcome,
	 * and the token works (the record carries this secret's hash). */
	assert_int_equal(vs_ledger_start(L, n, "host-a", &act, false, &a2, &r2), VS_OK);
	assert_int_equal(r2.generation, r.generation);
	assert_int_equal(a2.generation, a.generation);
	assert_true(vs_fence_valid(&r2, &a2));
	/* Another activation is a fork, even from the same host. */
	assert_int_equal(vs_ledger_start(L, n, "host-a", &other, false, &b, &r2), VS_E_POLICY);
	assert_int_equal(vs_ledger_start(L, n, "host-b", &act, false, &b, &r2), VS_E_POLICY);
	/* Snapshot records: a duplicate of an applied one is its success. */
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", &a, s1, r.generation), VS_OK);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", &a, s1, r.generation), VS_OK);
	/* Restore with an id: a resend is recognised, and its token issued. */
	uint8_t s2[VS_ID_LEN];
	snap_id(s2, 0x42);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", NULL, s2, r.generation), VS_OK);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	memcpy(lin, r.lineage, VS_ID_LEN);
	assert_int_equal(vs_activation_new(&act), VS_OK);
	assert_int_equal(vs_ledger_restore(L, n, "host-b", lin, s2, false, &act, &b, &r), VS_OK);
	assert_int_equal(vs_ledger_restore(L, n, "host-b", lin, s2, false, &act, &a2, &r2), VS_OK);
	assert_int_equal(a2.generation, b.generation);
	assert_string_equal(a2.host, "host-b");
	assert_true(vs_fence_valid(&r2, &a2));
	assert_int_equal(vs_ledger_restore(L, n, "host-b", lin, s2, false, &other, &a2, &r2),
			 VS_E_POLICY);
}

/* Gap 2: a fence is a CAS that changes nothing but the version, so a CAS
 * prepared against the version before it can never apply. Gap 5: a restart
 * confirms with a CAS (resume from ACTIVE) on the token. */
static void test_fence_and_reconfirm(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record before, after, r;
	vs_fence a;
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(L->ops->get(L, n, &before), VS_OK);
	assert_int_equal(vs_ledger_fence(L, n, &after), VS_OK);
	assert_true(after.version > before.version);
	assert_int_equal(after.generation, before.generation);
	assert_int_equal(after.state, before.state);
	assert_memory_equal(after.activation, before.activation, VS_ID_LEN);
	/* A stop prepared on the old version (sent before the fence) is lost. */
	vs_vnf_record stopped = before;
	stopped.state = VS_VNF_STOPPED;
	assert_int_equal(L->ops->cas(L, &stopped, before.version), VS_E_POLICY);
	assert_int_equal(L->ops->get(L, n, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_ACTIVE);
	/* Resume from ACTIVE with the token: a confirming CAS. */
	assert_int_equal(vs_ledger_resume(L, n, &a, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_ACTIVE);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_resume(L, n, &a, &r), VS_E_POLICY);
}

/* The audit-log anchor (docs/audit.md) only moves forward. */
static void test_log_anchor(void **st)
{
	(void)st;
	char host[64];
	uint8_t r[4];
	char hex[9];
	assert_int_equal(vs_random(r, sizeof r), VS_OK);
	vs_hex(r, sizeof r, hex);
	snprintf(host, sizeof host, "host-%d-%s", ++counter, hex);
	vs_log_anchor a, got;
	bool found = true;
	assert_int_equal(vs_ledger_log_anchor_get(L, host, &got, &found), VS_OK);
	assert_false(found);
	memset(&a, 0, sizeof a);
	a.size = 3;
	a.offset = 900;
	memset(a.head, 0x11, sizeof a.head);
	assert_int_equal(vs_ledger_log_anchor_advance(L, host, &a), VS_OK);
	assert_int_equal(vs_ledger_log_anchor_get(L, host, &got, &found), VS_OK);
	assert_true(found);
	assert_int_equal(got.size, 3);
	assert_int_equal(got.offset, 900);
	assert_memory_equal(got.head, a.head, VS_HASH_LEN);
	/* Same place again: nothing to do. */
	assert_int_equal(vs_ledger_log_anchor_advance(L, host, &a), VS_OK);
	/* Same size, another last record: replaced. */
	vs_log_anchor b = a;
	b.head[0] ^= 1;
	assert_int_equal(vs_ledger_log_anchor_advance(L, host, &b), VS_E_INTEGRITY);
	/* Fewer records: truncated or rolled back. */
	b = a;
	b.size = 2;
	b.offset = 600;
	assert_int_equal(vs_ledger_log_anchor_advance(L, host, &b), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "fewer"));
	/* Forward. */
	b = a;
	b.size = 7;
	b.offset = 2100;
	memset(b.head, 0x22, sizeof b.head);
	assert_int_equal(vs_ledger_log_anchor_advance(L, host, &b), VS_OK);
	assert_int_equal(vs_ledger_log_anchor_get(L, host, &got, &found), VS_OK);
	assert_int_equal(got.size, 7);
	assert_memory_equal(got.head, b.head, VS_HASH_LEN);
	/* A stale CAS (prepared before that advance) does not apply. */
	uint64_t version;
	assert_int_equal(L->ops->log_anchor_get(L, host, &got, &version, &found), VS_OK);
	assert_int_equal(L->ops->log_anchor_cas(L, host, &a, version - 1 ? version - 1 : 99),
			 VS_E_POLICY);
	assert_int_equal(L->ops->log_anchor_cas(L, host, &a, 0), VS_E_POLICY); /* exists */
	assert_int_equal(vs_ledger_log_anchor_advance(L, "bad/host name", &a), VS_E_USAGE);
	/* An operator's restart: back to a new log's first record, counted. */
	vs_log_anchor fresh_log = a, out;
	fresh_log.size = 1;
	fresh_log.offset = 300;
	memset(fresh_log.head, 0x33, sizeof fresh_log.head);
	assert_int_equal(vs_ledger_log_anchor_restart(L, host, &fresh_log, &out), VS_OK);
	assert_int_equal(out.restarts, 1);
	assert_int_equal(vs_ledger_log_anchor_get(L, host, &got, &found), VS_OK);
	assert_int_equal(got.size, 1);
	assert_int_equal(got.restarts, 1);
	/* Advancing keeps the count; a plain advance cannot go back. */
	fresh_log.size = 4;
	fresh_log.offset = 1200;
	fresh_log.restarts = 0;
	assert_int_equal(vs_ledger_log_anchor_advance(L, host, &fresh_log), VS_OK);
	assert_int_equal(vs_ledger_log_anchor_get(L, host, &got, &found), VS_OK);
	assert_int_equal(got.size, 4);
	assert_int_equal(got.restarts, 1);
	fresh_log.size = 3;
	assert_int_equal(vs_ledger_log_anchor_advance(L, host, &fresh_log), VS_E_INTEGRITY);
}

/* A token is the secret its activation made, not its public fields: a copy
 * of (lineage, generation, host) - what another home can read or write into
 * its own table - is refused by every fenced transition. */
static void test_token_needs_secret(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence a, copy;
	uint8_t s[VS_ID_LEN], h[VS_HASH_LEN];
	snap_id(s, 0x51);
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(vs_token_hash(a.secret, h), VS_OK);
	assert_memory_equal(r.token_hash, h, VS_HASH_LEN);
	assert_true(vs_fence_valid(&r, &a));
	copy = a;
	memset(copy.secret, 0, sizeof copy.secret);
	assert_false(vs_fence_valid(&r, &copy));
	assert_int_equal(vs_ledger_pause(L, n, &copy, &r), VS_E_POLICY);
	assert_non_null(strstr(vs_errmsg(), "secret"));
	assert_int_equal(vs_ledger_check_snapshot(L, n, "host-a", &copy, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", &copy, s, 1), VS_E_POLICY);
	assert_int_equal(vs_ledger_migrate_begin(L, n, &copy, "host-b"), VS_E_POLICY);
	copy.secret[31] = 1; /* a guess */
	assert_int_equal(vs_ledger_stop(L, n, &copy, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_ACTIVE);
	/* A second activation gets another secret: the old one is dead too. */
	assert_int_equal(vs_ledger_pause(L, n, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_resume(L, n, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	vs_fence b;
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &b, &r), VS_OK);
	assert_memory_not_equal(a.secret, b.secret, VS_TOKEN_SECRET_LEN);
	copy = b;
	memcpy(copy.secret, a.secret, sizeof copy.secret);
	assert_int_equal(vs_ledger_stop(L, n, &copy, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_stop(L, n, &b, &r), VS_OK);
}

/* A start elsewhere would drop a final latest snapshot (taken while nothing
 * ran the VNF): refused unless the operator discards it. */
static void test_start_keeps_final_latest(void **st)
{
	(void)st;
	char n[64];
	vs_vnf_record r;
	vs_fence a, b;
	uint8_t s[VS_ID_LEN], lin[VS_ID_LEN];
	snap_id(s, 0x61);
	/* REGISTERED, snapshotted on host-a. */
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", NULL, s, 0), VS_OK);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_true(r.latest_final);
	assert_string_equal(r.latest_host, "host-a");
	memcpy(lin, r.lineage, VS_ID_LEN);
	assert_int_equal(vs_ledger_start(L, n, "host-b", NULL, false, &b, &r), VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_DISCARDS_LATEST); /* the front end names its flag */
	assert_null(strstr(vs_errmsg(), "--"));
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_REGISTERED);
	assert_true(r.latest_final);
	/* Where it was taken, the state is the snapshot's: fine. */
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	/* STOPPED on host-a and snapshotted there: host-a's own start is fine. */
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", NULL, s, r.generation), VS_OK);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_stop(L, n, &a, &r), VS_OK);
	/* Restored on host-b (so host-b recorded it) and released: STOPPED on
	 * host-b with a final latest that host-b activated from. */
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", NULL, s, r.generation), VS_OK);
	assert_int_equal(vs_ledger_restore(L, n, "host-b", lin, s, false, NULL, &b, &r), VS_OK);
	assert_string_equal(r.latest_host, "host-b");
	assert_int_equal(vs_ledger_release(L, n, "host-b", NULL, &r), VS_OK);
	assert_true(r.latest_final);
	assert_int_equal(vs_ledger_start(L, n, "host-b", NULL, false, &b, &r), VS_OK);
	assert_int_equal(vs_ledger_stop(L, n, &b, &r), VS_OK);
	/* STOPPED on host-b, but the final latest came from host-a (a snapshot
	 * of host-a's, then host-b released): host-b's start would drop it. */
	uint8_t s2[VS_ID_LEN];
	snap_id(s2, 0x62);
	fresh(n, sizeof n);
	assert_int_equal(vs_ledger_get(L, n, &r), VS_OK);
	memcpy(lin, r.lineage, VS_ID_LEN);
	assert_int_equal(vs_ledger_start(L, n, "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_record_snapshot(L, n, "host-a", &a, s2, r.generation), VS_OK);
	assert_int_equal(vs_ledger_migrate_begin(L, n, &a, "host-b"), VS_OK);
	uint8_t sec[VS_TOKEN_SECRET_LEN], hash[VS_HASH_LEN];
	assert_int_equal(vs_random(sec, sizeof sec), VS_OK);
	assert_int_equal(vs_token_hash(sec, hash), VS_OK);
	assert_int_equal(vs_ledger_migrate_commit(L, n, &a, hash, &r), VS_OK);
	assert_int_equal(vs_ledger_release(L, n, "host-b", NULL, &r), VS_OK);
	assert_true(r.latest_final);
	assert_string_equal(r.owner, "host-b");
	assert_int_equal(vs_ledger_start(L, n, "host-b", NULL, false, &b, &r), VS_E_POLICY);
	/* The operator's explicit decision: started, the snapshot no longer final. */
	assert_int_equal(vs_ledger_start(L, n, "host-b", NULL, true, &b, &r), VS_OK);
	assert_false(r.latest_final);
	assert_int_equal(vs_ledger_stop(L, n, &b, &r), VS_OK);
	assert_int_equal(vs_ledger_check_restore(L, n, lin, s2, false), VS_E_POLICY);
}

/* A SQLite ledger made before latest_host/token_hash: upgraded in place at
 * open; its live record has no token hash, so no token is accepted (fail
 * closed) until a release, and a final latest snapshot of unknown host is
 * not discarded by a start. */
static void test_sqlite_upgrade_fails_closed(void **st)
{
	(void)st;
	if (strcmp(L->ops->scheme, "sqlite") != 0) {
		printf("skip: a SQLite schema upgrade; the ledger here is %s\n", L->ops->scheme);
		skip();
	}
	char path[400], uri[420];
	snprintf(path, sizeof path, "%s/old-ledger.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TABLE vnfs(name TEXT PRIMARY KEY, lineage BLOB NOT NULL,"
			     " generation INTEGER NOT NULL, state INTEGER NOT NULL, owner TEXT NOT NULL,"
			     " target TEXT NOT NULL, has_snapshot INTEGER NOT NULL, latest BLOB NOT NULL,"
			     " latest_gen INTEGER NOT NULL, sensitive TEXT NOT NULL, version INTEGER NOT NULL,"
			     " updated INTEGER NOT NULL, latest_final INTEGER NOT NULL DEFAULT 0,"
			     " activation BLOB NOT NULL DEFAULT x'');"
			     "INSERT INTO vnfs VALUES('live', x'0102030405060708090a0b0c0d0e0f10', 1, 1,"
			     " 'host-a', '', 0, zeroblob(16), 0, '', 1, 0, 0, x'5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a');"
			     "INSERT INTO vnfs VALUES('kept', x'1102030405060708090a0b0c0d0e0f10', 0, 0,"
			     " '', '', 1, x'61616161616161616161616161616161', 0, '', 1, 0, 1, x'');",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	vs_ledger *old;
	snprintf(uri, sizeof uri, "sqlite:%s", path);
	assert_int_equal(vs_ledger_open(&old, uri), VS_OK);
	vs_vnf_record r;
	assert_int_equal(vs_ledger_get(old, "live", &r), VS_OK);
	assert_string_equal(r.latest_host, "");
	/* host-a's token from before: public fields only, no hash to match. */
	vs_fence a;
	memset(&a, 0, sizeof a);
	memcpy(a.lineage, r.lineage, VS_ID_LEN);
	a.generation = 1;
	strcpy(a.host, "host-a");
	assert_false(vs_fence_valid(&r, &a));
	assert_int_equal(vs_ledger_stop(old, "live", &a, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_release(old, "live", "host-a", &a, &r), VS_OK);
	assert_int_equal(vs_ledger_start(old, "live", "host-a", NULL, false, &a, &r), VS_OK);
	assert_int_equal(vs_ledger_stop(old, "live", &a, &r), VS_OK);
	/* A final latest snapshot whose host nobody recorded: not discarded. */
	assert_int_equal(vs_ledger_start(old, "kept", "host-a", NULL, false, &a, &r), VS_E_POLICY);
	assert_int_equal(vs_ledger_start(old, "kept", "host-a", NULL, true, &a, &r), VS_OK);
	vs_ledger_close(old);
	/* Opening again: nothing left to upgrade, the records as written. */
	assert_int_equal(vs_ledger_open(&old, uri), VS_OK);
	assert_int_equal(vs_ledger_get(old, "kept", &r), VS_OK);
	assert_true(vs_fence_valid(&r, &a));
	vs_ledger_close(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_and_get),
		cmocka_unit_test(test_token_needs_secret),
		cmocka_unit_test(test_start_keeps_final_latest),
		cmocka_unit_test(test_sqlite_upgrade_fails_closed),
		cmocka_unit_test(test_final_snapshot),
		cmocka_unit_test(test_own_effect_recognised),
		cmocka_unit_test(test_fence_and_reconfirm),
		cmocka_unit_test(test_log_anchor),
		cmocka_unit_test(test_start_fork_and_fencing),
		cmocka_unit_test(test_restore_rollback_and_lineage),
		cmocka_unit_test(test_snapshot_rules),
		cmocka_unit_test(test_migration_and_recover),
		cmocka_unit_test(test_release_fences_dead_host),
		cmocka_unit_test(test_stale_cache_is_never_trusted),
		cmocka_unit_test(test_cas_conflict),
		cmocka_unit_test(test_generation_never_decreases_in_store),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
