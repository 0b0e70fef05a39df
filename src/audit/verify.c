/* Verification of DIR/log and DIR/checkpoints, reading and proofs
 * (docs/audit.md, "Verification rules"). */
#include "audit_priv.h"

#include <inttypes.h>
#include <pthread.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const damage_names[] = {
	"intact",        "malformed",      "modified",  "sequence",   "truncated",
	"torn-tail",     "bad-signature",  "root-mismatch", "time-order", "inconsistent",
	"anchor-moved",
};

const char *vs_audit_damage_name(vs_audit_damage d)
{
	return (unsigned)d < sizeof damage_names / sizeof damage_names[0] ? damage_names[d] : "?";
}

__attribute__((format(printf, 6, 7))) static vs_err damage(vs_audit_report *rep,
							   vs_audit_damage kind, uint64_t seq,
							   uint64_t line, uint64_t off,
							   const char *fmt, ...)
{
	va_list ap;
	rep->kind = kind;
	rep->seq = seq;
	rep->line = line;
	rep->offset = off;
	va_start(ap, fmt);
	vsnprintf(rep->message, sizeof rep->message, fmt, ap);
	va_end(ap);
	return vs_fail(VS_E_INTEGRITY, "audit log %s: %s", vs_audit_damage_name(kind),
		       rep->message);
}

static int64_t real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* --- checkpoints --- */

typedef struct {
	vs_audit_checkpoint *v;
	size_t n;
} cp_list;

static VS_MUST_USE vs_err load_checkpoints(const char *dir, const uint8_t pub[VS_PUB_LEN], cp_list *l,
			       vs_audit_report *rep)
{
	char path[4200];
	vs_audit_map m;
	snprintf(path, sizeof path, "%s/checkpoints", dir);
	VS_TRY(vs_audit_map_open(path, &m));
	size_t lines = 0;
	for (size_t i = 0; i < m.len; i++)
		lines += m.p[i] == '\n';
	l->n = 0;
	l->v = calloc(lines ? lines : 1, sizeof *l->v);
	vs_err rc = l->v ? VS_OK : vs_fail(VS_E_ENV, "out of memory");
	/* A partial last line is a checkpoint that was never written; skipped. */
	for (size_t off = 0, k = 0; rc == VS_OK && k < lines; k++) {
		const char *nl = memchr(m.p + off, '\n', m.len - off);
		size_t n = (size_t)(nl - (m.p + off));
		vs_audit_checkpoint *cp = &l->v[l->n];
		if (vs_audit_checkpoint_parse(m.p + off, n, cp) != VS_OK)
			rc = damage(rep, VS_AUDIT_MALFORMED, 0, k + 1, off,
				    "checkpoint line %zu is not a canonical checkpoint", k + 1);
		else if (vs_audit_checkpoint_verify(cp, pub) != VS_OK)
			rc = damage(rep, VS_AUDIT_BAD_SIGNATURE, cp->size, k + 1, off,
				    "checkpoint line %zu (size %" PRIu64 "): %s", k + 1, cp->size,
				    vs_errmsg());
		else if (l->n > 0 && cp->size < l->v[l->n - 1].size)
			rc = damage(rep, VS_AUDIT_MALFORMED, cp->size, k + 1, off,
				    "checkpoint line %zu goes back from size %" PRIu64 " to %" PRIu64,
				    k + 1, l->v[l->n - 1].size, cp->size);
		else
			l->n++;
		off += n + 1;
	}
	vs_audit_map_close(&m);
	return rc;
}

/* --- the walk --- */

typedef struct {
	const vs_audit_verify_opts *o;
	vs_audit_report *rep;
	int64_t t0;
	uint64_t interval;
	cp_list cps;
	size_t next_cp;
	vs_merkle tree;
	vs_audit_mac mac;
	vs_key key;
	uint64_t key_epoch;
	bool have_mac;
	vs_audit_record rec;
	uint8_t last_leaf[VS_HASH_LEN];
	uint64_t last_off, last_epoch;
	int64_t last_time;
	uint64_t max_epoch; /* the verifier's own epoch + 1: nothing is dated later */
} walk;

enum { MAC_UNKNOWN, MAC_OK, MAC_BAD };

