/* Seed corpus generator and checker for the fuzz targets.
 *
 *   gen_corpus write DIR   (re)writes DIR/{unseal,header,archive,audit_record,
 *                          audit_proof}/ seeds
 *   gen_corpus check DIR   seals every seed again and asserts that vs_unseal
 *                          accepts it with the fixed fuzz keys, and that the
 *                          committed seeds in DIR still parse/unseal/decode
 *
 * Snapshots are sealed with the fixed keys of fz_keys.c, so they are valid
 * inputs for fuzz_unseal. Sealing is deterministic (fixed ids, fixed data key,
 * counter nonces, Ed25519), so "write" is reproducible. Every section holds a
 * dir-engine archive stream, also used (behind a split selector byte) as the
 * seeds of fuzz_archive. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fz_audit.h"
#include "fz_keys.h"
#include "fz_open.h"
#include "vnfsafe/engine.h"
#include "vnfsafe/snapshot.h"

/* --- archive streams --- */

enum { ARC_BASIC, ARC_SECRETS, ARC_BULK, ARC_LINKS, ARC_EMPTY, ARC_COUNT };

typedef struct {
	vs_wr w;
	uint64_t entries;
} arc_buf;

static vs_arc_entry arc_e; /* large: one static scratch entry */
static uint8_t arc_hdr[VS_ARC_HDR_MAX];

static void arc_put(arc_buf *a, uint8_t type, const char *path, const char *target,
		    const void *data, size_t n)
{
	memset(&arc_e, 0, sizeof arc_e);
	arc_e.type = type;
	snprintf(arc_e.path, sizeof arc_e.path, "%s", path);
	snprintf(arc_e.target, sizeof arc_e.target, "%s", target ? target : "");
	arc_e.mode = type == VS_ARC_DIR ? 0755 : 0640;
	arc_e.mtime_sec = 1700000000 + (int64_t)a->entries;
	arc_e.mtime_nsec = 123456789;
	arc_e.size = type == VS_ARC_FILE ? n : 0;
	size_t len = vs_arc_encode(&arc_e, arc_hdr, sizeof arc_hdr);
	if (len == 0)
		a->w.bad = true;
	vs_wr_bytes(&a->w, arc_hdr, len);
	vs_wr_bytes(&a->w, data, n);
	a->entries++;
}

static void arc_dir(arc_buf *a, const char *path)
{
	arc_put(a, VS_ARC_DIR, path, NULL, NULL, 0);
}

static void arc_file(arc_buf *a, const char *path, const char *text)
{
	arc_put(a, VS_ARC_FILE, path, NULL, text, strlen(text));
}

static void arc_bulk_file(arc_buf *a, const char *path, size_t n)
{
	uint8_t data[512];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	arc_put(a, VS_ARC_FILE, path, NULL, data, n < sizeof data ? n : sizeof data);
}

static void make_archive(int which, arc_buf *a)
{
	memset(a, 0, sizeof *a);
	if (which == ARC_EMPTY)
		return;
	arc_dir(a, ".");
	if (which == ARC_BASIC) {
		arc_dir(a, "etc");
		arc_file(a, "etc/app.conf", "listen = 0.0.0.0:5060\nworkers = 4\nlog = info\n");
		arc_file(a, "etc/empty", "");
		arc_dir(a, "run");
		arc_put(a, VS_ARC_SYMLINK, "run/current", "../etc/app.conf", NULL, 0);
	} else if (which == ARC_SECRETS) {
		arc_dir(a, "keys");
		arc_file(a, "keys/tls.key", "-----BEGIN FAKE KEY-----\nnot-a-real-key\n"
					    "-----END FAKE KEY-----\n");
	} else if (which == ARC_BULK) {
		arc_dir(a, "data");
		arc_bulk_file(a, "data/blob", 400);
		arc_bulk_file(a, "data/tail", 33);
	} else if (which == ARC_LINKS) {
		arc_put(a, VS_ARC_SYMLINK, "l", "target/x", NULL, 0);
		arc_file(a, "f", "x");
	}
}

/* --- snapshots --- */

typedef struct {
	const char *name;
	uint32_t chunk_size;
	size_t piece; /* write size, round-robin over sections */
	uint8_t skip_bits;
	unsigned nsections;
	int arcs[3];
	const char *names[3][2]; /* section, domain */
} snap_spec;

