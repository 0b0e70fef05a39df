/* dir engine, restore side: decode into a 0700 staging directory beside the
 * target, never following a symlink, and rename it into place on commit. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
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
static vs_err open_dir(vs_dir_restore *r, const char *rel, bool create, int *out)
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
static vs_err parent_of(vs_dir_restore *r, const char *path, int *pfd, const char **base)
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

static vs_err remember_dir(vs_dir_restore *r, const vs_arc_entry *e)
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

static vs_err on_entry(void *ctx, const vs_arc_entry *e)
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

static vs_err on_data(void *ctx, const uint8_t *p, size_t n)
{
	sec_ctx *s = ctx;
	vs_err rc = vs_write_full(s->fd, p, n);
	return rc == VS_OK ? rc : vs_wrap(rc, "restoring %s", s->cur->path);
}

static vs_err on_file_end(void *ctx)
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

/* Staging directories of restores that were killed are removed on sight. */
static void sweep_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		long pid;
		char tail[16];
		if (strncmp(de->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) != 0 ||
		    sscanf(de->d_name + strlen(STAGE_PREFIX), "%ld-%15s", &pid, tail) != 2 || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char path[VS_PATH_MAX];
		if (snprintf(path, sizeof path, "%s/%s", parent, de->d_name) < (int)sizeof path)
			vs_ignore(vs_rm_rf(path));
	}
	closedir(d);
}

void vs_dir_sweep_stale(const char *target)
{
	char parent[VS_PATH_MAX], base[VS_PATH_MAX];
	if (vs_split_path(target, parent, sizeof parent, base, sizeof base) == VS_OK)
		sweep_stale(parent);
}

vs_err vs_dir_check_target(const char *target)
{
	char parent[VS_PATH_MAX], base[VS_PATH_MAX];
	struct stat st;
	VS_TRY(vs_split_path(target, parent, sizeof parent, base, sizeof base));
	if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/"))
		return vs_fail(VS_E_USAGE, "--to %s: name a new or empty directory", target);
	if (lstat(target, &st) == 0) {
		DIR *d = S_ISDIR(st.st_mode) ? opendir(target) : NULL;
		bool empty = d != NULL;
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = false;
		if (d)
			closedir(d);
		if (!empty)
			return vs_fail(VS_E_USAGE, "--to %s exists and is not an empty directory; "
						   "restore into a new or empty directory", target);
	} else if (errno != ENOENT) {
		return vs_fail_errno(VS_E_ENV, "cannot check %s", target);
	}
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
		return vs_fail(VS_E_ENV, "parent directory %s of --to does not exist", parent);
	return VS_OK;
}

vs_err vs_dir_restore_begin(vs_dir_restore **out, const char *target, unsigned nsections)
{
	char parent[VS_PATH_MAX], base[VS_PATH_MAX];
	VS_TRY(vs_dir_check_target(target));
	VS_TRY(vs_split_path(target, parent, sizeof parent, base, sizeof base));
	sweep_stale(parent);

	vs_dir_restore *r = calloc(1, sizeof *r);
	if (!r)
		return vs_fail(VS_E_ENV, "out of memory");
	r->stage_fd = r->cache_fd = -1;
	r->nsections = nsections;
	snprintf(r->target, sizeof r->target, "%s", target);
	if (snprintf(r->stage, sizeof r->stage, "%s/" STAGE_PREFIX "%ld-XXXXXX", parent,
		     (long)getpid()) >= (int)sizeof r->stage || !mkdtemp(r->stage)) {
		vs_err rc = vs_fail_errno(VS_E_ENV, "cannot create a staging directory in %s", parent);
		free(r);
		return rc;
	}
	uint8_t rnd[8];
	char hex[17];
	vs_err rrc = vs_random(rnd, sizeof rnd);
	if (rrc != VS_OK) {
		vs_dir_restore_free(r);
		return rrc;
	}
	vs_hex(rnd, sizeof rnd, hex);
	if (snprintf(r->ready, sizeof r->ready, "%s/" READY_PREFIX "%s", parent, hex) >=
	    (int)sizeof r->ready) {
		vs_dir_restore_free(r);
		return vs_fail(VS_E_USAGE, "--to path too long");
	}
	r->stage_fd = open(r->stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->stage_fd < 0) {
		vs_err rc = vs_fail_errno(VS_E_ENV, "cannot open %s", r->stage);
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

vs_err vs_dir_restore_feed(vs_dir_restore *r, unsigned section, const uint8_t *p, size_t n,
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

static vs_err apply_dir_meta(vs_dir_restore *r)
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
		int bad = fchmod(fd, safe_mode(m->mode)) != 0 || futimens(fd, ts) != 0;
		close(fd);
		if (bad)
			return vs_fail_errno(VS_E_ENV, "cannot set metadata of directory %s", m->path);
	}
	return VS_OK;
}

const char *vs_dir_restore_ready_path(const vs_dir_restore *r)
{
	return r->ready;
}

vs_err vs_dir_restore_stage(vs_dir_restore *r)
{
	for (unsigned i = 0; i < r->nsections; i++)
		if (r->sec[i].fed && !r->sec[i].done)
			return vs_fail(VS_E_INTEGRITY, "section %u ended early", i);
	VS_TRY(apply_dir_meta(r));
	if (syncfs(r->stage_fd) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot sync restored files");
	vs_fault("restore.before_ready");
	if (rename(r->stage, r->ready) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot rename the staging directory");
	r->committed = true;
	return vs_fsync_dir_of(r->ready);
}

vs_err vs_dir_publish(const char *ready, const char *target)
{
	if (rename(ready, target) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot move restored state into %s", target);
	return vs_fsync_dir_of(target);
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
	if (!r->committed && r->stage[0])
		vs_ignore(vs_rm_rf(r->stage));
	for (size_t i = 0; i < r->ndirs; i++)
		free(r->dirs[i].path);
	free(r->dirs);
	free(r);
}
