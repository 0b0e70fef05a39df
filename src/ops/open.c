/* snapshot verify / restore / inspect / delete. */
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
	vs_home *home;
	const vs_open_opts *o;
	vs_dir_restore *restore;
	vs_arc_dec check[VS_SNAP_MAX_SECTIONS]; /* verify: archive structure only */
	uint64_t total;
	vs_err refused; /* the ledger's early answer, reported once integrity is known */
	vs_reason refused_why;
	char refused_vnf[VS_NAME_MAX];
	char refusal[512];
	bool await_record; /* the snapshot is still being created (streamed) here */
} open_ctx;

static VS_MUST_USE vs_err nop_entry(void *ctx, const vs_arc_entry *e) { (void)ctx, (void)e; return VS_OK; }
static VS_MUST_USE vs_err nop_data(void *ctx, const uint8_t *p, size_t n) { (void)ctx, (void)p, (void)n; return VS_OK; }
static VS_MUST_USE vs_err nop_end(void *ctx) { (void)ctx; return VS_OK; }

static bool wanted(const vs_open_opts *o, const char *domain)
{
	if (!o->domains)
		return true;
	for (size_t i = 0; i < o->ndomains; i++)
		if (!strcmp(o->domains[i], domain))
			return true;
	return false;
}

static VS_MUST_USE vs_err on_header(void *ctx, const vs_snap_header *h, uint8_t pub[VS_PUB_LEN])
{
	open_ctx *c = ctx;
	VS_TRY(vs_home_trusted_signer(c->home, h->signer_id, pub));
	/* Not yet authenticated: an unknown engine is damage or a newer format. */
	if (strcmp(h->engine, "dir") != 0)
		return vs_fail(VS_E_INTEGRITY, "header names engine '%s', which this vnfsafe does not "
					       "know (tampered, or made by a newer vnfsafe)", h->engine);
	for (size_t i = 0; c->o->domains && i < c->o->ndomains; i++) {
		bool found = false;
		for (unsigned j = 0; j < h->nsections; j++)
			found |= !strcmp(h->sections[j].domain, c->o->domains[i]);
		if (!found)
			return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
					     "trust domain %s: the snapshot has no such trust domain "
					     "(its header lists those it has)", c->o->domains[i]);
	}
	vs_arc_ops ops = { NULL, nop_entry, nop_data, nop_end };
	for (unsigned i = 0; i < h->nsections; i++)
		vs_arc_dec_init(&c->check[i], &ops);
	if (!c->o->to)
		return VS_OK;
	/* Integrity comes first: a damaged file is an integrity failure whatever
	 * the ledger says. A refusal here only means nothing gets staged: the
	 * file is still verified in full and the refusal reported after. */
	/* A snapshot streamed straight from 'create -o -' is recorded only when
	 * its creation ends: decide after that, not now. */
	vs_catalog_entry e;
	c->await_record = vs_catalog_get(c->home, h->snapshot_id, &e) == VS_OK &&
			  !strcmp(e.state, "BUILDING");
	if (!c->await_record)
		c->refused = vs_ledger_check_restore(c->o->ledger, h->vnf, h->lineage_id,
						     h->snapshot_id, c->o->allow_rollback);
	if (c->refused != VS_OK) {
		snprintf(c->refusal, sizeof c->refusal, "%s", vs_errmsg());
		c->refused_why = vs_errreason();
		snprintf(c->refused_vnf, sizeof c->refused_vnf, "%s", vs_errvnf());
		return VS_OK;
	}
	return vs_dir_restore_begin(&c->restore, c->o->to, h->nsections);
}

static VS_MUST_USE vs_err section_key(void *ctx, const vs_snap_header *h, unsigned i, vs_key *key, bool *skip)
{
	open_ctx *c = ctx;
	const vs_section_info *s = &h->sections[i];
	*skip = !wanted(c->o, s->domain);
	if (*skip)
		return VS_OK;
	return vs_keystore_get(c->home, h->snapshot_id, s->domain, s->key_id, key);
}

static VS_MUST_USE vs_err on_data(void *ctx, unsigned section, const uint8_t *p, size_t n, bool final)
{
	open_ctx *c = ctx;
	if (c->restore)
		return vs_dir_restore_feed(c->restore, section, p, n, final);
	VS_TRY(vs_arc_dec_feed(&c->check[section], p, n));
	return final ? vs_arc_dec_finish(&c->check[section]) : VS_OK;
}

