/* .vsnap header: encoding, strict parsing, digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/snapshot.h"

static VS_MUST_USE vs_err check_header(const vs_snap_header *h)
{
	if (!vs_name_ok(h->vnf))
		return vs_fail(VS_E_INTEGRITY, "header: invalid VNF name");
	if (!vs_name_ok(h->engine))
		return vs_fail(VS_E_INTEGRITY, "header: invalid engine name");
	if (h->chunk_size < VS_SNAP_MIN_CHUNK || h->chunk_size > VS_SNAP_MAX_CHUNK)
		return vs_fail(VS_E_INTEGRITY, "header: chunk size %u out of range", h->chunk_size);
	if (h->nsections == 0 || h->nsections > VS_SNAP_MAX_SECTIONS)
		return vs_fail(VS_E_INTEGRITY, "header: %u sections out of range", h->nsections);
	if (h->expires && h->expires < h->created)
		return vs_fail(VS_E_INTEGRITY, "header: expires before it was created");
	for (unsigned i = 0; i < h->nsections; i++) {
		const vs_section_info *si = &h->sections[i];
		if (!vs_name_ok(si->name) || !vs_name_ok(si->domain))
			return vs_fail(VS_E_INTEGRITY, "header: invalid section or domain name");
		for (unsigned j = 0; j < i; j++) {
			/* One key per trust domain: a shared domain would share a key. */
			if (!strcmp(si->name, h->sections[j].name) ||
			    !strcmp(si->domain, h->sections[j].domain) ||
			    !memcmp(si->key_id, h->sections[j].key_id, VS_ID_LEN))
				return vs_fail(VS_E_INTEGRITY, "header: duplicate section, domain or key id");
		}
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_snap_header_encode(vs_snap_header *h, vs_wr *out)
{
	VS_TRY(check_header(h) == VS_OK ? VS_OK : vs_wrap(VS_E_USAGE, "cannot encode"));
	vs_wr body = { 0 };
	vs_wr_bytes(&body, h->snapshot_id, VS_ID_LEN);
	vs_wr_bytes(&body, h->lineage_id, VS_ID_LEN);
	vs_wr_u64(&body, h->generation);
	vs_wr_u64(&body, h->created);
	vs_wr_u64(&body, h->expires);
	vs_wr_str8(&body, h->vnf);
	vs_wr_str8(&body, h->engine);
	vs_wr_bytes(&body, h->signer_id, VS_HASH_LEN);
	vs_wr_u32(&body, h->chunk_size);
	vs_wr_u16(&body, h->nsections);
	for (unsigned i = 0; i < h->nsections; i++) {
		vs_wr_str8(&body, h->sections[i].name);
		vs_wr_str8(&body, h->sections[i].domain);
		vs_wr_bytes(&body, h->sections[i].key_id, VS_ID_LEN);
	}
	size_t start = out->len;
	vs_wr_bytes(out, VS_SNAP_MAGIC, VS_SNAP_MAGIC_LEN);
	vs_wr_u16(out, VS_SNAP_VERSION);
	vs_wr_u32(out, (uint32_t)body.len);
	vs_wr_bytes(out, body.p, body.len);
	bool bad = body.bad || out->bad || body.len > VS_SNAP_MAX_HEADER;
	vs_wr_free(&body);
	if (bad)
		return vs_fail(VS_E_ENV, "cannot encode snapshot header");
	h->header_len = (uint32_t)(out->len - start);
	return vs_sha256(out->p + start, h->header_len, h->digest);
}

static VS_MUST_USE vs_err parse_prefix(const uint8_t *p, uint32_t *body_len)
{
	if (memcmp(p, VS_SNAP_MAGIC, VS_SNAP_MAGIC_LEN) != 0)
		return vs_fail(VS_E_INTEGRITY, "not a vnfsafe snapshot (bad magic)");
	uint16_t version = vs_get_u16(p + VS_SNAP_MAGIC_LEN);
	if (version != VS_SNAP_VERSION)
		return vs_fail(VS_E_INTEGRITY, "unsupported snapshot format version %u (this vnfsafe reads version %u)",
			       version, VS_SNAP_VERSION);
	*body_len = vs_get_u32(p + VS_SNAP_MAGIC_LEN + 2);
	if (*body_len == 0 || *body_len > VS_SNAP_MAX_HEADER)
		return vs_fail(VS_E_INTEGRITY, "header length %u out of range", *body_len);
	return VS_OK;
}

