/* The lineage ledger (requirement R5): one record per VNF saying which host
 * runs it and at which generation. Every change is a compare-and-swap on the
 * record's version, so of two racing hosts exactly one wins; the generation
 * never goes down. Backends: SQLite (embedded default) and etcd (clusters). */
#ifndef VNFSAFE_LEDGER_H
#define VNFSAFE_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/err.h"
#include "vnfsafe/ids.h"

#define VS_HOST_MAX 64
#define VS_SENSITIVE_MAX 512
#define VS_TOKEN_SECRET_LEN 32

typedef enum {
	VS_VNF_REGISTERED = 0,
	VS_VNF_ACTIVE,
	VS_VNF_PAUSED,
	VS_VNF_STOPPED,
	VS_VNF_MIGRATING,
	VS_VNF_RETIRED,
} vs_vnf_state;

const char *vs_vnf_state_name(vs_vnf_state s);

typedef struct {
	char name[VS_NAME_MAX];
	uint8_t lineage[VS_ID_LEN];
	uint64_t generation;          /* bumped by every activation; never decreases */
	vs_vnf_state state;
	char owner[VS_HOST_MAX];      /* runs it (ACTIVE, PAUSED, MIGRATING source); else last owner */
	char target[VS_HOST_MAX];     /* MIGRATING destination */
	bool has_snapshot;
	uint8_t latest_snapshot[VS_ID_LEN]; /* the snapshot the current state descends from */
	uint64_t latest_snapshot_gen;
	/* The latest snapshot was taken while no host executed the VNF (REGISTERED
	 * or STOPPED), or an operator's release gave up what came after it: no
	 * state is newer. Cleared by every activation. Restoring from STOPPED
	 * needs a final latest snapshot (docs/ledger.md, gap 1). */
	bool latest_final;
	/* Random id written by the activation (start, restore, migration commit)
	 * that made the current generation: lets a host recognise its own
	 * activation after a crash or a lost reply (docs/ledger.md, gaps 3-4). */
	uint8_t activation[VS_ID_LEN];
	/* The host that recorded the latest snapshot (took it, or activated
	 * from it by a restore); "" when unknown (a record from before this
	 * field). A start elsewhere would discard a final latest snapshot. */
	char latest_host[VS_HOST_MAX];
	/* SHA-256 of the fencing-token secret the activating host holds: the
	 * public fields of a token (lineage, generation, host) are not enough
	 * to act as the owner. All zero: no secret (refuses every token). */
	uint8_t token_hash[VS_HASH_LEN];
	char sensitive[VS_SENSITIVE_MAX];   /* comma-separated sensitive trust domains */
	uint64_t version;             /* backend's CAS version: bumps on every change */
	int64_t updated;              /* unix seconds */
} vs_vnf_record;

/* A fencing token: what an activation hands to its host. Operations carry it;
 * a token whose generation or host no longer matches the ledger is stale,
 * and one whose secret does not hash to the record's token_hash is not the
 * owner's. The secret never leaves the host's home (wipe it after use). */
typedef struct {
	uint8_t lineage[VS_ID_LEN];
	uint64_t generation;
	char host[VS_HOST_MAX];
	uint8_t secret[VS_TOKEN_SECRET_LEN];
} vs_fence;

/* What an activating host makes before its CAS and journals: the id the
 * record will carry, and the token secret whose hash it will carry. */
typedef struct {
	uint8_t id[VS_ID_LEN];
	uint8_t secret[VS_TOKEN_SECRET_LEN];
} vs_activation;
VS_MUST_USE vs_err vs_activation_new(vs_activation *a);
/* The token of the activation that made r, for the holder of its secret. */
void vs_fence_make(const vs_vnf_record *r, const uint8_t secret[VS_TOKEN_SECRET_LEN],
		   vs_fence *tok);
/* token_hash := SHA-256("vnfsafe fencing token v1" || secret). */
VS_MUST_USE vs_err vs_token_hash(const uint8_t secret[VS_TOKEN_SECRET_LEN], uint8_t hash[VS_HASH_LEN]);

