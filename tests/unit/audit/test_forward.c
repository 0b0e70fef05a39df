/* Audit forwarding without a collector: the RFC 5424 message of a record,
 * forward.conf and forward.cursor parsing, and the flush's refusals (cursor
 * that does not match the log, collector unreachable) that need no peer. */
#include "testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/forward.h"

#define H64_1 "0000000000000000000000000000000000000000000000000000000000000001"
#define H64_2 "0000000000000000000000000000000000000000000000000000000000000002"

static char *fmt(const char *line, vs_err want, uint64_t *seq)
{
	char *out = NULL;
	size_t n = 0;
	uint64_t s = 0;
	vs_err rc = vs_forward_format(line, strlen(line), &out, &n, &s);
	assert_int_equal(rc, want);
	if (rc != VS_OK)
		return NULL;
	assert_int_equal(n, strlen(out));
	if (seq)
		*seq = s;
	return out;
}

static void expect_msg(const char *line, const char *want)
{
	char *m = fmt(line, VS_OK, NULL);
	assert_string_equal(m, want);
	free(m);
}

static void test_format_ok_record(void **state)
{
	(void)state;
	const char *line = "{\"seq\":7,\"time\":\"2026-11-23T21:15:03.123456Z\",\"epoch\":1,"
			   "\"host\":\"node-1\",\"actor\":\"uid:1000\",\"action\":\"snapshot.create\","
			   "\"vnf\":\"fw1\",\"outcome\":\"ok\",\"reason\":\"\",\"prev\":\"" H64_1
			   "\",\"mac\":\"" H64_2 "\"}";
	uint64_t seq = 0;
	char *m = fmt(line, VS_OK, &seq);
	assert_int_equal(seq, 7);
	char want[1024];
	snprintf(want, sizeof want,
		 "<85>1 2026-11-23T21:15:03.123456Z node-1 vnfsafe - snapshot.create "
		 "[vnfsafe@32473 seq=\"7\" prev=\"" H64_1 "\" mac=\"" H64_2 "\"] %s",
		 line);
	assert_string_equal(m, want);
	free(m);
}

static void test_format_severity(void **state)
{
	(void)state;
	const char *outcomes[] = { "refused", "failed", "integrity", "OK", "" };
	for (size_t i = 0; i < sizeof outcomes / sizeof *outcomes; i++) {
		char line[200];
		snprintf(line, sizeof line, "{\"seq\":1,\"outcome\":\"%s\"}", outcomes[i]);
		char *m = fmt(line, VS_OK, NULL);
		assert_memory_equal(m, "<84>1 ", 6); /* authpriv.warning */
		free(m);
	}
	char *m = fmt("{\"seq\":1}", VS_OK, NULL); /* no outcome: warning */
	assert_memory_equal(m, "<84>1 ", 6);
	free(m);
}

static void test_format_escapes_and_sanitises(void **state)
{
	(void)state;
	/* SD values escape '"', '\' and ']'; MSGID and HOSTNAME keep only
	 * PRINTUSASCII, MSGID at most 32 characters; missing fields are "-". */
	expect_msg("{\"seq\":2,\"action\":\"a b\\u00e9c\\td\",\"host\":\"h o\",\"prev\":\"x\\\"y]z\\\\w\"}",
		   "<84>1 - h_o vnfsafe - a_b__c_d [vnfsafe@32473 seq=\"2\" prev=\"x\\\"y\\]z\\\\w\"] "
		   "{\"seq\":2,\"action\":\"a b\\u00e9c\\td\",\"host\":\"h o\",\"prev\":\"x\\\"y]z\\\\w\"}");
	expect_msg("{\"seq\":3,\"action\":\"0123456789012345678901234567890123456789\",\"mac\":\"a\\u0001\"}",
		   "<84>1 - - vnfsafe - 01234567890123456789012345678901 [vnfsafe@32473 seq=\"3\" "
		   "mac=\"a?\"] {\"seq\":3,\"action\":\"0123456789012345678901234567890123456789\","
		   "\"mac\":\"a\\u0001\"}");
	/* Non-string fields are ignored rather than stringified. */
	expect_msg("{\"seq\":4,\"host\":5,\"action\":null,\"prev\":[1]}",
		   "<84>1 - - vnfsafe - - [vnfsafe@32473 seq=\"4\"] {\"seq\":4,\"host\":5,\"action\":null,\"prev\":[1]}");
}

