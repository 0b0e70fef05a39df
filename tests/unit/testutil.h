/* Shared by the unit tests: cmocka, a memory sink, temp directories. */
#ifndef VS_TESTUTIL_H
#define VS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vnfsafe/buf.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/stream.h"

static inline vs_err tu_wr_write(void *ctx, const void *p, size_t n)
{
	vs_wr *w = ctx;
	vs_wr_bytes(w, p, n);
	return w->bad ? vs_fail(VS_E_ENV, "out of memory") : VS_OK;
}

static inline vs_sink tu_sink(vs_wr *w)
{
	vs_sink s = { tu_wr_write, w };
	return s;
}

/* mkdtemp under $TMPDIR; removed by tu_rmdir. */
static inline void tu_tmpdir(char *out, size_t cap)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, cap, "%s/vs-unit-XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(out));
}

static inline void tu_rmdir(const char *p)
{
	vs_ignore(vs_rm_rf(p));
}

#endif
