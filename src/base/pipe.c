#include "vnfsafe/pipe.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/wipe.h"

typedef struct {
	uint8_t *buf;
	size_t len;
	unsigned tag;
	bool flag;
} slot;

struct vs_pipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	slot *slots;
	unsigned depth, head, tail, count; /* count = submitted, not yet handled */
	size_t slot_size;
	vs_pipe_fn fn;
	void *ctx;
	bool stop, started;
	vs_err err;
	vs_reason why;
	vs_field field;
	char msg[512];
};

static void *worker(void *arg)
{
	vs_pipe *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->count == 0 && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->count == 0)
			break;
		slot *s = &p->slots[p->tail];
		/* After an error, or when freed early, the rest is dropped unhandled. */
		bool failed = p->err != VS_OK || p->stop;
		pthread_mutex_unlock(&p->mu);
		vs_err rc = failed ? VS_OK : p->fn(p->ctx, s->buf, s->len, s->tag, s->flag);
		pthread_mutex_lock(&p->mu);
		if (rc != VS_OK && p->err == VS_OK) {
			p->err = rc;
			/* Error messages are per thread: carry this one over. */
			snprintf(p->msg, sizeof p->msg, "%s", vs_errmsg());
			p->why = vs_errreason();
			p->field = vs_errfield();
		}
		p->tail = (p->tail + 1) % p->depth;
		p->count--;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

VS_MUST_USE vs_err vs_pipe_new(vs_pipe **out, unsigned depth, size_t slot_size, vs_pipe_fn fn, void *ctx)
{
	vs_pipe *p = calloc(1, sizeof *p);
	if (!p || !(p->slots = calloc(depth, sizeof *p->slots))) {
		free(p);
		return vs_fail(VS_E_ENV, "out of memory");
	}
	p->depth = depth;
	p->slot_size = slot_size;
	p->fn = fn;
	p->ctx = ctx;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (unsigned i = 0; i < depth; i++) {
		if (!(p->slots[i].buf = malloc(slot_size))) {
			vs_pipe_free(p);
			return vs_fail(VS_E_ENV, "out of memory");
		}
	}
	if (pthread_create(&p->thread, NULL, worker, p) != 0) {
		vs_pipe_free(p);
		return vs_fail(VS_E_ENV, "cannot start a worker thread");
	}
	p->started = true;
	*out = p;
	return VS_OK;
}

static VS_MUST_USE vs_err take_error(vs_pipe *p)
{
	if (p->err == VS_OK)
		return VS_OK;
	return vs_set_field(vs_refuse(p->err, p->why, NULL, "%s", p->msg), p->field);
}

VS_MUST_USE vs_err vs_pipe_acquire(vs_pipe *p, uint8_t **buf)
{
	pthread_mutex_lock(&p->mu);
	while (p->count == p->depth && p->err == VS_OK)
		pthread_cond_wait(&p->cv, &p->mu);
	vs_err rc = take_error(p);
	*buf = p->slots[p->head].buf;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void vs_pipe_submit(vs_pipe *p, size_t len, unsigned tag, bool flag)
{
	pthread_mutex_lock(&p->mu);
	slot *s = &p->slots[p->head];
	s->len = len;
	s->tag = tag;
	s->flag = flag;
	p->head = (p->head + 1) % p->depth;
	p->count++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

VS_MUST_USE vs_err vs_pipe_drain(vs_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->count > 0)
		pthread_cond_wait(&p->cv, &p->mu);
	vs_err rc = take_error(p);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void vs_pipe_free(vs_pipe *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stop = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	for (unsigned i = 0; i < p->depth; i++) {
		if (p->slots[i].buf) {
			vs_wipe(p->slots[i].buf, p->slot_size);
			free(p->slots[i].buf);
		}
	}
	free(p->slots);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