typedef enum {
	VS_ANCHOR_PLAIN = 0, /* a backend that keeps the fields itself (sqlite) */
	VS_ANCHOR_UNSIGNED,  /* etcd, {"size","offset","head","restarts"}: no signer was set */
	VS_ANCHOR_SIGNED,    /* etcd, signed by the host's checkpoint key */
	VS_ANCHOR_GENESIS,   /* etcd, {"genesis":HOST}: created, not yet written (found is false) */
} vs_log_anchor_form;

/* Where a host's audit log stood when last anchored (docs/audit.md): its
 * number of records, the byte offset just past the last of them, and that
 * record's RFC 6962 leaf hash (which commits to the whole hash chain). The
 * ledger never lets it go back. */
typedef struct {
	uint64_t size;
	uint64_t offset;
	uint8_t head[VS_HASH_LEN];
	uint64_t restarts; /* times an operator started this host's log anew */
	/* etcd only (docs/audit.md, "The signed anchor in etcd"): how the value
	 * was stored, what it signs, and what etcd says of the key now. */
	vs_log_anchor_form form;
	uint64_t count;      /* signed: updates of the etcd key, this one included */
	uint64_t create_rev; /* signed: the key's etcd create_revision */
	uint8_t sig[VS_SIG_LEN];
	uint64_t kv_version, kv_create_rev; /* read: the key's etcd version, create_revision */
	uint64_t kv_cluster; /* read: the etcd cluster that answered (0: not etcd) */
} vs_log_anchor;

/* --- backend interface --- */
typedef struct vs_ledger vs_ledger;
typedef struct {
	const char *scheme; /* "sqlite", "etcd" */
	/* VS_E_USAGE "no VNF named X" when absent. */
	vs_err (*get)(vs_ledger *l, const char *name, vs_vnf_record *out);
	/* Creates rec (version ignored); VS_E_USAGE when the name exists. */
	vs_err (*create)(vs_ledger *l, const vs_vnf_record *rec);
	/* Replaces the record iff its current version is `expected`; VS_E_POLICY
	 * with "changed concurrently" otherwise. */
	vs_err (*cas)(vs_ledger *l, const vs_vnf_record *rec, uint64_t expected);
	vs_err (*list)(vs_ledger *l, vs_err (*cb)(void *ctx, const vs_vnf_record *r), void *ctx);
	/* The audit-log anchor of host: *found false when none; *version is
	 * the CAS version. */
	vs_err (*log_anchor_get)(vs_ledger *l, const char *host, vs_log_anchor *a,
				 uint64_t *version, bool *found);
	/* Writes it iff its version is `expected` (0: absent); VS_E_POLICY
	 * "changed concurrently" otherwise. */
	vs_err (*log_anchor_cas)(vs_ledger *l, const char *host, const vs_log_anchor *a,
				 uint64_t expected);
	void (*close)(vs_ledger *l);
} vs_ledger_ops;

struct vs_ledger {
	const vs_ledger_ops *ops;
	char uri[512];
	/* Set by a backend's successful cas: the record's new version (0 when
	 * the backend cannot tell). Lets a handle start its next transition on
	 * that record from this cache, one round trip instead of two; the CAS
	 * itself proves the cache fresh, and a refusal based on it is re-checked
	 * on a fresh read before it is reported. */
	uint64_t last_version;
	bool cached;
	vs_vnf_record cache;
	/* etcd: signs the audit anchor (the home's checkpoint key, docs/audit.md);
	 * NULL writes it unsigned. Set by the caller after opening. */
	const vs_signer *anchor_signer;
	/* Set by vs_ledger_log_anchor_restart around its write: the operator
	 * replaces whatever the key holds, even a value that fails its checks. */
	bool anchor_overwrite;
	/* One line on how the backend authenticates to a remote store ("" for
	 * local backends); see vs_ledger_auth_status. */
	char auth_status[256];
};

/* How to reach an etcd cluster over TLS, and as which etcd user
 * (docs/ledger.md). NULL fields are unset. The password is read from
 * password_file (0600 or stricter, owned by the caller) each time the ledger
 * authenticates, and wiped at once; it is never taken from argv or the
 * environment. */
typedef struct {
	const char *cacert, *cert, *key, *user, *password_file;
} vs_etcd_opts;