static void on_progress(void *ctx, uint64_t bytes)
{
	open_ctx *c = ctx;
	c->o->progress(c->o->progress_ctx, bytes, c->total);
}

static VS_MUST_USE vs_err open_input(const char *in, int *fd, uint64_t *size)
{
	struct stat st;
	*size = 0;
	if (!strcmp(in, "-")) {
		*fd = STDIN_FILENO;
	} else {
		*fd = open(in, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return vs_fail_errno(errno == ENOENT ? VS_E_USAGE : VS_E_ENV, "cannot open %s", in);
	}
	if (fstat(*fd, &st) == 0 && S_ISREG(st.st_mode))
		*size = (uint64_t)st.st_size;
	else if (fstat(*fd, &st) == 0 && S_ISDIR(st.st_mode))
		return vs_fail(VS_E_USAGE, "%s is a directory, not a snapshot file", in);
	return VS_OK;
}

/* Waits (bounded) until the creation of a streamed snapshot has ended. */
static VS_MUST_USE vs_err await_record(vs_home *h, const uint8_t id[VS_ID_LEN], bool allow_rollback)
{
	vs_catalog_entry e;
	for (int i = 0; i < 1200; i++) {
		VS_TRY(vs_catalog_get(h, id, &e));
		if (strcmp(e.state, "BUILDING") != 0)
			break;
		if (vs_interrupted)
			return vs_fail(VS_E_ENV, "interrupted");
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (!strcmp(e.state, "FAILED") || !strcmp(e.state, "ERASED"))
		return vs_refuse(VS_E_POLICY, VS_R_CREATION_FAILED, e.vnf,
				 "the creation of this snapshot failed: nothing restored");
	/* Still BUILDING after a minute: the ledger decides, unless the restore
	 * is an authorized roll-back, which must not revive a snapshot that
	 * never counted (its creation may have died; recovery settles it). */
	if (!strcmp(e.state, "BUILDING") && allow_rollback)
		return vs_refuse(VS_E_POLICY, VS_R_RECOVER, e.vnf,
				 "this snapshot's creation has not finished (BUILDING): an authorized "
				 "roll-back needs a recorded snapshot (recover VNF '%s' if its "
				 "creation died)", e.vnf);
	return VS_OK;
}

/* Verified and staged: journal, activate in the ledger, publish, keep the
 * token. Each step is one a crash may interrupt; recovery finishes it. */
static VS_MUST_USE vs_err activate_locked(vs_home *h, open_ctx *c, const vs_snap_header *hd, vs_vnf_record *rec)
{
	vs_pending p;
	vs_fence tok;
	/* Checked again just before anything is journaled or activated. */
	VS_TRY(vs_dir_check_target(c->o->to));
	memset(&p, 0, sizeof p);
	snprintf(p.vnf, sizeof p.vnf, "%s", hd->vnf);
	p.kind = VS_PENDING_RESTORE;
	VS_TRY(vs_activation_new(&p.act)); /* journaled with its token secret */
	memcpy(p.snapshot, hd->snapshot_id, VS_ID_LEN);
	snprintf(p.staging, sizeof p.staging, "%s", vs_dir_restore_ready_path(c->restore));
	snprintf(p.target, sizeof p.target, "%s", c->o->to);
	VS_TRY(vs_home_pending_put(h, &p));
	vs_fault("restore.after_journal");
	vs_err rc = vs_dir_restore_stage(c->restore);
	bool asked = rc == VS_OK;
	if (rc == VS_OK) {
		vs_fault("restore.after_ready");
		rc = vs_ledger_restore(c->o->ledger, hd->vnf, vs_home_host(h), hd->lineage_id,
				       hd->snapshot_id, c->o->allow_rollback, &p.act, &tok, rec);
	}
	if ((rc == VS_E_ENV || rc == VS_E_UNKNOWN) && asked) {
		/* Unknown whether the ledger took it (gap 3): keep the journal and
		 * the staged state; recovery decides on the activation id. */
		char msg[512];
		snprintf(msg, sizeof msg, "%s", vs_errmsg());
		return vs_refuse(VS_E_UNKNOWN, VS_R_RECOVER, hd->vnf,
				 "%s; the staged restore is kept until the recovery of VNF '%s' "
				 "settles it", msg, hd->vnf);
	}
	if (rc != VS_OK) {
		/* Refused: nothing was activated. Best-effort cleanup; what
		 * stays behind is swept as stale staging and by recovery. */
		vs_ignore(vs_rm_rf(p.staging));
		vs_ignore(vs_home_pending_drop(h, p.vnf));
		return rc;
	}
	vs_fault("restore.after_cas");
	vs_pause("restore.before_publish");
	rc = vs_dir_publish(p.staging, p.target);
	if (rc != VS_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", vs_errmsg());
		return vs_refuse(rc, VS_R_RECOVER, hd->vnf,
				 "%s; VNF '%s' is now ACTIVE on this host (generation %llu) from this "
				 "snapshot and its restored state waits, private (0700), in %s: make %s "
				 "absent or an empty directory, then its recovery moves it there",
				 msg, hd->vnf, (unsigned long long)rec->generation, p.staging, p.target);
	}
	vs_fault("restore.after_publish");
	return vs_home_token_keep(h, hd->vnf, &tok);
}

/* The keys were read before the lock: a delete may have erased them since.
 * Checked under the VNF's exclusive lock, which delete takes too, so no
 * activation ever comes from an erased snapshot. */
static VS_MUST_USE vs_err still_there(vs_home *h, const vs_snap_header *hd)
{
	vs_catalog_entry e;
	char sid[37];
	vs_id_format(hd->snapshot_id, sid);
	vs_err rc = vs_catalog_get(h, hd->snapshot_id, &e);
	if (rc == VS_OK && (!strcmp(e.state, "ERASED") || !strcmp(e.state, "FAILED")))
		rc = vs_fail(VS_E_INTEGRITY, "snapshot %s is %s in this home's catalog", sid, e.state);
	for (unsigned i = 0; rc == VS_OK && i < hd->nsections; i++) {
		vs_key k;
		rc = vs_keystore_get(h, hd->snapshot_id, hd->sections[i].domain,
				     hd->sections[i].key_id, &k);
		vs_key_wipe(&k);
	}
	if (rc != VS_OK)
		return vs_wrap(rc == VS_E_ENV ? VS_E_ENV : VS_E_INTEGRITY,
			       "snapshot %s was deleted during the restore, nothing restored", sid);
	return VS_OK;
}

static VS_MUST_USE vs_err activate(vs_home *h, open_ctx *c, const vs_snap_header *hd, vs_vnf_record *rec)
{
	int lock;
	vs_fault("restore.before_lock");
	VS_TRY(vs_home_lock(h, hd->vnf, true, &lock));
	vs_err rc = still_there(h, hd);
	if (rc == VS_OK) {
		vs_fault("restore.locked");
		rc = activate_locked(h, c, hd, rec);
	}
	vs_home_unlock(lock);
	return rc;
}

VS_MUST_USE vs_err vs_snapshot_open(vs_home *h, const vs_open_opts *o, vs_snap_result *res,
			vs_vnf_record *rec)
{
	if (o->to && !o->ledger)
		return vs_fail(VS_E_USAGE, "restore needs a ledger");
	open_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return vs_fail(VS_E_ENV, "out of memory");
	c->home = h;
	c->o = o;
	int fd = -1;
	/* Argument errors first, then integrity, then the ledger's decision. */
	vs_err rc = o->to ? vs_dir_check_target(o->to) : VS_OK;
	if (rc == VS_OK)
		rc = open_input(o->in, &fd, &c->total);
	if (rc == VS_OK) {
		vs_source src = vs_source_fd(&fd);
		vs_unseal_ops ops = { c, on_header, section_key, on_data,
				      o->progress ? on_progress : NULL };
		rc = vs_unseal(&src, &ops, &res->header, &res->summary);
	}
	if (rc == VS_OK && c->refused != VS_OK)
		rc = vs_refuse(c->refused, c->refused_why, c->refused_vnf, "%s", c->refusal);
	if (rc == VS_OK && c->await_record)
		rc = await_record(h, res->header.snapshot_id, o->allow_rollback);
	if (rc == VS_OK && c->restore)
		rc = activate(h, c, &res->header, rec);
	vs_dir_restore_free(c->restore); /* removes the staging dir unless staged */
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	free(c);
	return rc;
}

VS_MUST_USE vs_err vs_snapshot_inspect(const char *path, vs_snap_header *hd, uint64_t *file_size)
{
	int fd;
	VS_TRY(open_input(path, &fd, file_size));
	vs_source src = vs_source_fd(&fd);
	vs_err rc = vs_snap_header_read(&src, hd);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}
