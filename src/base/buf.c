#include "vnfsafe/buf.h"

#include <stdlib.h>
#include <string.h>

void vs_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
void vs_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
void vs_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
uint16_t vs_get_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
uint32_t vs_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
uint64_t vs_get_u64(const uint8_t *p)
{
	return ((uint64_t)vs_get_u32(p) << 32) | vs_get_u32(p + 4);
}

size_t vs_rd_left(const vs_rd *r)
{
	return r->bad ? 0 : r->len - r->off;
}

bool vs_rd_bytes(vs_rd *r, size_t n, const uint8_t **out)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return false;
	}
	*out = r->p + r->off;
	r->off += n;
	return true;
}

bool vs_rd_copy(vs_rd *r, void *dst, size_t n)
{
	const uint8_t *p;
	if (!vs_rd_bytes(r, n, &p))
		return false;
	memcpy(dst, p, n);
	return true;
}

bool vs_rd_u8(vs_rd *r, uint8_t *v)
{
	const uint8_t *p;
	if (!vs_rd_bytes(r, 1, &p))
		return false;
	*v = p[0];
	return true;
}

bool vs_rd_u16(vs_rd *r, uint16_t *v)
{
	const uint8_t *p;
	if (!vs_rd_bytes(r, 2, &p))
		return false;
	*v = vs_get_u16(p);
	return true;
}

bool vs_rd_u32(vs_rd *r, uint32_t *v)
{
	const uint8_t *p;
	if (!vs_rd_bytes(r, 4, &p))
		return false;
	*v = vs_get_u32(p);
	return true;
}

bool vs_rd_u64(vs_rd *r, uint64_t *v)
{
	const uint8_t *p;
	if (!vs_rd_bytes(r, 8, &p))
		return false;
	*v = vs_get_u64(p);
	return true;
}

bool vs_rd_str8(vs_rd *r, char *dst, size_t cap)
{
	uint8_t n;
	const uint8_t *p;
	if (!vs_rd_u8(r, &n) || !vs_rd_bytes(r, n, &p))
		return false;
	if ((size_t)n + 1 > cap || memchr(p, 0, n)) {
		r->bad = true;
		return false;
	}
	memcpy(dst, p, n);
	dst[n] = 0;
	return true;
}

void vs_wr_free(vs_wr *w)
{
	free(w->p);
	memset(w, 0, sizeof *w);
}

void vs_wr_bytes(vs_wr *w, const void *p, size_t n)
{
	if (w->bad)
		return;
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap - w->len < n) {
			if (cap > SIZE_MAX / 2) {
				w->bad = true;
				return;
			}
			cap *= 2;
		}
		uint8_t *np = realloc(w->p, cap);
		if (!np) {
			w->bad = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

void vs_wr_u8(vs_wr *w, uint8_t v) { vs_wr_bytes(w, &v, 1); }
void vs_wr_u16(vs_wr *w, uint16_t v)
{
	uint8_t b[2];
	vs_put_u16(b, v);
	vs_wr_bytes(w, b, 2);
}
void vs_wr_u32(vs_wr *w, uint32_t v)
{
	uint8_t b[4];
	vs_put_u32(b, v);
	vs_wr_bytes(w, b, 4);
}
void vs_wr_u64(vs_wr *w, uint64_t v)
{
	uint8_t b[8];
	vs_put_u64(b, v);
	vs_wr_bytes(w, b, 8);
}
void vs_wr_str8(vs_wr *w, const char *s)
{
	size_t n = strlen(s);
	if (n > 255) {
		w->bad = true;
		return;
	}
	vs_wr_u8(w, (uint8_t)n);
	vs_wr_bytes(w, s, n);
}