/* uri: "sqlite:PATH" or "etcd:https://HOST:PORT[,HOST:PORT...]" (http://
 * for local tests; a bare HOST:PORT takes the first endpoint's scheme). */
VS_MUST_USE vs_err vs_ledger_open(vs_ledger **l, const char *uri);
/* The same, with etcd transport and credentials (NULL: none). Setting any
 * of them for an sqlite: ledger is a usage error. */
VS_MUST_USE vs_err vs_ledger_open_opts(vs_ledger **l, const char *uri, const vs_etcd_opts *etcd);
/* One line for status output: NULL for local backends; for etcd, whether
 * and as whom requests are authenticated. Valid while l is open. */
const char *vs_ledger_auth_status(const vs_ledger *l);
void vs_ledger_close(vs_ledger *l);

/* Backends (used by vs_ledger_open). */
VS_MUST_USE vs_err vs_ledger_sqlite_open(vs_ledger **l, const char *path);
VS_MUST_USE vs_err vs_ledger_etcd_open(vs_ledger **l, const char *endpoints);
VS_MUST_USE vs_err vs_ledger_etcd_open_opts(vs_ledger **l, const char *endpoints, const vs_etcd_opts *o);

/* Record encoding shared by backends that store bytes (etcd): canonical JSON. */
char *vs_vnf_record_to_json(const vs_vnf_record *r); /* caller frees */
VS_MUST_USE vs_err vs_vnf_record_from_json(const char *json, size_t len, vs_vnf_record *r);
/* {"size":N,"offset":N,"head":"<64 hex>","restarts":N}, canonical, strict. */
char *vs_log_anchor_to_json(const vs_log_anchor *a); /* caller frees */
VS_MUST_USE vs_err vs_log_anchor_from_json(const char *json, size_t len, vs_log_anchor *a);
/* The etcd value of host's anchor (docs/audit.md): the unsigned form above,
 * {"genesis":HOST}, or the signed form {"host","size","offset","head",
 * "restarts","count","create_rev","sig"}; canonical and strict. Sets
 * a->form; the signature is not checked here. */
VS_MUST_USE vs_err vs_log_anchor_value_parse(const char *host, const char *json, size_t len,
				 vs_log_anchor *a);
/* The etcd value of a in its form (what vs_log_anchor_value_parse read). */
char *vs_log_anchor_value_json(const char *host, const vs_log_anchor *a);
/* The signed form of a (count and create_rev set by the caller), signed now. */
char *vs_log_anchor_sign_json(const char *host, vs_log_anchor *a, const vs_signer *s);
/* {"genesis":HOST}. */
char *vs_log_anchor_genesis_json(const char *host);
/* A read anchor is what host's checkpoint key pub last wrote: VS_OK for a
 * valid signature whose count equals the key's version and whose create_rev
 * equals its create_revision (or a genesis value at version 1);
 * VS_E_INTEGRITY naming the kind of damage otherwise. */
VS_MUST_USE vs_err vs_log_anchor_check_signed(const char *host, const vs_log_anchor *a,
				  const uint8_t pub[VS_PUB_LEN]);

/* --- transitions (docs/ledger.md): read, check, CAS, retry on conflict --- */
VS_MUST_USE vs_err vs_ledger_register(vs_ledger *l, const char *name, const char *sensitive,
			  vs_vnf_record *out);
VS_MUST_USE vs_err vs_ledger_get(vs_ledger *l, const char *name, vs_vnf_record *out);
VS_MUST_USE vs_err vs_ledger_list(vs_ledger *l, vs_err (*cb)(void *ctx, const vs_vnf_record *r), void *ctx);
/* Activations take an activation (NULL: a fresh random one). A caller that
 * journals it first can recognise its own activation later and still holds
 * the token's secret. A start refuses to discard a final latest snapshot
 * recorded by another host (docs/ledger.md) unless discard_latest. */
VS_MUST_USE vs_err vs_ledger_start(vs_ledger *l, const char *name, const char *host,
		       const vs_activation *act, bool discard_latest, vs_fence *tok,
		       vs_vnf_record *out);
/* Read-only pre-check of a restore (refuses early, before any decryption). */
VS_MUST_USE vs_err vs_ledger_check_restore(vs_ledger *l, const char *name, const uint8_t lineage[VS_ID_LEN],
			       const uint8_t snap[VS_ID_LEN], bool allow_rollback);
