/* snapshot create: engine -> sealer -> file (atomically) or a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/ops.h"

typedef struct {
	vs_sealer *sealer;
	const vs_create_opts *o;
	uint64_t total;
} capture_ctx;

static VS_MUST_USE vs_err sink_reserve(void *ctx, unsigned section, uint8_t **p, size_t *avail)
{
	return vs_sealer_reserve(((capture_ctx *)ctx)->sealer, section, p, avail);
}

static void sink_commit(void *ctx, unsigned section, size_t n)
{
	vs_sealer_commit(((capture_ctx *)ctx)->sealer, section, n);
}

static void sink_progress(void *ctx, uint64_t bytes)
{
	capture_ctx *c = ctx;
	c->o->progress(c->o->progress_ctx, bytes, c->total);
}

static VS_MUST_USE vs_err check_opts(const vs_create_opts *o)
{
	if (!o->vnf || !vs_name_ok(o->vnf))
		return vs_fail_field(VS_E_USAGE, VS_F_VNF,
				     "VNF name '%s' is not valid (1-63 of A-Z a-z 0-9 . _ -)", o->vnf ? o->vnf : "");
	if (!o->engine || strcmp(o->engine, "dir") != 0)
		return vs_fail_field(VS_E_USAGE, VS_F_ENGINE, "engine '%s' is not available (engines: dir)",
				     o->engine ? o->engine : "");
	struct stat st;
	if (!o->source)
		return vs_fail_field(VS_E_USAGE, VS_F_SOURCE, "a source directory is required");
	if (stat(o->source, &st) != 0 || !S_ISDIR(st.st_mode))
		return vs_fail_field(VS_E_USAGE, VS_F_SOURCE, "source %s is not a directory", o->source);
	if (!o->out)
		return vs_fail_field(VS_E_USAGE, VS_F_OUT, "an output file (or standard output) is required");
	if (o->ndomains + 1 > VS_SNAP_MAX_SECTIONS)
		return vs_fail(VS_E_USAGE, "at most %d trust domains", VS_SNAP_MAX_SECTIONS - 1);
	if (o->chunk_size && (o->chunk_size < VS_SNAP_MIN_CHUNK || o->chunk_size > VS_SNAP_MAX_CHUNK))
		return vs_fail_field(VS_E_USAGE, VS_F_CHUNK_SIZE, "the chunk size must be between %u and %u",
				     VS_SNAP_MIN_CHUNK, VS_SNAP_MAX_CHUNK);
	for (size_t i = 0; i < o->ndomains; i++) {
		const vs_domain_map *d = &o->domains[i];
		if (!vs_name_ok(d->name) || !strcmp(d->name, "default"))
			return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN, "'%s' is not a valid trust domain name "
								 "('default' is reserved)", d->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->name, o->domains[j].name) ||
			    !strcmp(d->relpath, o->domains[j].relpath))
				return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
						     "trust domain %s: name or path given twice", d->name);
	}
	return VS_OK;
}

/* Every sensitive domain the VNF was registered with must be mapped: its
 * files would otherwise land, unprotected, in 'default' (R3, R6). */
static VS_MUST_USE vs_err check_sensitive(const vs_create_opts *o, const vs_vnf_record *rec)
{
	char list[sizeof rec->sensitive];
	snprintf(list, sizeof list, "%s", rec->sensitive);
	char *save, *d;
	for (d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		bool mapped = false;
		for (size_t i = 0; i < o->ndomains; i++)
			mapped |= !strcmp(o->domains[i].name, d);
		if (!mapped)
			return vs_set_field(vs_fail(VS_E_POLICY, "VNF '%s' was registered with sensitive domain "
								  "'%s', but no trust domain %s=PATH maps it: "
								  "refused (its files would go into 'default')",
								  o->vnf, d, d),
					    VS_F_DOMAIN);
	}
	return VS_OK;
}

static void fill_header(vs_home *h, const vs_create_opts *o, const vs_vnf_record *rec,
			vs_snap_header *hd)
{
	uint8_t pub[VS_PUB_LEN];
	memset(hd, 0, sizeof *hd);
	memcpy(hd->lineage_id, rec->lineage, VS_ID_LEN);
	hd->generation = rec->generation;
	hd->created = (uint64_t)time(NULL);
	hd->expires = o->expires;
	snprintf(hd->vnf, sizeof hd->vnf, "%s", o->vnf);
	snprintf(hd->engine, sizeof hd->engine, "%s", o->engine);
	vs_home_pub(h, pub, hd->signer_id);
	hd->chunk_size = o->chunk_size ? o->chunk_size : VS_SNAP_DEFAULT_CHUNK;
	hd->nsections = (uint16_t)(o->ndomains + 1);
	strcpy(hd->sections[0].name, "default");
	strcpy(hd->sections[0].domain, "default");
	for (size_t i = 0; i < o->ndomains; i++) {
		snprintf(hd->sections[i + 1].name, VS_NAME_MAX, "%s", o->domains[i].name);
		snprintf(hd->sections[i + 1].domain, VS_NAME_MAX, "%s", o->domains[i].name);
	}
}

