/* Home creation and opening. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "home_priv.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/nodump.h"

VS_MUST_USE vs_err vs_home_resolve(const char *arg, char *out, size_t cap)
{
	const char *env = getenv("VNFSAFE_HOME");
	const char *home = getenv("HOME");
	int n;
	if (arg && *arg)
		n = snprintf(out, cap, "%s", arg);
	else if (env && *env)
		n = snprintf(out, cap, "%s", env);
	else if (home && *home)
		n = snprintf(out, cap, "%s/.local/share/vnfsafe", home);
	else
		return vs_fail_field(VS_E_USAGE, VS_F_HOME,
				     "no home named, and neither VNFSAFE_HOME nor HOME is set");
	if (n < 0 || (size_t)n >= cap)
		return vs_fail(VS_E_USAGE, "home path too long");
	return VS_OK;
}

static VS_MUST_USE vs_err file_in(char *out, size_t cap, const char *dir, const char *name)
{
	if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap)
		return vs_fail(VS_E_USAGE, "home path too long");
	return VS_OK;
}

static VS_MUST_USE vs_err populate(const char *dir)
{
	char p1[4096], p2[4096];
	vs_signer *s = NULL;
	vs_key kek;
	VS_TRY(vs_signer_generate(&s));
	vs_err rc = file_in(p1, sizeof p1, dir, HOME_HOSTKEY);
	if (rc == VS_OK)
		rc = file_in(p2, sizeof p2, dir, HOME_HOSTPUB);
	if (rc == VS_OK)
		rc = vs_signer_save_pem(s, p1, p2);
	vs_signer_free(s);
	if (rc == VS_OK)
		rc = vs_key_generate(&kek);
	if (rc == VS_OK)
		rc = file_in(p1, sizeof p1, dir, HOME_KEK);
	if (rc == VS_OK)
		rc = vs_write_new_file(p1, kek.k, sizeof kek.k, 0600);
	vs_key_wipe(&kek);
	if (rc == VS_OK)
		rc = file_in(p1, sizeof p1, dir, HOME_DB);
	if (rc == VS_OK)
		rc = vs_db_create(p1);
	return rc;
}

static bool home_exists(const char *path)
{
	char p[4096];
	struct stat st;
	return file_in(p, sizeof p, path, HOME_KEK) == VS_OK && lstat(p, &st) == 0;
}

/* A home this user cannot look into is neither missing nor new: said as
 * such, with its owner (a non-root user pointing at root's home). */
static VS_MUST_USE vs_err check_access(const char *path)
{
	char p[4096];
	struct stat st;
	VS_TRY(file_in(p, sizeof p, path, HOME_KEK));
	if (lstat(p, &st) == 0 || errno != EACCES)
		return VS_OK;
	if (stat(path, &st) != 0)
		return vs_fail(VS_E_ENV, "permission denied on %s (a directory above it is not "
					 "searchable)", path);
	struct passwd *pw = getpwuid(st.st_uid);
	if (pw && pw->pw_name)
		return vs_fail(VS_E_ENV, "permission denied on %s (owned by %s)", path, pw->pw_name);
	return vs_fail(VS_E_ENV, "permission denied on %s (owned by uid %u)", path,
		       (unsigned)st.st_uid);
}

/* path holds no home and is absent or an empty directory: checked before
 * anything is made, and again at the rename. */
static VS_MUST_USE vs_err check_new_home(const char *path)
{
	struct stat st;
	VS_TRY(check_access(path));
	if (home_exists(path))
		return vs_fail(VS_E_USAGE, "a vnfsafe home already exists at %s; refusing to overwrite it", path);
	if (lstat(path, &st) == 0) {
		DIR *d = S_ISDIR(st.st_mode) ? opendir(path) : NULL;
		bool empty = d != NULL;
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = false;
		if (d)
			closedir(d);
		if (!empty)
			return vs_fail_field(VS_E_USAGE, VS_F_HOME,
					     "%s exists and is not an empty directory; choose another "
					     "home", path);
	} else if (errno != ENOENT) {
		return vs_fail_errno(VS_E_ENV, "cannot check %s", path);
	}
	return VS_OK;
}

