/* Typed errors: every fallible call returns a vs_err; the last message is kept
 * per thread. The numeric values are the CLI's exit codes (DESIGN.md). */
#ifndef VNFSAFE_ERR_H
#define VNFSAFE_ERR_H

#include <stddef.h>

/* A vs_err result must be used: clang warns on every ignored one (the
 * attribute on the type covers every function and function pointer
 * returning it); gcc only knows the function attribute, VS_MUST_USE, which
 * every prototype returning vs_err carries. A cleanup that may fail on
 * purpose says so with vs_ignore(). */
#if defined(__clang__)
#define VS_ERR_TYPE_ATTR __attribute__((warn_unused_result))
#else
#define VS_ERR_TYPE_ATTR
#endif
#define VS_MUST_USE __attribute__((warn_unused_result))

typedef enum VS_ERR_TYPE_ATTR {
	VS_OK = 0,
	VS_E_USAGE = 1,     /* bad argument, unknown name, wrong invocation */
	VS_E_INTEGRITY = 2, /* tampered, truncated, spliced, wrong key, unknown version */
	VS_E_POLICY = 3,    /* refused by policy */
	VS_E_ENV = 4,       /* I/O, missing tool, missing home, out of memory */
} vs_err;

/* Records a message for the current thread and returns code. Never pass secrets. */
VS_MUST_USE vs_err vs_fail(vs_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like vs_fail, appending ": strerror(errno)". */
VS_MUST_USE vs_err vs_fail_errno(vs_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with context ("while X: <old message>"). */
VS_MUST_USE vs_err vs_wrap(vs_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *vs_errmsg(void);
/* Copies in to out (cap bytes) with every control byte (< 0x20, 0x7f, C1)
 * and every byte of invalid UTF-8 written as \xHH: one printable line.
 * vs_fail and vs_wrap pass their formatted message through it. Returns out. */
const char *vs_escape(const char *in, char *out, size_t cap);
const char *vs_strerror(vs_err code);

/* Explicitly drops a result (best-effort cleanup); gcc ignores (void). */
static inline void vs_ignore(vs_err e)
{
	(void)e;
}

#define VS_TRY(expr)                                                           \
	do {                                                                   \
		vs_err vs__rc = (expr);                                        \
		if (vs__rc != VS_OK)                                           \
			return vs__rc;                                         \
	} while (0)

/* For functions with one cleanup label: sets rc and jumps. */
#define VS_TRY_GOTO(rc, expr, label)                                           \
	do {                                                                   \
		(rc) = (expr);                                                 \
		if ((rc) != VS_OK)                                             \
			goto label;                                            \
	} while (0)

#endif