static void expect_time(const char *t, const char *want)
{
	char line[256], prefix[128];
	snprintf(line, sizeof line, "{\"seq\":1,\"time\":\"%s\",\"outcome\":\"ok\"}", t);
	snprintf(prefix, sizeof prefix, "<85>1 %s - vnfsafe", want);
	char *m = fmt(line, VS_OK, NULL);
	assert_memory_equal(m, prefix, strlen(prefix));
	free(m);
}

static void test_format_time(void **state)
{
	(void)state;
	expect_time("2026-11-23T21:15:03.123456Z", "2026-11-23T21:15:03.123456Z");
	expect_time("2026-11-23T21:15:03Z", "2026-11-23T21:15:03Z");
	expect_time("2026-11-23T21:15:03.1Z", "2026-11-23T21:15:03.1Z");
	expect_time("2026-11-23T21:15:03.123456789Z", "2026-11-23T21:15:03.123456Z");
	const char *bad[] = { "2026-11-23 21:15:03Z", "2026-11-23T21:15:03+01:00",
			      "2026-13-23T21:15:03Z", "2026-11-23T24:00:00Z",
			      "2026-11-23T21:15:60Z", "2026-11-23T21:15:03.Z",
			      "2026-11-23T21:15:03.12a4Z", "2026-11-23T21:15:03", "",
			      "yesterday" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		expect_time(bad[i], "-");
}

static void test_format_refuses_non_records(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "{}", "[1]", "{\"seq\":0}", "{\"seq\":-3}", "{\"seq\":\"1\"}",
		"{\"seq\":1.5}", "{\"seq\":1", "{\"seq\":1}x", " {\"seq\":1}",
		"{\"time\":\"t\",\"seq\":1}", "{\"seq\":1,\"a\":1,\"a\":2}",
		"{\"seq\":1,\"a\":\"\xff\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		fmt(bad[i], VS_E_INTEGRITY, NULL);
	/* An embedded newline or NUL is never part of a record. */
	char *out;
	size_t n;
	uint64_t seq;
	assert_int_equal(vs_forward_format("{\"seq\":1}\n", 10, &out, &n, &seq), VS_E_INTEGRITY);
	assert_int_equal(vs_forward_format("{\"seq\":1}\0", 10, &out, &n, &seq), VS_E_INTEGRITY);
	/* Too long. */
	size_t big = VS_FORWARD_MAX_RECORD + 1;
	char *line = malloc(big + 1);
	assert_non_null(line);
	memset(line, ' ', big);
	memcpy(line, "{\"seq\":1,\"x\":\"", 15);
	line[big - 2] = '"';
	line[big - 1] = '}';
	line[big] = '\0';
	assert_int_equal(vs_forward_format(line, big, &out, &n, &seq), VS_E_INTEGRITY);
	free(line);
}

/* ---- forward.conf ---- */

static const char full_conf[] = "# collector\n"
				"host=syslog.example.net\n"
				"\n"
				"port=10514\n"
				"  ca = /etc/vnfsafe/ca.pem  \n"
				"cert=/etc/vnfsafe/client.pem\n"
				"key=/etc/vnfsafe/client.key\n"
				"server_name=collector.example.net\n"
				"timeout_ms=2500";

static void test_conf_parse_full(void **state)
{
	(void)state;
	vs_forward_cfg c;
	assert_int_equal(vs_forward_cfg_parse(full_conf, strlen(full_conf), &c), VS_OK);
	assert_string_equal(c.host, "syslog.example.net");
	assert_int_equal(c.port, 10514);
	assert_string_equal(c.ca_file, "/etc/vnfsafe/ca.pem");
	assert_string_equal(c.cert_file, "/etc/vnfsafe/client.pem");
	assert_string_equal(c.key_file, "/etc/vnfsafe/client.key");
	assert_string_equal(c.server_name, "collector.example.net");
	assert_int_equal(c.timeout_ms, 2500);
	/* format -> parse gives the same settings. */
	char *text;
	assert_int_equal(vs_forward_cfg_format(&c, &text), VS_OK);
	vs_forward_cfg back;
	assert_int_equal(vs_forward_cfg_parse(text, strlen(text), &back), VS_OK);
	assert_memory_equal(&c, &back, sizeof c);
	free(text);
}

static void test_conf_defaults(void **state)
{
	(void)state;
	const char *t = "host=10.0.0.1\nca=/ca.pem\n";
	vs_forward_cfg c;
	assert_int_equal(vs_forward_cfg_parse(t, strlen(t), &c), VS_OK);
	assert_int_equal(c.port, 6514);
	assert_int_equal(c.timeout_ms, 10000);
	assert_string_equal(c.cert_file, "");
	assert_string_equal(c.server_name, "");
}

/* Each bad text is one VS_E_USAGE line containing want; cfg untouched. */
static void expect_bad_conf(const char *text, size_t len, const char *want)
{
	vs_forward_cfg c;
	memset(&c, 0x5a, sizeof c);
	vs_forward_cfg before = c;
	assert_int_equal(vs_forward_cfg_parse(text, len, &c), VS_E_USAGE);
	const char *msg = vs_errmsg();
	if (!strstr(msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", msg, want);
	assert_null(strchr(msg, '\n'));
	assert_memory_equal(&c, &before, sizeof c);
}
#define BAD(text, want) expect_bad_conf(text, sizeof(text) - 1, want)

static void test_conf_refusals(void **state)
{
	(void)state;
	BAD("host=a\nca=/c\nport=0\n", "line 3: bad port");
	BAD("host=a\nca=/c\nport=65536\n", "line 3: bad port");
	BAD("host=a\nca=/c\nport=0514\n", "line 3: bad port");
	BAD("host=a\nca=/c\nport=-1\n", "line 3: bad port");
	BAD("host=a\nca=/c\nport=6514x\n", "line 3: bad port");
	BAD("host=a\nca=/c\nport=\n", "line 3: bad port");
	BAD("host=a\nca=/c\nport=99999999999999999999999\n", "line 3: bad port");
	BAD("host=a\nca=/c\ntimeout_ms=0\n", "line 3: bad timeout_ms");
	BAD("host=a\nca=/c\ntimeout_ms=600001\n", "line 3: bad timeout_ms");
	BAD("host=a\nca=relative.pem\n", "line 2: bad ca");
	BAD("host=a\nca=\n", "line 2: bad ca");
	BAD("host=a b\nca=/c\n", "line 1: bad host");
	BAD("host=-a\nca=/c\n", "line 1: bad host");
	BAD("host=a/b\nca=/c\n", "line 1: bad host");
	BAD("host=a\nca=/c\nserver_name=x y\n", "line 3: bad server_name");
	BAD("host=a\nca=/c\nfrobnicate=1\n", "line 3: unknown key frobnicate");
	BAD("host=a\nca=/c\nHOST=b\n", "line 3: unknown key HOST");
	BAD("host=a\nca=/c\n\xff\xfe=1\n", "line 3: unknown key (unprintable)");
	BAD("host=a\nca=/c\nhost=b\n", "line 3: host given twice");
	BAD("host=a\nca=/c\njust words\n", "line 3: expected key=value");
	BAD("host=a\nca=/c\nport=6514\r\n", "line 3: control character");
	BAD("host=a\nca=/c\0\n", "line 2: control character");
	BAD("ca=/c\n", "host is missing");
	BAD("host=a\n", "ca is missing");
	BAD("host=a\nca=/c\ncert=/x\n", "cert and key go together");
	BAD("host=a\nca=/c\nkey=/x\n", "cert and key go together");
	BAD("", "host is missing");
}

static void test_conf_save_load(void **state)
{
	(void)state;
	char dir[256];
	tu_tmpdir(dir, sizeof dir);
	vs_forward_cfg c, back;
	bool present = true;
	assert_int_equal(vs_forward_cfg_load(dir, &back, &present), VS_OK);
	assert_false(present);
	assert_int_equal(vs_forward_cfg_parse(full_conf, strlen(full_conf), &c), VS_OK);
	assert_int_equal(vs_forward_cfg_save(dir, &c), VS_OK);
	assert_int_equal(vs_forward_cfg_save(dir, &c), VS_OK); /* replaces */
	char path[300];
	snprintf(path, sizeof path, "%s/forward.conf", dir);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(vs_forward_cfg_load(dir, &back, &present), VS_OK);
	assert_true(present);
	assert_memory_equal(&c, &back, sizeof c);
	/* Writable by others: someone could redirect the audit trail. */
	assert_int_equal(chmod(path, 0622), 0);
	assert_int_equal(vs_forward_cfg_load(dir, &back, &present), VS_E_USAGE);
	/* A bad file names itself. */
	assert_int_equal(unlink(path), 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "host=a\nbogus=1\n", 15), 15);
	close(fd);
	assert_int_equal(vs_forward_cfg_load(dir, &back, &present), VS_E_USAGE);
	assert_non_null(strstr(vs_errmsg(), "forward.conf: forward.conf line 2: unknown key bogus"));
	tu_rmdir(dir);
}

/* ---- forward.cursor ---- */

static void test_cursor_parse(void **state)
{
	(void)state;
	vs_forward_cursor c;
	const char *ok = "offset=1234\nseq=17\n";
	assert_int_equal(vs_forward_cursor_parse(ok, strlen(ok), &c), VS_OK);
	assert_int_equal(c.offset, 1234);
	assert_int_equal(c.seq, 17);
	assert_int_equal(vs_forward_cursor_parse("offset=0\nseq=0\n", 15, &c), VS_OK);
	assert_int_equal(c.offset, 0);
	const char *bad[] = {
		"", "offset=1\nseq=1", "offset=1\nseq=1\n\n", "seq=1\noffset=1\n",
		"offset=01\nseq=1\n", "offset=1\nseq=+1\n", "offset=\nseq=1\n",
		"offset=1 \nseq=1\n", "offset=0\nseq=3\n", "offset=3\nseq=0\n",
		"offset=9223372036854775808\nseq=1\n", "offset=1\nseq=18446744073709551616\n",
		"offset=1\r\nseq=1\n", "offset=1\nseq=1\nx",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		c.offset = 99;
		c.seq = 99;
		assert_int_equal(vs_forward_cursor_parse(bad[i], strlen(bad[i]), &c), VS_E_INTEGRITY);
		assert_int_equal(c.offset, 99);
	}
}

/* ---- vs_forward_pending without a collector ---- */

static const char ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBeDCCAR2gAwIBAgIUSKcdeH5tU0JmGX6TrEvJpmj52wwwCgYIKoZIzj0EAwIw\n"
	"ETEPMA0GA1UEAwwGdGVzdGNhMB4XDTI2MTEyMzIxMTAwNloXDTI2MTEyNTIxMTAw\n"
	"NlowETEPMA0GA1UEAwwGdGVzdGNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
	"cDUC7trTsyA2scnVpHRjmXF4ODvbM3IlwQ/ZuLCMpdE/FODGh2gYVGVlI7mmfKaM\n"
	"P+qEcHT4Hs5yx7BtJylclqNTMFEwHQYDVR0OBBYEFNqTqhDIuS4A07ddaOARMfoy\n"
	"XvrxMB8GA1UdIwQYMBaAFNqTqhDIuS4A07ddaOARMfoyXvrxMA8GA1UdEwEB/wQF\n"
	"MAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhANNzsNPlYNj3UsZ1g8uldGNEcfyDcCDW\n"
	"aHJcJpheqvjKAiEAxBDfMGGkBmbp4dnEVayITTQHk45rD6DA+SqTcOLid0E=\n"
	"-----END CERTIFICATE-----\n";

typedef struct {
	char dir[256];
	vs_forward_cfg cfg;
	int sock; /* bound, never listening: connections are refused */
} pend_fx;

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static char *get_file(const char *dir, const char *name)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	uint8_t *p = NULL;
	size_t n = 0;
	if (vs_read_small_file(path, 4096, &p, &n) != VS_OK)
		return NULL;
	char *s = realloc(p, n + 1);
	assert_non_null(s);
	s[n] = '\0';
	return s;
}

static int pend_setup(void **state)
{
	pend_fx *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	tu_tmpdir(fx->dir, sizeof fx->dir);
	put_file(fx->dir, "ca.pem", ca_pem);
	fx->sock = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	assert_int_equal(bind(fx->sock, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fx->sock, (struct sockaddr *)&a, &al), 0);
	vs_forward_cfg_init(&fx->cfg);
	snprintf(fx->cfg.host, sizeof fx->cfg.host, "127.0.0.1");
	fx->cfg.port = ntohs(a.sin_port);
	snprintf(fx->cfg.ca_file, sizeof fx->cfg.ca_file, "%s/ca.pem", fx->dir);
	fx->cfg.timeout_ms = 2000;
	put_file(fx->dir, "log", "{\"seq\":1,\"outcome\":\"ok\"}\n{\"seq\":2,\"outcome\":\"ok\"}\n"
				 "{\"seq\":3,\"outcome\":\"ok\"}\n{\"seq\":4,\"outc");
	*state = fx;
	return 0;
}

static int pend_teardown(void **state)
{
	pend_fx *fx = *state;
	close(fx->sock);
	tu_rmdir(fx->dir);
	free(fx);
	return 0;
}

static void test_pending_unreachable_keeps_cursor(void **state)
{
	pend_fx *fx = *state;
	put_file(fx->dir, "forward.cursor", "offset=25\nseq=1\n");
	vs_forward_stats st;
	assert_int_equal(vs_forward_pending(fx->dir, &fx->cfg, &st), VS_E_ENV);
	char want[128];
	snprintf(want, sizeof want, "collector 127.0.0.1:%u unreachable: ", (unsigned)fx->cfg.port);
	assert_non_null(strstr(vs_errmsg(), want));
	assert_non_null(strstr(vs_errmsg(), "; 2 records queued"));
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.last_seq, 1);
	char *cur = get_file(fx->dir, "forward.cursor");
	assert_string_equal(cur, "offset=25\nseq=1\n");
	free(cur);
}