static VS_MUST_USE vs_err key_for(walk *w, uint64_t epoch)
{
	if (w->have_mac && epoch == w->key_epoch)
		return VS_OK;
	if (!w->have_mac) {
		w->key = w->o->seed->k0;
		w->key_epoch = 0;
	}
	for (; w->key_epoch < epoch; w->key_epoch++)
		VS_TRY(vs_audit_key_evolve(&w->key, &w->key));
	vs_audit_mac_free(&w->mac);
	w->have_mac = false;
	VS_TRY(vs_audit_mac_new(&w->mac, &w->key));
	w->have_mac = true;
	return VS_OK;
}

/* Checkpoints and the anchor at tree size w->tree.size. */
static VS_MUST_USE vs_err check_heads(walk *w, uint64_t line, uint64_t off)
{
	uint64_t size = w->tree.size;
	uint8_t root[VS_HASH_LEN];
	bool need = (w->next_cp < w->cps.n && w->cps.v[w->next_cp].size == size) ||
		    (w->o->anchor_size == size && w->o->anchor_root);
	if (!need)
		return VS_OK;
	VS_TRY(vs_merkle_root(&w->tree, root));
	for (; w->next_cp < w->cps.n && w->cps.v[w->next_cp].size == size; w->next_cp++)
		if (memcmp(root, w->cps.v[w->next_cp].root, VS_HASH_LEN) != 0)
			return damage(w->rep, VS_AUDIT_ROOT_MISMATCH, size, line, off,
				      "the signed checkpoint at size %" PRIu64
				      " has another root than records 1..%" PRIu64,
				      size, size);
	if (w->o->anchor_size == size && w->o->anchor_root &&
	    memcmp(root, w->o->anchor_root, VS_HASH_LEN) != 0)
		return damage(w->rep, VS_AUDIT_INCONSISTENT, size, line, off,
			      "records 1..%" PRIu64 " do not match the anchored tree head of size %" PRIu64
			      " (an old or rewritten copy of the log)",
			      size, size);
	return VS_OK;
}

static VS_MUST_USE vs_err check_line(walk *w, const char *p, size_t n, uint64_t line, uint64_t off,
			 const uint8_t leaf[VS_HASH_LEN], uint8_t mac_flag)
{
	vs_audit_record *r = &w->rec;
	uint64_t want = w->tree.size + 1, e;
	uint8_t mac[VS_HASH_LEN];
	if (vs_audit_record_parse(p, n, r) != VS_OK)
		return damage(w->rep, VS_AUDIT_MALFORMED, want, line, off,
			      "line %" PRIu64 " is not a canonical audit record", line);
	if (r->seq != want)
		return damage(w->rep, VS_AUDIT_SEQUENCE, r->seq, line, off,
			      "line %" PRIu64 " has seq %" PRIu64 " where %" PRIu64
			      " belongs (records inserted, deleted or reordered)",
			      line, r->seq, want);
	if (r->epoch < w->last_epoch || r->time_us < w->last_time || r->epoch > w->max_epoch ||
	    vs_audit_epoch_of(w->t0, w->interval, r->time_us, &e) != VS_OK || e != r->epoch)
		return damage(w->rep, VS_AUDIT_TIME_ORDER, r->seq, line, off,
			      "record %" PRIu64 ": time or epoch %" PRIu64
			      " out of order or outside its epoch (backdated?)",
			      r->seq, r->epoch);
	if (w->o->seed && mac_flag != MAC_OK) {
		if (mac_flag == MAC_UNKNOWN) {
			VS_TRY(key_for(w, r->epoch));
			VS_TRY(vs_audit_mac_run(&w->mac, p, vs_audit_mac_span(p, n), mac));
		}
		if (mac_flag == MAC_BAD || CRYPTO_memcmp(mac, r->mac, VS_HASH_LEN) != 0)
			return damage(w->rep, VS_AUDIT_MODIFIED, r->seq, line, off,
				      "record %" PRIu64 ": MAC does not verify (modified or forged)",
				      r->seq);
	}
	if (memcmp(r->prev, w->last_leaf, VS_HASH_LEN) != 0) {
		if (w->o->seed) /* the previous record's MAC held: this one is forged */
			return damage(w->rep, VS_AUDIT_MODIFIED, r->seq, line, off,
				      "record %" PRIu64 ": prev does not match record %" PRIu64,
				      r->seq, r->seq - 1);
		return damage(w->rep, VS_AUDIT_MODIFIED, r->seq - 1, line - 1, w->last_off,
			      "record %" PRIu64 " does not hash to the prev of record %" PRIu64
			      " (modified; MACs not checked)",
			      r->seq - 1, r->seq);
	}
	VS_TRY(vs_merkle_add(&w->tree, leaf));
	memcpy(w->last_leaf, leaf, VS_HASH_LEN);
	w->last_off = off;
	w->last_epoch = r->epoch;
	w->last_time = r->time_us;
	return check_heads(w, line, off);
}

