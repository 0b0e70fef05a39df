/* The audit log's operations (docs/audit.md), for any front end: read,
 * verify against the seed and the ledger's anchor, prove inclusion, sign a
 * checkpoint, restart a log. */
#ifndef VNFSAFE_LOGOPS_H
#define VNFSAFE_LOGOPS_H

#include "vnfsafe/anchor.h"
#include "vnfsafe/audit.h"
#include "vnfsafe/home.h"
#include "vnfsafe/ledger.h"
#include "vnfsafe/ops.h"
#include "vnfsafe/session.h"

/* <home>/audit; must_exist: VS_E_ENV when the home has no log yet. */
VS_MUST_USE vs_err vs_log_dir(const vs_home *h, bool must_exist, char *out, size_t cap);
/* Every record of h's log, in order (no check: that is vs_log_verify). */
VS_MUST_USE vs_err vs_log_read(const vs_home *h, vs_audit_each_fn fn, void *ctx);

typedef struct {
	vs_audit_report rep;   /* the first damage, when not intact */
	bool anchored;         /* the ledger holds an anchor of this log */
	bool anchor_bad;       /* an etcd anchor written by someone else */
	vs_log_anchor anchor;
	char anchor_note[512]; /* "N records...", "none yet", "not checked: why" */
	vs_ledger *ledger;     /* the one open_ledger gave, or NULL */
	const char *ledger_auth;
	bool seed_in_home;     /* the verification seed was not moved off this host */
	char seed_file[4200];
} vs_log_verify_result;
/* Whole-log check: chain, MACs (with the seed at seed_path, or none),
 * signed checkpoints, then the ledger's anchor (an unreachable ledger is
 * noted, not fatal). VS_OK: intact; VS_E_INTEGRITY: v->rep says where; a
 * seed that does not load is VS_E_USAGE (VS_E_ENV when unreadable). */
VS_MUST_USE vs_err vs_log_verify(vs_home *h, vs_ledger_open_fn open_ledger, void *ledger_ctx,
				 const char *seed_path, vs_log_verify_result *v);

typedef struct {
	uint64_t seq, size; /* record seq in a tree of size records */
	bool signed_cp;     /* size is the latest signed checkpoint's (else the whole log) */
	uint8_t leaf[VS_HASH_LEN], root[VS_HASH_LEN];
	uint8_t path[64][VS_HASH_LEN];
	size_t n;
} vs_log_proof;
/* An inclusion proof of record seq, verified before it is returned. */
VS_MUST_USE vs_err vs_log_prove(const vs_home *h, uint64_t seq, vs_log_proof *p);

/* A signed tree head of the session's log, now. */
VS_MUST_USE vs_err vs_log_checkpoint(vs_session *s, vs_audit_checkpoint *cp);

typedef struct {
	bool moved;          /* there was a log to move aside */
	char retired[4400];  /* where it went */
	char seed[4400];     /* the new log's verification seed */
	uint64_t restarts;   /* the ledger's count of restarts of this host's log */
} vs_log_restart_result;
/* The old log aside, a new one in its place, its first record (by who)
 * saying why, the ledger's anchor moved to it with the restart counted.
 * Each step can be redone after a crash. new_seed NULL: HOME/audit-seed. */
VS_MUST_USE vs_err vs_log_restart(vs_home *h, vs_ledger *l, const vs_principal *who,
				  const char *reason, const char *new_seed, vs_log_restart_result *r);

#endif