static const snap_spec specs[] = {
	{ "one_section", 4096, 4096, 0, 1, { ARC_BASIC }, { { "state", "default" } } },
	{ "three_sections", 1024, 100, 0, 3, { ARC_BASIC, ARC_SECRETS, ARC_LINKS },
	  { { "state", "default" }, { "secrets", "tls" }, { "cache", "volatile" } } },
	{ "tiny_chunks", 64, 50, 0, 2, { ARC_BULK, ARC_BASIC },
	  { { "bulk", "bulk" }, { "state", "default" } } },
	{ "empty_section", 256, 256, 0, 2, { ARC_BASIC, ARC_EMPTY },
	  { { "state", "default" }, { "spare", "spare" } } },
	{ "skipped_section", 128, 128, 0x02, 3, { ARC_BASIC, ARC_SECRETS, ARC_LINKS },
	  { { "state", "default" }, { "secrets", "tls" }, { "cache", "volatile" } } },
};
#define NSPECS (sizeof specs / sizeof specs[0])

static vs_err mem_write(void *ctx, const void *p, size_t n)
{
	vs_wr *w = ctx;
	vs_wr_bytes(w, p, n);
	return w->bad ? vs_fail(VS_E_ENV, "out of memory") : VS_OK;
}

static vs_err fill_header(const snap_spec *sp, unsigned idx, vs_snap_header *h)
{
	uint8_t pub[VS_PUB_LEN];
	memset(h, 0, sizeof *h);
	for (unsigned i = 0; i < VS_ID_LEN; i++) {
		h->snapshot_id[i] = (uint8_t)(0x10 * idx + i);
		h->lineage_id[i] = (uint8_t)(0xA0 + i);
	}
	h->snapshot_id[FZ_SKIP_BYTE] = sp->skip_bits;
	h->generation = idx + 1;
	h->created = 1700000000;
	h->expires = idx % 2 ? h->created + 86400 : 0;
	snprintf(h->vnf, sizeof h->vnf, "vnf-fuzz");
	snprintf(h->engine, sizeof h->engine, "dir");
	VS_TRY(fz_fixed_pub(pub));
	VS_TRY(vs_pub_keyid(pub, h->signer_id));
	h->chunk_size = sp->chunk_size;
	h->nsections = (uint16_t)sp->nsections;
	for (unsigned i = 0; i < sp->nsections; i++) {
		vs_section_info *si = &h->sections[i];
		snprintf(si->name, sizeof si->name, "%s", sp->names[i][0]);
		snprintf(si->domain, sizeof si->domain, "%s", sp->names[i][1]);
		memset(si->key_id, (int)(0x30 + i), VS_ID_LEN);
	}
	return VS_OK;
}

/* Writes the sections' archives in pieces, round-robin, so records interleave. */
static vs_err write_sections(vs_sealer *s, const snap_spec *sp, const arc_buf *arcs)
{
	size_t off[3] = { 0 };
	for (bool more = true; more;) {
		more = false;
		for (unsigned i = 0; i < sp->nsections; i++) {
			size_t left = arcs[i].w.len - off[i];
			size_t k = left < sp->piece ? left : sp->piece;
			if (k == 0)
				continue;
			VS_TRY(vs_sealer_write(s, i, arcs[i].w.p + off[i], k));
			off[i] += k;
			more = more || off[i] < arcs[i].w.len;
		}
	}
	return VS_OK;
}

static vs_err seal_spec(unsigned idx, const arc_buf *arcs, vs_wr *out, uint32_t *hdr_len)
{
	const snap_spec *sp = &specs[idx];
	vs_snap_header h;
	vs_key keys[3];
	vs_signer *signer = NULL;
	vs_sealer *s = NULL;
	vs_sink sink = { mem_write, out };
	for (unsigned i = 0; i < 3; i++)
		fz_data_key(&keys[i]);
	vs_err rc = fill_header(sp, idx, &h);
	if (rc == VS_OK)
		rc = fz_fixed_signer(&signer);
	if (rc == VS_OK)
		rc = vs_sealer_new(&s, &h, keys, signer, &sink);
	if (rc == VS_OK)
		rc = write_sections(s, sp, arcs);
	if (rc == VS_OK)
		rc = vs_sealer_finish(s, NULL);
	*hdr_len = h.header_len;
	vs_sealer_free(s);
	vs_signer_free(signer);
	return rc;
}

/* --- checks --- */

static int failures;

static void fail(const char *what, const char *name)
{
	fprintf(stderr, "gen_corpus: %s: %s (%s)\n", name, what, vs_errmsg());
	failures++;
}

