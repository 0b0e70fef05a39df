/* The RFC 5424 message of one audit record (forward.h, docs/forwarding.md). */
#include "vnfsafe/forward.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/buf.h"

#define FACILITY_AUTHPRIV 10
#define SEV_WARNING 4
#define SEV_NOTICE 5
#define MSGID_MAX 32
#define HOSTNAME_MAX 255

static void put_str(vs_wr *w, const char *s)
{
	vs_wr_bytes(w, s, strlen(s));
}

/* RFC 5424 PRINTUSASCII (33..126) up to max, '_' for anything else; "-"
 * (NILVALUE) when empty. */
static void put_token(vs_wr *w, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0) {
		put_str(w, "-");
		return;
	}
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		vs_wr_u8(w, c >= 33 && c <= 126 ? c : '_');
	}
}

static bool digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num2(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* RFC 3339 UTC as the log writes it ("2026-11-23T21:15:03.123456Z"): copied
 * with at most 6 fraction digits (RFC 5424 TIME-SECFRAC); else "-". */
static void put_time(vs_wr *w, const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n < 20 || !digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
	    !digits(t + 8, 2) || t[10] != 'T' || !digits(t + 11, 2) || t[13] != ':' ||
	    !digits(t + 14, 2) || t[16] != ':' || !digits(t + 17, 2))
		goto nil;
	int mon = num2(t + 5), day = num2(t + 8);
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || num2(t + 11) > 23 ||
	    num2(t + 14) > 59 || num2(t + 17) > 59)
		goto nil;
	size_t frac = 0;
	if (t[19] == '.') {
		while (20 + frac < n && t[20 + frac] >= '0' && t[20 + frac] <= '9')
			frac++;
		if (frac == 0 || 20 + frac != n - 1)
			goto nil;
	} else if (n != 20) {
		goto nil;
	}
	if (t[n - 1] != 'Z')
		goto nil;
	vs_wr_bytes(w, t, 19);
	if (frac) {
		vs_wr_bytes(w, t + 19, 1 + (frac > 6 ? 6 : frac));
	}
	vs_wr_u8(w, 'Z');
	return;
nil:
	put_str(w, "-");
}

/* PARAM-VALUE escaping (RFC 5424 section 6.3.3): '"', '\' and ']' get a
 * backslash; control characters become '?'. */
static void put_param(vs_wr *w, const char *name, const char *v)
{
	vs_wr_u8(w, ' ');
	put_str(w, name);
	put_str(w, "=\"");
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '"' || c == '\\' || c == ']')
			vs_wr_u8(w, '\\');
		vs_wr_u8(w, c < 0x20 || c == 0x7f ? '?' : c);
	}
	vs_wr_u8(w, '"');
}

static const char *str_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

VS_MUST_USE vs_err vs_forward_format(const char *line, size_t len, char **out, size_t *out_len,
			 uint64_t *seq)
{
	static const char head[] = "{\"seq\":";
	if (len > VS_FORWARD_MAX_RECORD)
		return vs_fail(VS_E_INTEGRITY, "record longer than %d bytes",
			       VS_FORWARD_MAX_RECORD);
	if (len < sizeof head - 1 || memcmp(line, head, sizeof head - 1) != 0)
		return vs_fail(VS_E_INTEGRITY, "record does not start with {\"seq\":");
	if (memchr(line, '\n', len) || memchr(line, '\0', len))
		return vs_fail(VS_E_INTEGRITY, "record holds a newline or NUL byte");
	json_error_t jerr;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return vs_fail(VS_E_INTEGRITY, "record is not valid JSON (column %d)", jerr.column);
	vs_err rc = VS_OK;
	json_t *jseq = json_object_get(o, "seq");
	if (!json_is_object(o) || !json_is_integer(jseq) || json_integer_value(jseq) <= 0) {
		rc = vs_fail(VS_E_INTEGRITY, "record has no positive integer seq");
		goto out;
	}
	uint64_t s = (uint64_t)json_integer_value(jseq);
	const char *outcome = str_field(o, "outcome");
	int sev = outcome && strcmp(outcome, "ok") == 0 ? SEV_NOTICE : SEV_WARNING;
	char num[48];
	vs_wr w = { 0 };
	snprintf(num, sizeof num, "<%d>1 ", FACILITY_AUTHPRIV * 8 + sev);
	put_str(&w, num);
	put_time(&w, str_field(o, "time"));
	vs_wr_u8(&w, ' ');
	put_token(&w, str_field(o, "host"), HOSTNAME_MAX);
	put_str(&w, " vnfsafe - ");
	put_token(&w, str_field(o, "action"), MSGID_MAX);
	put_str(&w, " [" VS_FORWARD_SD_ID);
	snprintf(num, sizeof num, "%llu", (unsigned long long)s);
	put_param(&w, "seq", num);
	const char *prev = str_field(o, "prev"), *mac = str_field(o, "mac");
	if (prev)
		put_param(&w, "prev", prev);
	if (mac)
		put_param(&w, "mac", mac);
	put_str(&w, "] ");
	vs_wr_bytes(&w, line, len);
	vs_wr_u8(&w, '\0');
	if (w.bad) {
		vs_wr_free(&w);
		rc = vs_fail(VS_E_ENV, "out of memory");
		goto out;
	}
	*out = (char *)w.p;
	*out_len = w.len - 1;
	*seq = s;
out:
	json_decref(o);
	return rc;
}