/* Leaf hashes are computed by a second thread, one chunk of lines ahead of
 * the checks (parse, MAC, chain, tree) on the calling thread. */
#define CHUNK 2048

typedef struct {
	uint64_t off[CHUNK];
	uint32_t len[CHUNK];
	uint8_t leaf[CHUNK][VS_HASH_LEN];
	uint8_t mac[CHUNK]; /* MAC_* */
	size_t n;
	vs_err rc;
} chunk;

typedef struct {
	const char *base;
	const vs_audit_seed *seed; /* NULL: no MACs */
	uint64_t max_epoch;
	vs_key key;
	uint64_t key_epoch;
	bool have_mac;
	vs_audit_mac mac;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	chunk *job;    /* submitted, not yet hashed */
	bool busy, quit;
	char msg[256];
} hasher;

/* The epoch field of a canonical line, without a full parse. */
static bool quick_epoch(const char *p, size_t n, uint64_t *e)
{
	static const char head[] = "{\"seq\":", mid[] = ",\"epoch\":";
	size_t i = sizeof head - 1;
	if (n < 96 || memcmp(p, head, i) != 0)
		return false;
	while (i < 28 && p[i] >= '0' && p[i] <= '9')
		i++;
	i += sizeof ",\"time\":\"" - 1 + VS_AUDIT_TIME_LEN + 1;
	if (i + sizeof mid - 1 > n || memcmp(p + i, mid, sizeof mid - 1) != 0)
		return false;
	i += sizeof mid - 1;
	uint64_t v = 0;
	size_t k = 0;
	for (; i < n && k < 19 && p[i] >= '0' && p[i] <= '9'; i++, k++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	*e = v;
	return k > 0;
}

/* MAC_OK or MAC_BAD when this thread can tell cheaply, else MAC_UNKNOWN
 * (the checking thread then does it, after its order checks). */
static uint8_t mac_line(hasher *h, const char *p, size_t n)
{
	uint64_t e;
	size_t span = vs_audit_mac_span(p, n);
	uint8_t got[VS_HASH_LEN];
	char hex[2 * VS_HASH_LEN];
	if (!span || !quick_epoch(p, n, &e) || e > h->max_epoch ||
	    (h->have_mac && e < h->key_epoch))
		return MAC_UNKNOWN;
	if (!h->have_mac || e != h->key_epoch) {
		if (!h->have_mac) {
			h->key = h->seed->k0;
			h->key_epoch = 0;
		}
		for (; h->key_epoch < e; h->key_epoch++)
			if (vs_audit_key_evolve(&h->key, &h->key) != VS_OK)
				return MAC_UNKNOWN;
		if (h->have_mac)
			vs_audit_mac_free(&h->mac);
		h->have_mac = vs_audit_mac_new(&h->mac, &h->key) == VS_OK;
		if (!h->have_mac)
			return MAC_UNKNOWN;
	}
	/* Compare in hex: encoding ours is cheaper than decoding theirs. */
	static const char digits[] = "0123456789abcdef";
	if (vs_audit_mac_run(&h->mac, p, span, got) != VS_OK)
		return MAC_UNKNOWN;
	for (size_t i = 0; i < VS_HASH_LEN; i++) {
		hex[2 * i] = digits[got[i] >> 4];
		hex[2 * i + 1] = digits[got[i] & 15];
	}
	return CRYPTO_memcmp(hex, p + n - 2 - 2 * VS_HASH_LEN, 2 * VS_HASH_LEN) == 0 ? MAC_OK
										     : MAC_BAD;
}

static VS_MUST_USE vs_err hash_chunk(hasher *h, EVP_MD_CTX *ctx, chunk *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const char *p = h->base + c->off[i];
		VS_TRY(vs_audit_hash2(ctx, 0x00, p, c->len[i], NULL, 0, c->leaf[i]));
		c->mac[i] = h->seed ? mac_line(h, p, c->len[i]) : MAC_UNKNOWN;
	}
	return VS_OK;
}

