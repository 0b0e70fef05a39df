/* Tamper-evident audit log (R7, docs/audit.md): one canonical JSON record per
 * line in DIR/log, hash-chained (RFC 6962 leaf hashes), MACed under a
 * forward-secure epoch key, with Ed25519-signed Merkle checkpoints in
 * DIR/checkpoints. Appends are durable (fdatasync) with group commit across
 * threads and an flock across processes. */
#ifndef VNFSAFE_AUDIT_H
#define VNFSAFE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/err.h"

/* Field limits in bytes, before JSON escaping. */
#define VS_AUDIT_HOST_MAX 255
#define VS_AUDIT_ACTOR_MAX 255
#define VS_AUDIT_ACTION_MAX 64
#define VS_AUDIT_VNF_MAX 255
#define VS_AUDIT_REASON_MAX 1024
#define VS_AUDIT_UUID_LEN 36
/* Longest possible line, '\n' included (every byte escaped as \u00XX). */
#define VS_AUDIT_LINE_MAX 16384

#define VS_AUDIT_DEFAULT_INTERVAL 900u
#define VS_AUDIT_DEFAULT_CHECKPOINT_EVERY 1000u

typedef enum {
	VS_AUDIT_OUT_OK = 0,
	VS_AUDIT_OUT_REFUSED,
	VS_AUDIT_OUT_FAILED,
	VS_AUDIT_OUT_INTEGRITY,
} vs_audit_outcome;

/* What a caller records; the log adds seq, time, epoch, host, prev and mac.
 * NULL strings are "". action: [a-z0-9._-]{1,64}; snapshot: "" or a
 * lowercase UUID. Over-long or invalid fields are VS_E_USAGE. */
typedef struct {
	const char *actor; /* the principal: "uid:<user name>", "cert:<identity>" */
	const char *action;
	const char *vnf;
	const char *snapshot;
	uint64_t generation;
	vs_audit_outcome outcome;
	const char *reason;
	bool has_uid; /* a local user: its numeric uid, recorded beside the actor */
	uint32_t uid;
} vs_audit_event;

/* One parsed record (time in microseconds since the Unix epoch, UTC). */
typedef struct {
	uint64_t seq;
	int64_t time_us;
	uint64_t epoch;
	char host[VS_AUDIT_HOST_MAX + 1];
	char actor[VS_AUDIT_ACTOR_MAX + 1];
	bool has_uid; /* "uid":N follows "actor" (absent in records before it) */
	uint32_t uid;
	char action[VS_AUDIT_ACTION_MAX + 1];
	char vnf[VS_AUDIT_VNF_MAX + 1];
	char snapshot[VS_AUDIT_UUID_LEN + 1];
	uint64_t generation;
	vs_audit_outcome outcome;
	char reason[VS_AUDIT_REASON_MAX + 1];
	uint8_t prev[VS_HASH_LEN];
	uint8_t mac[VS_HASH_LEN];
} vs_audit_record;

const char *vs_audit_outcome_name(vs_audit_outcome o);

/* Strict parser: line is n bytes without the '\n'. Accepts only the exact
 * canonical form that vs_audit_record_format writes; anything else is
 * VS_E_INTEGRITY and leaves *r zeroed. */
VS_MUST_USE vs_err vs_audit_record_parse(const char *line, size_t n, vs_audit_record *r);
/* Writes the canonical line (with the '\n') into out; *len excludes the NUL.
 * VS_E_USAGE when a field is invalid or out does not hold it. */
VS_MUST_USE vs_err vs_audit_record_format(const vs_audit_record *r, char *out, size_t cap, size_t *len);
/* Number of bytes of a line (without '\n') covered by the MAC: everything
 * before ,"mac":" . 0 when the line does not end in a mac field. */
