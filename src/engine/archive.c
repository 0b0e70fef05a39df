/* Archive entries of the dir engine: one header per entry, file data after. */
#include <string.h>

#include "vnfsafe/buf.h"
#include "vnfsafe/engine.h"

bool vs_arc_path_ok(const char *path)
{
	size_t n = strlen(path);
	if (n == 0 || n >= VS_PATH_MAX || path[0] == '/')
		return false;
	if (!strcmp(path, "."))
		return true;
	const char *c = path;
	for (;;) {
		const char *slash = strchr(c, '/');
		size_t len = slash ? (size_t)(slash - c) : strlen(c);
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}

size_t vs_arc_encode(const vs_arc_entry *e, uint8_t *out, size_t cap)
{
	size_t plen = strlen(e->path), tlen = strlen(e->target);
	if (plen >= VS_PATH_MAX || tlen >= VS_PATH_MAX || cap < VS_ARC_HDR_MAX)
		return 0;
	size_t o = 0;
	out[o++] = e->type;
	vs_put_u16(out + o, (uint16_t)plen), o += 2;
	memcpy(out + o, e->path, plen), o += plen;
	vs_put_u32(out + o, e->mode), o += 4;
	vs_put_u64(out + o, (uint64_t)e->mtime_sec), o += 8;
	vs_put_u32(out + o, e->mtime_nsec), o += 4;
	if (e->type == VS_ARC_FILE) {
		vs_put_u64(out + o, e->size), o += 8;
	} else if (e->type == VS_ARC_SYMLINK) {
		vs_put_u16(out + o, (uint16_t)tlen), o += 2;
		memcpy(out + o, e->target, tlen), o += tlen;
	}
	return o;
}

void vs_arc_dec_init(vs_arc_dec *d, const vs_arc_ops *ops)
{
	memset(d, 0, sizeof *d);
	d->ops = *ops;
}

/* Parses buf[0..len): 1 = complete (*used set), 0 = need more, <0 = bad. */
static int try_parse(vs_arc_dec *d, const uint8_t *buf, size_t len, size_t *used)
{
	vs_rd r = vs_rd_init(buf, len);
	vs_arc_entry *e = &d->e;
	uint8_t type;
	uint16_t plen, tlen;
	const uint8_t *p;
	uint64_t mt;
	if (!vs_rd_u8(&r, &type))
		return 0;
	if (type != VS_ARC_DIR && type != VS_ARC_FILE && type != VS_ARC_SYMLINK)
		return -1;
	if (!vs_rd_u16(&r, &plen))
		return 0;
	if (plen == 0 || plen >= VS_PATH_MAX)
		return -1;
	if (!vs_rd_bytes(&r, plen, &p) || !vs_rd_u32(&r, &e->mode) || !vs_rd_u64(&r, &mt) ||
	    !vs_rd_u32(&r, &e->mtime_nsec))
		return 0;
	e->type = type;
	memcpy(e->path, p, plen);
	e->path[plen] = 0;
	e->mtime_sec = (int64_t)mt;
	e->size = 0;
	e->target[0] = 0;
	if (type == VS_ARC_FILE && !vs_rd_u64(&r, &e->size))
		return 0;
	if (type == VS_ARC_SYMLINK) {
		if (!vs_rd_u16(&r, &tlen))
			return 0;
		if (tlen == 0 || tlen >= VS_PATH_MAX)
			return -1;
		if (!vs_rd_bytes(&r, tlen, &p))
			return 0;
		memcpy(e->target, p, tlen);
		e->target[tlen] = 0;
	}
	if (memchr(e->path, 0, plen) || (type == VS_ARC_SYMLINK && memchr(e->target, 0, tlen)))
		return -1;
	if ((e->mode & ~07777u) || e->mtime_nsec >= 1000000000u || !vs_arc_path_ok(e->path) ||
	    (!strcmp(e->path, ".") && type != VS_ARC_DIR))
		return -1;
	*used = r.off;
	return 1;
}

VS_MUST_USE vs_err vs_arc_dec_feed(vs_arc_dec *d, const uint8_t *p, size_t n)
{
	while (n > 0) {
		if (d->in_data) {
			size_t k = n < d->data_left ? n : (size_t)d->data_left;
			VS_TRY(d->ops.data(d->ops.ctx, p, k));
			p += k, n -= k, d->data_left -= k;
			if (d->data_left == 0) {
				d->in_data = false;
				VS_TRY(d->ops.file_end(d->ops.ctx));
			}
			continue;
		}
		size_t used;
		int st;
		if (d->hdr_fill == 0 && (st = try_parse(d, p, n, &used)) != 0) {
			/* Common case: the whole header is in this slice, parse in place. */
			if (st < 0)
				return vs_fail(VS_E_INTEGRITY, "archive entry %llu is malformed",
					       (unsigned long long)d->entries);
			p += used, n -= used;
		} else {
			/* Header split across slices: accumulate (a header is small). */
			size_t room = sizeof d->hdr - d->hdr_fill;
			size_t k = n < room ? n : room;
			memcpy(d->hdr + d->hdr_fill, p, k);
			size_t before = d->hdr_fill;
			d->hdr_fill += k;
			st = try_parse(d, d->hdr, d->hdr_fill, &used);
			if (st < 0)
				return vs_fail(VS_E_INTEGRITY, "archive entry %llu is malformed",
					       (unsigned long long)d->entries);
			if (st == 0) {
				if (d->hdr_fill == sizeof d->hdr)
					return vs_fail(VS_E_INTEGRITY, "archive entry header too long");
				p += k, n -= k;
				continue;
			}
			p += used - before, n -= used - before;
			d->hdr_fill = 0;
		}
		d->entries++;
		VS_TRY(d->ops.entry(d->ops.ctx, &d->e));
		if (d->e.type == VS_ARC_FILE) {
			if (d->e.size == 0) {
				VS_TRY(d->ops.file_end(d->ops.ctx));
			} else {
				d->in_data = true;
				d->data_left = d->e.size;
			}
		}
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_arc_dec_finish(vs_arc_dec *d)
{
	if (d->in_data || d->hdr_fill)
		return vs_fail(VS_E_INTEGRITY, "archive stream ends inside entry %llu",
			       (unsigned long long)d->entries);
	return VS_OK;
}
