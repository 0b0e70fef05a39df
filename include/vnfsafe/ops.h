/* High-level snapshot operations: engine + sealer + keystore + catalog.
 * The CLI and the agent are thin users of these. */
#ifndef VNFSAFE_OPS_H
#define VNFSAFE_OPS_H

#include "vnfsafe/audit.h"
#include "vnfsafe/engine.h"
#include "vnfsafe/home.h"
#include "vnfsafe/snapshot.h"

typedef void (*vs_progress_fn)(void *ctx, uint64_t done, uint64_t total /* 0 = unknown */);

typedef struct {
	const char *vnf;
	const char *engine; /* "dir" */
	const char *source;
	const vs_domain_map *domains;
	size_t ndomains;
	const char *out; /* path, or "-" for standard output */
	uint32_t chunk_size; /* 0 = default */
	uint64_t expires;
	vs_progress_fn progress;
	void *progress_ctx;
	vs_ledger *ledger; /* the VNF must be registered; the snapshot is recorded */
} vs_create_opts;

typedef struct {
	vs_snap_header header;
	vs_snap_summary summary;
} vs_snap_result;

VS_MUST_USE vs_err vs_snapshot_create(vs_home *h, const vs_create_opts *o, vs_snap_result *res);

typedef struct {
	const char *in; /* path, or "-" for standard input */
	const char *to; /* NULL: verify only, release nothing */
	const char *const *domains; /* NULL: all */
	size_t ndomains;
	vs_progress_fn progress;
	void *progress_ctx;
	vs_ledger *ledger;   /* restore: activation checks (fork, roll-back) */
	bool allow_rollback; /* restore: explicit authorization of a roll-back */
} vs_open_opts;

/* Verifies everything before anything becomes visible at o->to. A restore
 * also activates the VNF in the ledger (docs/ledger.md); *rec and *tok then
 * hold the new record and this host's fencing token. */
VS_MUST_USE vs_err vs_snapshot_open(vs_home *h, const vs_open_opts *o, vs_snap_result *res,
			vs_vnf_record *rec);

/* Opens the home named by arg (NULL: $VNFSAFE_HOME, else the user's
 * default); path (cap bytes) receives where it is. */
VS_MUST_USE vs_err vs_open_home(const char *arg, char *path, size_t cap, vs_home **h);
/* 'init' at the home named by arg (vs_home_create, then opened); the seed
 * options as vs_home_create takes them. */
VS_MUST_USE vs_err vs_init_home(const char *arg, const char *seed_path, uint64_t interval,
				char *path, size_t cap, char *seed_out, size_t seed_cap,
				vs_home **h);
/* This home's snapshots, in the catalog's order. */
VS_MUST_USE vs_err vs_snapshot_list(vs_home *h,
				    vs_err (*cb)(void *ctx, const vs_catalog_entry *e), void *ctx);

/* Opens the ledger at uri (NULL: the home's own, sqlite:HOME/ledger.db);
 * with h, the etcd audit anchor is signed with h's checkpoint key. */
VS_MUST_USE vs_err vs_open_ledger(vs_home *h, const char *uri, const vs_etcd_opts *etcd,
				  vs_ledger **l);

/* What a front end shows beside a result: this host, how the ledger and
 * the keystore are protected against roll-back, how the ledger is
 * authenticated. Any of h and l may be NULL (its fields are then NULL). */
typedef struct {
	const char *host;
	const char *ledger_anchor;
	const char *ledger_auth;
	const char *keystore;
	char key_id[2 * VS_HASH_LEN + 1]; /* the host key's id, hex ("" without h) */
} vs_host_notes;
void vs_host_notes_get(const vs_home *h, vs_ledger *l, vs_host_notes *n);

/* --- VNF lifecycle on this host (tokens kept in the home) --- */
/* A new VNF in the ledger, REGISTERED, generation 0, no host; sensitive:
 * comma-separated trust domains that every snapshot must map (or ""). */
VS_MUST_USE vs_err vs_vnf_register(vs_ledger *l, const char *name, const char *sensitive,
				   vs_vnf_record *rec);
/* The ledger's record of one VNF; every VNF, in name order. */
VS_MUST_USE vs_err vs_vnf_status(vs_ledger *l, const char *name, vs_vnf_record *rec);
VS_MUST_USE vs_err vs_vnf_list(vs_ledger *l, vs_err (*cb)(void *ctx, const vs_vnf_record *r),
			       void *ctx);
/* For good: a REGISTERED or STOPPED VNF becomes RETIRED (its latest
 * snapshot may then be deleted). */
VS_MUST_USE vs_err vs_vnf_retire(vs_ledger *l, const char *name, vs_vnf_record *rec);

