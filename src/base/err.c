#include "vnfsafe/err.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char msg[1024];
static _Thread_local vs_reason reason;
static _Thread_local char reason_vnf[256];
static _Thread_local vs_field field;

/* Length of the valid UTF-8 sequence at p that is printable (no C1 control,
 * no overlong form, no surrogate), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	uint32_t cp;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07u;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < 0xa0 || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

const char *vs_escape(const char *in, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;
	if (cap == 0)
		return out;
	while (*p) {
		char esc[5];
		size_t n = 0, k = utf8_len(p);
		if (k) {
			n = k;
		} else if (*p < 0x20 || *p >= 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", *p);
		} else {
			n = 1;
		}
		const char *src = n ? (const char *)p : esc;
		size_t len = n ? n : 4;
		if (o + len >= cap)
			break; /* never half an escape or half a character */
		memcpy(out + o, src, len);
		o += len;
		p += n ? n : 1;
	}
	out[o] = 0;
	return out;
}

/* Every message stays one line of text whatever a caller passes (a file
 * name with a newline or a terminal escape cannot forge output). */
__attribute__((format(printf, 1, 0))) static void vset(const char *fmt, va_list ap)
{
	char raw[sizeof msg];
	vsnprintf(raw, sizeof raw, fmt, ap);
	vs_escape(raw, msg, sizeof msg);
}

VS_MUST_USE vs_err vs_fail(vs_err code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	reason = VS_R_NONE;
	reason_vnf[0] = 0;
	field = VS_F_NONE;
	return code;
}

VS_MUST_USE vs_err vs_refuse(vs_err code, vs_reason why, const char *vnf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	reason = why;
	snprintf(reason_vnf, sizeof reason_vnf, "%s", vnf ? vnf : "");
	field = VS_F_NONE;
	return code;
}

const char *vs_errvnf(void)
{
	return reason_vnf;
}

VS_MUST_USE vs_err vs_set_reason(vs_err code, vs_reason why)
{
	reason = why;
	return code;
}

vs_reason vs_errreason(void)
{
	return reason;
}

const char *vs_reason_name(vs_reason why)
{
	static const char *const names[] = {
		[VS_R_NONE] = "none",
		[VS_R_FORK] = "fork",
		[VS_R_ROLLBACK] = "rollback",
		[VS_R_NOT_FINAL] = "not-final",
		[VS_R_DISCARDS_LATEST] = "discards-latest",
		[VS_R_STATE_ELSEWHERE] = "state-elsewhere",
		[VS_R_RETIRED] = "retired",
		[VS_R_STATE] = "state",
		[VS_R_STALE_TOKEN] = "stale-token",
		[VS_R_LATEST_SNAPSHOT] = "latest-snapshot",
		[VS_R_NEED_LEDGER] = "need-ledger",
		[VS_R_OWN_LIVE_VNF] = "own-live-vnf",
		[VS_R_LOST_RACE] = "lost-race",
		[VS_R_RECOVER] = "recover",
		[VS_R_CREATION_FAILED] = "creation-failed",
		[VS_R_NOT_REGISTERED] = "not-registered",
		[VS_R_NO_SNAPSHOT] = "no-snapshot",
		[VS_R_NEED_REASON] = "need-reason",
		[VS_R_NO_HOME] = "no-home",
		[VS_R_LOG_DAMAGED] = "log-damaged",
	};
	if ((unsigned)why >= sizeof names / sizeof *names || !names[why])
		return "unknown";
	return names[why];
}

VS_MUST_USE vs_err vs_fail_field(vs_err code, vs_field f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	reason = VS_R_NONE;
	reason_vnf[0] = 0;
	field = f;
	return code;
}

VS_MUST_USE vs_err vs_set_field(vs_err code, vs_field f)
{
	field = f;
	return code;
}

vs_field vs_errfield(void)
{
	return field;
}

const char *vs_field_name(vs_field f)
{
	static const char *const names[] = {
		[VS_F_NONE] = "none",
		[VS_F_VNF] = "vnf",
		[VS_F_ENGINE] = "engine",
		[VS_F_SOURCE] = "source",
		[VS_F_CHUNK_SIZE] = "chunk_size",
		[VS_F_DOMAIN] = "domain",
		[VS_F_TO] = "to",
		[VS_F_AUDIT_SEED] = "audit_seed",
		[VS_F_LEDGER] = "ledger",
		[VS_F_ETCD_CERT] = "etcd_cert",
		[VS_F_ETCD_KEY] = "etcd_key",
		[VS_F_ETCD_CACERT] = "etcd_cacert",
		[VS_F_ETCD_USER] = "etcd_user",
		[VS_F_ETCD_PASSWORD_FILE] = "etcd_password_file",
		[VS_F_HOME] = "home",
		[VS_F_OUT] = "out",
	};
	if ((unsigned)f >= sizeof names / sizeof *names || !names[f])
		return "unknown";
	return names[f];
}

int vs_exit_code(vs_err code)
{
	return code == VS_E_UNKNOWN ? VS_E_ENV : (int)code;
}

VS_MUST_USE vs_err vs_fail_errno(vs_err code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	size_t n = strlen(msg);
	snprintf(msg + n, sizeof msg - n, ": %s", strerror(saved));
	reason = VS_R_NONE;
	reason_vnf[0] = 0;
	field = VS_F_NONE;
	return code;
}

VS_MUST_USE vs_err vs_wrap(vs_err code, const char *fmt, ...)
{
	char old[sizeof msg];
	memcpy(old, msg, sizeof old);
	va_list ap;
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	size_t n = strlen(msg);
	snprintf(msg + n, sizeof msg - n, ": %s", old);
	return code;
}

const char *vs_errmsg(void)
{
	return msg[0] ? msg : "unknown error";
}

const char *vs_strerror(vs_err code)
{
	switch (code) {
	case VS_OK: return "ok";
	case VS_E_USAGE: return "usage error";
	case VS_E_INTEGRITY: return "integrity or authenticity failure";
	case VS_E_POLICY: return "refused by policy";
	case VS_E_ENV: return "environment error";
	case VS_E_UNKNOWN: return "outcome unknown";
	}
	return "unknown error";
}
