/* Forward-secure epoch keys, the seed, DIR/params and DIR/key (docs/audit.md). */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"

VS_MUST_USE vs_err vs_audit_key_evolve(const vs_key *in, vs_key *out)
{
	static const char label[] = VS_AUDIT_EVOLVE_LABEL;
	vs_audit_mac m;
	vs_key next;
	VS_TRY(vs_audit_mac_new(&m, in));
	vs_err rc = vs_audit_mac_run(&m, label, sizeof label - 1, next.k);
	vs_audit_mac_free(&m);
	if (rc == VS_OK)
		*out = next;
	vs_key_wipe(&next);
	return rc;
}

VS_MUST_USE vs_err vs_audit_epoch_of(int64_t t0, uint64_t interval, int64_t time_us, uint64_t *epoch)
{
	if (interval == 0 || interval > VS_AUDIT_INTERVAL_MAX || t0 < 0 ||
	    t0 > INT64_MAX / 1000000 || time_us < t0 * 1000000)
		return vs_fail(VS_E_INTEGRITY, "time is before the log's first epoch");
	*epoch = (uint64_t)(time_us - t0 * 1000000) / (interval * 1000000);
	return VS_OK;
}

/* --- small text files: written canonically, read back by re-formatting --- */

static VS_MUST_USE vs_err read_exact_text(const char *path, char *buf, size_t cap, size_t *len)
{
	uint8_t *p = NULL;
	size_t n = 0;
	VS_TRY(vs_read_small_file(path, cap - 1, &p, &n));
	memcpy(buf, p, n);
	buf[n] = 0;
	vs_wipe(p, n);
	free(p);
	*len = n;
	return VS_OK;
}

static int format_params(char *out, size_t cap, const char *magic, int64_t t0, uint64_t interval,
			 const char *pubhex)
{
	return snprintf(out, cap, "%s 1\nt0 %" PRId64 "\ninterval %" PRIu64 "\npub %s\n", magic, t0,
			interval, pubhex);
}

static bool params_ok(int64_t t0, uint64_t interval)
{
	return t0 >= 0 && t0 < 253402300800LL && interval > 0 && interval <= VS_AUDIT_INTERVAL_MAX;
}

/* Parses the params lines at the start of buf; returns bytes used or 0. */
static size_t parse_params(const char *buf, size_t n, const char *magic, int64_t *t0,
			   uint64_t *interval, uint8_t pub[VS_PUB_LEN])
{
	char pubhex[2 * VS_PUB_LEN + 1] = { 0 }, again[512], head[64];
	long long t;
	unsigned long long iv;
	int h = snprintf(head, sizeof head, "%s 1\n", magic);
	if (h <= 0 || (size_t)h > n || memcmp(buf, head, (size_t)h) != 0 ||
	    sscanf(buf + h, "t0 %lld\ninterval %llu\npub %64[0-9a-f]\n", &t, &iv, pubhex) != 3 ||
	    !params_ok(t, iv))
		return 0;
	int k = format_params(again, sizeof again, magic, t, iv, pubhex);
	if (k <= 0 || (size_t)k > n || memcmp(again, buf, (size_t)k) != 0 ||
	    vs_unhex(pubhex, pub, VS_PUB_LEN) != VS_OK)
		return 0;
	*t0 = t;
	*interval = iv;
	return (size_t)k;
}

VS_MUST_USE vs_err vs_audit_params_write(const char *dir, const vs_audit_params *p)
{
	char path[4096], buf[512], hex[2 * VS_PUB_LEN + 1];
	vs_hex(p->pub, VS_PUB_LEN, hex);
	int k = format_params(buf, sizeof buf, "vnfsafe-audit-params", p->t0, p->interval, hex);
	snprintf(path, sizeof path, "%s/params", dir);
	return vs_write_new_file(path, buf, (size_t)k, 0644);
}

VS_MUST_USE vs_err vs_audit_params_read(const char *dir, vs_audit_params *p)
{
	char path[4096], buf[512];
	size_t n;
	snprintf(path, sizeof path, "%s/params", dir);
	memset(p, 0, sizeof *p);
	VS_TRY(read_exact_text(path, buf, sizeof buf, &n));
	if (parse_params(buf, n, "vnfsafe-audit-params", &p->t0, &p->interval, p->pub) != n)
		return vs_fail(VS_E_INTEGRITY, "%s is not a valid audit params file", path);
	p->has_pub = true;
	return VS_OK;
}

VS_MUST_USE vs_err vs_audit_seed_write(const char *path, const vs_audit_seed *s)
{
	char buf[512], hex[2 * VS_PUB_LEN + 1], khex[2 * VS_KEY_LEN + 1];
	vs_hex(s->pub, VS_PUB_LEN, hex);
	vs_hex(s->k0.k, VS_KEY_LEN, khex);
	int k = format_params(buf, sizeof buf, "vnfsafe-audit-seed", s->t0, s->interval, hex);
	k += snprintf(buf + k, sizeof buf - (size_t)k, "k0 %s\n", khex);
	vs_err rc = vs_write_new_file(path, buf, (size_t)k, 0600);
	vs_wipe(buf, sizeof buf);
	vs_wipe(khex, sizeof khex);
	return rc;
}

