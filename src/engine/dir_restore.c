/* dir engine, restore side: decode into a 0700 staging directory beside the
 * target, never following a symlink, and rename it into place on commit.
 * Every step acts on directory descriptors, never on a name checked before:
 * a local user who can write the target's parent (/tmp) races renames. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/crypto.h"
#include "vnfsafe/engine.h"
#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/snapshot.h"

#define STAGE_PREFIX ".vsrestore-"
/* Complete, synced, journaled: only recovery or the restore itself removes it. */
#define READY_PREFIX ".vsready-"

typedef struct {
	char *path;
	uint32_t mode;
	struct timespec mtime;
	int depth;
} dir_meta;

typedef struct {
	struct vs_dir_restore *r;
	vs_arc_dec dec;
	int fd; /* file being written */
	vs_arc_entry *cur;
	bool fed, done;
} sec_ctx;

struct vs_dir_restore {
	char target[VS_PATH_MAX];
	char stage[VS_PATH_MAX];
	char ready[VS_PATH_MAX];
	char stage_name[NAME_MAX + 1];
	char ready_name[NAME_MAX + 1];
	char ready_id[17];
	int parent_fd;
	int stage_fd;
	unsigned nsections;
	sec_ctx sec[VS_SNAP_MAX_SECTIONS];
	dir_meta *dirs;
	size_t ndirs, capdirs;
	char cache_path[VS_PATH_MAX];
	int cache_fd;
	bool committed;
};

static int depth_of(const char *p)
{
	int d = 0;
	for (; *p; p++)
		d += *p == '/';
	return d;
}

/* Opens the directory at rel (inside the stage), creating missing components
 * 0700. Any component that is not a real directory is an attack or damage. */
static VS_MUST_USE vs_err open_dir(vs_dir_restore *r, const char *rel, bool create, int *out)
{
	char tmp[VS_PATH_MAX];
	memcpy(tmp, rel, strlen(rel) + 1);
	int dfd = dup(r->stage_fd);
	if (dfd < 0)
		return vs_fail_errno(VS_E_ENV, "dup");
	char *save, *comp;
	for (comp = strtok_r(tmp, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(dfd, comp, 0700) != 0 && errno != EEXIST) {
				close(dfd);
				return vs_fail_errno(VS_E_ENV, "cannot create directory %s", rel);
			}
			fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int saved = errno;
		close(dfd);
		if (fd < 0) {
			errno = saved;
			if (errno == ELOOP || errno == ENOTDIR)
				return vs_fail(VS_E_INTEGRITY,
					       "snapshot path %s passes through a symlink or file: refused", rel);
			return vs_fail_errno(VS_E_ENV, "cannot open directory %s", rel);
		}
		dfd = fd;
	}
	*out = dfd;
	return VS_OK;
}

/* Parent directory fd (borrowed, cached) and base name of path. */
static VS_MUST_USE vs_err parent_of(vs_dir_restore *r, const char *path, int *pfd, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		*pfd = r->stage_fd;
		*base = path;
		return VS_OK;
	}
	size_t n = (size_t)(slash - path);
	*base = slash + 1;
	if (r->cache_fd >= 0 && strlen(r->cache_path) == n && !strncmp(r->cache_path, path, n)) {
		*pfd = r->cache_fd;
		return VS_OK;
	}
	char dir[VS_PATH_MAX];
	memcpy(dir, path, n);
	dir[n] = 0;
	int fd;
	VS_TRY(open_dir(r, dir, true, &fd));
	if (r->cache_fd >= 0)
		close(r->cache_fd);
	r->cache_fd = fd;
	memcpy(r->cache_path, dir, n + 1);
	*pfd = fd;
	return VS_OK;
}

static VS_MUST_USE vs_err remember_dir(vs_dir_restore *r, const vs_arc_entry *e)
{
	if (r->ndirs == r->capdirs) {
		size_t cap = r->capdirs ? 2 * r->capdirs : 64;
		dir_meta *nd = realloc(r->dirs, cap * sizeof *nd);
		if (!nd)
			return vs_fail(VS_E_ENV, "out of memory");
		r->dirs = nd;
		r->capdirs = cap;
	}
	dir_meta *m = &r->dirs[r->ndirs];
	if (!(m->path = strdup(e->path)))
		return vs_fail(VS_E_ENV, "out of memory");
	m->mode = e->mode;
	m->mtime.tv_sec = e->mtime_sec;
	m->mtime.tv_nsec = e->mtime_nsec;
	m->depth = strcmp(e->path, ".") ? depth_of(e->path) + 1 : 0;
	r->ndirs++;
	return VS_OK;
}

