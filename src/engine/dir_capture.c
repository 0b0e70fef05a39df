/* dir engine, capture side: a sorted, no-follow walk of a state directory. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/engine.h"
#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/snapshot.h"

#define MAX_DEPTH 256

typedef struct {
	const vs_domain_map *doms;
	size_t ndoms;
	const vs_section_sink *sink; /* NULL when only measuring */
	uint64_t bytes;
	size_t matched[VS_SNAP_MAX_SECTIONS]; /* entries captured into each domain */
	char path[VS_PATH_MAX];
	uint8_t hdr[VS_ARC_HDR_MAX];
} capture;

VS_MUST_USE vs_err vs_domain_map_parse(const char *spec, vs_domain_map *m)
{
	const char *eq = strchr(spec, '=');
	memset(m, 0, sizeof *m);
	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof m->name)
		return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
				     "a trust domain is given as NAME=RELPATH, got '%s'", spec);
	memcpy(m->name, spec, (size_t)(eq - spec));
	const char *rel = eq + 1;
	while (rel[0] == '.' && rel[1] == '/')
		rel += 2;
	size_t n = strlen(rel);
	if (n >= sizeof m->relpath)
		return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN, "trust domain %s: path too long",
				     m->name);
	memcpy(m->relpath, rel, n + 1);
	while (n > 0 && m->relpath[n - 1] == '/')
		m->relpath[--n] = 0;
	if (n == 0 || !strcmp(m->relpath, ".") || !vs_arc_path_ok(m->relpath))
		return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
				     "trust domain %s: '%s' must be a relative path inside the state "
				     "directory (no '..', not absolute, not the root itself)",
				     m->name, rel);
	return VS_OK;
}

static unsigned section_for(const capture *c, const char *path)
{
	unsigned best = 0;
	size_t best_len = 0;
	for (size_t i = 0; i < c->ndoms; i++) {
		const char *r = c->doms[i].relpath;
		size_t n = strlen(r);
		if (!strncmp(path, r, n) && (path[n] == 0 || path[n] == '/') && n > best_len) {
			best = (unsigned)i + 1;
			best_len = n;
		}
	}
	return best;
}

static VS_MUST_USE vs_err put(capture *c, unsigned sec, const uint8_t *p, size_t n)
{
	while (n > 0) {
		uint8_t *dst;
		size_t avail;
		VS_TRY(c->sink->reserve(c->sink->ctx, sec, &dst, &avail));
		size_t k = n < avail ? n : avail;
		memcpy(dst, p, k);
		c->sink->commit(c->sink->ctx, sec, k);
		p += k, n -= k;
	}
	return VS_OK;
}

static VS_MUST_USE vs_err emit(capture *c, unsigned sec, const vs_arc_entry *e)
{
	if (sec > 0 && e->type == VS_ARC_SYMLINK && !strcmp(e->path, c->doms[sec - 1].relpath))
		return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
				     "trust domain %s: '%s' is a symbolic link; name the real "
				     "directory (the files behind a link would not be in the domain)",
				     c->doms[sec - 1].name, e->path);
	if (e->type != VS_ARC_SYMLINK && sec < VS_SNAP_MAX_SECTIONS)
		c->matched[sec]++;
	if (!c->sink)
		return VS_OK;
	size_t n = vs_arc_encode(e, c->hdr, sizeof c->hdr);
	if (n == 0)
		return vs_fail(VS_E_ENV, "cannot encode entry %s", e->path);
	return put(c, sec, c->hdr, n);
}

static void fill_meta(vs_arc_entry *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
}

static VS_MUST_USE vs_err stream_file(capture *c, unsigned sec, int fd, uint64_t size)
{
	while (size > 0) {
		if (vs_interrupted)
			return vs_fail(VS_E_ENV, "interrupted");
		uint8_t *dst;
		size_t avail;
		VS_TRY(c->sink->reserve(c->sink->ctx, sec, &dst, &avail));
		size_t want = size < avail ? (size_t)size : avail;
		ssize_t r = read(fd, dst, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail_errno(VS_E_ENV, "reading %s", c->path);
		}
		if (r == 0)
			return vs_fail(VS_E_ENV, "%s shrank while being captured (quiesce the VNF first)",
				       c->path);
		c->sink->commit(c->sink->ctx, sec, (size_t)r);
		size -= (uint64_t)r;
		c->bytes += (uint64_t)r;
		if (c->sink->progress)
			c->sink->progress(c->sink->ctx, c->bytes);
	}
	return VS_OK;
}