/* discard_reason: the operator accepts, for this reason, that a final latest
 * snapshot taken on another host is discarded (docs/ledger.md); NULL: refused
 * (VS_E_POLICY, VS_R_DISCARDS_LATEST) when there is one; "" is VS_E_USAGE
 * (VS_R_NEED_REASON). The session records the reason (vs_session_reason). */
VS_MUST_USE vs_err vs_vnf_start(vs_home *h, vs_ledger *l, const char *name,
				const char *discard_reason, vs_vnf_record *rec);
VS_MUST_USE vs_err vs_vnf_stop(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec);
VS_MUST_USE vs_err vs_vnf_pause(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec);
VS_MUST_USE vs_err vs_vnf_resume(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec);
/* Operator: host is dead; fence it and stop the VNF. Refused (VS_E_POLICY,
 * VS_R_OWN_LIVE_VNF) when this home holds the VNF's valid token (it runs
 * here: stop it). The operator's reason is required (VS_E_USAGE,
 * VS_R_NEED_REASON without); the session records it. */
VS_MUST_USE vs_err vs_vnf_release(vs_home *h, vs_ledger *l, const char *name, const char *host,
				  const char *reason, vs_vnf_record *rec);

/* Resolves whatever an interrupted operation left (docs/ledger.md,
 * "Recovery"); actions describes what was done, one per line. */
VS_MUST_USE vs_err vs_vnf_recover(vs_home *h, vs_ledger *l, const char *name, vs_vnf_record *rec,
		      char *actions, size_t cap);

/* Header only, no keys, no verification. h may be NULL. */
VS_MUST_USE vs_err vs_snapshot_inspect(const char *path, vs_snap_header *hd, uint64_t *file_size);

typedef struct {
	char vnf[VS_NAME_MAX]; /* the snapshot's VNF, as soon as the catalog named it */
	int keys_erased;
	bool file_removed;
	char file[4096];
} vs_delete_result;
/* snapshot delete: under the VNF's exclusive lock, checks the ledger and
 * crypto-erases the snapshot's keys. Refuses (VS_E_POLICY) to delete the
 * latest snapshot of a VNF that is not RETIRED (the VNF continues from it)
 * unless force; erases only on a definite answer from the ledger (not
 * registered, RETIRED, another latest snapshot), else VS_E_ENV (no answer)
 * or VS_E_INTEGRITY (a damaged ledger) and nothing is erased. l may be NULL
 * only with force. */
VS_MUST_USE vs_err vs_snapshot_erase(vs_home *h, vs_ledger *l, const uint8_t id[VS_ID_LEN], bool force,
			 bool keep_file, vs_delete_result *res);
/* The erase alone, no check and no lock: for a caller that holds the VNF's
 * exclusive lock and has decided (recovery). */
VS_MUST_USE vs_err vs_snapshot_delete(vs_home *h, const uint8_t id[VS_ID_LEN], bool keep_file,
			  vs_delete_result *res);

/* --- the home's audit log (docs/audit.md) --- */
/* 'init', all or nothing: every check first (no home at path; seed_path, if
 * given, absent and not a link, in an existing directory), then the home
 * and its audit log are built in staging and renamed into place last. On
 * failure no home and no seed are left. seed_path NULL: HOME/audit-seed.
 * seed_out receives where the seed went. */
VS_MUST_USE vs_err vs_home_create(const char *path, const char *seed_path, uint64_t interval,
		      char *seed_out, size_t cap);
/* <home>/audit */
VS_MUST_USE vs_err vs_home_audit_dir(const vs_home *h, char *out, size_t cap);
/* The last complete record of DIR/log (size 0 when empty). */
VS_MUST_USE vs_err vs_audit_tail(const char *dir, vs_log_anchor *tail);
/* VS_E_INTEGRITY unless the record anchored in a ends exactly at a->offset
 * with seq a->size and leaf hash a->head. */
VS_MUST_USE vs_err vs_audit_check_anchor(const char *dir, const vs_log_anchor *a);
/* Checks the log against host's anchor in the ledger, then moves the anchor
 * to the log's last record (under the log's lock). *out: the new anchor. */
VS_MUST_USE vs_err vs_audit_anchor_sync(const char *dir, vs_ledger *l, const char *host, vs_log_anchor *out);
/* etcd: VS_E_INTEGRITY when the home's witness (DIR/anchor-witness) says
 * this log was anchored in a's cluster and the key is gone (!found) or was
 * created anew; a and found as vs_ledger_log_anchor_get gave them. */
VS_MUST_USE vs_err vs_audit_witness_check(const char *dir, const vs_log_anchor *a, bool found);
/* Records host's etcd anchor key, as it is now, in DIR/anchor-witness. */
VS_MUST_USE vs_err vs_audit_witness_note(const char *dir, vs_ledger *l, const char *host);

#endif
