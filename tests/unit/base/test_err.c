/* Error messages stay one printable line whatever a caller passes: the
 * escaper behind vs_fail/vs_wrap (docs/format.md, "Messages"). */
#include "testutil.h"
#include <errno.h>
#include <sys/stat.h>

#include "vnfsafe/err.h"

static void expect_esc(const char *in, const char *want)
{
	char out[256];
	assert_string_equal(vs_escape(in, out, sizeof out), want);
}

static void test_controls(void **state)
{
	(void)state;
	expect_esc("plain name.txt", "plain name.txt");
	expect_esc("a\nFORGED", "a\\x0aFORGED");
	expect_esc("\r\t\x1b[2J\x7f", "\\x0d\\x09\\x1b[2J\\x7f");
	expect_esc("back\\slash", "back\\slash"); /* kept: escaping is idempotent */
}

static void test_utf8(void **state)
{
	(void)state;
	expect_esc("caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x92", "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x94\x92");
	expect_esc("\xff", "\\xff");
	expect_esc("\xc3", "\\xc3");                 /* cut sequence */
	expect_esc("\xc0\xaf", "\\xc0\\xaf");         /* overlong '/' */
	expect_esc("\xe0\x80\xaf", "\\xe0\\x80\\xaf"); /* overlong, 3 bytes */
	expect_esc("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	expect_esc("\xc2\x9b", "\\xc2\\x9b");         /* C1 CSI */
	expect_esc("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
}

static void test_truncation(void **state)
{
	(void)state;
	char out[6];
	/* Never half an escape: "ab" fits, "\x0a" (4 bytes) would not. */
	assert_string_equal(vs_escape("ab\ncd", out, sizeof out), "ab");
	/* Never half a character. */
	assert_string_equal(vs_escape("abcd\xc3\xa9", out, sizeof out), "abcd");
	assert_string_equal(vs_escape("x", out, 1), "");
}

static void test_messages(void **state)
{
	(void)state;
	assert_int_equal(vs_fail(VS_E_ENV, "cannot open %s", "a\nFORGED: ok"), VS_E_ENV);
	assert_string_equal(vs_errmsg(), "cannot open a\\x0aFORGED: ok");
	assert_int_equal(vs_wrap(VS_E_USAGE, "while %s", "x\ry"), VS_E_USAGE);
	assert_string_equal(vs_errmsg(), "while x\\x0dy: cannot open a\\x0aFORGED: ok");
	errno = ENOENT;
	assert_int_equal(vs_fail_errno(VS_E_ENV, "open %s", "\x1b"), VS_E_ENV);
	assert_null(strchr(vs_errmsg(), '\x1b'));
	assert_non_null(strstr(vs_errmsg(), "open \\x1b: "));
	/* A long message of newlines stays one line and ends on a whole escape. */
	char big[600];
	memset(big, '\n', sizeof big - 1);
	big[sizeof big - 1] = 0;
	assert_int_equal(vs_fail(VS_E_ENV, "%s", big), VS_E_ENV);
	const char *m = vs_errmsg();
	assert_null(strchr(m, '\n'));
	assert_int_equal(strlen(m) % 4, 0);
}

/* The field code: set by vs_fail_field or vs_set_field, kept by vs_wrap,
 * cleared by every fresh failure; each code has a stable JSON name. */
static void test_fields(void **state)
{
	(void)state;
	assert_int_equal(vs_fail_field(VS_E_USAGE, VS_F_SOURCE, "source %s", "x"), VS_E_USAGE);
	assert_int_equal(vs_errfield(), VS_F_SOURCE);
	assert_int_equal(vs_errreason(), VS_R_NONE);
	assert_string_equal(vs_errmsg(), "source x");
	assert_int_equal(vs_wrap(VS_E_USAGE, "while capturing"), VS_E_USAGE);
	assert_int_equal(vs_errfield(), VS_F_SOURCE);
	assert_int_equal(vs_fail(VS_E_ENV, "other"), VS_E_ENV);
	assert_int_equal(vs_errfield(), VS_F_NONE);
	errno = ENOENT;
	assert_int_equal(vs_set_field(vs_fail_errno(VS_E_ENV, "open"), VS_F_AUDIT_SEED), VS_E_ENV);
	assert_int_equal(vs_errfield(), VS_F_AUDIT_SEED);
	assert_int_equal(vs_refuse(VS_E_POLICY, VS_R_FORK, "fw", "runs"), VS_E_POLICY);
	assert_int_equal(vs_errfield(), VS_F_NONE);
	assert_string_equal(vs_field_name(VS_F_CHUNK_SIZE), "chunk_size");
	assert_string_equal(vs_field_name(VS_F_ETCD_PASSWORD_FILE), "etcd_password_file");
	for (int f = VS_F_NONE; f <= VS_F_OUT; f++)
		assert_string_not_equal(vs_field_name((vs_field)f), "unknown");
	assert_string_equal(vs_field_name((vs_field)999), "unknown");
	assert_string_equal(vs_reason_name(VS_R_NO_HOME), "no-home");
	assert_string_equal(vs_reason_name(VS_R_LOG_DAMAGED), "log-damaged");
}

/* The read-only URI of a database whose path holds URI syntax; its -shm
 * is made (empty) so that SQLite can open it read-only. */
static void test_readonly_uri(void **state)
{
	(void)state;
	char dir[256], sub[320], db[400], shm[420], uri[1024];
	struct stat st;
	tu_tmpdir(dir, sizeof dir);
	snprintf(sub, sizeof sub, "%s/a?b#c%%d", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(db, sizeof db, "%s/x.db", sub);
	assert_int_equal(vs_sqlite_readonly_uri(db, uri, sizeof uri), VS_OK);
	char want[1024];
	snprintf(want, sizeof want, "file:%s/a%%3Fb%%23c%%25d/x.db?mode=ro&readonly_shm=1", dir);
	assert_string_equal(uri, want);
	snprintf(shm, sizeof shm, "%s-shm", db);
	assert_int_equal(stat(shm, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(vs_sqlite_readonly_uri(db, uri, 20), VS_E_USAGE); /* too small: refused */
	tu_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_readonly_uri),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
