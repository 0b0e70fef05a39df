/* Engines produce and consume raw state streams. The dir engine turns a state
 * directory into one archive stream per trust domain (docs/format.md) and
 * restores them into a staging directory that becomes visible only on commit. */
#ifndef VNFSAFE_ENGINE_H
#define VNFSAFE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vnfsafe/err.h"

#define VS_PATH_MAX 4096

/* --- archive entries (the dir engine's stream format) --- */
enum { VS_ARC_DIR = 1, VS_ARC_FILE = 2, VS_ARC_SYMLINK = 3 };

typedef struct {
	uint8_t type;
	char path[VS_PATH_MAX]; /* "." is the root directory */
	uint32_t mode;          /* permission bits only */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size;              /* files */
	char target[VS_PATH_MAX];   /* symlinks */
} vs_arc_entry;

/* A relative path that cannot leave its root: no "..", ".", empty or
 * absolute components. */
bool vs_arc_path_ok(const char *path);
/* Encodes an entry header (data follows separately); returns its length or 0. */
size_t vs_arc_encode(const vs_arc_entry *e, uint8_t *out, size_t cap);
#define VS_ARC_HDR_MAX (1 + 2 + VS_PATH_MAX + 4 + 8 + 4 + 8 + 2 + VS_PATH_MAX)

typedef struct {
	void *ctx;
	vs_err (*entry)(void *ctx, const vs_arc_entry *e);
	vs_err (*data)(void *ctx, const uint8_t *p, size_t n);
	vs_err (*file_end)(void *ctx);
} vs_arc_ops;

/* Incremental decoder: feed any split of the stream. */
typedef struct {
	vs_arc_ops ops;
	uint8_t hdr[VS_ARC_HDR_MAX];
	size_t hdr_fill;
	uint64_t data_left;
	bool in_data;
	vs_arc_entry e;
	uint64_t entries;
} vs_arc_dec;

void vs_arc_dec_init(vs_arc_dec *d, const vs_arc_ops *ops);
VS_MUST_USE vs_err vs_arc_dec_feed(vs_arc_dec *d, const uint8_t *p, size_t n);
/* The stream must end on an entry boundary. */
VS_MUST_USE vs_err vs_arc_dec_finish(vs_arc_dec *d);

/* --- capture --- */
typedef struct {
	void *ctx;
	/* Window into the section's buffer; commit what was written. */
	vs_err (*reserve)(void *ctx, unsigned section, uint8_t **p, size_t *avail);
	void (*commit)(void *ctx, unsigned section, size_t n);
	void (*progress)(void *ctx, uint64_t bytes);
} vs_section_sink;

typedef struct {
	char name[64];
	char relpath[VS_PATH_MAX]; /* normalized relative path */
} vs_domain_map;

/* Normalizes "NAME=RELPATH" into m; VS_E_USAGE with a clear message if bad. */
VS_MUST_USE vs_err vs_domain_map_parse(const char *spec, vs_domain_map *m);
/* Sums the bytes of regular files (for progress); fails like capture would. */
VS_MUST_USE vs_err vs_dir_measure(const char *src, uint64_t *bytes);
/* Walks src in sorted order; entries under doms[i].relpath go to section
 * i+1 (longest match), everything else to section 0. */
VS_MUST_USE vs_err vs_dir_capture(const char *src, const vs_domain_map *doms, size_t ndoms,
		      const vs_section_sink *sink);

/* --- restore --- */
typedef struct vs_dir_restore vs_dir_restore;
/* VS_E_USAGE unless target is absent or an empty real directory (never a
 * symlink, also not as "LINK/"), in an existing parent directory. */
VS_MUST_USE vs_err vs_dir_check_target(const char *target);
/* target must not exist or be an empty directory; a 0700 staging directory
 * is made beside it. */
VS_MUST_USE vs_err vs_dir_restore_begin(vs_dir_restore **r, const char *target, unsigned nsections);
VS_MUST_USE vs_err vs_dir_restore_feed(vs_dir_restore *r, unsigned section, const uint8_t *p, size_t n,
			   bool final);
/* Where vs_dir_restore_stage will put the complete state (beside the target),
 * known once the stream is decoded, so that it can be journaled before it
 * exists; its name carries the root's recorded mode ("-mNNNN"). */
const char *vs_dir_restore_ready_path(vs_dir_restore *r);
/* Applies directory metadata, syncs, and renames the staging dir to the ready
 * path; from then on the caller owns it (publish or remove). */
VS_MUST_USE vs_err vs_dir_restore_stage(vs_dir_restore *r);
/* Removes staging directories beside target left by restores whose process
 * is gone (killed mid-restore): only real directories owned by the
 * effective uid, acting on descriptors (no link followed, no chmod by name). */
void vs_dir_sweep_stale(const char *target);
/* Renames a ready directory (0700 until then) into place with its recorded
 * mode (target absent or an empty real directory), syncs. */
VS_MUST_USE vs_err vs_dir_publish(const char *ready, const char *target);
/* Removes the staging directory and frees r (also after commit). */
void vs_dir_restore_free(vs_dir_restore *r);

#endif
