#define _GNU_SOURCE
#include "vnfsafe/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

volatile sig_atomic_t vs_interrupted;

VS_MUST_USE vs_err vs_read_full(int fd, void *buf, size_t n, size_t *got)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = read(fd, (uint8_t *)buf + done, n - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail_errno(VS_E_ENV, "read failed");
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	*got = done;
	return VS_OK;
}

VS_MUST_USE vs_err vs_write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(fd, (const uint8_t *)buf + done, n - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return vs_fail_errno(VS_E_ENV, "write failed");
		}
		done += (size_t)w;
	}
	return VS_OK;
}

VS_MUST_USE vs_err vs_write_new_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot create %s", path);
	vs_err rc = vs_write_full(fd, data, n);
	if (rc == VS_OK && fsync(fd) != 0)
		rc = vs_fail_errno(VS_E_ENV, "fsync %s", path);
	close(fd);
	if (rc != VS_OK)
		unlink(path);
	return rc;
}

VS_MUST_USE vs_err vs_read_small_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", path);
	uint8_t *buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		return vs_fail(VS_E_ENV, "out of memory");
	}
	size_t got;
	vs_err rc = vs_read_full(fd, buf, max + 1, &got);
	close(fd);
	if (rc == VS_OK && got > max)
		rc = vs_fail(VS_E_ENV, "%s is larger than expected", path);
	if (rc != VS_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = got;
	return VS_OK;
}

VS_MUST_USE vs_err vs_split_path(const char *path, char *dir, size_t dcap, char *base, size_t bcap)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return vs_fail(VS_E_USAGE, "bad path '%s'", path);
	memcpy(tmp, path, n + 1);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = 0;
	char *slash = strrchr(tmp, '/');
	const char *d = ".", *b = tmp;
	if (slash) {
		*slash = 0;
		d = slash == tmp ? "/" : tmp;
		b = slash + 1;
	}
	if (strlen(d) >= dcap || strlen(b) >= bcap)
		return vs_fail(VS_E_USAGE, "path too long '%s'", path);
	memmove(dir, d, strlen(d) + 1);
	memmove(base, b, strlen(b) + 1);
	return VS_OK;
}

VS_MUST_USE vs_err vs_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", path);
	int r = fsync(fd);
	close(fd);
	if (r != 0 && errno != EINVAL)
		return vs_fail_errno(VS_E_ENV, "fsync %s", path);
	return VS_OK;
}

VS_MUST_USE vs_err vs_fsync_dir_of(const char *path)
{
	char dir[4096], base[4096];
	VS_TRY(vs_split_path(path, dir, sizeof dir, base, sizeof base));
	return vs_fsync_path(dir);
}

VS_MUST_USE vs_err vs_mkdir_p(const char *path, mode_t mode)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return vs_fail(VS_E_USAGE, "bad directory path");
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(tmp, mode) != 0 && errno != EEXIST)
				return vs_fail_errno(VS_E_ENV, "cannot create directory %s", tmp);
			*p = c;
			if (c == 0)
				break;
		}
	}
	return VS_OK;
}

/* Opens directory name under dfd without following a link and only if the
 * effective uid owns it; a directory restored without write permission is
 * made 0700 through its own descriptor (O_PATH + /proc), never by name. */
static int open_own_dir(int dfd, const char *name)
{
	int pfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -1;
	struct stat st;
	int fd = -1;
	if (fstat(pfd, &st) != 0)
		goto out;
	if (st.st_uid != geteuid()) {
		errno = EPERM;
		goto out;
	}
	if ((st.st_mode & 0700) != 0700) {
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
		if (chmod(proc, 0700) != 0)
			goto out;
	}
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
out:
	if (pfd >= 0) {
		int saved = errno;
		close(pfd);
		errno = saved;
	}
	return fd;
}

static int rm_at(int dfd, const char *name);

static int rm_children(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (rm_at(dirfd(d), e->d_name) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

/* Never looks at a name and then acts on it again: a non-directory is
 * unlinked outright, a directory is emptied through its own descriptor, and
 * AT_REMOVEDIR removes only an empty directory, never a link. */
static int rm_at(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int fd = open_own_dir(dfd, name);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = rm_children(fd);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

VS_MUST_USE vs_err vs_rm_own_dir_at(int dfd, const char *name)
{
	int fd = open_own_dir(dfd, name);
	int rc = fd < 0 ? -1 : rm_children(fd);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) != 0)
		rc = -1;
	if (rc != 0)
		return vs_fail_errno(VS_E_ENV, "cannot remove %s", name);
	return VS_OK;
}

VS_MUST_USE vs_err vs_rm_rf(const char *path)
{
	char dir[4096], base[4096];
	VS_TRY(vs_split_path(path, dir, sizeof dir, base, sizeof base));
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot remove %s", path);
	int r = rm_at(dfd, base);
	int saved = errno;
	close(dfd);
	errno = saved;
	if (r != 0)
		return vs_fail_errno(VS_E_ENV, "cannot remove %s", path);
	return VS_OK;
}

VS_MUST_USE vs_err vs_flock(int fd, int op, const char *what)
{
	while (flock(fd, op) != 0)
		if (errno != EINTR)
			return vs_fail_errno(VS_E_ENV, "cannot %s %s", op == LOCK_UN ? "unlock" : "lock",
					     what);
	return VS_OK;
}

VS_MUST_USE vs_err vs_lock_exclusive(int fd, const char *what)
{
	return vs_flock(fd, LOCK_EX, what);
}

bool vs_space_low(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) != 0)
		return false;
	return (uint64_t)sv.f_bavail * sv.f_frsize < VS_SPACE_RESERVE;
}

VS_MUST_USE vs_err vs_space_check(const char *path)
{
	struct statvfs sv;
	if (!vs_space_low(path) || statvfs(path, &sv) != 0)
		return VS_OK;
	return vs_fail(VS_E_ENV, "no space left on the file system of %s (%llu KiB free, %u KiB "
				 "needed to write)", path,
		       (unsigned long long)((uint64_t)sv.f_bavail * sv.f_frsize / 1024),
		       (unsigned)(VS_SPACE_RESERVE / 1024));
}

VS_MUST_USE vs_err vs_sqlite_readonly_uri(const char *db, char *uri, size_t cap)
{
	char shm[4200];
	size_t n = 0;
	if ((size_t)snprintf(shm, sizeof shm, "%s-shm", db) >= sizeof shm)
		return vs_fail(VS_E_USAGE, "database path too long");
	int fd = open(shm, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", shm);
	close(fd);
	static const char head[] = "file:", tail[] = "?mode=ro&readonly_shm=1";
	if (cap < sizeof head)
		return vs_fail(VS_E_USAGE, "database path too long");
	memcpy(uri, head, sizeof head - 1);
	n = sizeof head - 1;
	for (const char *c = db; *c; c++) { /* '%', '?' and '#' are URI syntax */
		if (n + 4 >= cap)
			return vs_fail(VS_E_USAGE, "database path too long");
		if (*c == '%' || *c == '?' || *c == '#')
			n += (size_t)snprintf(uri + n, cap - n, "%%%02X", (unsigned char)*c);
		else
			uri[n++] = *c;
	}
	if (n + sizeof tail > cap)
		return vs_fail(VS_E_USAGE, "database path too long");
	memcpy(uri + n, tail, sizeof tail);
	return VS_OK;
}
