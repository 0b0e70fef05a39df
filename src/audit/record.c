/* Canonical audit record lines: writer, strict parser, MAC (docs/audit.md). */
#include "audit_priv.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "vnfsafe/buf.h"

static const char *const outcome_names[] = { "ok", "refused", "failed", "integrity" };
#define NOUTCOMES (sizeof outcome_names / sizeof outcome_names[0])

const char *vs_audit_outcome_name(vs_audit_outcome o)
{
	return (unsigned)o < NOUTCOMES ? outcome_names[o] : "?";
}

/* --- time: "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" --- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* 1970-01-01 .. 9999-12-31. */
#define TIME_MAX_US (253402300800LL * 1000000LL - 1)

bool vs_audit_time_ok(int64_t t)
{
	return t >= 0 && t <= TIME_MAX_US;
}

void vs_audit_time_format(int64_t t, char out[VS_AUDIT_TIME_LEN + 1])
{
	int64_t secs = t / 1000000, us = t % 1000000;
	int64_t days = secs / 86400, rem = secs % 86400, y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	char tmp[96]; /* wide enough for any int: the range is checked by callers */
	snprintf(tmp, sizeof tmp, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", (int)y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)us);
	memcpy(out, tmp, VS_AUDIT_TIME_LEN);
	out[VS_AUDIT_TIME_LEN] = 0;
}

static bool digits(const char *s, size_t n, unsigned *v)
{
	unsigned x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	*v = x;
	return true;
}

bool vs_audit_time_parse(const char *s, int64_t *t)
{
	unsigned y, mo, d, h, mi, se, us;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se) || s[19] != '.' ||
	    !digits(s + 20, 6, &us) || s[26] != 'Z')
		return false;
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59)
		return false;
	int64_t days = days_from_civil(y, mo, d);
	*t = ((days * 86400 + h * 3600 + mi * 60 + se) * 1000000) + us;
	return true;
}