/* Staging homes of inits that were killed hold keys: removed on sight (our
 * own real directories only, whose process is gone). */
static void sweep_stale_stages(const char *parent, const char *base)
{
	char prefix[4200];
	snprintf(prefix, sizeof prefix, ".%s.init-", base);
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = pfd >= 0 ? dup(pfd) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d && fd >= 0)
		close(fd);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		long pid;
		char tail[16];
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    sscanf(de->d_name + strlen(prefix), "%ld-%15s", &pid, tail) != 2 || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		vs_ignore(vs_rm_own_dir_at(pfd, de->d_name));
	}
	if (d)
		closedir(d);
	if (pfd >= 0)
		close(pfd);
}

VS_MUST_USE vs_err vs_home_init_stage(const char *path, char *stage, size_t cap)
{
	char parent[4096], base[4096];
	stage[0] = 0;
	VS_TRY(check_new_home(path));
	VS_TRY(vs_split_path(path, parent, sizeof parent, base, sizeof base));
	VS_TRY(vs_mkdir_p(parent, 0755));
	sweep_stale_stages(parent, base);
	VS_TRY(vs_space_check(parent)); /* else an OpenSSL or SQLite write fails obscurely */
	if (snprintf(stage, cap, "%s/.%s.init-%ld-XXXXXX", parent, base, (long)getpid()) >= (int)cap) {
		stage[0] = 0;
		return vs_fail(VS_E_USAGE, "home path too long");
	}
	/* Built in a 0700 staging directory and renamed: a crash never leaves a
	 * half home that looks whole. */
	if (!mkdtemp(stage)) {
		vs_err rc = vs_fail_errno(VS_E_ENV, "cannot create %s", parent);
		stage[0] = 0;
		return rc;
	}
	vs_err rc = populate(stage);
	if (rc != VS_OK)
		vs_home_init_abort(stage);
	return rc;
}

VS_MUST_USE vs_err vs_home_init_commit(const char *stage, const char *path)
{
	VS_TRY(vs_fsync_path(stage));
	VS_TRY(check_new_home(path));
	/* An empty directory at path is replaced, a non-empty one refused. */
	if (rename(stage, path) != 0)
		return vs_fail_errno(errno == ENOTEMPTY || errno == EEXIST ? VS_E_USAGE : VS_E_ENV,
				     "cannot create home %s", path);
	return vs_fsync_dir_of(path);
}

void vs_home_init_abort(const char *stage)
{
	if (stage[0])
		vs_ignore(vs_rm_rf(stage));
}

VS_MUST_USE vs_err vs_home_init(const char *path)
{
	char stage[4096];
	VS_TRY(vs_home_init_stage(path, stage, sizeof stage));
	vs_err rc = vs_home_init_commit(stage, path);
	if (rc != VS_OK)
		vs_home_init_abort(stage);
	return rc;
}

/* Secrets readable by others mean the home is already compromised. */
static VS_MUST_USE vs_err check_private(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot access %s", path);
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return vs_fail(VS_E_ENV, "%s is not a regular file or directory", path);
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return vs_fail(VS_E_ENV, "%s must be owned by you and not accessible to group or others "
					 "(chmod go= %s)", path, path);
	return VS_OK;
}

/* Readable and unique per home, so several homes on one machine are
 * several hosts to a shared ledger (that is how the tests run hosts). */
static void name_host(vs_home *h)
{
	char name[48] = "host", hex[9];
	if (gethostname(name, sizeof name - 1) != 0)
		strcpy(name, "host");
	name[sizeof name - 1] = 0;
	for (char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '-' || *c == '.'))
			*c = '-';
	uint8_t pub[VS_PUB_LEN], id[VS_HASH_LEN];
	vs_keys_pub(&h->keys, pub, id);
	vs_hex(id, 4, hex);
	snprintf(h->host, sizeof h->host, "%.40s-%.8s", name, hex);
}