size_t vs_audit_mac_span(const char *line, size_t n);
/* HMAC-SHA-256 of line[0..vs_audit_mac_span) under key. */
VS_MUST_USE vs_err vs_audit_record_mac(const vs_key *key, const char *line, size_t n,
			   uint8_t mac[VS_HASH_LEN]);

/* --- RFC 6962 Merkle tree (leaf index 0-based; record seq = index + 1) --- */

/* SHA-256(0x00 || data) and SHA-256(0x01 || left || right). */
VS_MUST_USE vs_err vs_merkle_leaf_hash(const void *data, size_t n, uint8_t out[VS_HASH_LEN]);
VS_MUST_USE vs_err vs_merkle_node_hash(const uint8_t left[VS_HASH_LEN], const uint8_t right[VS_HASH_LEN],
			   uint8_t out[VS_HASH_LEN]);

/* Streaming tree head: O(log n) memory. */
typedef struct {
	uint64_t size;
	unsigned depth;
	uint8_t stack[64][VS_HASH_LEN];
	void *md; /* EVP_MD_CTX, reused */
} vs_merkle;
VS_MUST_USE vs_err vs_merkle_init(vs_merkle *m);
void vs_merkle_free(vs_merkle *m);
VS_MUST_USE vs_err vs_merkle_add(vs_merkle *m, const uint8_t leaf[VS_HASH_LEN]);
/* MTH of the leaves added so far; SHA-256("") for none. */
VS_MUST_USE vs_err vs_merkle_root(vs_merkle *m, uint8_t root[VS_HASH_LEN]);
void vs_merkle_copy(vs_merkle *dst, const vs_merkle *src);

/* Proofs over n leaf hashes; out holds cap hashes, *len gets the count
 * (at most 64 for any n). */
VS_MUST_USE vs_err vs_merkle_inclusion_proof(const uint8_t (*leaves)[VS_HASH_LEN], uint64_t n, uint64_t index,
				 uint8_t (*out)[VS_HASH_LEN], size_t cap, size_t *len);
VS_MUST_USE vs_err vs_merkle_consistency_proof(const uint8_t (*leaves)[VS_HASH_LEN], uint64_t m, uint64_t n,
				   uint8_t (*out)[VS_HASH_LEN], size_t cap, size_t *len);
/* Verifiers (RFC 9162 2.1.3.2 / 2.1.4.2): pure functions over untrusted
 * bytes; proof is proof_len bytes (a multiple of 32). VS_OK or
 * VS_E_INTEGRITY. */
VS_MUST_USE vs_err vs_merkle_verify_inclusion(const uint8_t leaf[VS_HASH_LEN], uint64_t index, uint64_t size,
				  const uint8_t *proof, size_t proof_len,
				  const uint8_t root[VS_HASH_LEN]);
VS_MUST_USE vs_err vs_merkle_verify_consistency(uint64_t m, uint64_t n, const uint8_t *proof,
				    size_t proof_len, const uint8_t root_m[VS_HASH_LEN],
				    const uint8_t root_n[VS_HASH_LEN]);

/* --- keys --- */

/* The verification seed (file written once by vs_audit_init, kept away
 * from the host): the epoch-0 key and the epoch clock. */
typedef struct {
	vs_key k0;
	int64_t t0;        /* seconds since the Unix epoch */
	uint64_t interval; /* seconds per epoch */
	uint8_t pub[VS_PUB_LEN]; /* checkpoint signer */
} vs_audit_seed;
VS_MUST_USE vs_err vs_audit_seed_load(const char *path, vs_audit_seed *s);

/* DIR/anchor-witness (src/audit/witness.c): the etcd anchor keys of this
 * log, so that a deleted or re-created key is seen as such. */