/* One transaction: catalog row (BUILDING) and every domain's data key. */
static VS_MUST_USE vs_err make_keys(vs_home *h, vs_snap_header *hd, const char *path, vs_key *keys)
{
	VS_TRY(vs_random(hd->snapshot_id, VS_ID_LEN));
	VS_TRY(vs_home_tx_begin(h));
	vs_err rc = vs_catalog_begin(h, hd, path);
	for (unsigned i = 0; rc == VS_OK && i < hd->nsections; i++)
		rc = vs_keystore_create(h, hd->snapshot_id, hd->sections[i].domain,
					hd->sections[i].key_id, &keys[i]);
	if (rc == VS_OK)
		rc = vs_home_tx_commit(h);
	if (rc != VS_OK)
		vs_home_tx_rollback(h);
	return rc;
}

static VS_MUST_USE vs_err open_output(const char *out, char *tmp, size_t cap, int *fd)
{
	char dir[4096], base[4096];
	struct stat st;
	if (!strcmp(out, "-")) {
		if (isatty(STDOUT_FILENO))
			return vs_fail_field(VS_E_USAGE, VS_F_OUT,
					     "refusing to write a snapshot to a terminal; redirect "
					     "standard output or name an output file");
		*fd = STDOUT_FILENO;
		tmp[0] = 0;
		return VS_OK;
	}
	if (lstat(out, &st) == 0)
		return vs_fail(VS_E_USAGE, "%s already exists; refusing to overwrite it", out);
	VS_TRY(vs_split_path(out, dir, sizeof dir, base, sizeof base));
	if (snprintf(tmp, cap, "%s/.%s.partial-XXXXXX", dir, base) >= (int)cap)
		return vs_fail(VS_E_USAGE, "output path too long");
	*fd = mkostemp(tmp, O_CLOEXEC);
	if (*fd < 0) {
		vs_err rc = vs_fail_errno(VS_E_ENV, "cannot create %s", out);
		tmp[0] = 0;
		return rc;
	}
	return VS_OK;
}

/* A partial file is never renamed to the requested name. */
static VS_MUST_USE vs_err publish(int fd, const char *tmp, const char *out)
{
	if (fsync(fd) != 0)
		return vs_fail_errno(VS_E_ENV, "fsync %s", out);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_NOREPLACE) != 0)
		return vs_fail_errno(errno == EEXIST ? VS_E_USAGE : VS_E_ENV, "cannot create %s", out);
	return vs_fsync_dir_of(out);
}

/* The catalog records where the file went, as an absolute path. */
static VS_MUST_USE vs_err absolute(const char *out, char *abs, size_t cap)
{
	char cwd[4096];
	if (!strcmp(out, "-") || out[0] == '/') {
		snprintf(abs, cap, "%s", out);
		return VS_OK;
	}
	if (!getcwd(cwd, sizeof cwd))
		return vs_fail_errno(VS_E_ENV, "getcwd");
	if (snprintf(abs, cap, "%s/%s", cwd, out) >= (int)cap)
		return vs_fail(VS_E_USAGE, "output path too long");
	return VS_OK;
}