static void check_snapshot(unsigned idx, const arc_buf *arcs, const uint8_t *p, size_t n,
			   const char *label)
{
	const snap_spec *sp = &specs[idx];
	fz_open_result *res = malloc(sizeof *res);
	if (!res)
		abort();
	fz_open(p, n, res);
	if (res->rc != VS_OK) {
		fail("vs_unseal refuses it with the fixed keys", label);
		free(res);
		return;
	}
	for (unsigned i = 0; i < sp->nsections; i++) {
		const fz_section_result *s = &res->sec[i];
		bool skip = (sp->skip_bits >> i) & 1;
		if (s->skipped != skip)
			fail("section skip policy not applied", label);
		else if (!skip && (!s->arc_ok || s->plain_len != arcs[i].w.len ||
				   s->entries != arcs[i].entries))
			fail("section plaintext is not the archive that was sealed", label);
	}
	free(res);
}

/* --- files --- */

static uint8_t *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)len + 1)) && fread(buf, 1, (size_t)len, f) == (size_t)len) {
		*n = (size_t)len;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

static bool save(const char *dir, const char *sub, const char *name, const char *ext,
		 const uint8_t *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return false;
	snprintf(path, sizeof path, "%s/%s/%s.%s", dir, sub, name, ext);
	return write_file(path, p, n);
}

static uint8_t *load(const char *dir, const char *sub, const char *name, const char *ext,
		     size_t *n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s/%s.%s", dir, sub, name, ext);
	uint8_t *p = read_file(path, n);
	if (!p)
		fprintf(stderr, "gen_corpus: cannot read %s (run 'gen_corpus write')\n", path);
	return p;
}

/* --- per seed --- */

static void check_header_seed(const uint8_t *p, size_t n, const char *label)
{
	vs_snap_header *h = malloc(sizeof *h);
	size_t used;
	if (!h)
		abort();
	if (vs_snap_header_parse(p, n, h, &used) != VS_OK)
		fail("header seed does not parse", label);
	free(h);
}

static void committed_snapshot(unsigned idx, const arc_buf *arcs, const char *dir)
{
	const char *name = specs[idx].name;
	size_t n;
	uint8_t *p = load(dir, "unseal", name, "vsnap", &n);
	if (!p)
		failures++;
	else
		check_snapshot(idx, arcs, p, n, "committed unseal seed");
	free(p);
	if (!(p = load(dir, "header", name, "hdr", &n)))
		failures++;
	else
		check_header_seed(p, n, "committed header seed");
	free(p);
}

static void save_snapshot(unsigned idx, const vs_wr *snap, uint32_t hdr_len, const char *dir)
{
	const char *name = specs[idx].name;
	if (!save(dir, "unseal", name, "vsnap", snap->p, snap->len) ||
	    !save(dir, "header", name, "hdr", snap->p, hdr_len) ||
	    (idx == 0 && !save(dir, "header", "with_trailing_data", "hdr", snap->p, snap->len)))
		fail("cannot write seed", name);
}

static void process_snapshot(unsigned idx, const char *dir, bool write)
{
	const snap_spec *sp = &specs[idx];
	arc_buf arcs[3];
	vs_wr snap = { 0 };
	uint32_t hdr_len = 0;
	for (unsigned i = 0; i < sp->nsections; i++)
		make_archive(sp->arcs[i], &arcs[i]);
	if (seal_spec(idx, arcs, &snap, &hdr_len) != VS_OK) {
		fail("cannot seal", sp->name);
	} else {
		check_snapshot(idx, arcs, snap.p, snap.len, sp->name);
		if (write)
			save_snapshot(idx, &snap, hdr_len, dir);
		else
			committed_snapshot(idx, arcs, dir);
	}
	vs_wr_free(&snap);
	for (unsigned i = 0; i < sp->nsections; i++)
		vs_wr_free(&arcs[i].w);
}

/* fuzz_archive seeds: split selector byte, then an archive stream. */
static const struct {
	const char *name;
	int arc;
	uint8_t sel;
} arc_specs[] = {
	{ "basic_bytewise", ARC_BASIC, 0x00 },
	{ "secrets_growing", ARC_SECRETS, 0x47 },
	{ "bulk_random", ARC_BULK, 0x83 },
	{ "links_head", ARC_LINKS, 0xC5 },
};
#define NARCS (sizeof arc_specs / sizeof arc_specs[0])

static void check_archive_seed(const uint8_t *p, size_t n, uint64_t entries, const char *label)
{
	uint64_t got = 0;
	if (n == 0 || !fz_archive_ok(p + 1, n - 1, &got) || got != entries)
		fail("archive seed does not decode", label);
}

static void process_archive(unsigned j, const char *dir, bool write)
{
	arc_buf a;
	vs_wr seed = { 0 };
	make_archive(arc_specs[j].arc, &a);
	vs_wr_u8(&seed, arc_specs[j].sel);
	vs_wr_bytes(&seed, a.w.p, a.w.len);
	if (seed.bad || a.w.bad) {
		fail("out of memory", arc_specs[j].name);
	} else if (write) {
		check_archive_seed(seed.p, seed.len, a.entries, arc_specs[j].name);
		if (!save(dir, "archive", arc_specs[j].name, "arc", seed.p, seed.len))
			fail("cannot write seed", arc_specs[j].name);
	} else {
		size_t n;
		uint8_t *p = load(dir, "archive", arc_specs[j].name, "arc", &n);
		check_archive_seed(seed.p, seed.len, a.entries, arc_specs[j].name);
		if (!p)
			failures++;
		else
			check_archive_seed(p, n, a.entries, "committed archive seed");
		free(p);
	}
	vs_wr_free(&seed);
	vs_wr_free(&a.w);
}

/* --- audit log lines and Merkle proofs (fz_audit.h) --- */

static bool audit_line(unsigned which, char *out, size_t cap, size_t *n)
{
	vs_audit_record r;
	vs_key k;
	memset(&r, 0, sizeof r);
	r.seq = which + 1;
	r.time_us = 1764000000123456LL + (int64_t)which * 1000001;
	r.epoch = which;
	snprintf(r.host, sizeof r.host, "fuzz-host");
	snprintf(r.actor, sizeof r.actor, which == 1 ? "CN=ops \"root\",O=Caf\xc3\xa9"
					  : which == 3 ? "uid:root"
						       : "uid:1000");
	r.has_uid = which == 3; /* the numeric uid beside a local principal */
	snprintf(r.action, sizeof r.action, which == 2 ? "audit.torn_tail" : "snapshot.create");
	snprintf(r.vnf, sizeof r.vnf, "vnf-fuzz");
	if (which != 2)
		snprintf(r.snapshot, sizeof r.snapshot, "0123abcd-0000-4000-8000-00000000beef");
	r.generation = which * 7;
	r.outcome = (vs_audit_outcome)(which % 4);
	snprintf(r.reason, sizeof r.reason, "%s",
		 which == 1 ? "tab\there\nline \x01 back\\slash" : which == 2 ? "moved 57 bytes" : "");
	memset(r.prev, which ? 0x5c : 0, sizeof r.prev);
	fz_audit_key(&k);
	if (vs_audit_record_format(&r, out, cap, n) != VS_OK ||
	    vs_audit_record_mac(&k, out, *n - 1, r.mac) != VS_OK ||
	    vs_audit_record_format(&r, out, cap, n) != VS_OK)
		return false;
	(*n)--; /* seeds are lines without the '\n' */
	return true;
}

static bool audit_checkpoint_line(char *out, size_t cap, size_t *n)
{
	vs_signer *s = NULL;
	vs_audit_checkpoint cp;
	uint8_t pub[VS_PUB_LEN];
	memset(&cp, 0, sizeof cp);
	cp.size = 1000;
	memset(cp.root, 0x3c, sizeof cp.root);
	cp.time_us = 1764000999000000LL;
	bool ok = fz_fixed_signer(&s) == VS_OK && vs_signer_public(s, pub) == VS_OK &&
		  vs_pub_keyid(pub, cp.keyid) == VS_OK &&
		  vs_audit_checkpoint_format(&cp, out, cap, n) == VS_OK;
	/* the signature covers the line up to ,"sig":" */
	char *sig = ok ? strstr(out, ",\"sig\":\"") : NULL;
	ok = ok && sig && vs_sign(s, out, (size_t)(sig - out), cp.sig) == VS_OK &&
	     vs_audit_checkpoint_format(&cp, out, cap, n) == VS_OK &&
	     vs_audit_checkpoint_verify(&cp, pub) == VS_OK;
	vs_signer_free(s);
	return ok;
}

static const struct {
	const char *name;
	uint8_t kind;
	uint64_t a, b;
} proof_specs[] = {
	{ "inclusion_5_of_13", 0, 5, 13 },	  { "inclusion_0_of_1", 0, 0, 1 },
	{ "inclusion_63_of_64", 0, 63, 64 },	  { "consistency_3_to_7", 1, 3, 7 },
	{ "consistency_4_to_8", 1, 4, 8 },	  { "consistency_13_to_64", 1, 13, 64 },
};
#define NPROOFS (sizeof proof_specs / sizeof proof_specs[0])

static bool proof_seed(unsigned j, vs_wr *w)
{
	static uint8_t leaves[FZ_TREE_MAX][VS_HASH_LEN], roots[FZ_TREE_MAX + 1][VS_HASH_LEN];
	uint8_t p[64][VS_HASH_LEN];
	size_t n = 0;
	uint64_t a = proof_specs[j].a, b = proof_specs[j].b;
	fz_audit_tree(leaves, roots);
	vs_wr_u8(w, proof_specs[j].kind);
	vs_wr_u64(w, a);
	vs_wr_u64(w, b);
	if (proof_specs[j].kind == 0) {
		if (vs_merkle_inclusion_proof((const uint8_t(*)[VS_HASH_LEN])leaves, b, a, p, 64, &n))
			return false;
		vs_wr_bytes(w, leaves[a], VS_HASH_LEN);
	} else {
		if (vs_merkle_consistency_proof((const uint8_t(*)[VS_HASH_LEN])leaves, a, b, p, 64, &n))
			return false;
		vs_wr_bytes(w, roots[a], VS_HASH_LEN);
	}
	vs_wr_bytes(w, roots[b], VS_HASH_LEN);
	vs_wr_bytes(w, p, n * VS_HASH_LEN);
	return !w->bad;
}

static bool proof_ok(const uint8_t *d, size_t n)
{
	if (n < FZ_PROOF_HDR)
		return false;
	uint64_t a = vs_get_u64(d + 1), b = vs_get_u64(d + 9);
	if (d[0] % 2 == 0)
		return vs_merkle_verify_inclusion(d + 17, a, b, d + FZ_PROOF_HDR, n - FZ_PROOF_HDR,
						  d + 49) == VS_OK;
	return vs_merkle_verify_consistency(a, b, d + FZ_PROOF_HDR, n - FZ_PROOF_HDR, d + 17,
					    d + 49) == VS_OK;
}

static void audit_seed(const char *dir, bool write, const char *sub, const char *name,
		       const uint8_t *p, size_t n, bool (*ok)(const uint8_t *, size_t))
{
	if (!ok(p, n)) {
		fail("generated audit seed is not valid", name);
		return;
	}
	if (write) {
		if (!save(dir, sub, name, "bin", p, n))
			fail("cannot write seed", name);
		return;
	}
	size_t got;
	uint8_t *c = load(dir, sub, name, "bin", &got);
	if (!c)
		failures++;
	else if (!ok(c, got))
		fail("committed audit seed is not valid", name);
	free(c);
}

static bool record_ok(const uint8_t *p, size_t n)
{
	vs_audit_record *r = malloc(sizeof *r);
	vs_audit_checkpoint cp;
	bool ok = r && (vs_audit_record_parse((const char *)p, n, r) == VS_OK ||
			vs_audit_checkpoint_parse((const char *)p, n, &cp) == VS_OK);
	free(r);
	return ok;
}

static void process_audit(const char *dir, bool write)
{
	static char line[VS_AUDIT_LINE_MAX];
	static const char *const names[] = { "record_plain", "record_escapes", "record_torn_tail",
					     "record_uid" };
	size_t n;
	for (unsigned i = 0; i < 4; i++) {
		if (!audit_line(i, line, sizeof line, &n))
			fail("cannot make an audit record", names[i]);
		else
			audit_seed(dir, write, "audit_record", names[i], (const uint8_t *)line, n,
				   record_ok);
	}
	if (!audit_checkpoint_line(line, sizeof line, &n))
		fail("cannot make a checkpoint line", "checkpoint");
	else
		audit_seed(dir, write, "audit_record", "checkpoint", (const uint8_t *)line, n,
			   record_ok);
	for (unsigned j = 0; j < NPROOFS; j++) {
		vs_wr w = { 0 };
		if (!proof_seed(j, &w))
			fail("cannot make a proof", proof_specs[j].name);
		else
			audit_seed(dir, write, "audit_proof", proof_specs[j].name, w.p, w.len,
				   proof_ok);
		vs_wr_free(&w);
	}
}

int main(int argc, char **argv)
{
	bool write = argc == 3 && !strcmp(argv[1], "write");
	if (argc != 3 || (!write && strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: gen_corpus write|check CORPUS_DIR\n");
		return 2;
	}
	for (unsigned i = 0; i < NSPECS; i++)
		process_snapshot(i, argv[2], write);
	for (unsigned j = 0; j < NARCS; j++)
		process_archive(j, argv[2], write);
	process_audit(argv[2], write);
	if (failures) {
		fprintf(stderr, "gen_corpus: %d failure(s)\n", failures);
		return 1;
	}
	printf("gen_corpus: %s %zu snapshot, %zu archive, 4 audit line and %zu proof seeds: OK\n",
	       write ? "wrote" : "checked", NSPECS, NARCS, NPROOFS);
	return 0;
}