/* --- strings --- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t min, cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, min = 0x800, cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool vs_audit_text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n > max)
		return false;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len((const uint8_t *)s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

bool vs_audit_action_ok(const char *s)
{
	size_t n = strnlen(s, VS_AUDIT_ACTION_MAX + 1);
	if (n == 0 || n > VS_AUDIT_ACTION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

bool vs_audit_uuid_ok(const char *s)
{
	size_t n = strnlen(s, VS_AUDIT_UUID_LEN + 1);
	if (n == 0)
		return true;
	if (n != VS_AUDIT_UUID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

typedef struct {
	char *p;
	size_t cap, len;
	bool bad;
} outbuf;

static void put(outbuf *o, const char *s, size_t n)
{
	if (o->bad || o->cap - o->len <= n) {
		o->bad = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = 0;
}

static void puts_(outbuf *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(outbuf *o, uint64_t v)
{
	char b[24];
	size_t k = sizeof b;
	do {
		b[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(o, b + k, sizeof b - k);
}

static void put_str(outbuf *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	put(o, "\"", 1);
	for (; *s; s++) {
		uint8_t c = (uint8_t)*s;
		char e[7] = { '\\', 0 };
		if (c == '"' || c == '\\') {
			e[1] = (char)c;
			put(o, e, 2);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			put(o, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			put(o, e, 6);
		} else {
			put(o, s, 1);
		}
	}
	put(o, "\"", 1);
}

static void put_hex(outbuf *o, const uint8_t *b, size_t n)
{
	char h[2 * VS_SIG_LEN + 1];
	vs_hex(b, n, h);
	put(o, "\"", 1);
	put(o, h, 2 * n);
	put(o, "\"", 1);
}

static void put_key(outbuf *o, const char *key)
{
	puts_(o, key);
}

VS_MUST_USE vs_err vs_audit_fields_check(const vs_audit_record *r)
{
	if (r->seq == 0)
		return vs_fail(VS_E_USAGE, "audit record: seq must be at least 1");
	if (!vs_audit_time_ok(r->time_us))
		return vs_fail(VS_E_USAGE, "audit record: time out of range");
	if (!vs_audit_text_ok(r->host, VS_AUDIT_HOST_MAX) || !r->host[0])
		return vs_fail(VS_E_USAGE, "audit record: host empty, longer than %d bytes or not UTF-8",
			       VS_AUDIT_HOST_MAX);
	if (!vs_audit_text_ok(r->actor, VS_AUDIT_ACTOR_MAX))
		return vs_fail(VS_E_USAGE, "audit record: actor longer than %d bytes or not UTF-8",
			       VS_AUDIT_ACTOR_MAX);
	if (!vs_audit_action_ok(r->action))
		return vs_fail(VS_E_USAGE, "audit record: action must be 1-%d of [a-z0-9._-]",
			       VS_AUDIT_ACTION_MAX);
	if (!vs_audit_text_ok(r->vnf, VS_AUDIT_VNF_MAX))
		return vs_fail(VS_E_USAGE, "audit record: vnf longer than %d bytes or not UTF-8",
			       VS_AUDIT_VNF_MAX);
	if (!vs_audit_uuid_ok(r->snapshot))
		return vs_fail(VS_E_USAGE, "audit record: snapshot must be empty or a lowercase UUID");
	if ((unsigned)r->outcome >= NOUTCOMES)
		return vs_fail(VS_E_USAGE, "audit record: unknown outcome");
	if (!vs_audit_text_ok(r->reason, VS_AUDIT_REASON_MAX))
		return vs_fail(VS_E_USAGE, "audit record: reason longer than %d bytes or not UTF-8",
			       VS_AUDIT_REASON_MAX);
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_record_format(const vs_audit_record *r, char *out, size_t cap, size_t *len)
{
	VS_TRY(vs_audit_fields_check(r));
	char t[VS_AUDIT_TIME_LEN + 1];
	outbuf o = { out, cap, 0, cap == 0 };
	vs_audit_time_format(r->time_us, t);
	put_key(&o, "{\"seq\":");
	put_u64(&o, r->seq);
	put_key(&o, ",\"time\":\"");
	puts_(&o, t);
	put_key(&o, "\",\"epoch\":");
	put_u64(&o, r->epoch);
	put_key(&o, ",\"host\":");
	put_str(&o, r->host);
	put_key(&o, ",\"actor\":");
	put_str(&o, r->actor);
	if (r->has_uid) {
		put_key(&o, ",\"uid\":");
		put_u64(&o, r->uid);
	}
	put_key(&o, ",\"action\":");
	put_str(&o, r->action);
	put_key(&o, ",\"vnf\":");
	put_str(&o, r->vnf);
	put_key(&o, ",\"snapshot\":");
	put_str(&o, r->snapshot);
	put_key(&o, ",\"generation\":");
	put_u64(&o, r->generation);
	put_key(&o, ",\"outcome\":");
	put_str(&o, outcome_names[r->outcome]);
	put_key(&o, ",\"reason\":");
	put_str(&o, r->reason);
	put_key(&o, ",\"prev\":");
	put_hex(&o, r->prev, VS_HASH_LEN);
	put_key(&o, VS_AUDIT_MAC_KEY);
	char h[2 * VS_HASH_LEN + 1];
	vs_hex(r->mac, VS_HASH_LEN, h);
	put(&o, h, 2 * VS_HASH_LEN);
	put(&o, "\"}\n", 3);
	if (o.bad)
		return vs_fail(VS_E_USAGE, "audit record does not fit in %zu bytes", cap);
	*len = o.len;
	return VS_OK;
}

/* --- strict parser --- */

static inline bool lit(vs_rd *r, const char *s)
{
	size_t n = strlen(s);
	if (r->len - r->off < n || memcmp(r->p + r->off, s, n) != 0)
		return false;
	r->off += n;
	return true;
}

static inline int peek(const vs_rd *r)
{
	return r->off < r->len ? r->p[r->off] : -1;
}

/* Canonical unsigned decimal: no sign, no leading zero, no overflow. */
static bool num(vs_rd *r, uint64_t *v)
{
	uint64_t x = 0;
	size_t k = 0;
	int c;
	while ((c = peek(r)) >= '0' && c <= '9') {
		if (k == 1 && x == 0)
			return false;
		if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(c - '0');
		r->off++;
		k++;
	}
	*v = x;
	return k > 0;
}