static bool same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Size, mtime and ctime on the same descriptor before and after the read: a
 * writer that appended or rewrote any part in between is caught (unless it
 * wrote within the file system's timestamp granularity of the first fstat
 * and kept the size: quiescing stays the caller's duty). */
static VS_MUST_USE vs_err same_file_after(int fd, const struct stat *before, const char *path)
{
	struct stat after;
	if (fstat(fd, &after) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot stat %s", path);
	if (after.st_size != before->st_size || !same_time(&after.st_mtim, &before->st_mtim) ||
	    !same_time(&after.st_ctim, &before->st_ctim))
		return vs_fail(VS_E_ENV, "%s changed while being captured (quiesce the VNF first)",
			       path);
	return VS_OK;
}

static VS_MUST_USE vs_err capture_file(capture *c, int dfd, const char *name, const struct stat *st,
			   vs_arc_entry *e)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", c->path);
	struct stat st2;
	vs_err rc = VS_OK;
	if (fstat(fd, &st2) != 0 || !S_ISREG(st2.st_mode) || st2.st_ino != st->st_ino ||
	    st2.st_dev != st->st_dev) {
		rc = vs_fail(VS_E_ENV, "%s changed while being captured (quiesce the VNF first)", c->path);
		goto out;
	}
	if (!c->sink) {
		c->bytes += (uint64_t)st2.st_size;
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	fill_meta(e, &st2);
	e->type = VS_ARC_FILE;
	e->size = (uint64_t)st2.st_size;
	unsigned sec = section_for(c, c->path);
	VS_TRY_GOTO(rc, emit(c, sec, e), out);
	VS_TRY_GOTO(rc, stream_file(c, sec, fd, e->size), out);
	vs_pause("capture.after_file");
	rc = same_file_after(fd, &st2, c->path);
out:
	close(fd);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static VS_MUST_USE vs_err read_names(int dfd, const char *path, char ***out, size_t *count)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return vs_fail_errno(VS_E_ENV, "cannot read directory %s", path);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	vs_err rc = VS_OK;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			char **nn = realloc(names, cap * sizeof *names);
			if (!nn) {
				rc = vs_fail(VS_E_ENV, "out of memory");
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = vs_fail(VS_E_ENV, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (rc != VS_OK) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return rc;
	}
	if (n > 1) /* names is NULL for an empty directory */
		qsort(names, n, sizeof *names, cmp_names);
	*out = names;
	*count = n;
	return VS_OK;
}

static VS_MUST_USE vs_err walk(capture *c, int dfd, int depth);

static VS_MUST_USE vs_err capture_one(capture *c, int dfd, const char *name, int depth)
{
	struct stat st;
	vs_arc_entry *e = malloc(sizeof *e);
	if (!e)
		return vs_fail(VS_E_ENV, "out of memory");
	memset(e, 0, sizeof *e);
	memcpy(e->path, c->path, strlen(c->path) + 1);
	vs_err rc = VS_OK;
	/* Directories and links are read through the descriptor whose fstat
	 * they are described by, never by the name again. */
	int pfd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) != 0) {
		rc = vs_fail_errno(VS_E_ENV, "cannot stat %s", c->path);
	} else if (S_ISDIR(st.st_mode)) {
		e->type = VS_ARC_DIR;
		fill_meta(e, &st);
		VS_TRY_GOTO(rc, emit(c, section_for(c, c->path), e), out);
		int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			rc = vs_fail_errno(VS_E_ENV, "cannot open directory %s", c->path);
			goto out;
		}
		rc = walk(c, fd, depth + 1);
		close(fd);
	} else if (S_ISREG(st.st_mode)) {
		rc = capture_file(c, dfd, name, &st, e);
	} else if (S_ISLNK(st.st_mode)) {
		e->type = VS_ARC_SYMLINK;
		fill_meta(e, &st);
		ssize_t n = readlinkat(pfd, "", e->target, sizeof e->target);
		if (n <= 0 || (size_t)n >= sizeof e->target)
			rc = vs_fail_errno(VS_E_ENV, "cannot read symlink %s", c->path);
		else
			rc = emit(c, section_for(c, c->path), e);
	} else {
		rc = vs_fail(VS_E_ENV, "%s is a socket, FIFO or device: the dir engine captures only "
				       "files, directories and symlinks", c->path);
	}
out:
	if (pfd >= 0)
		close(pfd);
	free(e);
	return rc;
}