static void test_pending_nothing_to_send(void **state)
{
	pend_fx *fx = *state;
	/* Cursor at the last complete record: no connection is attempted. */
	put_file(fx->dir, "forward.cursor", "offset=75\nseq=3\n");
	vs_forward_stats st;
	assert_int_equal(vs_forward_pending(fx->dir, &fx->cfg, &st), VS_OK);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.queued, 0);
	assert_true(st.torn_tail);
	assert_int_equal(st.offset, 75);
}

static void expect_cursor_refused(pend_fx *fx, const char *cursor)
{
	put_file(fx->dir, "forward.cursor", cursor);
	assert_int_equal(vs_forward_pending(fx->dir, &fx->cfg, NULL), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "forward.cursor"));
	char *cur = get_file(fx->dir, "forward.cursor");
	assert_string_equal(cur, cursor);
	free(cur);
}

static void test_pending_cursor_mismatch(void **state)
{
	pend_fx *fx = *state;
	expect_cursor_refused(fx, "offset=200\nseq=4\n"); /* past EOF */
	expect_cursor_refused(fx, "offset=25\nseq=2\n");  /* record before it is seq 1 */
	expect_cursor_refused(fx, "offset=30\nseq=1\n");  /* mid-line */
	expect_cursor_refused(fx, "offset=82\nseq=4\n");  /* inside the torn tail */
	expect_cursor_refused(fx, "offset=2\nseq=1\n");
}