static void *hasher_main(void *p)
{
	hasher *h = p;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->job && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit)
			break;
		chunk *c = h->job;
		pthread_mutex_unlock(&h->mu);
		c->rc = ctx ? hash_chunk(h, ctx, c) : vs_fail(VS_E_ENV, "out of memory");
		if (c->rc != VS_OK)
			snprintf(h->msg, sizeof h->msg, "%s", vs_errmsg());
		pthread_mutex_lock(&h->mu);
		h->job = NULL;
		h->busy = false;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	EVP_MD_CTX_free(ctx);
	if (h->have_mac)
		vs_audit_mac_free(&h->mac);
	vs_key_wipe(&h->key);
	return NULL;
}

static void submit(hasher *h, chunk *c)
{
	pthread_mutex_lock(&h->mu);
	h->job = c;
	h->busy = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static VS_MUST_USE vs_err wait_done(hasher *h, chunk *c)
{
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	return c->rc == VS_OK ? VS_OK : vs_fail(c->rc, "%s", h->msg);
}

/* Cuts the next lines starting at *off into c; *torn is set at a partial tail. */
static void cut(const vs_audit_map *m, uint64_t *off, chunk *c, bool *torn)
{
	c->n = 0;
	c->rc = VS_OK;
	while (c->n < CHUNK && *off < m->len) {
		const char *nl = memchr(m->p + *off, '\n', m->len - *off);
		if (!nl) {
			*torn = true;
			return;
		}
		size_t n = (size_t)(nl - (m->p + *off));
		c->off[c->n] = *off;
		c->len[c->n++] = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
		*off += n + 1;
	}
}

static VS_MUST_USE vs_err walk_chunks(walk *w, const vs_audit_map *m, hasher *h, chunk *bufs,
			  uint64_t *line, uint64_t *end)
{
	uint64_t off = 0;
	bool torn = false;
	chunk *cur = &bufs[0], *next = &bufs[1];
	cut(m, &off, cur, &torn);
	submit(h, cur);
	vs_err rc = VS_OK;
	while (rc == VS_OK && cur->n > 0) {
		rc = wait_done(h, cur);
		if (rc != VS_OK)
			break;
		cut(m, &off, next, &torn);
		if (next->n > 0)
			submit(h, next);
		for (size_t i = 0; rc == VS_OK && i < cur->n; i++) {
			++*line;
			rc = check_line(w, m->p + cur->off[i], cur->len[i], *line, cur->off[i],
					cur->leaf[i], cur->mac[i]);
		}
		if (next->n > 0) {
			vs_err hr = wait_done(h, next);
			if (rc == VS_OK)
				rc = hr;
		}
		chunk *t = cur;
		cur = next;
		next = t;
		/* cur is hashed already: the loop's wait_done returns at once. */
	}
	*end = off;
	if (rc == VS_OK && torn)
		rc = damage(w->rep, VS_AUDIT_TORN_TAIL, w->tree.size + 1, *line + 1, off,
			    "%zu bytes at byte %" PRIu64 " are a partial record (crash mid-write)",
			    (size_t)(m->len - off), off);
	return rc;
}

static VS_MUST_USE vs_err walk_log(walk *w, const char *dir)
{
	char path[4200];
	vs_audit_map m;
	snprintf(path, sizeof path, "%s/log", dir);
	VS_TRY(vs_audit_map_open(path, &m));
	chunk *bufs = malloc(2 * sizeof *bufs);
	hasher h = { .base = m.p, .seed = w->o->seed, .max_epoch = w->max_epoch };
	pthread_t tid;
	vs_err rc = bufs ? VS_OK : vs_fail(VS_E_ENV, "out of memory");
	pthread_mutex_init(&h.mu, NULL);
	pthread_cond_init(&h.cv, NULL);
	if (rc == VS_OK && pthread_create(&tid, NULL, hasher_main, &h) != 0)
		rc = vs_fail(VS_E_ENV, "cannot start a thread");
	uint64_t line = 0, off = 0;
	if (rc == VS_OK) {
		rc = check_heads(w, 0, 0);
		if (rc == VS_OK)
			rc = walk_chunks(w, &m, &h, bufs, &line, &off);
		pthread_mutex_lock(&h.mu);
		while (h.busy)
			pthread_cond_wait(&h.cv, &h.mu);
		h.quit = true;
		pthread_cond_broadcast(&h.cv);
		pthread_mutex_unlock(&h.mu);
		pthread_join(tid, NULL);
	}
	pthread_mutex_destroy(&h.mu);
	pthread_cond_destroy(&h.cv);
	free(bufs);
	w->rep->records = w->tree.size;
	uint64_t size = w->tree.size;
	if (rc == VS_OK && w->next_cp < w->cps.n)
		rc = damage(w->rep, VS_AUDIT_TRUNCATED, size + 1, line + 1, off,
			    "the log has %" PRIu64 " records but a signed checkpoint covers %" PRIu64,
			    size, w->cps.v[w->cps.n - 1].size);
	if (rc == VS_OK && w->o->anchor_size > size)
		rc = damage(w->rep, VS_AUDIT_TRUNCATED, size + 1, line + 1, off,
			    "the log has %" PRIu64 " records but %" PRIu64 " are anchored", size,
			    w->o->anchor_size);
	vs_audit_map_close(&m);
	return rc;
}

VS_MUST_USE vs_err vs_audit_verify(const char *dir, const vs_audit_verify_opts *o, vs_audit_report *rep)
{
	static const vs_audit_verify_opts none;
	walk *w = calloc(1, sizeof *w);
	if (!w)
		return vs_fail(VS_E_ENV, "out of memory");
	memset(rep, 0, sizeof *rep);
	w->o = o ? o : &none;
	w->rep = rep;
	vs_audit_params params;
	vs_err rc = vs_merkle_init(&w->tree);
	const uint8_t *pub = w->o->pub;
	if (rc == VS_OK && w->o->seed) {
		w->t0 = w->o->seed->t0;
		w->interval = w->o->seed->interval;
		if (!pub)
			pub = w->o->seed->pub;
	} else if (rc == VS_OK) {
		rc = vs_audit_params_read(dir, &params);
		w->t0 = params.t0;
		w->interval = params.interval;
	}
	rep->signer_pinned = pub != NULL;
	if (rc == VS_OK && !pub) {
		rc = vs_audit_params_read(dir, &params);
		pub = params.pub;
	}
	rep->macs_checked = w->o->seed != NULL;
	if (rc == VS_OK && vs_audit_epoch_of(w->t0, w->interval, real_now() + 1000000, &w->max_epoch) !=
				   VS_OK)
		w->max_epoch = 0;
	w->max_epoch++;
	if (rc == VS_OK)
		rc = load_checkpoints(dir, pub, &w->cps, rep);
	rep->checkpoints = w->cps.n;
	if (rc == VS_OK)
		rc = walk_log(w, dir);
	if (rc == VS_OK)
		snprintf(rep->message, sizeof rep->message,
			 "%" PRIu64 " records and %" PRIu64 " checkpoints intact%s%s", rep->records,
			 rep->checkpoints, rep->macs_checked ? "" : " (MACs not checked: no seed)",
			 rep->signer_pinned ? "" : " (checkpoint key taken from the log directory)");
	if (w->have_mac)
		vs_audit_mac_free(&w->mac);
	vs_key_wipe(&w->key);
	vs_merkle_free(&w->tree);
	free(w->cps.v);
	free(w);
	return rc;
}

/* --- reading and proofs --- */

typedef vs_err (*line_fn)(const char *p, size_t n, void *ctx);

static VS_MUST_USE vs_err each_line(const char *dir, line_fn fn, void *ctx)
{
	char path[4200];
	vs_audit_map m;
	snprintf(path, sizeof path, "%s/log", dir);
	VS_TRY(vs_audit_map_open(path, &m));
	vs_err rc = VS_OK;
	for (size_t off = 0; rc == VS_OK && off < m.len;) {
		const char *nl = memchr(m.p + off, '\n', m.len - off);
		if (!nl)
			break; /* a torn tail is not a record */
		size_t n = (size_t)(nl - (m.p + off));
		rc = fn(m.p + off, n, ctx);
		off += n + 1;
	}
	vs_audit_map_close(&m);
	return rc;
}

typedef struct {
	vs_audit_each_fn fn;
	void *ctx;
	vs_audit_record rec;
	uint64_t want;
	bool stop;
} read_ctx;

static VS_MUST_USE vs_err read_one(const char *p, size_t n, void *ctx)
{
	read_ctx *c = ctx;
	if (c->stop)
		return VS_OK;
	if (vs_audit_record_parse(p, n, &c->rec) != VS_OK)
		return vs_fail(VS_E_INTEGRITY, "audit log record %" PRIu64 " is malformed", c->want);
	c->want++;
	c->stop = c->fn(&c->rec, c->ctx) != 0;
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_read(const char *dir, vs_audit_each_fn fn, void *ctx)
{
	read_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return vs_fail(VS_E_ENV, "out of memory");
	c->fn = fn;
	c->ctx = ctx;
	c->want = 1;
	vs_err rc = each_line(dir, read_one, c);
	free(c);
	return rc;
}

typedef struct {
	uint8_t (*v)[VS_HASH_LEN];
	uint64_t n, cap;
} leaf_list;

static VS_MUST_USE vs_err add_leaf(const char *p, size_t n, void *ctx)
{
	leaf_list *l = ctx;
	if (l->n == l->cap) {
		uint64_t cap = l->cap ? l->cap * 2 : 1024;
		void *v = realloc(l->v, cap * VS_HASH_LEN);
		if (!v)
			return vs_fail(VS_E_ENV, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	return vs_merkle_leaf_hash(p, n, l->v[l->n++]);
}

VS_MUST_USE vs_err vs_audit_prove_inclusion(const char *dir, uint64_t seq, uint64_t size,
				uint8_t leaf[VS_HASH_LEN], uint8_t root[VS_HASH_LEN],
				uint8_t (*path)[VS_HASH_LEN], size_t *path_len)
{
	leaf_list l = { 0 };
	vs_err rc = each_line(dir, add_leaf, &l);
	if (rc == VS_OK && size == 0)
		size = l.n;
	if (rc == VS_OK && (seq == 0 || seq > size || size > l.n))
		rc = vs_fail(VS_E_USAGE, "record %" PRIu64 " is not in a tree of %" PRIu64
					 " (the log has %" PRIu64 " records)",
			     seq, size, l.n);
	if (rc == VS_OK)
		rc = vs_merkle_inclusion_proof((const uint8_t(*)[VS_HASH_LEN])l.v, size, seq - 1,
					       path, 64, path_len);
	if (rc == VS_OK) {
		vs_merkle m;
		rc = vs_merkle_init(&m);
		for (uint64_t i = 0; rc == VS_OK && i < size; i++)
			rc = vs_merkle_add(&m, l.v[i]);
		if (rc == VS_OK)
			rc = vs_merkle_root(&m, root);
		vs_merkle_free(&m);
		memcpy(leaf, l.v[seq - 1], VS_HASH_LEN);
	}
	free(l.v);
	return rc;
}

VS_MUST_USE vs_err vs_audit_prove_consistency(const char *dir, uint64_t m, uint64_t n,
				  uint8_t (*proof)[VS_HASH_LEN], size_t *proof_len)
{
	leaf_list l = { 0 };
	vs_err rc = each_line(dir, add_leaf, &l);
	if (rc == VS_OK && n > l.n)
		rc = vs_fail(VS_E_USAGE, "the log has only %" PRIu64 " records", l.n);
	if (rc == VS_OK)
		rc = vs_merkle_consistency_proof((const uint8_t(*)[VS_HASH_LEN])l.v, m, n, proof,
						 64, proof_len);
	free(l.v);
	return rc;
}
