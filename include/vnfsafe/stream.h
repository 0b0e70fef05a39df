/* Byte sources and sinks: the seal/unseal layer works on these so that a file,
 * a pipe, a socket or a memory buffer are all the same to it. */
#ifndef VNFSAFE_STREAM_H
#define VNFSAFE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/err.h"

typedef struct {
	/* Fills buf with up to n bytes; *got < n only at end of stream. */
	vs_err (*read)(void *ctx, void *buf, size_t n, size_t *got);
	void *ctx;
} vs_source;

typedef struct {
	vs_err (*write)(void *ctx, const void *buf, size_t n);
	void *ctx;
} vs_sink;

/* ctx must point at an int fd that outlives the stream. */
vs_source vs_source_fd(int *fd);
vs_sink vs_sink_fd(int *fd);

typedef struct {
	const uint8_t *p;
	size_t len, off;
} vs_membuf;
vs_source vs_source_mem(vs_membuf *m);

#endif