static VS_MUST_USE vs_err parse_body(const uint8_t *p, size_t n, vs_snap_header *h)
{
	vs_rd r = vs_rd_init(p, n);
	memset(h, 0, sizeof *h);
	vs_rd_copy(&r, h->snapshot_id, VS_ID_LEN);
	vs_rd_copy(&r, h->lineage_id, VS_ID_LEN);
	vs_rd_u64(&r, &h->generation);
	vs_rd_u64(&r, &h->created);
	vs_rd_u64(&r, &h->expires);
	vs_rd_str8(&r, h->vnf, sizeof h->vnf);
	vs_rd_str8(&r, h->engine, sizeof h->engine);
	vs_rd_copy(&r, h->signer_id, VS_HASH_LEN);
	vs_rd_u32(&r, &h->chunk_size);
	vs_rd_u16(&r, &h->nsections);
	if (r.bad || h->nsections > VS_SNAP_MAX_SECTIONS)
		return vs_fail(VS_E_INTEGRITY, "header is malformed");
	for (unsigned i = 0; i < h->nsections; i++) {
		vs_rd_str8(&r, h->sections[i].name, VS_NAME_MAX);
		vs_rd_str8(&r, h->sections[i].domain, VS_NAME_MAX);
		vs_rd_copy(&r, h->sections[i].key_id, VS_ID_LEN);
	}
	if (r.bad)
		return vs_fail(VS_E_INTEGRITY, "header is malformed");
	if (vs_rd_left(&r) != 0)
		return vs_fail(VS_E_INTEGRITY, "header has %zu trailing bytes", vs_rd_left(&r));
	return check_header(h);
}

VS_MUST_USE vs_err vs_snap_header_parse(const uint8_t *p, size_t n, vs_snap_header *h, size_t *consumed)
{
	uint32_t body_len;
	if (n < VS_SNAP_PREFIX_LEN)
		return vs_fail(VS_E_INTEGRITY, "snapshot is truncated (no complete header)");
	VS_TRY(parse_prefix(p, &body_len));
	if (n - VS_SNAP_PREFIX_LEN < body_len)
		return vs_fail(VS_E_INTEGRITY, "snapshot is truncated (no complete header)");
	VS_TRY(parse_body(p + VS_SNAP_PREFIX_LEN, body_len, h));
	h->header_len = (uint32_t)(VS_SNAP_PREFIX_LEN + body_len);
	*consumed = h->header_len;
	return vs_sha256(p, h->header_len, h->digest);
}

VS_MUST_USE vs_err vs_snap_header_read(vs_source *src, vs_snap_header *h)
{
	uint8_t prefix[VS_SNAP_PREFIX_LEN];
	size_t got;
	uint32_t body_len;
	VS_TRY(src->read(src->ctx, prefix, sizeof prefix, &got));
	if (got == 0)
		return vs_fail(VS_E_INTEGRITY, "empty input: not a vnfsafe snapshot");
	if (got < sizeof prefix)
		return vs_fail(VS_E_INTEGRITY, "snapshot is truncated (no complete header)");
	VS_TRY(parse_prefix(prefix, &body_len));
	uint8_t *buf = malloc(VS_SNAP_PREFIX_LEN + body_len);
	if (!buf)
		return vs_fail(VS_E_ENV, "out of memory");
	memcpy(buf, prefix, sizeof prefix);
	vs_err rc = src->read(src->ctx, buf + VS_SNAP_PREFIX_LEN, body_len, &got);
	if (rc == VS_OK && got < body_len)
		rc = vs_fail(VS_E_INTEGRITY, "snapshot is truncated (no complete header)");
	size_t used;
	if (rc == VS_OK)
		rc = vs_snap_header_parse(buf, VS_SNAP_PREFIX_LEN + body_len, h, &used);
	free(buf);
	return rc;
}