VS_MUST_USE vs_err vs_audit_seed_load(const char *path, vs_audit_seed *s)
{
	char buf[512], khex[2 * VS_KEY_LEN + 2];
	size_t n;
	memset(s, 0, sizeof *s);
	VS_TRY(read_exact_text(path, buf, sizeof buf, &n));
	size_t used = parse_params(buf, n, "vnfsafe-audit-seed", &s->t0, &s->interval, s->pub);
	vs_err rc = VS_OK;
	if (used == 0 || n - used != 3 + 2 * VS_KEY_LEN + 1 || memcmp(buf + used, "k0 ", 3) != 0 ||
	    buf[n - 1] != '\n')
		rc = vs_fail(VS_E_INTEGRITY, "%s is not a valid audit seed file", path);
	if (rc == VS_OK) {
		memcpy(khex, buf + used + 3, 2 * VS_KEY_LEN);
		khex[2 * VS_KEY_LEN] = 0;
		if (vs_unhex(khex, s->k0.k, VS_KEY_LEN) != VS_OK)
			rc = vs_fail(VS_E_INTEGRITY, "%s is not a valid audit seed file", path);
	}
	vs_wipe(buf, sizeof buf);
	vs_wipe(khex, sizeof khex);
	if (rc != VS_OK)
		vs_audit_seed_wipe(s);
	return rc;
}

void vs_audit_seed_wipe(vs_audit_seed *s)
{
	vs_wipe(s, sizeof *s);
}

VS_MUST_USE vs_err vs_audit_keyfile_write(const char *dir, uint64_t epoch, const vs_key *k)
{
	char tmp[4096], path[4096], buf[160], khex[2 * VS_KEY_LEN + 1];
	snprintf(tmp, sizeof tmp, "%s/key.tmp", dir);
	snprintf(path, sizeof path, "%s/key", dir);
	vs_hex(k->k, VS_KEY_LEN, khex);
	int n = snprintf(buf, sizeof buf, "vnfsafe-audit-key 1\nepoch %" PRIu64 "\nkey %s\n",
			 epoch, khex);
	vs_wipe(khex, sizeof khex);
	if (unlink(tmp) != 0 && errno != ENOENT) {
		vs_wipe(buf, sizeof buf);
		return vs_fail_errno(VS_E_ENV, "cannot remove %s", tmp);
	}
	vs_err rc = vs_write_new_file(tmp, buf, (size_t)n, 0600);
	vs_wipe(buf, sizeof buf);
	VS_TRY(rc);
	vs_fault("audit.key_before_rename");
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return vs_fail_errno(VS_E_ENV, "cannot replace %s", path);
	}
	vs_fault("audit.key_after_rename");
	return vs_fsync_path(dir);
}

VS_MUST_USE vs_err vs_audit_keyfile_read(const char *dir, uint64_t *epoch, vs_key *k)
{
	char path[4096], buf[160], again[160], khex[2 * VS_KEY_LEN + 1] = { 0 };
	unsigned long long e;
	size_t n;
	snprintf(path, sizeof path, "%s/key", dir);
	VS_TRY(read_exact_text(path, buf, sizeof buf, &n));
	vs_err rc = VS_OK;
	if (sscanf(buf, "vnfsafe-audit-key 1\nepoch %llu\nkey %64[0-9a-f]\n", &e, khex) != 2 ||
	    snprintf(again, sizeof again, "vnfsafe-audit-key 1\nepoch %llu\nkey %s\n", e, khex) !=
		    (int)n ||
	    memcmp(again, buf, n) != 0 || vs_unhex(khex, k->k, VS_KEY_LEN) != VS_OK)
		rc = vs_fail(VS_E_INTEGRITY, "%s is not a valid audit key file", path);
	else
		*epoch = e;
	vs_wipe(buf, sizeof buf);
	vs_wipe(again, sizeof again);
	vs_wipe(khex, sizeof khex);
	return rc;
}

/* --- file maps --- */

VS_MUST_USE vs_err vs_audit_map_open(const char *path, vs_audit_map *m)
{
	m->p = NULL;
	m->len = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_fail_errno(VS_E_ENV, "cannot open %s", path);
	struct stat st;
	vs_err rc = VS_OK;
	if (fstat(fd, &st) != 0) {
		rc = vs_fail_errno(VS_E_ENV, "cannot stat %s", path);
	} else if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			rc = vs_fail_errno(VS_E_ENV, "cannot map %s", path);
		} else {
			madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
			m->p = p;
			m->len = (size_t)st.st_size;
		}
	}
	close(fd);
	return rc;
}

void vs_audit_map_close(vs_audit_map *m)
{
	if (m->p)
		munmap((void *)m->p, m->len);
	m->p = NULL;
	m->len = 0;
}
