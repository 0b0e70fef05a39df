/* A refusal re-checked on a fresh read (did an earlier copy of this request
 * apply?) must not turn a failed read into "refused": the caller would drop
 * what recovery needs. Real SQLite backend; its get fails on demand (fault
 * injection over the real ops, as SQLite's own tests inject I/O errors). */
#include "testutil.h"
#include "vnfsafe/crypto.h"
#include "vnfsafe/ledger.h"

static vs_ledger *L;
static char dir[256];
static vs_ledger_ops faulty;
static const vs_ledger_ops *real;
static int gets, fail_from; /* get number fail_from and later fail (0: none) */

static vs_err faulty_get(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	if (fail_from && ++gets >= fail_from)
		return vs_fail(VS_E_ENV, "injected: ledger unreachable");
	return real->get(l, name, out);
}

static int setup(void **st)
{
	(void)st;
	char uri[512];
	tu_tmpdir(dir, sizeof dir);
	snprintf(uri, sizeof uri, "sqlite:%s/ledger.db", dir);
	if (vs_ledger_open(&L, uri) != VS_OK)
		return -1;
	real = L->ops;
	faulty = *real;
	faulty.get = faulty_get;
	L->ops = &faulty;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	L->ops = real;
	vs_ledger_close(L);
	tu_rmdir(dir);
	return 0;
}

/* Fails every get after the first n of the next call. */
static void fail_after(int n)
{
	gets = 0;
	fail_from = n + 1;
	L->cached = false;
}

static void test_activation_refused_then_unreadable(void **st)
{
	(void)st;
	vs_vnf_record r;
	vs_fence a, b;
	fail_from = 0;
	assert_int_equal(vs_ledger_register(L, "act", "", &r), VS_OK);
	assert_int_equal(vs_ledger_start(L, "act", "host-a", NULL, false, &a, &r), VS_OK);
	/* Refused (a fork) on a good read; the re-read of its own effect fails. */
	fail_after(1);
	assert_int_equal(vs_ledger_start(L, "act", "host-b", NULL, false, &b, &r), VS_E_UNKNOWN);
	assert_int_equal(vs_exit_code(VS_E_UNKNOWN), VS_E_ENV);
	/* Readable: a plain refusal, as before. */
	fail_from = 0;
	L->cached = false;
	assert_int_equal(vs_ledger_start(L, "act", "host-b", NULL, false, &b, &r), VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_FORK);
	assert_string_equal(vs_errvnf(), "act");
}

static void test_record_refused_then_unreadable(void **st)
{
	(void)st;
	vs_vnf_record r;
	uint8_t snap[VS_ID_LEN];
	memset(snap, 7, sizeof snap);
	fail_from = 0;
	assert_int_equal(vs_ledger_register(L, "rec", "", &r), VS_OK);
	/* A stale generation: refused; the re-read fails: unknown, not refused. */
	fail_after(1);
	assert_int_equal(vs_ledger_record_snapshot(L, "rec", "host-a", NULL, snap, r.generation + 5),
			 VS_E_UNKNOWN);
	fail_from = 0;
	L->cached = false;
	assert_int_equal(vs_ledger_record_snapshot(L, "rec", "host-a", NULL, snap, r.generation + 5),
			 VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_LOST_RACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_activation_refused_then_unreadable),
		cmocka_unit_test(test_record_refused_then_unreadable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