static VS_MUST_USE vs_err walk(capture *c, int dfd, int depth)
{
	if (depth > MAX_DEPTH)
		return vs_fail(VS_E_ENV, "%s: directories nested deeper than %d", c->path, MAX_DEPTH);
	char **names = NULL;
	size_t count = 0;
	VS_TRY(read_names(dfd, c->path[0] ? c->path : ".", &names, &count));
	size_t base = strlen(c->path);
	vs_err rc = VS_OK;
	for (size_t i = 0; i < count && rc == VS_OK; i++) {
		int n = snprintf(c->path + base, sizeof c->path - base, "%s%s", base ? "/" : "",
				 names[i]);
		if (n < 0 || (size_t)n >= sizeof c->path - base)
			rc = vs_fail(VS_E_ENV, "path too long under %s", c->path);
		else
			rc = capture_one(c, dfd, names[i], depth);
		c->path[base] = 0;
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* A domain path must name a real file or directory in the tree, reached
 * without symlinks: a link would put the files behind it in 'default'. */
static VS_MUST_USE vs_err check_domain(int root, const vs_domain_map *m)
{
	char tmp[VS_PATH_MAX];
	memcpy(tmp, m->relpath, strlen(m->relpath) + 1);
	int dfd = dup(root);
	char *save, *comp = strtok_r(tmp, "/", &save);
	vs_err rc = VS_OK;
	while (comp && dfd >= 0 && rc == VS_OK) {
		char *next = strtok_r(NULL, "/", &save);
		struct stat st;
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) != 0)
			rc = vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
					   "trust domain %s: '%s' is not in the state directory",
					   m->name, m->relpath);
		else if (S_ISLNK(st.st_mode))
			rc = vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
					   "trust domain %s: '%s' is or passes through a symbolic "
					   "link; name the real directory (the files behind a link "
					   "would not be in the domain)", m->name, m->relpath);
		else if (next && !S_ISDIR(st.st_mode))
			rc = vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
					   "trust domain %s: '%s' is not in the state directory",
					   m->name, m->relpath);
		if (rc != VS_OK || !next)
			break;
		int fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		dfd = fd;
		if (fd < 0)
			rc = vs_set_field(vs_fail_errno(VS_E_ENV, "trust domain %s: cannot open '%s'",
							 m->name, m->relpath),
					  VS_F_DOMAIN);
		comp = next;
	}
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* Checked on what was captured, so a path swapped after check_domain fails too. */
static VS_MUST_USE vs_err check_matched(const capture *c)
{
	for (size_t i = 0; c->sink && i < c->ndoms; i++)
		if (c->matched[i + 1] == 0)
			return vs_fail_field(VS_E_USAGE, VS_F_DOMAIN,
					     "trust domain %s: '%s' matched nothing in the state "
					     "directory", c->doms[i].name, c->doms[i].relpath);
	return VS_OK;
}

static VS_MUST_USE vs_err run(capture *c, const char *src)
{
	int root = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return vs_fail_errno(errno == ENOENT || errno == ENOTDIR ? VS_E_USAGE : VS_E_ENV,
				     "cannot open state directory %s", src);
	vs_err rc = VS_OK;
	for (size_t i = 0; i < c->ndoms && rc == VS_OK; i++)
		rc = check_domain(root, &c->doms[i]);
	struct stat st;
	if (rc == VS_OK && fstat(root, &st) != 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot stat %s", src);
	if (rc == VS_OK) {
		vs_arc_entry *e = calloc(1, sizeof *e);
		if (!e) {
			rc = vs_fail(VS_E_ENV, "out of memory");
		} else {
			e->type = VS_ARC_DIR;
			strcpy(e->path, ".");
			fill_meta(e, &st);
			rc = emit(c, 0, e);
			free(e);
		}
	}
	if (rc == VS_OK)
		rc = walk(c, root, 0);
	if (rc == VS_OK)
		rc = check_matched(c);
	close(root);
	return rc;
}

VS_MUST_USE vs_err vs_dir_measure(const char *src, uint64_t *bytes)
{
	capture c;
	memset(&c, 0, sizeof c);
	vs_err rc = run(&c, src);
	*bytes = c.bytes;
	return rc;
}

VS_MUST_USE vs_err vs_dir_capture(const char *src, const vs_domain_map *doms, size_t ndoms,
		      const vs_section_sink *sink)
{
	capture *c = calloc(1, sizeof *c);
	if (!c)
		return vs_fail(VS_E_ENV, "out of memory");
	c->doms = doms;
	c->ndoms = ndoms;
	c->sink = sink;
	vs_err rc = run(c, src);
	free(c);
	return rc;
}