static VS_MUST_USE vs_err create_locked(vs_home *h, const vs_create_opts *o, vs_snap_result *res)
{
	vs_snap_header *hd = &res->header;
	vs_key keys[VS_SNAP_MAX_SECTIONS];
	char tmp[4096] = "", abs_out[4096];
	int fd = -1;
	capture_ctx cc = { NULL, o, 0 };
	vs_vnf_record rec;
	vs_fence tok;
	bool have_tok = false;
	if (!o->ledger)
		return vs_fail(VS_E_USAGE, "a ledger is required");
	VS_TRY(vs_home_token_get(h, o->vnf, &tok, &have_tok));
	/* Refuse early (unregistered, live elsewhere, migrating) before any work. */
	VS_TRY(vs_ledger_check_snapshot(o->ledger, o->vnf, vs_home_host(h), have_tok ? &tok : NULL,
					&rec));
	VS_TRY(check_sensitive(o, &rec));
	fill_header(h, o, &rec, hd);
	if (o->progress)
		VS_TRY(vs_dir_measure(o->source, &cc.total));
	VS_TRY(absolute(o->out, abs_out, sizeof abs_out));
	VS_TRY(open_output(o->out, tmp, sizeof tmp, &fd));
	vs_err rc = make_keys(h, hd, abs_out, keys);
	bool have_keys = rc == VS_OK;
	vs_sink sink = vs_sink_fd(&fd);
	if (rc == VS_OK)
		rc = vs_sealer_new(&cc.sealer, hd, keys, vs_home_signer(h), &sink);
	for (unsigned i = 0; i < VS_SNAP_MAX_SECTIONS; i++)
		vs_key_wipe(&keys[i]);
	vs_section_sink ss = { &cc, sink_reserve, sink_commit, o->progress ? sink_progress : NULL };
	if (rc == VS_OK)
		rc = vs_dir_capture(o->source, o->domains, o->ndomains, &ss);
	if (rc == VS_OK)
		rc = vs_sealer_finish(cc.sealer, &res->summary);
	vs_sealer_free(cc.sealer);
	if (rc == VS_OK && tmp[0])
		rc = publish(fd, tmp, o->out);
	if (fd >= 0 && fd != STDOUT_FILENO)
		close(fd);
	if (rc == VS_OK) {
		vs_fault("create.after_publish");
		/* Published first, recorded second: the ledger never names a
		 * snapshot that does not exist; recovery settles the gap. */
		rc = vs_ledger_record_snapshot(o->ledger, o->vnf, vs_home_host(h),
					       have_tok ? &tok : NULL, hd->snapshot_id, rec.generation);
		if (rc == VS_E_ENV || rc == VS_E_UNKNOWN) {
			/* Unknown whether the ledger took it (gap 3): the snapshot
			 * stays BUILDING, file and keys kept; recovery decides. */
			char msg[512];
			snprintf(msg, sizeof msg, "%s", vs_errmsg());
			return vs_refuse(VS_E_UNKNOWN, VS_R_RECOVER, o->vnf,
					 "%s; the snapshot is kept until the recovery of VNF '%s' "
					 "settles it", msg, o->vnf);
		}
		if (rc != VS_OK && tmp[0])
			unlink(o->out);
	}
	if (rc == VS_OK) {
		vs_fault("create.after_record");
		return vs_catalog_finish(h, hd->snapshot_id, "AVAILABLE", res->summary.file_len,
					 hd->digest);
	}
	/* Failure: no file under the requested name, and the keys of the
	 * unfinished snapshot are erased so nothing partial is readable. */
	if (tmp[0])
		unlink(tmp);
	if (have_keys) {
		int n;
		vs_err saved = rc;
		vs_reason why = vs_errreason();
		vs_field field = vs_errfield();
		char msg[512], why_vnf[256];
		snprintf(msg, sizeof msg, "%s", vs_errmsg());
		snprintf(why_vnf, sizeof why_vnf, "%s", vs_errvnf());
		/* Marked FAILED only once its keys are gone: else it stays
		 * BUILDING, and 'vnf recover' erases them. */
		if (vs_keystore_erase(h, hd->snapshot_id, &n) != VS_OK)
			return vs_refuse(saved, VS_R_RECOVER, o->vnf,
					 "%s; its keys could not be erased: the recovery of VNF '%s' "
					 "erases them", msg, o->vnf);
		if (vs_catalog_finish(h, hd->snapshot_id, "FAILED", 0, NULL) != VS_OK)
			return vs_refuse(saved, VS_R_RECOVER, o->vnf,
					 "%s; keys erased, but the catalog still says BUILDING (the "
					 "recovery of VNF '%s' settles it)", msg, o->vnf);
		/* The caller gets the failure's own message, reason and field. */
		rc = vs_set_field(vs_refuse(saved, why, why_vnf[0] ? why_vnf : NULL, "%s", msg),
				  field);
	}
	return rc;
}

VS_MUST_USE vs_err vs_snapshot_create(vs_home *h, const vs_create_opts *o, vs_snap_result *res)
{
	VS_TRY(check_opts(o));
	int lock;
	VS_TRY(vs_home_lock(h, o->vnf, false, &lock));
	vs_err rc = create_locked(h, o, res);
	vs_home_unlock(lock);
	return rc;
}
