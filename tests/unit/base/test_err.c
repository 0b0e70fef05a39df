/* Error messages stay one printable line whatever a caller passes: the
 * escaper behind vs_fail/vs_wrap (docs/format.md, "Messages"). */
#include "testutil.h"
#include <errno.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