static void test_pending_damaged_record(void **state)
{
	pend_fx *fx = *state;
	/* A gap right after the cursor: refused before any connection. */
	put_file(fx->dir, "log", "{\"seq\":1}\n{\"seq\":3}\n");
	put_file(fx->dir, "forward.cursor", "offset=10\nseq=1\n");
	assert_int_equal(vs_forward_pending(fx->dir, &fx->cfg, NULL), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "record at offset 10: seq 3 where 2 was expected"));
	put_file(fx->dir, "log", "{\"seq\":1}\nnot json\n");
	assert_int_equal(vs_forward_pending(fx->dir, &fx->cfg, NULL), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "record at offset 10"));
}

static void test_pending_no_log(void **state)
{
	pend_fx *fx = *state;
	char path[300];
	snprintf(path, sizeof path, "%s/log", fx->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(vs_forward_pending(fx->dir, &fx->cfg, NULL), VS_OK); /* nothing yet */
	put_file(fx->dir, "forward.cursor", "offset=25\nseq=1\n");
	assert_int_equal(vs_forward_pending(fx->dir, &fx->cfg, NULL), VS_E_INTEGRITY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_ok_record),
		cmocka_unit_test(test_format_severity),
		cmocka_unit_test(test_format_escapes_and_sanitises),
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_format_refuses_non_records),
		cmocka_unit_test(test_conf_parse_full),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_refusals),
		cmocka_unit_test(test_conf_save_load),
		cmocka_unit_test(test_cursor_parse),
		cmocka_unit_test_setup_teardown(test_pending_unreachable_keeps_cursor, pend_setup,
						pend_teardown),
		cmocka_unit_test_setup_teardown(test_pending_nothing_to_send, pend_setup,
						pend_teardown),
		cmocka_unit_test_setup_teardown(test_pending_cursor_mismatch, pend_setup,
						pend_teardown),
		cmocka_unit_test_setup_teardown(test_pending_damaged_record, pend_setup,
						pend_teardown),
		cmocka_unit_test_setup_teardown(test_pending_no_log, pend_setup, pend_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
