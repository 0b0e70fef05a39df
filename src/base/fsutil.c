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
#include <unistd.h>

volatile sig_atomic_t vs_interrupted;

vs_err vs_read_full(int fd, void *buf, size_t n, size_t *got)
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

vs_err vs_write_full(int fd, const void *buf, size_t n)
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

vs_err vs_write_new_file(const char *path, const void *data, size_t n, mode_t mode)
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

vs_err vs_read_small_file(const char *path, size_t max, uint8_t **out, size_t *len)
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

vs_err vs_split_path(const char *path, char *dir, size_t dcap, char *base, size_t bcap)
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

vs_err vs_fsync_path(const char *path)
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

vs_err vs_fsync_dir_of(const char *path)
{
	char dir[4096], base[4096];
	VS_TRY(vs_split_path(path, dir, sizeof dir, base, sizeof base));
	return vs_fsync_path(dir);
}

vs_err vs_mkdir_p(const char *path, mode_t mode)
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

static int rm_at(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	/* Our own temp trees may hold directories restored read-only. */
	if (fchmodat(dfd, name, 0700, 0) != 0 && errno != EPERM)
		return -1;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
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
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0)
		rc = -1;
	return rc;
}

vs_err vs_rm_rf(const char *path)
{
	if (rm_at(AT_FDCWD, path) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot remove %s", path);
	return VS_OK;
}

vs_err vs_lock_exclusive(int fd, const char *what)
{
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return vs_fail_errno(VS_E_ENV, "cannot lock %s", what);
	return VS_OK;
}
