/* The audited session around one operation (docs/audit.md): whatever the
 * front end (the CLI, the agent), an audited operation opens the home's
 * audit log before it acts (a command that cannot be recorded does not
 * run), checks the log against the ledger's anchor and fails closed, then
 * leaves one record, success or not, with the acting principal, moves the
 * anchor and forwards the record. */
#ifndef VNFSAFE_SESSION_H
#define VNFSAFE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "vnfsafe/audit.h"
#include "vnfsafe/home.h"
#include "vnfsafe/ledger.h"
#include "vnfsafe/ids.h"

/* Who acts. One string form: "uid:<user name>" for a local user (its
 * numeric uid beside it, in the record too), "cert:<identity>" for a
 * certificate subject. The front end makes it once; the library never
 * looks the caller up. */
typedef struct {
	char name[VS_AUDIT_ACTOR_MAX + 1];
	bool has_uid;
	uint32_t uid;
} vs_principal;

/* "uid:<user>" (user NULL or empty: "uid:<uid>"), uid beside it. */
VS_MUST_USE vs_err vs_principal_local(uint32_t uid, const char *user, vs_principal *p);
/* "cert:<identity>" (no uid). */
VS_MUST_USE vs_err vs_principal_cert(const char *identity, vs_principal *p);

/* Messages the library has for the operator that are not errors (a new
 * log's seed to move away, an anchor not advanced, a forward failure). */
typedef void (*vs_notice_fn)(void *ctx, const char *msg);
/* Opens the ledger on demand (the front end knows which one). */
typedef vs_err (*vs_ledger_open_fn)(void *ctx, vs_ledger **l);

typedef struct {
	const vs_principal *principal;
	const char *action; /* "snapshot.create", ... */
	vs_ledger_open_fn open_ledger; /* called when the session needs the ledger */
	void *ledger_ctx;
	vs_notice_fn notice; /* NULL: notices are dropped */
	void *notice_ctx;
} vs_session_opts;

typedef struct vs_session vs_session;

/* Opens h's audit log (starting one for a home made before logs existed),
 * checks it against the ledger (a lost or rolled-back log: VS_E_INTEGRITY,
 * nothing may run); an unreachable ledger only delays the check. On
 * failure the operation must not run; *s is NULL. */
VS_MUST_USE vs_err vs_session_begin(vs_home *h, const vs_session_opts *o, vs_session **s);
/* What the record says, as it becomes known. vnf may come from an
 * unverified header: only a valid name is recorded. */
void vs_session_vnf(vs_session *s, const char *vnf);
void vs_session_snapshot(vs_session *s, const uint8_t id[VS_ID_LEN]);
void vs_session_generation(vs_session *s, uint64_t g);
/* The operator's own reason: recorded whether the operation succeeds or not. */
void vs_session_reason(vs_session *s, const char *reason);
/* The open log (log checkpoint signs a tree head of it). */
vs_audit *vs_session_log(vs_session *s);
/* Records the outcome (rc, with vs_errmsg() as the reason when rc fails),
 * moves the anchor, forwards; frees s (NULL: returns rc). Returns rc, or
 * the error that kept the record from the log or the anchor from moving
 * when rc was VS_OK. */
VS_MUST_USE vs_err vs_session_end(vs_session *s, vs_err rc);

#endif