#define VS_WITNESS_MAX 16
typedef struct {
	uint64_t cluster;    /* etcd cluster id */
	uint64_t create_rev; /* create_revision of this host's anchor key there */
} vs_anchor_witness;
/* *n = 0 when the file does not exist; VS_E_INTEGRITY unless canonical. */
VS_MUST_USE vs_err vs_audit_witness_read(const char *dir, vs_anchor_witness *w, size_t cap, size_t *n);
VS_MUST_USE vs_err vs_audit_witness_parse(const char *text, size_t len, vs_anchor_witness *w, size_t cap,
			      size_t *n);
/* Sorts w and replaces the file atomically. */
VS_MUST_USE vs_err vs_audit_witness_write(const char *dir, vs_anchor_witness *w, size_t n);
void vs_audit_seed_wipe(vs_audit_seed *s);
/* k_{e+1} = HMAC-SHA-256(k_e, "vnfsafe-audit-evolve"). out may equal in. */
VS_MUST_USE vs_err vs_audit_key_evolve(const vs_key *in, vs_key *out);
/* The epoch of a time, or VS_E_INTEGRITY before t0. */
VS_MUST_USE vs_err vs_audit_epoch_of(int64_t t0, uint64_t interval, int64_t time_us, uint64_t *epoch);

/* --- writer --- */

typedef int64_t (*vs_audit_clock)(void *ctx); /* microseconds since the Unix epoch */

typedef struct {
	const char *host;                  /* NULL: gethostname() */
	const vs_signer *signer;           /* checkpoints; NULL: none are written */
	uint64_t checkpoint_every;         /* 0: VS_AUDIT_DEFAULT_CHECKPOINT_EVERY */
	vs_audit_clock clock;              /* test hook; NULL: CLOCK_REALTIME */
	void *clock_ctx;
} vs_audit_opts;

/* Creates DIR/{log,key,params,checkpoints} (DIR made 0700 if missing) and
 * the seed file seed_path (0600, O_EXCL; keep it elsewhere). interval 0 is
 * the default. Refuses an existing log. */
VS_MUST_USE vs_err vs_audit_init(const char *dir, const char *seed_path, const vs_signer *signer,
		     uint64_t interval, const vs_audit_opts *opts);

typedef struct vs_audit vs_audit;
/* Opens the log for appending; repairs a torn tail (moves the bytes to
 * DIR/log.torn-<offset> and appends an "audit.torn_tail" record). Open it
 * again in each process after fork(). */
VS_MUST_USE vs_err vs_audit_open(vs_audit **a, const char *dir, const vs_audit_opts *opts);
void vs_audit_close(vs_audit *a);
/* Returns once the record is on disk; thread-safe (group commit). */
VS_MUST_USE vs_err vs_audit_append(vs_audit *a, const vs_audit_event *ev, uint64_t *seq);
/* n records (1..VS_AUDIT_MANY_MAX) with consecutive seqs from *seq, in the
 * same group commit: for a caller with many events at once (an agent),
 * one wake-up instead of n. All are checked before any is written. */
#define VS_AUDIT_MANY_MAX 4096
VS_MUST_USE vs_err vs_audit_append_many(vs_audit *a, const vs_audit_event *ev, size_t n, uint64_t *seq);
/* Evolves the key to the current epoch without writing a record (call it on
 * a timer so an idle log does not keep an old key). */
VS_MUST_USE vs_err vs_audit_evolve(vs_audit *a);

typedef struct {
	uint64_t size;
	uint8_t root[VS_HASH_LEN];
	int64_t time_us;
	uint8_t keyid[VS_HASH_LEN];
	uint8_t sig[VS_SIG_LEN];
} vs_audit_checkpoint;
/* Signs and appends a checkpoint over the whole log now. */
VS_MUST_USE vs_err vs_audit_checkpoint_now(vs_audit *a, vs_audit_checkpoint *cp);
/* The last line of DIR/checkpoints (signature not checked here);
 * VS_E_USAGE when there is none. */
