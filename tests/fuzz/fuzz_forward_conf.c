/* libFuzzer target: the parsers of audit forwarding (forward.h) on arbitrary
 * bytes. The first byte picks one:
 *   'c' forward.conf  (vs_forward_cfg_parse): an accepted config is sane and
 *                     formats to text that parses back to the same settings
 *   'u' forward.cursor (vs_forward_cursor_parse): an accepted cursor is
 *                     canonical, i.e. re-prints to exactly the input
 *   'r' a log line    (vs_forward_format): the message is well formed and
 *                     ends with the line verbatim
 * Refusals must be the documented error class with a one-line message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_forward_conf: invariant broken: %s\n", what);
	abort();
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, 0, cap) != NULL;
}

static void one_line_error(vs_err rc, vs_err want)
{
	if (rc != want)
		broken("unexpected error class");
	if (strchr(vs_errmsg(), '\n'))
		broken("multi-line error message");
}

static void fuzz_conf(const char *text, size_t n)
{
	vs_forward_cfg c;
	vs_err rc = vs_forward_cfg_parse(text, n, &c);
	if (rc != VS_OK) {
		one_line_error(rc, VS_E_USAGE);
		return;
	}
	if (!terminated(c.host, sizeof c.host) || !terminated(c.ca_file, sizeof c.ca_file) ||
	    !terminated(c.cert_file, sizeof c.cert_file) ||
	    !terminated(c.key_file, sizeof c.key_file) ||
	    !terminated(c.server_name, sizeof c.server_name))
		broken("unterminated string accepted");
	if (!c.host[0] || c.ca_file[0] != '/' || c.port == 0 || c.timeout_ms == 0 ||
	    c.timeout_ms > VS_FORWARD_MAX_TIMEOUT_MS)
		broken("insane config accepted");
	if ((c.cert_file[0] == 0) != (c.key_file[0] == 0))
		broken("cert without key accepted");
	char *back_text;
	if (vs_forward_cfg_format(&c, &back_text) != VS_OK)
		broken("accepted config does not format");
	vs_forward_cfg back;
	if (vs_forward_cfg_parse(back_text, strlen(back_text), &back) != VS_OK)
		broken("formatted config does not parse");
	/* Compare field by field: bytes after the terminators are unspecified. */
	if (strcmp(c.host, back.host) || strcmp(c.ca_file, back.ca_file) ||
	    strcmp(c.cert_file, back.cert_file) || strcmp(c.key_file, back.key_file) ||
	    strcmp(c.server_name, back.server_name) || c.port != back.port ||
	    c.timeout_ms != back.timeout_ms)
		broken("config changed through format and parse");
	free(back_text);
}

static void fuzz_cursor(const char *text, size_t n)
{
	vs_forward_cursor cur = { 7, 7 };
	vs_err rc = vs_forward_cursor_parse(text, n, &cur);
	if (rc != VS_OK) {
		one_line_error(rc, VS_E_INTEGRITY);
		if (cur.offset != 7 || cur.seq != 7)
			broken("refused cursor was written");
		return;
	}
	if ((cur.offset == 0) != (cur.seq == 0))
		broken("inconsistent cursor accepted");
	char again[64];
	int k = snprintf(again, sizeof again, "offset=%llu\nseq=%llu\n",
			 (unsigned long long)cur.offset, (unsigned long long)cur.seq);
	if ((size_t)k != n || memcmp(again, text, n) != 0)
		broken("non-canonical cursor accepted");
}

static void fuzz_record(const char *line, size_t n)
{
	char *msg = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	vs_err rc = vs_forward_format(line, n, &msg, &len, &seq);
	if (rc != VS_OK) {
		if (rc != VS_E_INTEGRITY && rc != VS_E_ENV)
			broken("unexpected error class");
		one_line_error(rc, rc);
		return;
	}
	if (seq == 0 || len != strlen(msg) || len < n + 1)
		broken("bad message length or seq");
	if (memcmp(msg, "<85>1 ", 6) != 0 && memcmp(msg, "<84>1 ", 6) != 0)
		broken("bad PRI/VERSION");
	if (memcmp(msg + len - n, line, n) != 0 || msg[len - n - 1] != ' ' ||
	    msg[len - n - 2] != ']')
		broken("MSG is not the line verbatim after the SD");
	/* HEADER: PRINTUSASCII tokens separated by single spaces. */
	const char *sd = strstr(msg, " [" VS_FORWARD_SD_ID " seq=\"");
	if (!sd)
		broken("no structured data");
	int fields = 0;
	for (const char *p = msg; p < sd; p++) {
		if (*p == ' ') {
			fields++;
			if (p[1] == ' ')
				broken("empty header field");
		} else if (*p < 33 || *p > 126) {
			broken("non-printable header byte");
		}
	}
	if (fields != 5)
		broken("header does not have 6 fields");
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	switch (data[0]) {
	case 'c':
		fuzz_conf(text, n);
		break;
	case 'u':
		fuzz_cursor(text, n);
		break;
	case 'r':
		fuzz_record(text, n);
		break;
	default:
		break;
	}
	return 0;
}
