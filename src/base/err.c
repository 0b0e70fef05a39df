#include "vnfsafe/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char msg[512];

__attribute__((format(printf, 1, 0))) static void vset(const char *fmt, va_list ap)
{
	vsnprintf(msg, sizeof msg, fmt, ap);
}

vs_err vs_fail(vs_err code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	return code;
}

vs_err vs_fail_errno(vs_err code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	size_t n = strlen(msg);
	snprintf(msg + n, sizeof msg - n, ": %s", strerror(saved));
	return code;
}

vs_err vs_wrap(vs_err code, const char *fmt, ...)
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
	}
	return "unknown error";
}