/* Restored modes keep permission and sticky bits, never set-id bits. */
static mode_t safe_mode(uint32_t mode)
{
	return (mode_t)(mode & 01777);
}

static VS_MUST_USE vs_err on_entry(void *ctx, const vs_arc_entry *e)
{
	sec_ctx *s = ctx;
	vs_dir_restore *r = s->r;
	if (vs_interrupted)
		return vs_fail(VS_E_ENV, "interrupted");
	if (e->type == VS_ARC_DIR && !strcmp(e->path, "."))
		return remember_dir(r, e);
	int pfd;
	const char *base;
	VS_TRY(parent_of(r, e->path, &pfd, &base));
	if (e->type == VS_ARC_DIR) {
		if (mkdirat(pfd, base, 0700) != 0) {
			struct stat st;
			if (errno != EEXIST || fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISDIR(st.st_mode))
				return vs_fail(VS_E_INTEGRITY, "snapshot has a conflicting entry at %s",
					       e->path);
		}
		return remember_dir(r, e);
	}
	if (e->type == VS_ARC_SYMLINK) {
		if (symlinkat(e->target, pfd, base) != 0)
			return errno == EEXIST
				       ? vs_fail(VS_E_INTEGRITY, "snapshot has two entries for %s", e->path)
				       : vs_fail_errno(VS_E_ENV, "cannot create symlink %s", e->path);
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { e->mtime_sec, e->mtime_nsec } };
		utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
		return VS_OK;
	}
	s->fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return errno == EEXIST
			       ? vs_fail(VS_E_INTEGRITY, "snapshot has two entries for %s", e->path)
			       : vs_fail_errno(VS_E_ENV, "cannot create %s", e->path);
	if (!s->cur && !(s->cur = malloc(sizeof *s->cur)))
		return vs_fail(VS_E_ENV, "out of memory");
	memcpy(s->cur, e, sizeof *e);
	return VS_OK;
}

static VS_MUST_USE vs_err on_data(void *ctx, const uint8_t *p, size_t n)
{
	sec_ctx *s = ctx;
	vs_err rc = vs_write_full(s->fd, p, n);
	return rc == VS_OK ? rc : vs_wrap(rc, "restoring %s", s->cur->path);
}

static VS_MUST_USE vs_err on_file_end(void *ctx)
{
	sec_ctx *s = ctx;
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { s->cur->mtime_sec, s->cur->mtime_nsec } };
	vs_err rc = VS_OK;
	if (fchmod(s->fd, safe_mode(s->cur->mode)) != 0 || futimens(s->fd, ts) != 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot set metadata of %s", s->cur->path);
	close(s->fd);
	s->fd = -1;
	return rc;
}

/* Staging directories of restores that were killed are removed on sight:
 * only real directories (no link is followed) owned by the effective uid. */
