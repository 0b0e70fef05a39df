#include "vnfsafe/stream.h"

#include <string.h>

#include "vnfsafe/fsutil.h"

static VS_MUST_USE vs_err fd_read(void *ctx, void *buf, size_t n, size_t *got)
{
	return vs_read_full(*(int *)ctx, buf, n, got);
}

static VS_MUST_USE vs_err fd_write(void *ctx, const void *buf, size_t n)
{
	return vs_write_full(*(int *)ctx, buf, n);
}

vs_source vs_source_fd(int *fd)
{
	vs_source s = { fd_read, fd };
	return s;
}

vs_sink vs_sink_fd(int *fd)
{
	vs_sink s = { fd_write, fd };
	return s;
}

static VS_MUST_USE vs_err mem_read(void *ctx, void *buf, size_t n, size_t *got)
{
	vs_membuf *m = ctx;
	size_t left = m->len - m->off;
	if (n > left)
		n = left;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	*got = n;
	return VS_OK;
}

vs_source vs_source_mem(vs_membuf *m)
{
	vs_source s = { mem_read, m };
	return s;
}