VS_MUST_USE vs_err vs_audit_latest_checkpoint(const char *dir, vs_audit_checkpoint *cp);
/* The canonical checkpoint line (without '\n'; *len excludes the NUL). */
VS_MUST_USE vs_err vs_audit_checkpoint_format(const vs_audit_checkpoint *cp, char *out, size_t cap,
				  size_t *len);
/* Strict parser of one checkpoint line (without '\n'), and its signature. */
VS_MUST_USE vs_err vs_audit_checkpoint_parse(const char *line, size_t n, vs_audit_checkpoint *cp);
VS_MUST_USE vs_err vs_audit_checkpoint_verify(const vs_audit_checkpoint *cp, const uint8_t pub[VS_PUB_LEN]);

/* --- reading --- */

/* Calls fn for each record in order; stops at the first malformed line
 * (VS_E_INTEGRITY) or when fn returns non-zero. */
typedef int (*vs_audit_each_fn)(const vs_audit_record *r, void *ctx);
VS_MUST_USE vs_err vs_audit_read(const char *dir, vs_audit_each_fn fn, void *ctx);

/* Inclusion proof of record seq in the tree of the first size records
 * (0: the whole log). path holds 64 hashes. */
VS_MUST_USE vs_err vs_audit_prove_inclusion(const char *dir, uint64_t seq, uint64_t size,
				uint8_t leaf[VS_HASH_LEN], uint8_t root[VS_HASH_LEN],
				uint8_t (*path)[VS_HASH_LEN], size_t *path_len);
/* Consistency proof between the trees of the first m and n records. */
VS_MUST_USE vs_err vs_audit_prove_consistency(const char *dir, uint64_t m, uint64_t n,
				  uint8_t (*proof)[VS_HASH_LEN], size_t *proof_len);

/* --- verification --- */

typedef enum {
	VS_AUDIT_INTACT = 0,
	VS_AUDIT_MALFORMED,       /* a line that is not a canonical record */
	VS_AUDIT_MODIFIED,        /* MAC mismatch, or hash chain says a record changed */
	VS_AUDIT_SEQUENCE,        /* seq gap: inserted, deleted or reordered records */
	VS_AUDIT_TRUNCATED,       /* fewer records than a checkpoint or the anchor */
	VS_AUDIT_TORN_TAIL,       /* a partial last line (crash mid-write) */
	VS_AUDIT_BAD_SIGNATURE,   /* checkpoint signature or signer */
	VS_AUDIT_ROOT_MISMATCH,   /* checkpoint root differs from the log's */
	VS_AUDIT_TIME_ORDER,      /* epoch/time out of order or outside its epoch */
	VS_AUDIT_INCONSISTENT,    /* the log does not extend the anchored tree head */
	VS_AUDIT_ANCHOR_MOVED,    /* the etcd anchor is not what this host last signed there */
} vs_audit_damage;

const char *vs_audit_damage_name(vs_audit_damage d);

typedef struct {
	const vs_audit_seed *seed;   /* NULL: MACs are not checked */
	const uint8_t *pub;          /* trusted checkpoint key; NULL: seed's, else DIR/params */
	uint64_t anchor_size;        /* 0: no anchor */
	const uint8_t *anchor_root;  /* NULL: anchor checks the size only */
} vs_audit_verify_opts;

typedef struct {
	vs_audit_damage kind;
	uint64_t seq;      /* first bad record (for truncation: the first missing) */
	uint64_t line;     /* 1-based line number */
	uint64_t offset;   /* byte offset of that line */
	uint64_t records;  /* records checked */
	uint64_t checkpoints;
	bool macs_checked;
	bool signer_pinned; /* checkpoints checked against a caller/seed key */
	char message[256];
} vs_audit_report;

/* VS_OK when intact; VS_E_INTEGRITY with rep filled (and the message set)
 * at the first damage; VS_E_ENV / VS_E_USAGE when it cannot run. */
VS_MUST_USE vs_err vs_audit_verify(const char *dir, const vs_audit_verify_opts *o, vs_audit_report *rep);

#endif