VS_MUST_USE vs_err vs_home_open(vs_home **out, const char *path)
{
	char p[4096];
	VS_TRY(check_access(path));
	if (!home_exists(path))
		return vs_refuse(VS_E_ENV, VS_R_NO_HOME, NULL, "no vnfsafe home at %s", path);
	vs_home *h = calloc(1, sizeof *h);
	if (!h)
		return vs_fail(VS_E_ENV, "out of memory");
	h->ks_fd = -1;
	snprintf(h->path, sizeof h->path, "%s", path);
	vs_err rc = vs_no_core_dumps(); /* any program that loads the keys */
	if (rc == VS_OK)
		rc = check_private(path);
	char hostkey[4096];
	if (rc == VS_OK)
		rc = file_in(p, sizeof p, path, HOME_KEK);
	if (rc == VS_OK)
		rc = check_private(p);
	if (rc == VS_OK)
		rc = file_in(hostkey, sizeof hostkey, path, HOME_HOSTKEY);
	if (rc == VS_OK)
		rc = check_private(hostkey);
	if (rc == VS_OK)
		rc = ks_keys_load(&h->keys, p, hostkey);
	if (rc == VS_OK)
		rc = file_in(p, sizeof p, path, HOME_DB);
	if (rc == VS_OK)
		rc = check_private(p);
	if (rc == VS_OK)
		rc = vs_db_open(h, p);
	if (rc == VS_OK)
		name_host(h);
	if (rc != VS_OK) {
		vs_home_close(h);
		return rc;
	}
	*out = h;
	return VS_OK;
}

void vs_home_close(vs_home *h)
{
	if (!h)
		return;
	vs_db_close(h);
	ks_keys_unload(&h->keys);
	free(h);
}

VS_MUST_USE vs_err vs_home_lock(vs_home *h, const char *vnf, bool exclusive, int *fd)
{
	char dir[4200], path[4300];
	*fd = -1;
	if (!vs_name_ok(vnf))
		return vs_fail(VS_E_USAGE, "'%s' is not a valid VNF name", vnf);
	snprintf(dir, sizeof dir, "%s/locks", h->path);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return vs_fail_errno(VS_E_ENV, "cannot create %s", dir);
	snprintf(path, sizeof path, "%s/%s", dir, vnf);
	int f = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open lock %s", path);
	while (flock(f, exclusive ? LOCK_EX : LOCK_SH) != 0) {
		if (errno != EINTR || vs_interrupted) {
			vs_err rc = vs_fail_errno(VS_E_ENV, "cannot lock %s", path);
			close(f);
			return rc;
		}
	}
	*fd = f;
	return VS_OK;
}

void vs_home_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

const char *vs_home_path(const vs_home *h) { return h->path; }
const char *vs_home_host(const vs_home *h) { return h->host; }

void vs_home_default_ledger(const vs_home *h, char *out, size_t cap)
{
	snprintf(out, cap, "sqlite:%s/ledger.db", h->path);
}
const vs_signer *vs_home_signer(const vs_home *h) { return vs_keys_signer(&h->keys); }

void vs_home_pub(const vs_home *h, uint8_t pub[VS_PUB_LEN], uint8_t id[VS_HASH_LEN])
{
	vs_keys_pub(&h->keys, pub, id);
}

VS_MUST_USE vs_err vs_home_trusted_signer(const vs_home *h, const uint8_t id[VS_HASH_LEN],
			      uint8_t pub[VS_PUB_LEN])
{
	uint8_t own[VS_HASH_LEN];
	vs_keys_pub(&h->keys, pub, own);
	if (memcmp(id, own, VS_HASH_LEN) != 0) {
		char hex[2 * VS_HASH_LEN + 1];
		vs_hex(id, 8, hex);
		return vs_fail(VS_E_INTEGRITY, "snapshot is signed by host key %s…, which this home does "
					       "not trust", hex);
	}
	return VS_OK;
}
