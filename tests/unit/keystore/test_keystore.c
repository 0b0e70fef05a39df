#define _GNU_SOURCE
/* Home and keystore against a real SQLite file in a temp directory. */
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "vnfsafe/home.h"

static char dir[256], home[300];

static int setup(void **st)
{
	(void)st;
	tu_tmpdir(dir, sizeof dir);
	snprintf(home, sizeof home, "%s/home", dir);
	return vs_home_init(home) == VS_OK ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	tu_rmdir(dir);
	return 0;
}

static mode_t mode_of(const char *name)
{
	char p[512];
	struct stat sb;
	snprintf(p, sizeof p, "%s/%s", home, name);
	assert_int_equal(lstat(p, &sb), 0);
	return sb.st_mode & 07777;
}

static void test_home_layout_and_refusal(void **st)
{
	(void)st;
	assert_int_equal(mode_of("."), 0700);
	assert_int_equal(mode_of("kek"), 0600);
	assert_int_equal(mode_of("host.key"), 0600);
	assert_int_equal(mode_of("vnfsafe.db"), 0600);
	assert_int_equal(vs_home_init(home), VS_E_USAGE);
	/* No staging directory left beside it. */
	char cmd[600];
	snprintf(cmd, sizeof cmd, "ls -a %s | grep -q init-", dir);
	assert_int_not_equal(system(cmd), 0);
}

static void test_key_lifecycle(void **st)
{
	(void)st;
	vs_home *h;
	uint8_t snap[VS_ID_LEN], other[VS_ID_LEN], kid[VS_ID_LEN];
	vs_key k, back;
	int n;
	assert_int_equal(vs_home_open(&h, home), VS_OK);
	assert_int_equal(vs_random(snap, sizeof snap), VS_OK);
	assert_int_equal(vs_random(other, sizeof other), VS_OK);
	assert_int_equal(vs_keystore_create(h, snap, "secrets", kid, &k), VS_OK);
	assert_int_equal(vs_keystore_get(h, snap, "secrets", kid, &back), VS_OK);
	assert_memory_equal(k.k, back.k, VS_KEY_LEN);
	/* Bound to its snapshot and domain. */
	assert_int_equal(vs_keystore_get(h, other, "secrets", kid, &back), VS_E_INTEGRITY);
	assert_int_equal(vs_keystore_get(h, snap, "default", kid, &back), VS_E_INTEGRITY);
	assert_int_equal(vs_keystore_erase(h, snap, &n), VS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vs_keystore_get(h, snap, "secrets", kid, &back), VS_E_INTEGRITY);
	vs_home_close(h);

	/* Neither the key nor its wrapped form remains in any file of the home. */
	char cmd[600];
	snprintf(cmd, sizeof cmd, "cat %s/vnfsafe.db* > %s/all", home, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/all", dir);
	uint8_t *all;
	size_t len;
	assert_int_equal(vs_read_small_file(cmd, 1 << 24, &all, &len), VS_OK);
	assert_null(memmem(all, len, kid, VS_ID_LEN));
	assert_null(memmem(all, len, k.k, VS_KEY_LEN));
	free(all);
}

static void test_wrapped_key_tamper(void **st)
{
	(void)st;
	vs_home *h;
	uint8_t snap[VS_ID_LEN], kid[VS_ID_LEN];
	vs_key k, back;
	assert_int_equal(vs_home_open(&h, home), VS_OK);
	assert_int_equal(vs_random(snap, sizeof snap), VS_OK);
	assert_int_equal(vs_keystore_create(h, snap, "default", kid, &k), VS_OK);
	vs_home_close(h);
	char db[512];
	sqlite3 *s;
	snprintf(db, sizeof db, "%s/vnfsafe.db", home);
	assert_int_equal(sqlite3_open(db, &s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s, "UPDATE data_keys SET wrapped = zeroblob(60)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(s);
	assert_int_equal(vs_home_open(&h, home), VS_OK);
	assert_int_equal(vs_keystore_get(h, snap, "default", kid, &back), VS_E_INTEGRITY);
	vs_home_close(h);
}

static void test_insecure_permissions_refused(void **st)
{
	(void)st;
	vs_home *h;
	char p[512];
	snprintf(p, sizeof p, "%s/kek", home);
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(vs_home_open(&h, home), VS_E_ENV);
	assert_non_null(strstr(vs_errmsg(), "kek"));
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(vs_home_open(&h, home), VS_OK);
	vs_home_close(h);
}

static void test_missing_home(void **st)
{
	(void)st;
	vs_home *h;
	char p[512];
	snprintf(p, sizeof p, "%s/nope", dir);
	assert_int_equal(vs_home_open(&h, p), VS_E_ENV);
	/* The front end phrases the hint ('vnfsafe init') from the reason. */
	assert_int_equal(vs_errreason(), VS_R_NO_HOME);
	assert_non_null(strstr(vs_errmsg(), "no vnfsafe home at"));
}

static vs_err count_cb(void *ctx, const vs_catalog_entry *e)
{
	(void)e;
	(*(int *)ctx)++;
	return VS_OK;
}

static void test_catalog(void **st)
{
	(void)st;
	vs_home *h;
	vs_snap_header hd;
	vs_catalog_entry e;
	int before = 0, after = 0;
	memset(&hd, 0, sizeof hd);
	assert_int_equal(vs_random(hd.snapshot_id, VS_ID_LEN), VS_OK);
	strcpy(hd.vnf, "smf-2");
	strcpy(hd.engine, "dir");
	hd.nsections = 2;
	strcpy(hd.sections[0].domain, "default");
	strcpy(hd.sections[1].domain, "secrets");
	assert_int_equal(vs_home_open(&h, home), VS_OK);
	assert_int_equal(vs_catalog_list(h, count_cb, &before), VS_OK);
	assert_int_equal(vs_catalog_begin(h, &hd, "/x/y.vsnap"), VS_OK);
	assert_int_equal(vs_catalog_get(h, hd.snapshot_id, &e), VS_OK);
	assert_string_equal(e.state, "BUILDING");
	assert_string_equal(e.domains, "default,secrets");
	assert_int_equal(vs_catalog_finish(h, hd.snapshot_id, "AVAILABLE", 1234, NULL), VS_OK);
	assert_int_equal(vs_catalog_get(h, hd.snapshot_id, &e), VS_OK);
	assert_string_equal(e.state, "AVAILABLE");
	assert_int_equal(e.size, 1234);
	assert_int_equal(vs_catalog_list(h, count_cb, &after), VS_OK);
	assert_int_equal(after, before + 1);
	uint8_t unknown[VS_ID_LEN] = { 0 };
	assert_int_equal(vs_catalog_get(h, unknown, &e), VS_E_USAGE);
	vs_home_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_layout_and_refusal),
		cmocka_unit_test(test_key_lifecycle),
		cmocka_unit_test(test_wrapped_key_tamper),
		cmocka_unit_test(test_insecure_permissions_refused),
		cmocka_unit_test(test_missing_home),
		cmocka_unit_test(test_catalog),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
