/* forward.conf and forward.cursor: strict parsers, atomic writers. */
#include "forward_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/buf.h"
#include "vnfsafe/fsutil.h"

#define CONF_NAME "forward.conf"
#define CURSOR_NAME "forward.cursor"
#define CONF_MAX 65536
#define CURSOR_MAX 64

void vs_forward_cfg_init(vs_forward_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->port = VS_FORWARD_DEFAULT_PORT;
	cfg->timeout_ms = VS_FORWARD_DEFAULT_TIMEOUT_MS;
}

/* Decimal without sign or leading zeros; false on overflow past max. */
static bool parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Host names and addresses: letters, digits, '.', '-', '_', ':' (IPv6). */
static bool host_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':';
		if (!ok)
			return false;
	}
	return true;
}

/* Absolute path of printable bytes (UTF-8 allowed), no control characters. */
static bool path_ok(const char *s, size_t n, size_t cap)
{
	if (n == 0 || n >= cap || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static void copy_str(char *dst, const char *s, size_t n)
{
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A key safe to echo in an error message, or a placeholder. */
static const char *shown_key(const char *k, size_t n, char *buf, size_t cap)
{
	if (n == 0 || n >= cap || n > 32)
		return "(too long or empty)";
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			return "(unprintable)";
	copy_str(buf, k, n);
	return buf;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

enum { K_HOST, K_PORT, K_CA, K_CERT, K_KEY, K_SERVER_NAME, K_TIMEOUT, K_COUNT };
static const char *const key_names[K_COUNT] = { "host", "port", "ca", "cert", "key",
						"server_name", "timeout_ms" };

static VS_MUST_USE vs_err set_value(vs_forward_cfg *c, int k, const char *v, size_t n, unsigned line)
{
	uint64_t num;
	switch (k) {
	case K_HOST:
	case K_SERVER_NAME:
		if (!host_ok(v, n))
			return vs_fail(VS_E_USAGE,
				       "forward.conf line %u: bad %s (want a DNS name or IP address)",
				       line, key_names[k]);
		copy_str(k == K_HOST ? c->host : c->server_name, v, n);
		return VS_OK;
	case K_PORT:
		if (!parse_uint(v, n, 65535, &num) || num == 0)
			return vs_fail(VS_E_USAGE, "forward.conf line %u: bad port (want 1-65535)",
				       line);
		c->port = (uint16_t)num;
		return VS_OK;
	case K_TIMEOUT:
		if (!parse_uint(v, n, VS_FORWARD_MAX_TIMEOUT_MS, &num) || num == 0)
			return vs_fail(VS_E_USAGE,
				       "forward.conf line %u: bad timeout_ms (want 1-%u)", line,
				       (unsigned)VS_FORWARD_MAX_TIMEOUT_MS);
		c->timeout_ms = (unsigned)num;
		return VS_OK;
	default: {
		char *dst = k == K_CA ? c->ca_file : k == K_CERT ? c->cert_file : c->key_file;
		if (!path_ok(v, n, sizeof c->ca_file))
			return vs_fail(VS_E_USAGE,
				       "forward.conf line %u: bad %s (want an absolute path)", line,
				       key_names[k]);
		copy_str(dst, v, n);
		return VS_OK;
	}
	}
}

static VS_MUST_USE vs_err parse_line(vs_forward_cfg *c, bool seen[K_COUNT], const char *s, size_t n,
			 unsigned line)
{
	while (n > 0 && is_blank(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	if (n == 0 || s[0] == '#')
		return VS_OK;
	const char *eq = memchr(s, '=', n);
	if (!eq)
		return vs_fail(VS_E_USAGE, "forward.conf line %u: expected key=value", line);
	size_t kn = (size_t)(eq - s);
	while (kn > 0 && is_blank(s[kn - 1]))
		kn--;
	const char *v = eq + 1;
	size_t vn = n - (size_t)(v - s);
	while (vn > 0 && is_blank(v[0])) {
		v++;
		vn--;
	}
	int k = -1;
	for (int i = 0; i < K_COUNT; i++)
		if (strlen(key_names[i]) == kn && memcmp(key_names[i], s, kn) == 0)
			k = i;
	char shown[40];
	if (k < 0)
		return vs_fail(VS_E_USAGE, "forward.conf line %u: unknown key %s", line,
			       shown_key(s, kn, shown, sizeof shown));
	if (seen[k])
		return vs_fail(VS_E_USAGE, "forward.conf line %u: %s given twice", line,
			       key_names[k]);
	seen[k] = true;
	return set_value(c, k, v, vn, line);
}

VS_MUST_USE vs_err vs_forward_cfg_parse(const char *text, size_t len, vs_forward_cfg *cfg)
{
	if (len > CONF_MAX)
		return vs_fail(VS_E_USAGE, "forward.conf is larger than %d bytes", CONF_MAX);
	vs_forward_cfg c;
	vs_forward_cfg_init(&c);
	bool seen[K_COUNT] = { false };
	unsigned line = 0;
	size_t pos = 0;
	while (pos < len) {
		line++;
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)s[i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return vs_fail(VS_E_USAGE,
					       "forward.conf line %u: control character", line);
		}
		VS_TRY(parse_line(&c, seen, s, n, line));
		pos += n + (nl ? 1 : 0);
	}
	if (!seen[K_HOST])
		return vs_fail(VS_E_USAGE, "forward.conf: host is missing");
	if (!seen[K_CA])
		return vs_fail(VS_E_USAGE, "forward.conf: ca is missing");
	if (seen[K_CERT] != seen[K_KEY])
		return vs_fail(VS_E_USAGE, "forward.conf: cert and key go together");
	*cfg = c;
	return VS_OK;
}

VS_MUST_USE vs_err vs_forward_cfg_format(const vs_forward_cfg *cfg, char **out)
{
	if (!host_ok(cfg->host, strnlen(cfg->host, sizeof cfg->host)) ||
	    !path_ok(cfg->ca_file, strnlen(cfg->ca_file, sizeof cfg->ca_file), sizeof cfg->ca_file))
		return vs_fail(VS_E_USAGE, "forwarding needs a host and an absolute CA file path");
	if ((cfg->cert_file[0] == '\0') != (cfg->key_file[0] == '\0'))
		return vs_fail(VS_E_USAGE, "forwarding: cert and key go together");
	size_t cap = sizeof *cfg + 256;
	char *s = malloc(cap);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	int n = snprintf(s, cap, "# vnfsafe audit forwarding (docs/forwarding.md)\nhost=%s\nport=%u\nca=%s\n",
			 cfg->host, (unsigned)cfg->port, cfg->ca_file);
	if (cfg->cert_file[0])
		n += snprintf(s + n, cap - (size_t)n, "cert=%s\nkey=%s\n", cfg->cert_file,
			      cfg->key_file);
	if (cfg->server_name[0])
		n += snprintf(s + n, cap - (size_t)n, "server_name=%s\n", cfg->server_name);
	snprintf(s + n, cap - (size_t)n, "timeout_ms=%u\n", cfg->timeout_ms);
	vs_forward_cfg back;
	vs_err rc = vs_forward_cfg_parse(s, strlen(s), &back);
	if (rc != VS_OK) {
		free(s);
		return rc;
	}
	*out = s;
	return VS_OK;
}

static VS_MUST_USE vs_err dir_file(char *out, size_t cap, const char *dir, const char *name)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap)
		return vs_fail(VS_E_USAGE, "path too long: %s/%s", dir, name);
	return VS_OK;
}

/* Writes DIR/NAME through DIR/NAME.tmp: fsync, rename, fsync the directory. */
static VS_MUST_USE vs_err replace_file(const char *dir, const char *name, const char *data, size_t n)
{
	char path[4200], tmp[4300];
	VS_TRY(dir_file(path, sizeof path, dir, name));
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return vs_fail(VS_E_USAGE, "path too long: %s", path);
	if (unlink(tmp) != 0 && errno != ENOENT)
		return vs_fail_errno(VS_E_ENV, "cannot remove stale %s", tmp);
	VS_TRY(vs_write_new_file(tmp, data, n, 0600));
	if (rename(tmp, path) != 0) {
		vs_err rc = vs_fail_errno(VS_E_ENV, "cannot rename %s", tmp);
		unlink(tmp);
		return rc;
	}
	return vs_fsync_dir_of(path);
}

VS_MUST_USE vs_err vs_forward_cfg_save(const char *dir, const vs_forward_cfg *cfg)
{
	char *text;
	VS_TRY(vs_forward_cfg_format(cfg, &text));
	vs_err rc = replace_file(dir, CONF_NAME, text, strlen(text));
	free(text);
	return rc;
}

/* Reads DIR/NAME (no symlink, not group/other-writable); *present false if absent. */
static VS_MUST_USE vs_err read_own_file(const char *dir, const char *name, size_t max, vs_err big_rc,
			    char **out, size_t *len, bool *present)
{
	char path[4200];
	VS_TRY(dir_file(path, sizeof path, dir, name));
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			*present = false;
			return VS_OK;
		}
		return vs_fail_errno(VS_E_ENV, "cannot open %s", path);
	}
	struct stat sb;
	vs_err rc = VS_OK;
	if (fstat(fd, &sb) != 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot stat %s", path);
	else if (!S_ISREG(sb.st_mode))
		rc = vs_fail(VS_E_USAGE, "%s is not a regular file", path);
	else if (sb.st_mode & 022)
		rc = vs_fail(VS_E_USAGE, "%s is writable by group or others: chmod 600 it", path);
	char *buf = NULL;
	size_t got = 0;
	if (rc == VS_OK && !(buf = malloc(max + 1)))
		rc = vs_fail(VS_E_ENV, "out of memory");
	if (rc == VS_OK)
		rc = vs_read_full(fd, buf, max + 1, &got);
	close(fd);
	if (rc == VS_OK && got > max)
		rc = vs_fail(big_rc, "%s is larger than %zu bytes", path, max);
	if (rc != VS_OK) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = got;
	*present = true;
	return VS_OK;
}

VS_MUST_USE vs_err vs_forward_cfg_load(const char *dir, vs_forward_cfg *cfg, bool *present)
{
	char *text = NULL;
	size_t len = 0;
	VS_TRY(read_own_file(dir, CONF_NAME, CONF_MAX, VS_E_USAGE, &text, &len, present));
	if (!*present)
		return VS_OK;
	vs_err rc = vs_forward_cfg_parse(text, len, cfg);
	free(text);
	if (rc != VS_OK)
		return vs_wrap(rc, "%s/%s", dir, CONF_NAME);
	return VS_OK;
}

VS_MUST_USE vs_err vs_forward_cursor_parse(const char *text, size_t len, vs_forward_cursor *cur)
{
	static const char k_off[] = "offset=", k_seq[] = "seq=";
	vs_rd r = vs_rd_init(text, len);
	uint64_t val[2];
	const char *keys[2] = { k_off, k_seq };
	for (int i = 0; i < 2; i++) {
		size_t kn = strlen(keys[i]);
		const uint8_t *p;
		if (!vs_rd_bytes(&r, kn, &p) || memcmp(p, keys[i], kn) != 0)
			return vs_fail(VS_E_INTEGRITY, "forward.cursor is malformed");
		const char *num = text + r.off;
		const char *nl = memchr(num, '\n', vs_rd_left(&r));
		if (!nl || !parse_uint(num, (size_t)(nl - num), INT64_MAX, &val[i]))
			return vs_fail(VS_E_INTEGRITY, "forward.cursor is malformed");
		vs_rd_bytes(&r, (size_t)(nl - num) + 1, &p);
	}
	if (vs_rd_left(&r) != 0 || r.bad)
		return vs_fail(VS_E_INTEGRITY, "forward.cursor is malformed");
	if ((val[0] == 0) != (val[1] == 0))
		return vs_fail(VS_E_INTEGRITY, "forward.cursor is inconsistent (offset %llu, seq %llu)",
			       (unsigned long long)val[0], (unsigned long long)val[1]);
	cur->offset = val[0];
	cur->seq = val[1];
	return VS_OK;
}

VS_MUST_USE vs_err vs_forward_cursor_load(const char *dir, vs_forward_cursor *cur)
{
	char *text = NULL;
	size_t len = 0;
	bool present = false;
	VS_TRY(read_own_file(dir, CURSOR_NAME, CURSOR_MAX, VS_E_INTEGRITY, &text, &len, &present));
	if (!present) {
		cur->offset = 0;
		cur->seq = 0;
		return VS_OK;
	}
	vs_err rc = vs_forward_cursor_parse(text, len, cur);
	free(text);
	if (rc != VS_OK)
		return vs_wrap(rc, "%s/%s", dir, CURSOR_NAME);
	return VS_OK;
}

VS_MUST_USE vs_err vs_forward__cursor_save(const char *dir, const vs_forward_cursor *cur)
{
	char text[CURSOR_MAX];
	int n = snprintf(text, sizeof text, "offset=%llu\nseq=%llu\n",
			 (unsigned long long)cur->offset, (unsigned long long)cur->seq);
	return replace_file(dir, CURSOR_NAME, text, (size_t)n);
}
