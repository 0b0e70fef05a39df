/* Bounds-checked reader and growable writer (big-endian integers).
 * All parsing of untrusted bytes goes through vs_rd_*; a read past the end
 * fails and poisons the reader, so a caller may check once at the end. */
#ifndef VNFSAFE_BUF_H
#define VNFSAFE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/err.h"

typedef struct {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool bad;
} vs_rd;

static inline vs_rd vs_rd_init(const void *p, size_t len)
{
	vs_rd r = { (const uint8_t *)p, len, 0, false };
	return r;
}
size_t vs_rd_left(const vs_rd *r);
bool vs_rd_u8(vs_rd *r, uint8_t *v);
bool vs_rd_u16(vs_rd *r, uint16_t *v);
bool vs_rd_u32(vs_rd *r, uint32_t *v);
bool vs_rd_u64(vs_rd *r, uint64_t *v);
/* Points *out at the next n bytes (no copy). */
bool vs_rd_bytes(vs_rd *r, size_t n, const uint8_t **out);
bool vs_rd_copy(vs_rd *r, void *dst, size_t n);
/* u8 length + bytes, copied into dst (NUL-terminated, cap includes NUL). */
bool vs_rd_str8(vs_rd *r, char *dst, size_t cap);

typedef struct {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool bad; /* allocation failed or a value did not fit */
} vs_wr;

void vs_wr_free(vs_wr *w);
void vs_wr_u8(vs_wr *w, uint8_t v);
void vs_wr_u16(vs_wr *w, uint16_t v);
void vs_wr_u32(vs_wr *w, uint32_t v);
void vs_wr_u64(vs_wr *w, uint64_t v);
void vs_wr_bytes(vs_wr *w, const void *p, size_t n);
void vs_wr_str8(vs_wr *w, const char *s);

void vs_put_u16(uint8_t *p, uint16_t v);
void vs_put_u32(uint8_t *p, uint32_t v);
void vs_put_u64(uint8_t *p, uint64_t v);
uint16_t vs_get_u16(const uint8_t *p);
uint32_t vs_get_u32(const uint8_t *p);
uint64_t vs_get_u64(const uint8_t *p);

#endif
