/* Names, ids and hex (include/vnfsafe/ids.h). */
#include "vnfsafe/ids.h"

#include <stdio.h>
#include <string.h>

bool vs_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= VS_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

void vs_id_format(const uint8_t id[VS_ID_LEN], char out[37])
{
	char hex[2 * VS_ID_LEN + 1];
	vs_hex(id, VS_ID_LEN, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
}

VS_MUST_USE vs_err vs_id_parse(const char *s, uint8_t id[VS_ID_LEN])
{
	char hex[2 * VS_ID_LEN + 1];
	size_t n = 0;
	if (strlen(s) != 36)
		return vs_fail(VS_E_USAGE, "'%.40s' is not a snapshot id (expected a UUID)", s);
	for (size_t i = 0; s[i]; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return vs_fail(VS_E_USAGE, "'%s' is not a snapshot id", s);
			continue;
		}
		hex[n++] = s[i];
	}
	hex[n] = 0;
	if (vs_unhex(hex, id, VS_ID_LEN) != VS_OK)
		return vs_fail(VS_E_USAGE, "'%s' is not a snapshot id", s);
	return VS_OK;
}

void vs_hex(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

VS_MUST_USE vs_err vs_unhex(const char *in, uint8_t *out, size_t n)
{
	if (strlen(in) != 2 * n)
		return vs_fail(VS_E_USAGE, "expected %zu hex digits", 2 * n);
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return vs_fail(VS_E_USAGE, "not a hex string");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return VS_OK;
}