static inline int unhex1(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A JSON string with only the escapes put_str writes; copied into dst. */
static bool str(vs_rd *r, char *dst, size_t max)
{
	size_t n = 0;
	if (!lit(r, "\""))
		return false;
	for (;;) {
		int c = peek(r);
		uint8_t out;
		if (c < 0)
			return false;
		if (c == '"') {
			r->off++;
			break;
		}
		if (c == '\\') {
			const uint8_t *e;
			if (!vs_rd_bytes(r, 2, &e))
				return false;
			switch (e[1]) {
			case '"': out = '"'; break;
			case '\\': out = '\\'; break;
			case 'n': out = '\n'; break;
			case 'r': out = '\r'; break;
			case 't': out = '\t'; break;
			case 'u': {
				const uint8_t *h;
				if (!vs_rd_bytes(r, 4, &h) || h[0] != '0' || h[1] != '0')
					return false;
				int hi = unhex1(h[2]), lo = unhex1(h[3]);
				if (hi < 0 || lo < 0)
					return false;
				out = (uint8_t)(hi << 4 | lo);
				if (!(out < 0x20 || out == 0x7f) || out == '\n' || out == '\r' ||
				    out == '\t' || out == 0)
					return false;
				break;
			}
			default: return false;
			}
			if (n >= max)
				return false;
			dst[n++] = (char)out;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) { /* plain ASCII: the common case */
			if (n >= max)
				return false;
			dst[n++] = (char)c;
			r->off++;
			continue;
		}
		size_t k = utf8_len(r->p + r->off, vs_rd_left(r));
		if (k == 0 || n + k > max)
			return false;
		memcpy(dst + n, r->p + r->off, k);
		r->off += k;
		n += k;
	}
	dst[n] = 0;
	return true;
}

/* Lowercase hex digit values, -1 for anything else. */
static const int8_t hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
}; /* stored +1 so that the zero default means "not hex" */

/* Lowercase hex only (what vs_hex writes). */
static bool hexfield(vs_rd *r, uint8_t *out, size_t n)
{
	const uint8_t *p;
	if (!lit(r, "\"") || !vs_rd_bytes(r, 2 * n, &p) || !lit(r, "\""))
		return false;
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval[p[2 * i]], lo = hexval[p[2 * i + 1]];
		bad |= (hi == 0) | (lo == 0);
		out[i] = (uint8_t)(((hi - 1) & 15) << 4 | ((lo - 1) & 15));
	}
	return !bad;
}

static bool timefield(vs_rd *r, int64_t *t)
{
	const uint8_t *p;
	return lit(r, "\"") && vs_rd_bytes(r, VS_AUDIT_TIME_LEN, &p) && lit(r, "\"") &&
	       vs_audit_time_parse((const char *)p, t);
}

/* Optional (records before it have none): ,"uid":N with N a uint32. */
static bool uidfield(vs_rd *r, vs_audit_record *o)
{
	uint64_t v;
	if (!lit(r, ",\"uid\":"))
		return true;
	if (!num(r, &v) || v > UINT32_MAX)
		return false;
	o->has_uid = true;
	o->uid = (uint32_t)v;
	return true;
}

