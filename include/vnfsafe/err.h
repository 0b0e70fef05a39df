/* Typed errors: every fallible call returns a vs_err; the last message is kept
 * per thread. The numeric values are the CLI's exit codes (DESIGN.md). */
#ifndef VNFSAFE_ERR_H
#define VNFSAFE_ERR_H

#include <stddef.h>

/* A vs_err result must be used: clang warns on every ignored one (the
 * attribute on the type covers every function and function pointer
 * returning it); gcc only knows the function attribute, VS_MUST_USE, which
 * every prototype returning vs_err carries. A cleanup that may fail on
 * purpose says so with vs_ignore(). */
#if defined(__clang__)
#define VS_ERR_TYPE_ATTR __attribute__((warn_unused_result))
#else
#define VS_ERR_TYPE_ATTR
#endif
#define VS_MUST_USE __attribute__((warn_unused_result))

typedef enum VS_ERR_TYPE_ATTR {
	VS_OK = 0,
	VS_E_USAGE = 1,     /* bad argument, unknown name, wrong invocation */
	VS_E_INTEGRITY = 2, /* tampered, truncated, spliced, wrong key, unknown version */
	VS_E_POLICY = 3,    /* refused by policy */
	VS_E_ENV = 4,       /* I/O, missing tool, missing home, out of memory */
	/* The request reached the ledger but whether it applied is unknown (a
	 * lost reply, a re-read that failed): recovery settles it. Exit 4. */
	VS_E_UNKNOWN = 5,
} vs_err;

/* The process exit status for a result: 0-4 (VS_E_UNKNOWN is 4). */
int vs_exit_code(vs_err code);

/* Why a refusal (or an unknown outcome) happened, for a front end that acts
 * on it or phrases a hint; kept per thread beside the message. vs_fail and
 * vs_fail_errno reset it to VS_R_NONE, vs_wrap keeps it. */
typedef enum {
	VS_R_NONE = 0,
	VS_R_FORK,            /* it runs (elsewhere or here): starting/restoring would fork it */
	VS_R_ROLLBACK,        /* not the latest snapshot of its lineage (authorize a roll-back) */
	VS_R_NOT_FINAL,       /* its latest snapshot was taken while it ran (newer state exists) */
	VS_R_DISCARDS_LATEST, /* a final latest snapshot taken elsewhere would be discarded */
	VS_R_STATE_ELSEWHERE, /* its state is on another host */
	VS_R_RETIRED,         /* the VNF is retired */
	VS_R_STATE,           /* the VNF's state does not allow the transition */
	VS_R_STALE_TOKEN,     /* this host holds no valid fencing token for it */
	VS_R_LATEST_SNAPSHOT, /* deleting the latest snapshot of a VNF not retired */
	VS_R_NEED_LEDGER,     /* the check needs a ledger (or an explicit override) */
	VS_R_OWN_LIVE_VNF,    /* releasing a VNF this home runs (stop it instead) */
	VS_R_LOST_RACE,       /* another writer changed the record first; try again */
	VS_R_RECOVER,         /* an interrupted operation waits for recovery of the VNF */
	VS_R_CREATION_FAILED, /* the snapshot's creation failed or has not finished */
	VS_R_NOT_REGISTERED,  /* the ledger has no VNF of that name (register it) */
	VS_R_NO_SNAPSHOT,     /* this home has no snapshot of that id */
	VS_R_NEED_REASON,     /* the operation needs the operator's reason */
	VS_R_NO_HOME,         /* no vnfsafe home where one was named (create one) */
	VS_R_LOG_DAMAGED,     /* the audit log's end is damaged: verify it before appending */
} vs_reason;

/* vs_fail that also records the reason and the VNF it concerns (NULL: none). */
VS_MUST_USE vs_err vs_refuse(vs_err code, vs_reason why, const char *vnf, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sets the reason of the current error (after vs_wrap, say); returns code. */
VS_MUST_USE vs_err vs_set_reason(vs_err code, vs_reason why);
vs_reason vs_errreason(void);
/* The VNF the current reason concerns, or "". */
const char *vs_errvnf(void);
/* "fork", "rollback", ...: a stable name for logs and JSON output. */
const char *vs_reason_name(vs_reason why);

/* The request field a usage error is about, kept per thread beside the
 * reason: library messages name it in neutral words and never name a CLI
 * flag; a front end maps the code to what its user typed (the CLI to
 * "--source", an agent to a JSON field). vs_fail, vs_fail_errno and
 * vs_refuse reset it to VS_F_NONE, vs_wrap keeps it. */
typedef enum {
	VS_F_NONE = 0,
	VS_F_VNF,                /* the VNF's name */
	VS_F_ENGINE,             /* the engine that captures or restores state */
	VS_F_SOURCE,             /* the state directory to capture */
	VS_F_CHUNK_SIZE,         /* the plaintext chunk size of a snapshot */
	VS_F_DOMAIN,             /* a trust domain (NAME=PATH on create, NAME on restore) */
	VS_F_TO,                 /* the directory a restore writes into */
	VS_F_AUDIT_SEED,         /* the file the audit log's seed is written to */
	VS_F_LEDGER,             /* the ledger's address */
	VS_F_ETCD_CERT,          /* the etcd client certificate */
	VS_F_ETCD_KEY,           /* the etcd client key */
	VS_F_ETCD_CACERT,        /* the CA certificates etcd's server is checked with */
	VS_F_ETCD_USER,          /* the etcd user name */
	VS_F_ETCD_PASSWORD_FILE, /* the file holding the etcd user's password */
	VS_F_HOME,               /* the vnfsafe home directory */
	VS_F_OUT,                /* the file a snapshot is written to */
} vs_field;

/* vs_fail that also records the field the error is about. */
VS_MUST_USE vs_err vs_fail_field(vs_err code, vs_field field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets the field of the current error (after vs_fail_errno, say); returns code. */
VS_MUST_USE vs_err vs_set_field(vs_err code, vs_field field);
vs_field vs_errfield(void);
/* "vnf", "chunk_size", "etcd_password_file", ...: a stable name for JSON. */
const char *vs_field_name(vs_field field);

/* Records a message for the current thread and returns code. Never pass secrets. */
VS_MUST_USE vs_err vs_fail(vs_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like vs_fail, appending ": strerror(errno)". */
VS_MUST_USE vs_err vs_fail_errno(vs_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with context ("while X: <old message>"). */
VS_MUST_USE vs_err vs_wrap(vs_err code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *vs_errmsg(void);
/* Copies in to out (cap bytes) with every control byte (< 0x20, 0x7f, C1)
 * and every byte of invalid UTF-8 written as \xHH: one printable line.
 * vs_fail and vs_wrap pass their formatted message through it. Returns out. */
const char *vs_escape(const char *in, char *out, size_t cap);
const char *vs_strerror(vs_err code);

/* Explicitly drops a result (best-effort cleanup); gcc ignores (void). */
static inline void vs_ignore(vs_err e)
{
	(void)e;
}

#define VS_TRY(expr)                                                           \
	do {                                                                   \
		vs_err vs__rc = (expr);                                        \
		if (vs__rc != VS_OK)                                           \
			return vs__rc;                                         \
	} while (0)

/* For functions with one cleanup label: sets rc and jumps. */
#define VS_TRY_GOTO(rc, expr, label)                                           \
	do {                                                                   \
		(rc) = (expr);                                                 \
		if ((rc) != VS_OK)                                             \
			goto label;                                            \
	} while (0)

#endif
