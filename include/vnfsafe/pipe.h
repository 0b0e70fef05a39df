/* An ordered two-thread pipeline: the caller fills fixed-size slots and
 * submits them; one worker thread hands each to fn, in submission order.
 * Lets reading + crypto overlap writing on a second core, with memory bounded
 * by depth x slot size. The worker's first error stops it and is returned by
 * the next acquire or drain, with its message. Slots are wiped when freed. */
#ifndef VNFSAFE_PIPE_H
#define VNFSAFE_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/err.h"

typedef vs_err (*vs_pipe_fn)(void *ctx, const uint8_t *buf, size_t len, unsigned tag, bool flag);

typedef struct vs_pipe vs_pipe;
VS_MUST_USE vs_err vs_pipe_new(vs_pipe **p, unsigned depth, size_t slot_size, vs_pipe_fn fn, void *ctx);
/* Waits for a free slot and returns it; it stays the caller's until submit. */
VS_MUST_USE vs_err vs_pipe_acquire(vs_pipe *p, uint8_t **buf);
void vs_pipe_submit(vs_pipe *p, size_t len, unsigned tag, bool flag);
/* Waits until every submitted slot has been handled. */
VS_MUST_USE vs_err vs_pipe_drain(vs_pipe *p);
void vs_pipe_free(vs_pipe *p);

#endif