static bool parse_body(vs_rd *r, vs_audit_record *o)
{
	char outcome[16];
	if (!lit(r, "{\"seq\":") || !num(r, &o->seq) || o->seq == 0 || !lit(r, ",\"time\":") ||
	    !timefield(r, &o->time_us) || !lit(r, ",\"epoch\":") || !num(r, &o->epoch) ||
	    !lit(r, ",\"host\":") || !str(r, o->host, VS_AUDIT_HOST_MAX) || !o->host[0] ||
	    !lit(r, ",\"actor\":") || !str(r, o->actor, VS_AUDIT_ACTOR_MAX) || !uidfield(r, o) ||
	    !lit(r, ",\"action\":") || !str(r, o->action, VS_AUDIT_ACTION_MAX) ||
	    !vs_audit_action_ok(o->action) || !lit(r, ",\"vnf\":") ||
	    !str(r, o->vnf, VS_AUDIT_VNF_MAX) || !lit(r, ",\"snapshot\":") ||
	    !str(r, o->snapshot, VS_AUDIT_UUID_LEN) || !vs_audit_uuid_ok(o->snapshot) ||
	    !lit(r, ",\"generation\":") || !num(r, &o->generation) || !lit(r, ",\"outcome\":") ||
	    !str(r, outcome, sizeof outcome - 1) || !lit(r, ",\"reason\":") ||
	    !str(r, o->reason, VS_AUDIT_REASON_MAX) || !lit(r, ",\"prev\":") ||
	    !hexfield(r, o->prev, VS_HASH_LEN) || !lit(r, ",\"mac\":") ||
	    !hexfield(r, o->mac, VS_HASH_LEN) || !lit(r, "}") || vs_rd_left(r) != 0)
		return false;
	for (unsigned i = 0; i < NOUTCOMES; i++)
		if (!strcmp(outcome, outcome_names[i])) {
			o->outcome = (vs_audit_outcome)i;
			return true;
		}
	return false;
}

VS_MUST_USE vs_err vs_audit_record_parse(const char *line, size_t n, vs_audit_record *o)
{
	vs_rd r = vs_rd_init(line, n);
	memset(o, 0, sizeof *o);
	if (n >= VS_AUDIT_LINE_MAX || !parse_body(&r, o)) {
		memset(o, 0, sizeof *o);
		return vs_fail(VS_E_INTEGRITY, "not a canonical audit record");
	}
	return VS_OK;
}

/* --- MAC --- */

size_t vs_audit_mac_span(const char *line, size_t n)
{
	static const char key[] = VS_AUDIT_MAC_KEY;
	const size_t tail = sizeof key - 1 + 2 * VS_HASH_LEN + 2; /* ,"mac":"<hex>"} */
	if (n < tail || memcmp(line + n - tail, key, sizeof key - 1) != 0 ||
	    memcmp(line + n - 2, "\"}", 2) != 0)
		return 0;
	return n - tail;
}

VS_MUST_USE vs_err vs_audit_mac_new(vs_audit_mac *m, const vs_key *key)
{
	memset(m, 0, sizeof *m);
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
								  (char *)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	m->ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac);
	if (!m->ctx || EVP_MAC_init(m->ctx, key->k, VS_KEY_LEN, params) != 1) {
		vs_audit_mac_free(m);
		ERR_clear_error();
		return vs_fail(VS_E_ENV, "HMAC-SHA-256 init failed");
	}
	m->fresh = true;
	return VS_OK;
}

void vs_audit_mac_free(vs_audit_mac *m)
{
	EVP_MAC_CTX_free(m->ctx); /* cleanses the key schedule */
	m->ctx = NULL;
}

VS_MUST_USE vs_err vs_audit_mac_run(vs_audit_mac *m, const void *data, size_t n, uint8_t out[VS_HASH_LEN])
{
	size_t len = 0;
	/* A NULL key re-initialises from the stored key (no re-keying cost). */
	int ok = (m->fresh || EVP_MAC_init(m->ctx, NULL, 0, NULL) == 1) &&
		 EVP_MAC_update(m->ctx, data, n) == 1 &&
		 EVP_MAC_final(m->ctx, out, &len, VS_HASH_LEN) == 1 && len == VS_HASH_LEN;
	m->fresh = false;
	if (!ok) {
		ERR_clear_error();
		return vs_fail(VS_E_ENV, "HMAC-SHA-256 failed");
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_record_mac(const vs_key *key, const char *line, size_t n,
			   uint8_t mac[VS_HASH_LEN])
{
	size_t span = vs_audit_mac_span(line, n);
	if (span == 0)
		return vs_fail(VS_E_INTEGRITY, "audit record has no mac field");
	vs_audit_mac m;
	VS_TRY(vs_audit_mac_new(&m, key));
	vs_err rc = vs_audit_mac_run(&m, line, span, mac);
	vs_audit_mac_free(&m);
	return rc;
}