static void sweep_stale_at(int pfd)
{
	int fd = dup(pfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		long pid;
		char tail[16];
		if (strncmp(de->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) != 0 ||
		    sscanf(de->d_name + strlen(STAGE_PREFIX), "%ld-%15s", &pid, tail) != 2 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		vs_pause("restore.sweep_entry");
		vs_ignore(vs_rm_own_dir_at(pfd, de->d_name)); /* not ours, or gone: left alone */
	}
	closedir(d);
}

static int open_parent(const char *target, char *base, size_t bcap)
{
	char parent[VS_PATH_MAX];
	if (vs_split_path(target, parent, sizeof parent, base, bcap) != VS_OK)
		return -1;
	return open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

void vs_dir_sweep_stale(const char *target)
{
	char base[VS_PATH_MAX];
	int pfd = open_parent(target, base, sizeof base);
	if (pfd >= 0) {
		sweep_stale_at(pfd);
		close(pfd);
	}
}

/* The target, named inside its parent's descriptor, is absent or an empty
 * real directory; a symlink (also as "LINK/") is refused, never followed. */
static VS_MUST_USE vs_err check_target_at(int pfd, const char *base, const char *target)
{
	if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
		return vs_fail_field(VS_E_USAGE, VS_F_TO,
				     "restore target %s: name a new or empty directory", target);
	int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		struct stat st;
		if (errno == ENOENT)
			return VS_OK;
		if (errno != ELOOP && errno != ENOTDIR)
			return vs_fail_errno(VS_E_ENV, "cannot check %s", target);
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return vs_fail_field(VS_E_USAGE, VS_F_TO,
					     "restore target %s is a symbolic link: restore into a new "
					     "or empty directory, never through a link", target);
		return vs_fail_field(VS_E_USAGE, VS_F_TO,
				     "restore target %s exists and is not an empty directory; "
				     "restore into a new or empty directory", target);
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return vs_fail_errno(VS_E_ENV, "cannot check %s", target);
	}
	bool empty = true;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty)
		return vs_fail_field(VS_E_USAGE, VS_F_TO,
				     "restore target %s exists and is not an empty directory; "
				     "restore into a new or empty directory", target);
	return VS_OK;
}

/* A missing parent is the caller's mistake (a usage error); one that
 * cannot be opened is the environment's. */
static VS_MUST_USE vs_err parent_fail(const char *parent)
{
	if (errno == ENOENT || errno == ENOTDIR)
		return vs_fail_field(VS_E_USAGE, VS_F_TO,
				     "the restore target's parent directory %s does not exist "
				     "(create it first)", parent);
	return vs_fail_errno(VS_E_ENV, "cannot open the restore target's parent directory %s", parent);
}

VS_MUST_USE vs_err vs_dir_check_target(const char *target)
{
	char base[VS_PATH_MAX], parent[VS_PATH_MAX];
	VS_TRY(vs_split_path(target, parent, sizeof parent, base, sizeof base));
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return parent_fail(parent);
	vs_err rc = check_target_at(pfd, base, target);
	close(pfd);
	return rc;
}