VS_MUST_USE vs_err vs_ledger_restore(vs_ledger *l, const char *name, const char *host,
			 const uint8_t lineage[VS_ID_LEN], const uint8_t snap[VS_ID_LEN],
			 bool allow_rollback, const vs_activation *act, vs_fence *tok,
			 vs_vnf_record *out);
VS_MUST_USE vs_err vs_ledger_stop(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out);
VS_MUST_USE vs_err vs_ledger_pause(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out);
VS_MUST_USE vs_err vs_ledger_resume(vs_ledger *l, const char *name, const vs_fence *tok, vs_vnf_record *out);
/* May host snapshot the VNF now? tok is host's token or NULL. *out gives the
 * lineage and generation to put in the snapshot header. */
VS_MUST_USE vs_err vs_ledger_check_snapshot(vs_ledger *l, const char *name, const char *host,
				const vs_fence *tok, vs_vnf_record *out);
/* Records snap as the latest of the lineage; re-checks like check_snapshot
 * and that the generation is still `gen`. */
VS_MUST_USE vs_err vs_ledger_record_snapshot(vs_ledger *l, const char *name, const char *host,
				 const vs_fence *tok, const uint8_t snap[VS_ID_LEN], uint64_t gen);
VS_MUST_USE vs_err vs_ledger_migrate_begin(vs_ledger *l, const char *name, const vs_fence *tok,
			       const char *target);
/* The target made its own secret and sent only its hash: the commit writes
 * that hash; the target makes its token with vs_fence_make from *out. */
VS_MUST_USE vs_err vs_ledger_migrate_commit(vs_ledger *l, const char *name, const vs_fence *tok,
				const uint8_t target_token_hash[VS_HASH_LEN], vs_vnf_record *out);
VS_MUST_USE vs_err vs_ledger_migrate_abort(vs_ledger *l, const char *name);
/* Operator: host is dead; fence it (generation + 1) and stop the VNF.
 * Refused when caller_tok (the caller's own token, or NULL) is valid: a
 * host that holds the live token stops its VNF instead. */
VS_MUST_USE vs_err vs_ledger_release(vs_ledger *l, const char *name, const char *host,
			 const vs_fence *caller_tok, vs_vnf_record *out);
VS_MUST_USE vs_err vs_ledger_retire(vs_ledger *l, const char *name, vs_vnf_record *out);
/* The record-level part of recovery: an interrupted migration is aborted. */
VS_MUST_USE vs_err vs_ledger_recover(vs_ledger *l, const char *name, vs_vnf_record *out);
/* A CAS that changes nothing but the version, on the record as it is now:
 * afterwards no request sent earlier (by a crashed or timed-out process)
 * can still apply. *out is the record after it. Recovery decides only
 * after this (docs/ledger.md, gap 2). */
VS_MUST_USE vs_err vs_ledger_fence(vs_ledger *l, const char *name, vs_vnf_record *out);
/* The audit-log anchor of host (*found false when none). */
VS_MUST_USE vs_err vs_ledger_log_anchor_get(vs_ledger *l, const char *host, vs_log_anchor *a, bool *found);
/* Moves host's anchor forward to a. VS_E_INTEGRITY when a is behind the
 * anchor (fewer records), or at the same size with another head: the log
 * was truncated, replaced or rolled back. The caller checks, before, that
 * its log still holds the anchored record at the anchored offset. */
VS_MUST_USE vs_err vs_ledger_log_anchor_advance(vs_ledger *l, const char *host, const vs_log_anchor *a);
/* An operator started host's log anew ('vnfsafe log restart'): the anchor
 * becomes a (any size) and its restart count goes up by one, for good. */
VS_MUST_USE vs_err vs_ledger_log_anchor_restart(vs_ledger *l, const char *host, const vs_log_anchor *a,
				    vs_log_anchor *out);
/* True when tok is valid for the record right now (lineage, generation,
 * owner, live, and its secret hashes to the record's token_hash). */
bool vs_fence_valid(const vs_vnf_record *r, const vs_fence *tok);

#endif