/* A fresh 0700 directory of ours inside the parent, opened without a link. */
static VS_MUST_USE vs_err make_stage(vs_dir_restore *r, const char *parent)
{
	for (int tries = 0;; tries++) {
		uint8_t rnd[8];
		char hex[17];
		VS_TRY(vs_random(rnd, sizeof rnd));
		vs_hex(rnd, sizeof rnd, hex);
		snprintf(r->stage_name, sizeof r->stage_name, STAGE_PREFIX "%ld-%s", (long)getpid(), hex);
		if (mkdirat(r->parent_fd, r->stage_name, 0700) == 0)
			break;
		r->stage_name[0] = 0;
		if (errno != EEXIST || tries == 16)
			return vs_fail_errno(VS_E_ENV, "cannot create a staging directory in %s", parent);
	}
	if (snprintf(r->stage, sizeof r->stage, "%s/%s", parent, r->stage_name) >= (int)sizeof r->stage)
		return vs_fail_field(VS_E_USAGE, VS_F_TO, "restore target path too long");
	r->stage_fd = openat(r->parent_fd, r->stage_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (r->stage_fd < 0 || fstat(r->stage_fd, &st) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", r->stage);
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return vs_fail(VS_E_ENV, "staging directory %s was replaced: refused", r->stage);
	return VS_OK;
}

VS_MUST_USE vs_err vs_dir_restore_begin(vs_dir_restore **out, const char *target, unsigned nsections)
{
	char parent[VS_PATH_MAX], base[VS_PATH_MAX];
	VS_TRY(vs_split_path(target, parent, sizeof parent, base, sizeof base));
	vs_dir_restore *r = calloc(1, sizeof *r);
	if (!r)
		return vs_fail(VS_E_ENV, "out of memory");
	r->stage_fd = r->cache_fd = -1;
	r->nsections = nsections;
	snprintf(r->target, sizeof r->target, "%s", target);
	r->parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	vs_err rc = r->parent_fd < 0
			    ? parent_fail(parent)
			    : check_target_at(r->parent_fd, base, target);
	if (rc == VS_OK) {
		sweep_stale_at(r->parent_fd);
		rc = make_stage(r, parent);
	}
	uint8_t rnd[8];
	if (rc == VS_OK)
		rc = vs_random(rnd, sizeof rnd);
	if (rc == VS_OK) {
		vs_hex(rnd, sizeof rnd, r->ready_id);
		/* Room for the "-mNNNN" that vs_dir_restore_ready_path appends. */
		snprintf(r->ready_name, sizeof r->ready_name, READY_PREFIX "%s-m0700", r->ready_id);
		if (snprintf(r->ready, sizeof r->ready, "%s/%s", parent, r->ready_name) >=
		    (int)sizeof r->ready)
			rc = vs_fail_field(VS_E_USAGE, VS_F_TO, "restore target path too long");
	}
	if (rc != VS_OK) {
		vs_dir_restore_free(r);
		return rc;
	}
	vs_arc_ops ops = { NULL, on_entry, on_data, on_file_end };
	for (unsigned i = 0; i < nsections; i++) {
		r->sec[i].r = r;
		r->sec[i].fd = -1;
		ops.ctx = &r->sec[i];
		vs_arc_dec_init(&r->sec[i].dec, &ops);
	}
	*out = r;
	return VS_OK;
}

VS_MUST_USE vs_err vs_dir_restore_feed(vs_dir_restore *r, unsigned section, const uint8_t *p, size_t n,
			   bool final)
{
	if (section >= r->nsections || r->sec[section].done)
		return vs_fail(VS_E_INTEGRITY, "unexpected data for section %u", section);
	sec_ctx *s = &r->sec[section];
	s->fed = true;
	vs_err rc = vs_arc_dec_feed(&s->dec, p, n);
	if (rc == VS_OK && final) {
		rc = vs_arc_dec_finish(&s->dec);
		s->done = true;
	}
	return rc;
}

static int by_depth_desc(const void *a, const void *b)
{
	const dir_meta *x = a, *y = b;
	return y->depth - x->depth;
}

/* The root keeps 0700 until the very last rename (vs_dir_publish): its
 * recorded mode travels in the ready directory's name, so recovery, which
 * knows only that name, publishes with the same mode. */
static VS_MUST_USE vs_err apply_dir_meta(vs_dir_restore *r)
{
	qsort(r->dirs, r->ndirs, sizeof *r->dirs, by_depth_desc);
	if (r->cache_fd >= 0) {
		close(r->cache_fd);
		r->cache_fd = -1;
	}
	for (size_t i = 0; i < r->ndirs; i++) {
		dir_meta *m = &r->dirs[i];
		int fd;
		if (m->depth == 0)
			fd = dup(r->stage_fd);
		else
			VS_TRY(open_dir(r, m->path, false, &fd));
		struct timespec ts[2] = { { 0, UTIME_OMIT }, m->mtime };
		int bad = fd < 0 || (m->depth && fchmod(fd, safe_mode(m->mode)) != 0) ||
			  futimens(fd, ts) != 0;
		if (fd >= 0)
			close(fd);
		if (bad)
			return vs_fail_errno(VS_E_ENV, "cannot set metadata of directory %s", m->path);
	}
	return VS_OK;
}

const char *vs_dir_restore_ready_path(vs_dir_restore *r)
{
	char *slash = strrchr(r->ready, '/');
	for (size_t i = 0; slash && i < r->ndirs; i++)
		if (r->dirs[i].depth == 0) {
			snprintf(r->ready_name, sizeof r->ready_name, READY_PREFIX "%s-m%04o", r->ready_id,
				 (unsigned)safe_mode(r->dirs[i].mode));
			snprintf(slash + 1, sizeof r->ready - (size_t)(slash + 1 - r->ready), "%s",
				 r->ready_name);
		}
	return r->ready;
}

VS_MUST_USE vs_err vs_dir_restore_stage(vs_dir_restore *r)
{
	for (unsigned i = 0; i < r->nsections; i++)
		if (r->sec[i].fed && !r->sec[i].done)
			return vs_fail(VS_E_INTEGRITY, "section %u ended early", i);
	VS_TRY(apply_dir_meta(r));
	vs_dir_restore_ready_path(r);
	if (syncfs(r->stage_fd) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot sync restored files");
	vs_fault("restore.before_ready");
	if (renameat2(r->parent_fd, r->stage_name, r->parent_fd, r->ready_name, RENAME_NOREPLACE) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot rename the staging directory");
	r->committed = true;
	if (fsync(r->parent_fd) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot sync %s", r->ready);
	return VS_OK;
}

/* The mode recorded in a ready directory's name ("-mNNNN"), if any. */
static bool ready_mode(const char *base, mode_t *mode)
{
	const char *m = strrchr(base, '-');
	unsigned v;
	char end;
	if (!m || m[1] != 'm' || sscanf(m + 2, "%4o%c", &v, &end) != 1 || v > 01777)
		return false;
	*mode = (mode_t)v;
	return true;
}

/* Frees the target's name: absent is fine, an empty real directory is
 * removed (AT_REMOVEDIR never removes a link or a non-empty directory). */
static VS_MUST_USE vs_err clear_target(int pfd, const char *base, const char *target)
{
	if (unlinkat(pfd, base, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return VS_OK;
	if (errno == ENOTDIR)
		return vs_fail(VS_E_ENV, "%s is now a symbolic link or a file", target);
	if (errno == ENOTEMPTY || errno == EEXIST)
		return vs_fail(VS_E_ENV, "%s is no longer empty", target);
	return vs_fail_errno(VS_E_ENV, "cannot replace %s", target);
}

static VS_MUST_USE vs_err publish_at(int rfd, const char *rbase, int tfd, const char *tbase, const char *target)
{
	int fd = openat(rfd, rbase, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		vs_err rc = vs_fail_errno(VS_E_ENV, "cannot open the restored state %s", rbase);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	vs_err rc = st.st_uid == geteuid() ? VS_OK
					   : vs_fail(VS_E_ENV, "restored state %s is not ours", rbase);
	if (rc == VS_OK)
		rc = clear_target(tfd, tbase, target);
	mode_t mode;
	bool set_mode = rc == VS_OK && ready_mode(rbase, &mode);
	if (set_mode && fchmod(fd, mode) != 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot set the mode of %s", target);
	if (rc == VS_OK && renameat2(rfd, rbase, tfd, tbase, RENAME_NOREPLACE) != 0) {
		rc = vs_fail_errno(VS_E_ENV, "cannot move restored state into %s", target);
		if (set_mode)
			(void)fchmod(fd, 0700); /* plaintext stays private until published */
	}
	close(fd);
	if (rc == VS_OK && fsync(tfd) != 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot sync the directory of %s", target);
	return rc;
}

VS_MUST_USE vs_err vs_dir_publish(const char *ready, const char *target)
{
	char rbase[VS_PATH_MAX], tbase[VS_PATH_MAX];
	int rfd = open_parent(ready, rbase, sizeof rbase);
	int tfd = open_parent(target, tbase, sizeof tbase);
	vs_err rc = rfd < 0 || tfd < 0
			    ? vs_fail_errno(VS_E_ENV, "cannot open the directory of %s", target)
			    : publish_at(rfd, rbase, tfd, tbase, target);
	if (rfd >= 0)
		close(rfd);
	if (tfd >= 0)
		close(tfd);
	return rc;
}

void vs_dir_restore_free(vs_dir_restore *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < VS_SNAP_MAX_SECTIONS; i++) {
		if (r->sec[i].fd >= 0 && r->sec[i].r)
			close(r->sec[i].fd);
		free(r->sec[i].cur);
	}
	if (r->cache_fd >= 0)
		close(r->cache_fd);
	if (r->stage_fd >= 0)
		close(r->stage_fd);
	if (!r->committed && r->stage_name[0])
		vs_ignore(vs_rm_own_dir_at(r->parent_fd, r->stage_name));
	if (r->parent_fd >= 0)
		close(r->parent_fd);
	for (size_t i = 0; i < r->ndirs; i++)
		free(r->dirs[i].path);
	free(r->dirs);
	free(r);
}
