/* The etcd ledger backend: one key per VNF, "/vnfsafe/vnf/<name>", holding
 * the record's canonical JSON; the record's version is the key's
 * mod_revision. Talks to etcd's v3 JSON gateway (POST /v3/kv/range and
 * /v3/kv/txn, base64 keys and values, 64-bit integers as strings) with
 * libcurl.
 *
 * Failover: endpoints are tried in turn, starting with the last one that
 * answered; a connection failure, a timeout, an empty answer or an HTTP 5xx
 * (etcd unavailable, no leader, request timed out) moves on to the next.
 *
 * Writes are transactions guarded by a compare (create: the key is absent;
 * cas: its mod_revision is the expected one) whose failure branch reads the
 * key. When an attempt may have reached etcd without its answer reaching us
 * (timeout, connection dropped after sending, 5xx) the write is sent again
 * to the next endpoint: if the first attempt had not been applied, the
 * compare still holds and the write is applied once; if it had, the compare
 * fails and the failure branch shows the key now holds exactly the bytes we
 * wrote, which counts as success. Anything else there is a lost race.
 *
 * Security (docs/ledger.md): https:// endpoints verify the server against
 * --etcd-cacert and may present a client certificate; with an etcd user the
 * ledger authenticates (POST /v3/auth/authenticate, password read from a
 * 0600 file each time and wiped) and sends the token in the Authorization
 * header; a token etcd calls invalid (expired) is renewed once and the
 * request retried. Credentials over plain http:// are refused.
 *
 * The audit anchors are signed by the host's checkpoint key when a signer is
 * set (anchor_json.c): a first write creates the key with {"genesis":HOST}
 * to learn its create_revision, then writes the signed value over it.
 *
 * Every response is untrusted: its size is bounded, it is parsed strictly
 * and keys and records are checked before use. A vs_ledger handle is not
 * shared between threads. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/ledger.h"

#define ETCD_PREFIX "/vnfsafe/vnf/"
#define ETCD_LOG_PREFIX "/vnfsafe/log-anchor/"
#define ETCD_PREFIX_END "/vnfsafe/vnf0" /* '/' + 1: the end of the prefix range */
#define ETCD_MAX_ENDPOINTS 16
#define ETCD_ENDPOINT_MAX 200
#define ETCD_CONNECT_MS 1000L
#define ETCD_TIMEOUT_MS 5000L
#define ETCD_MAX_RESPONSE (4u << 20)
#define ETCD_MAX_KEY 256
#define ETCD_MAX_VALUE 8192
#define ETCD_PAGE 128
#define ETCD_USER_MAX 128
#define ETCD_PASSWORD_MAX 256
#define ETCD_TOKEN_MAX 1024

typedef struct {
	vs_ledger base; /* first: a vs_ledger * points at it */
	CURL *curl;
	struct curl_slist *headers;      /* Content-Type */
	struct curl_slist *auth_headers; /* Content-Type, Authorization: token */
	size_t n, cur;
	char ep[ETCD_MAX_ENDPOINTS][ETCD_ENDPOINT_MAX + 16]; /* "http://HOST:PORT" */
	bool tls;
	char *cacert, *cert, *key, *password_file;
	char user[ETCD_USER_MAX];
	bool token_refused; /* the last answer said the token is invalid (expired) */
	char curl_err[CURL_ERROR_SIZE];
} etcd_ledger;

/* ---------- small helpers ---------- */

static char *b64_encode(const void *p, size_t n)
{
	if (n > ETCD_MAX_VALUE)
		return NULL;
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Strict standard base64 with padding; out needs 3 * len / 4 bytes. */
static bool b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n)
{
	if (len % 4 || 3 * (len / 4) > cap)
		return false;
	if (len == 0) {
		*n = 0;
		return true;
	}
	/* '=' only as padding at the very end. */
	const char *eq = memchr(s, '=', len);
	if (eq && (eq < s + len - 2 || (eq == s + len - 2 && s[len - 1] != '=')))
		return false;
	int got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (got < 0 || (size_t)got != 3 * (len / 4))
		return false;
	size_t pad = s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
	*n = (size_t)got - pad;
	return true;
}

/* A uint64 up to max as etcd's gateway writes it ("123"); plain JSON
 * integers are accepted too. */
static bool get_u64(json_t *o, const char *k, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, k);
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return false;
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (n == 0 || n > 20 || strlen(s) != n || (n > 1 && s[0] == '0'))
		return false;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

/* A revision: a non-negative int64. */
static bool get_rev(json_t *o, const char *k, uint64_t *out)
{
	return get_u64(o, k, INT64_MAX, out);
}

/* Printable ASCII excerpt of an untrusted message. */
static void excerpt(const char *in, char *out, size_t cap)
{
	size_t i = 0;
	for (; i + 1 < cap && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] <= 0x7e ? in[i] : '?';
	out[i] = 0;
}

static VS_MUST_USE vs_err vnf_key(const char *name, char *key, size_t cap)
{
	if (!vs_name_ok(name)) {
		char shown[VS_NAME_MAX];
		excerpt(name, shown, sizeof shown);
		return vs_fail(VS_E_USAGE, "'%s' is not a valid VNF name", shown);
	}
	snprintf(key, cap, "%s%s", ETCD_PREFIX, name);
	return VS_OK;
}

/* ---------- HTTP ---------- */

typedef struct {
	char *p;
	size_t len, cap;
	bool too_big, oom;
} resp_buf;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	resp_buf *b = ctx;
	size_t n = size * nmemb;
	if (n > ETCD_MAX_RESPONSE - b->len) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return 0;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
	return n;
}

typedef enum {
	AT_ANSWER, /* HTTP 200 with a JSON object */
	AT_UNSENT, /* never reached etcd: nothing happened */
	AT_LOST,   /* may have reached etcd; its answer did not reach us */
} attempt;

/* The error message of an HTTP error answer: {"error":"...","code":N}. */
static void http_error(const resp_buf *b, long status, char *why, size_t cap)
{
	char msg[128] = "";
	json_t *o = b->p ? json_loadb(b->p, b->len, 0, NULL) : NULL;
	json_t *e = json_object_get(o, "error");
	if (json_is_string(e))
		excerpt(json_string_value(e), msg, sizeof msg);
	json_decref(o);
	snprintf(why, cap, "HTTP %ld%s%s", status, msg[0] ? ": " : "", msg);
}

/* What to do about a refusal etcd explains. */
static const char *refusal_hint(const etcd_ledger *e, const char *why)
{
	if (strstr(why, "user name is empty") || strstr(why, "user name not found"))
		return e->user[0] ? ""
				  : "; the cluster requires authentication: an etcd user and its "
				    "password file over etcd:https://";
	if (strstr(why, "permission denied"))
		return "; this etcd user's role does not allow it (scripts/etcd-rbac.sh)";
	if (strstr(why, "authentication failed"))
		return "; check the etcd user name and its password file";
	return "";
}

/* A write goes on a fresh connection, never kept: libcurl silently resends
 * a request whose reused connection turns out dead, and a resent write whose
 * second attempt cannot connect would look unsent when the first may have
 * been applied. */
static void set_body(etcd_ledger *e, const char *url, const char *body, bool write,
		     resp_buf *b)
{
	curl_easy_setopt(e->curl, CURLOPT_FRESH_CONNECT, write ? 1L : 0L);
	curl_easy_setopt(e->curl, CURLOPT_FORBID_REUSE, write ? 1L : 0L);
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, b);
}

/* What an HTTP 200 answer holds: a JSON object with etcd's response header,
 * or an integrity failure. */
static VS_MUST_USE vs_err answer_json(const char *ep, const resp_buf *b, json_t **resp)
{
	uint64_t rev;
	*resp = b->p ? json_loadb(b->p, b->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *header = json_object_get(*resp, "header");
	if (!json_is_object(*resp) || !get_rev(header, "revision", &rev)) {
		json_decref(*resp);
		*resp = NULL;
		return vs_fail(VS_E_INTEGRITY, "etcd at %s sent a malformed response", ep);
	}
	return VS_OK;
}

/* One request to endpoint i. VS_OK with *at saying what happened (why[]
 * explains UNSENT and LOST); an error for definite failures: an HTTP 4xx
 * from etcd, a malformed or oversized response. */
static VS_MUST_USE vs_err call_one(etcd_ledger *e, size_t i, const char *path, const char *body,
		       bool write, json_t **resp, attempt *at, char *why, size_t cap)
{
	char url[sizeof e->ep[0] + 32];
	resp_buf b = { 0 };
	long status = 0;
	snprintf(url, sizeof url, "%s%s", e->ep[i], path);
	set_body(e, url, body, write, &b);
	e->curl_err[0] = 0;
	CURLcode cc = curl_easy_perform(e->curl);
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	vs_err rc = VS_OK;
	*at = AT_LOST;
	if (b.too_big)
		rc = vs_fail(VS_E_INTEGRITY, "etcd at %s sent more than %u bytes", e->ep[i],
			     ETCD_MAX_RESPONSE);
	else if (b.oom)
		rc = vs_fail(VS_E_ENV, "out of memory");
	else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST) {
		*at = AT_UNSENT;
		snprintf(why, cap, "cannot connect");
	} else if (cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
		   cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CACERT_BADFILE ||
		   cc == CURLE_SSL_ISSUER_ERROR) {
		/* The handshake failed: no request byte was sent. */
		*at = AT_UNSENT;
		excerpt(e->curl_err[0] ? e->curl_err : curl_easy_strerror(cc), why, cap);
	} else if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(why, cap, "no answer within %ld s", ETCD_TIMEOUT_MS / 1000);
	else if (cc != CURLE_OK)
		snprintf(why, cap, "%s", curl_easy_strerror(cc));
	else if (status >= 500 || status == 429)
		http_error(&b, status, why, cap);
	else if (status != 200) {
		http_error(&b, status, why, cap);
		e->token_refused = status == 401 && e->user[0] && strstr(why, "invalid auth token");
		rc = vs_fail(VS_E_ENV, "etcd at %s refused the request (%s)%s", e->ep[i], why,
			     refusal_hint(e, why));
	} else {
		rc = answer_json(e->ep[i], &b, resp);
		*at = AT_ANSWER;
	}
	free(b.p);
	return rc;
}

/* Sends body to each endpoint in turn, starting with the last one that
 * answered, until one answers. *lost tells whether an earlier attempt may
 * have reached etcd unanswered (for writes: may have been applied). */
static VS_MUST_USE vs_err call_endpoints(etcd_ledger *e, const char *path, const char *body, bool write,
			     json_t **resp, bool *lost)
{
	char tried[400] = "", why[160];
	size_t used = 0;
	*lost = false;
	for (size_t k = 0; k < e->n; k++) {
		size_t i = (e->cur + k) % e->n;
		attempt at;
		VS_TRY(call_one(e, i, path, body, write, resp, &at, why, sizeof why));
		if (at == AT_ANSWER) {
			e->cur = i;
			return VS_OK;
		}
		*lost |= at == AT_LOST;
		if (used < sizeof tried) {
			int w = snprintf(tried + used, sizeof tried - used, "%s%s: %s",
					 used ? "; " : "", e->ep[i], why);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	return vs_refuse(write && *lost ? VS_E_UNKNOWN : VS_E_ENV, VS_R_NONE, NULL,
			 "etcd unreachable at all endpoints (%s)%s", tried,
			 write && *lost ? "; whether the change was applied is unknown" : "");
}

static VS_MUST_USE vs_err authenticate(etcd_ledger *e);

/* call_endpoints as the ledger's etcd user: authenticates first when there
 * is no token, and once more when etcd calls the token invalid (it expired;
 * a request refused so was not applied). */
static VS_MUST_USE vs_err call(etcd_ledger *e, const char *path, const char *body, bool write,
		   json_t **resp, bool *lost)
{
	*lost = false;
	if (e->user[0] && !e->auth_headers)
		VS_TRY(authenticate(e));
	e->token_refused = false;
	vs_err rc = call_endpoints(e, path, body, write, resp, lost);
	if (rc == VS_OK || !e->token_refused)
		return rc;
	bool lost_before = *lost;
	VS_TRY(authenticate(e));
	rc = call_endpoints(e, path, body, write, resp, lost);
	*lost |= lost_before;
	return rc;
}

/* ---------- authentication ---------- */

/* The password file: a regular file owned by the caller, 0600 or stricter;
 * one line (a final newline is dropped). */
static VS_MUST_USE vs_err read_password(const char *path, char *pw, size_t cap, size_t *n)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return vs_fail_errno(errno == ENOENT || errno == ELOOP ? VS_E_USAGE : VS_E_ENV,
				     "cannot open the etcd password file %s", path);
	vs_err rc = VS_OK;
	if (fstat(fd, &st) != 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot stat the etcd password file %s", path);
	else if (!S_ISREG(st.st_mode))
		rc = vs_fail(VS_E_USAGE, "the etcd password file %s is not a regular file", path);
	else if (st.st_uid != geteuid())
		rc = vs_fail(VS_E_USAGE,
			     "the etcd password file %s is owned by uid %u, not by you (uid %u)",
			     path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & 077)
		rc = vs_fail(VS_E_USAGE,
			     "the etcd password file %s has mode %04o: others may read or change it; "
			     "chmod 600 it",
			     path, (unsigned)(st.st_mode & 07777));
	ssize_t got = rc == VS_OK ? read(fd, pw, cap) : 0;
	close(fd);
	if (rc == VS_OK && got < 0)
		rc = vs_fail_errno(VS_E_ENV, "cannot read the etcd password file %s", path);
	size_t len = got > 0 ? (size_t)got : 0;
	if (len && pw[len - 1] == '\n')
		len--;
	if (rc == VS_OK && (len == 0 || len >= cap || memchr(pw, '\n', len) || memchr(pw, 0, len)))
		rc = vs_fail(VS_E_USAGE,
			     "the etcd password file %s must hold one non-empty line of less than "
			     "%d bytes",
			     path, (int)cap);
	*n = rc == VS_OK ? len : 0;
	if (rc != VS_OK)
		OPENSSL_cleanse(pw, cap);
	return rc;
}

/* Appends s[0..n) as a JSON string body (without quotes) to out. */
static bool json_escape(const char *s, size_t n, char *out, size_t cap, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t k = 1;
		if (c == '"' || c == '\\') {
			tmp[0] = '\\', tmp[1] = (char)c, k = 2;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof tmp, "\\u%04x", c);
			k = 6;
		} else {
			tmp[0] = (char)c;
		}
		if (*used + k >= cap)
			return false;
		memcpy(out + *used, tmp, k);
		*used += k;
		OPENSSL_cleanse(tmp, sizeof tmp);
	}
	out[*used] = 0;
	return true;
}

/* Appends the n bytes of lit to out. */
static bool append(const char *lit, size_t n, char *out, size_t cap, size_t *used)
{
	if (*used + n >= cap)
		return false;
	memcpy(out + *used, lit, n);
	*used += n;
	out[*used] = 0;
	return true;
}

/* {"name":USER,"password":PW}; the caller wipes out. */
static VS_MUST_USE vs_err auth_body(const etcd_ledger *e, char *out, size_t cap)
{
	char pw[ETCD_PASSWORD_MAX + 1];
	size_t n = 0, used = 0;
	VS_TRY(read_password(e->password_file, pw, sizeof pw, &n));
	bool ok = append("{\"name\":\"", 9, out, cap, &used) &&
		  json_escape(e->user, strlen(e->user), out, cap, &used) &&
		  append("\",\"password\":\"", 14, out, cap, &used) &&
		  json_escape(pw, n, out, cap, &used) && append("\"}", 2, out, cap, &used);
	OPENSSL_cleanse(pw, sizeof pw);
	return ok ? VS_OK : vs_fail(VS_E_USAGE, "etcd user name or password too long");
}

static bool token_ok(const char *t, size_t n)
{
	if (n == 0 || n >= ETCD_TOKEN_MAX || strlen(t) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] <= 0x20 || t[i] >= 0x7f)
			return false;
	return true;
}

/* The token from an authenticate answer, as an Authorization header list. */
static VS_MUST_USE vs_err take_token(etcd_ledger *e, json_t *resp)
{
	json_t *t = json_object_get(resp, "token");
	if (!json_is_string(t) || !token_ok(json_string_value(t), json_string_length(t)))
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed authentication token");
	char line[ETCD_TOKEN_MAX + 32];
	snprintf(line, sizeof line, "Authorization: %s", json_string_value(t));
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *h2 = h ? curl_slist_append(h, line) : NULL;
	OPENSSL_cleanse(line, sizeof line);
	if (!h2) {
		curl_slist_free_all(h);
		return vs_fail(VS_E_ENV, "out of memory");
	}
	e->auth_headers = h2;
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->auth_headers);
	return VS_OK;
}

static void drop_token(etcd_ledger *e)
{
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
	curl_slist_free_all(e->auth_headers); /* holds the token; freed, not wiped (libcurl's) */
	e->auth_headers = NULL;
}

static VS_MUST_USE vs_err authenticate(etcd_ledger *e)
{
	char body[4 * ETCD_USER_MAX + 6 * ETCD_PASSWORD_MAX + 64];
	drop_token(e);
	vs_err rc = auth_body(e, body, sizeof body);
	json_t *resp = NULL;
	bool lost;
	if (rc == VS_OK)
		rc = call_endpoints(e, "/v3/auth/authenticate", body, false, &resp, &lost);
	OPENSSL_cleanse(body, sizeof body);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, NULL);
	if (rc == VS_OK)
		rc = take_token(e, resp);
	json_decref(resp);
	if (rc != VS_OK)
		return vs_wrap(rc, "cannot authenticate to etcd as user %s", e->user);
	return VS_OK;
}

/* ---------- key-values in responses ---------- */

/* kv.key decoded (NUL-terminated, no NUL inside). */
static VS_MUST_USE vs_err kv_key_raw(json_t *kv, char *key, size_t cap)
{
	json_t *k = json_object_get(kv, "key");
	size_t n = 0;
	if (!json_is_string(k) ||
	    !b64_decode(json_string_value(k), json_string_length(k), (uint8_t *)key, cap - 1, &n))
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed key");
	key[n] = 0;
	if (strlen(key) != n)
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed key");
	return VS_OK;
}

/* kv.key decoded; checked to be ETCD_PREFIX + a valid VNF name. */
static VS_MUST_USE vs_err kv_key(json_t *kv, char *key, size_t cap)
{
	VS_TRY(kv_key_raw(kv, key, cap));
	if (strncmp(key, ETCD_PREFIX, strlen(ETCD_PREFIX)) ||
	    !vs_name_ok(key + strlen(ETCD_PREFIX)))
		return vs_fail(VS_E_INTEGRITY, "etcd holds an unexpected key under " ETCD_PREFIX);
	return VS_OK;
}

/* kv.value decoded into val (NUL-terminated; cap > ETCD_MAX_VALUE). */
static VS_MUST_USE vs_err kv_value(json_t *kv, char *val, size_t cap, size_t *n)
{
	json_t *v = json_object_get(kv, "value");
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t len = json_is_string(v) ? json_string_length(v) : 0;
	if ((v && !json_is_string(v)) || !b64_decode(s, len, (uint8_t *)val, cap - 1, n))
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed value");
	val[*n] = 0;
	return VS_OK;
}

/* A record from a kv of a range answer; want = the key asked for, or NULL
 * for any key under the prefix. */
static VS_MUST_USE vs_err kv_record(json_t *kv, const char *want, vs_vnf_record *r, char *key, size_t kcap)
{
	char val[ETCD_MAX_VALUE + 4];
	size_t n = 0;
	if (!json_is_object(kv))
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed key-value");
	VS_TRY(kv_key(kv, key, kcap));
	if (want && strcmp(key, want))
		return vs_fail(VS_E_INTEGRITY, "etcd answered with another key than asked for");
	VS_TRY(kv_value(kv, val, sizeof val, &n));
	uint64_t rev;
	if (!get_rev(kv, "mod_revision", &rev) || rev == 0)
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed mod_revision");
	VS_TRY(vs_vnf_record_from_json(val, n, r));
	if (strcmp(r->name, key + strlen(ETCD_PREFIX)))
		return vs_fail(VS_E_INTEGRITY, "ledger entry '%s' holds the record of another VNF",
			       key + strlen(ETCD_PREFIX));
	r->version = rev;
	return VS_OK;
}

/* The kvs array of a range answer (an absent one is empty). */
static VS_MUST_USE vs_err range_kvs(json_t *resp, json_t **kvs)
{
	*kvs = json_object_get(resp, "kvs");
	if (*kvs && !json_is_array(*kvs))
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed range answer");
	return VS_OK;
}

/* ---------- operations ---------- */

/* A linearizable read of one key: *resp is the answer (caller frees), *kvs
 * its (possibly empty) kvs array. */
static VS_MUST_USE vs_err range_one(etcd_ledger *e, const char *key, json_t **resp, json_t **kvs)
{
	char *k64 = b64_encode(key, strlen(key));
	json_t *req = k64 ? json_pack("{s:s}", "key", k64) : NULL;
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	free(k64);
	if (!body)
		return vs_fail(VS_E_ENV, "out of memory");
	bool lost;
	vs_err rc = call(e, "/v3/kv/range", body, false, resp, &lost);
	free(body);
	if (rc == VS_OK)
		rc = range_kvs(*resp, kvs);
	return rc;
}

static VS_MUST_USE vs_err etcd_get(vs_ledger *l, const char *name, vs_vnf_record *out)
{
	etcd_ledger *e = (etcd_ledger *)l;
	char key[ETCD_MAX_KEY], got[ETCD_MAX_KEY];
	VS_TRY(vnf_key(name, key, sizeof key));
	json_t *resp = NULL, *kvs = NULL;
	vs_err rc = range_one(e, key, &resp, &kvs);
	if (rc == VS_OK && json_array_size(kvs) == 0)
		rc = vs_refuse(VS_E_USAGE, VS_R_NOT_REGISTERED, name, "no VNF named %s", name);
	else if (rc == VS_OK && json_array_size(kvs) != 1)
		rc = vs_fail(VS_E_INTEGRITY, "etcd sent several values for one key");
	else if (rc == VS_OK)
		rc = kv_record(json_array_get(kvs, 0), key, out, got, sizeof got);
	json_decref(resp);
	return rc;
}

typedef enum { PUT_APPLIED, PUT_ABSENT, PUT_REFUSED } put_result;

/* The failure branch of a guarded put read the key: absent, or holding
 * exactly our bytes after a lost attempt (applied), or something else. */
static VS_MUST_USE vs_err failure_branch(json_t *resp, const char *key, const char *value, bool lost,
			     put_result *res)
{
	json_t *rr = json_object_get(json_array_get(json_object_get(resp, "responses"), 0),
				     "response_range");
	json_t *kvs;
	if (!json_is_object(rr))
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed transaction answer");
	VS_TRY(range_kvs(rr, &kvs));
	if (json_array_size(kvs) == 0) {
		*res = PUT_ABSENT;
		return VS_OK;
	}
	char got[ETCD_MAX_KEY], val[ETCD_MAX_VALUE + 4];
	size_t n = 0;
	json_t *kv = json_array_get(kvs, 0);
	if (json_array_size(kvs) != 1 || !json_is_object(kv))
		return vs_fail(VS_E_INTEGRITY, "etcd sent a malformed transaction answer");
	VS_TRY(kv_key_raw(kv, got, sizeof got));
	if (strcmp(got, key))
		return vs_fail(VS_E_INTEGRITY, "etcd answered with another key than asked for");
	VS_TRY(kv_value(kv, val, sizeof val, &n));
	bool ours = n == strlen(value) && memcmp(val, value, n) == 0;
	*res = lost && ours ? PUT_APPLIED : PUT_REFUSED;
	return VS_OK;
}

static char *txn_body(const char *key, const char *value, const char *target,
		      const char *field, uint64_t rev)
{
	char revs[24];
	snprintf(revs, sizeof revs, "%llu", (unsigned long long)rev);
	char *k64 = b64_encode(key, strlen(key)), *v64 = b64_encode(value, strlen(value));
	json_t *req = k64 && v64 ? json_pack("{s:[{s:s,s:s,s:s,s:s}],s:[{s:{s:s,s:s}}],"
					     "s:[{s:{s:s}}]}",
					     "compare", "key", k64, "result", "EQUAL", "target",
					     target, field, revs, "success", "request_put", "key",
					     k64, "value", v64, "failure", "request_range", "key",
					     k64)
				 : NULL;
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	free(k64);
	free(v64);
	return body;
}

/* Puts rec under its key iff the key's `target` revision ("CREATE" or
 * "MOD") equals rev. */
static VS_MUST_USE vs_err guarded_put_raw(etcd_ledger *e, const char *key, const char *value,
			      const char *target, const char *field, uint64_t rev, put_result *res,
			      uint64_t *new_rev);

static VS_MUST_USE vs_err guarded_put(etcd_ledger *e, const vs_vnf_record *rec, const char *target,
			  const char *field, uint64_t rev, put_result *res, uint64_t *new_rev)
{
	char key[ETCD_MAX_KEY];
	if (strnlen(rec->name, sizeof rec->name) == sizeof rec->name)
		return vs_fail(VS_E_USAGE, "invalid VNF name");
	VS_TRY(vnf_key(rec->name, key, sizeof key));
	char *value = vs_vnf_record_to_json(rec);
	if (!value)
		return vs_wrap(VS_E_USAGE, "cannot store the record of VNF %s", rec->name);
	vs_err rc = guarded_put_raw(e, key, value, target, field, rev, res, new_rev);
	free(value);
	return rc;
}

/* Puts value under key iff the key's `target` revision equals rev. */
static VS_MUST_USE vs_err guarded_put_raw(etcd_ledger *e, const char *key, const char *value,
			      const char *target, const char *field, uint64_t rev, put_result *res,
			      uint64_t *new_rev)
{
	char *body = txn_body(key, value, target, field, rev);
	json_t *resp = NULL;
	bool lost;
	vs_err rc = body ? call(e, "/v3/kv/txn", body, true, &resp, &lost)
			 : vs_fail(VS_E_ENV, "out of memory");
	json_t *ok = json_object_get(resp, "succeeded");
	if (rc == VS_OK && ok && !json_is_boolean(ok))
		rc = vs_fail(VS_E_INTEGRITY, "etcd sent a malformed transaction answer");
	else if (rc == VS_OK && json_is_true(ok))
		*res = PUT_APPLIED;
	else if (rc == VS_OK)
		rc = failure_branch(resp, key, value, lost, res);
	/* Applied by this txn: the key's new mod_revision is the txn's revision.
	 * (Applied by a lost earlier attempt: unknown, leave 0.) */
	*new_rev = 0;
	if (rc == VS_OK && json_is_true(ok) &&
	    !get_rev(json_object_get(resp, "header"), "revision", new_rev))
		*new_rev = 0;
	json_decref(resp);
	free(body);
	return rc;
}

static VS_MUST_USE vs_err etcd_create(vs_ledger *l, const vs_vnf_record *rec)
{
	put_result res;
	uint64_t rev;
	VS_TRY(guarded_put((etcd_ledger *)l, rec, "CREATE", "create_revision", 0, &res, &rev));
	if (res != PUT_APPLIED)
		return vs_fail(VS_E_USAGE, "a VNF named %s is already registered", rec->name);
	return VS_OK;
}

static VS_MUST_USE vs_err etcd_cas(vs_ledger *l, const vs_vnf_record *rec, uint64_t expected)
{
	put_result res;
	/* An absent key's mod_revision compares as 0: never a valid version. */
	if (expected == 0 || expected > INT64_MAX)
		return vs_fail(VS_E_USAGE, "VNF %s: invalid record version", rec->name);
	VS_TRY(guarded_put((etcd_ledger *)l, rec, "MOD", "mod_revision", expected, &res,
			   &l->last_version));
	if (res == PUT_ABSENT)
		return vs_refuse(VS_E_USAGE, VS_R_NOT_REGISTERED, rec->name, "no VNF named %s", rec->name);
	if (res == PUT_REFUSED)
		return vs_refuse(VS_E_POLICY, VS_R_LOST_RACE, rec->name,
			       "VNF %s changed concurrently (version %llu is no longer current)",
			       rec->name, (unsigned long long)expected);
	return VS_OK;
}

/* ---------- list: pages of ETCD_PAGE keys at one revision ---------- */

typedef struct {
	char from[ETCD_MAX_KEY + 1]; /* first key of the next page */
	size_t from_len;
	uint64_t rev;                /* pinned by the first page */
	char last[ETCD_MAX_KEY];     /* keys must strictly increase */
} list_state;

static char *page_body(const list_state *s)
{
	char revs[24];
	snprintf(revs, sizeof revs, "%llu", (unsigned long long)s->rev);
	char *k64 = b64_encode(s->from, s->from_len);
	char *end64 = b64_encode(ETCD_PREFIX_END, strlen(ETCD_PREFIX_END));
	json_t *req = k64 && end64 ? json_pack("{s:s,s:s,s:i}", "key", k64, "range_end", end64,
					       "limit", ETCD_PAGE)
				   : NULL;
	if (req && s->rev)
		json_object_set_new(req, "revision", json_string(revs));
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	free(k64);
	free(end64);
	return body;
}

static VS_MUST_USE vs_err page_records(json_t *kvs, list_state *s,
			   vs_err (*cb)(void *ctx, const vs_vnf_record *r), void *ctx)
{
	for (size_t i = 0; i < json_array_size(kvs); i++) {
		vs_vnf_record r;
		char key[ETCD_MAX_KEY];
		VS_TRY(kv_record(json_array_get(kvs, i), NULL, &r, key, sizeof key));
		if (s->last[0] && strcmp(key, s->last) <= 0)
			return vs_fail(VS_E_INTEGRITY, "etcd sent keys out of order");
		snprintf(s->last, sizeof s->last, "%s", key);
		VS_TRY(cb(ctx, &r));
	}
	/* The next page starts right after the last key: key + "\0". */
	s->from_len = strlen(s->last) + 1;
	memcpy(s->from, s->last, s->from_len);
	return VS_OK;
}

static VS_MUST_USE vs_err list_page(etcd_ledger *e, list_state *s, bool *more,
			vs_err (*cb)(void *ctx, const vs_vnf_record *r), void *ctx)
{
	char *body = page_body(s);
	if (!body)
		return vs_fail(VS_E_ENV, "out of memory");
	json_t *resp = NULL, *kvs;
	bool lost;
	vs_err rc = call(e, "/v3/kv/range", body, false, &resp, &lost);
	free(body);
	json_t *m = json_object_get(resp, "more");
	if (rc == VS_OK && s->rev == 0 &&
	    !get_rev(json_object_get(resp, "header"), "revision", &s->rev))
		rc = vs_fail(VS_E_INTEGRITY, "etcd sent a malformed range answer");
	if (rc == VS_OK && m && !json_is_boolean(m))
		rc = vs_fail(VS_E_INTEGRITY, "etcd sent a malformed range answer");
	if (rc == VS_OK)
		rc = range_kvs(resp, &kvs);
	*more = json_is_true(m);
	if (rc == VS_OK && *more && json_array_size(kvs) == 0)
		rc = vs_fail(VS_E_INTEGRITY, "etcd sent an empty page with more to come");
	if (rc == VS_OK)
		rc = page_records(kvs, s, cb, ctx);
	json_decref(resp);
	return rc;
}

static VS_MUST_USE vs_err etcd_list(vs_ledger *l, vs_err (*cb)(void *ctx, const vs_vnf_record *r),
			void *ctx)
{
	list_state *s = calloc(1, sizeof *s);
	if (!s)
		return vs_fail(VS_E_ENV, "out of memory");
	s->from_len = strlen(ETCD_PREFIX);
	memcpy(s->from, ETCD_PREFIX, s->from_len);
	bool more = true;
	vs_err rc = VS_OK;
	while (rc == VS_OK && more)
		rc = list_page((etcd_ledger *)l, s, &more, cb, ctx);
	free(s);
	return rc;
}

/* The audit-log anchors live beside the VNF records, under their own prefix. */
static VS_MUST_USE vs_err log_key(const char *host, char *key, size_t cap)
{
	size_t n = strlen(host);
	if (n == 0 || n >= 128)
		return vs_fail(VS_E_USAGE, "invalid host name for an audit anchor");
	for (size_t i = 0; i < n; i++)
		if (host[i] <= 0x20 || host[i] > 0x7e || host[i] == '/')
			return vs_fail(VS_E_USAGE, "invalid host name for an audit anchor");
	snprintf(key, cap, "%s%s", ETCD_LOG_PREFIX, host);
	return VS_OK;
}

/* Reads host's anchor key: *exists, its mod_revision, and in a the parsed
 * value (any form) with the key's version and create_revision. */
static VS_MUST_USE vs_err anchor_read(etcd_ledger *e, const char *host, const char *key, vs_log_anchor *a,
			  uint64_t *mod_rev, bool *exists)
{
	char got[ETCD_MAX_KEY], val[ETCD_MAX_VALUE + 4];
	memset(a, 0, sizeof *a);
	*exists = false;
	*mod_rev = 0;
	json_t *resp = NULL, *kvs = NULL;
	vs_err rc = range_one(e, key, &resp, &kvs);
	size_t n = 0;
	uint64_t ver = 0, crev = 0;
	json_t *kv = json_array_get(kvs, 0);
	if (rc == VS_OK && json_array_size(kvs) > 1)
		rc = vs_fail(VS_E_INTEGRITY, "etcd sent several values for one key");
	if (rc == VS_OK && kv) {
		if (!json_is_object(kv))
			rc = vs_fail(VS_E_INTEGRITY, "etcd sent a malformed range answer");
		if (rc == VS_OK)
			rc = kv_key_raw(kv, got, sizeof got);
		if (rc == VS_OK && strcmp(got, key))
			rc = vs_fail(VS_E_INTEGRITY, "etcd answered with another key than asked for");
		if (rc == VS_OK)
			rc = kv_value(kv, val, sizeof val, &n);
		if (rc == VS_OK &&
		    (!get_rev(kv, "mod_revision", mod_rev) || !get_rev(kv, "version", &ver) ||
		     !get_rev(kv, "create_revision", &crev) || *mod_rev == 0 || ver == 0 ||
		     crev == 0 || crev > *mod_rev))
			rc = vs_fail(VS_E_INTEGRITY, "etcd sent malformed revisions for %s", key);
		bool revs_ok = rc == VS_OK;
		if (rc == VS_OK)
			rc = vs_log_anchor_value_parse(host, val, n, a);
		/* An operator's restart replaces even a value that does not parse. */
		if (rc == VS_E_INTEGRITY && revs_ok && e->base.anchor_overwrite) {
			memset(a, 0, sizeof *a);
			a->form = VS_ANCHOR_UNSIGNED;
			rc = VS_OK;
		}
		a->kv_version = ver;
		a->kv_create_rev = crev;
		*exists = rc == VS_OK;
	}
	/* Which cluster answered: the home's witness of this key is per cluster. */
	if (rc == VS_OK && !get_u64(json_object_get(resp, "header"), "cluster_id", UINT64_MAX,
				    &a->kv_cluster))
		rc = vs_fail(VS_E_INTEGRITY, "etcd sent no cluster id with %s", key);
	json_decref(resp);
	if (rc != VS_OK) {
		memset(a, 0, sizeof *a);
		*mod_rev = 0;
	}
	return rc;
}

/* A genesis value counts as no anchor yet (its version stays 0 for the
 * caller: the next write goes through the create path). */
static VS_MUST_USE vs_err etcd_log_anchor_get(vs_ledger *l, const char *host, vs_log_anchor *a,
				  uint64_t *version, bool *found)
{
	char key[ETCD_MAX_KEY];
	bool exists;
	*found = false;
	*version = 0;
	memset(a, 0, sizeof *a);
	VS_TRY(log_key(host, key, sizeof key));
	VS_TRY(anchor_read((etcd_ledger *)l, host, key, a, version, &exists));
	*found = exists && a->form != VS_ANCHOR_GENESIS;
	if (!*found)
		*version = 0;
	return VS_OK;
}

static VS_MUST_USE vs_err unsigned_cas(etcd_ledger *e, const char *host, const char *key,
			   const vs_log_anchor *a, uint64_t expected)
{
	char *value = vs_log_anchor_to_json(a);
	if (!value)
		return vs_wrap(VS_E_USAGE, "cannot store the audit anchor of %s", host);
	put_result res;
	uint64_t rev;
	vs_err rc = expected ? guarded_put_raw(e, key, value, "MOD", "mod_revision", expected, &res,
					       &rev)
			     : guarded_put_raw(e, key, value, "CREATE", "create_revision", 0, &res,
					       &rev);
	free(value);
	if (rc == VS_OK && res != PUT_APPLIED)
		rc = vs_refuse(VS_E_POLICY, VS_R_LOST_RACE, NULL, "the audit anchor of %s changed concurrently", host);
	return rc;
}

/* Before a signed write: the key must hold what this host last wrote
 * (unless an operator's restart overwrites it). */
static VS_MUST_USE vs_err check_current(etcd_ledger *e, const char *host, const vs_log_anchor *cur)
{
	uint8_t pub[VS_PUB_LEN];
	if (e->base.anchor_overwrite)
		return VS_OK;
	VS_TRY(vs_signer_public(e->base.anchor_signer, pub));
	return vs_log_anchor_check_signed(host, cur, pub);
}

/* First write: {"genesis":HOST} makes the key, so the signed value can
 * name the key's create_revision. A key already there (another writer's
 * genesis, or an interrupted first write) is taken as it is. */
static VS_MUST_USE vs_err signed_cas(etcd_ledger *e, const char *host, const char *key,
			 const vs_log_anchor *a, uint64_t expected)
{
	put_result res;
	uint64_t rev, mod = 0;
	bool exists;
	vs_log_anchor cur, next = *a;
	if (expected == 0) {
		char *genesis = vs_log_anchor_genesis_json(host);
		vs_err rc = genesis ? guarded_put_raw(e, key, genesis, "CREATE", "create_revision", 0,
						      &res, &rev)
				    : vs_fail(VS_E_ENV, "out of memory");
		free(genesis);
		VS_TRY(rc);
	}
	VS_TRY(anchor_read(e, host, key, &cur, &mod, &exists));
	bool as_expected = expected ? mod == expected : cur.form == VS_ANCHOR_GENESIS;
	if (!exists || (!as_expected && !(expected == 0 && e->base.anchor_overwrite)))
		return vs_refuse(VS_E_POLICY, VS_R_LOST_RACE, NULL, "the audit anchor of %s changed concurrently", host);
	VS_TRY(check_current(e, host, &cur));
	next.count = cur.kv_version + 1;
	next.create_rev = cur.kv_create_rev;
	char *value = vs_log_anchor_sign_json(host, &next, e->base.anchor_signer);
	if (!value)
		return vs_wrap(VS_E_ENV, "cannot sign the audit anchor of %s", host);
	vs_err rc = guarded_put_raw(e, key, value, "MOD", "mod_revision", mod, &res, &rev);
	free(value);
	if (rc == VS_OK && res != PUT_APPLIED)
		rc = vs_refuse(VS_E_POLICY, VS_R_LOST_RACE, NULL, "the audit anchor of %s changed concurrently", host);
	return rc;
}

static VS_MUST_USE vs_err etcd_log_anchor_cas(vs_ledger *l, const char *host, const vs_log_anchor *a,
				  uint64_t expected)
{
	etcd_ledger *e = (etcd_ledger *)l;
	char key[ETCD_MAX_KEY];
	VS_TRY(log_key(host, key, sizeof key));
	return l->anchor_signer ? signed_cas(e, host, key, a, expected)
				: unsigned_cas(e, host, key, a, expected);
}

static void etcd_close(vs_ledger *l)
{
	etcd_ledger *e = (etcd_ledger *)l;
	curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->headers);
	curl_slist_free_all(e->auth_headers);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->password_file);
	free(e);
}

static const vs_ledger_ops etcd_ops = {
	.scheme = "etcd",
	.get = etcd_get,
	.create = etcd_create,
	.cas = etcd_cas,
	.list = etcd_list,
	.log_anchor_get = etcd_log_anchor_get,
	.log_anchor_cas = etcd_log_anchor_cas,
	.close = etcd_close,
};

/* ---------- opening ---------- */

/* HOST:PORT with HOST a name, an IPv4 address or [IPv6]. */
static bool hostport_ok(const char *s, size_t n)
{
	const char *colon = NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']'))
			return false;
		if (c == ':')
			colon = s + i;
	}
	if (!colon || colon == s || colon[-1] == ':' || (size_t)(s + n - colon) < 2 ||
	    (size_t)(s + n - colon) > 6)
		return false;
	long port = 0;
	for (const char *p = colon + 1; p < s + n; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535;
}

static VS_MUST_USE vs_err add_endpoint(etcd_ledger *e, const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '/'))
		n--;
	const char *scheme = "http://", *s0 = s;
	size_t n0 = n;
	if (n > 7 && !strncmp(s, "http://", 7))
		s += 7, n -= 7;
	else if (n > 8 && !strncmp(s, "https://", 8))
		scheme = "https://", s += 8, n -= 8;
	if (memchr(s, '@', n))
		return vs_fail(VS_E_USAGE, "etcd endpoints must not carry credentials");
	if (n == 0)
		return vs_fail(VS_E_USAGE, "empty etcd endpoint in the list");
	if (n > ETCD_ENDPOINT_MAX || !hostport_ok(s, n))
		return vs_fail(VS_E_USAGE,
			       "'%.*s' is not an etcd endpoint (expected [https://]HOST:PORT)",
			       (int)(n > 80 ? 80 : n), s);
	if (e->n == ETCD_MAX_ENDPOINTS)
		return vs_fail(VS_E_USAGE, "more than %d etcd endpoints", ETCD_MAX_ENDPOINTS);
	/* A bare HOST:PORT takes the scheme of the first endpoint. */
	if (e->n && !strcmp(scheme, "http://") && !(n0 > 7 && !strncmp(s0, "http://", 7)))
		scheme = e->tls ? "https://" : "http://";
	if (e->n && e->tls != !strcmp(scheme, "https://"))
		return vs_fail(VS_E_USAGE, "etcd endpoints mix http:// and https://");
	e->tls = !strcmp(scheme, "https://");
	snprintf(e->ep[e->n++], sizeof e->ep[0], "%s%.*s", scheme, (int)n, s);
	return VS_OK;
}

static VS_MUST_USE vs_err parse_endpoints(etcd_ledger *e, const char *list)
{
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		VS_TRY(add_endpoint(e, p, n));
		if (!comma)
			return VS_OK;
		p = comma + 1;
	}
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Server verified against the CA (or the system's), TLS 1.2 or later; the
 * client certificate when given. */
static VS_MUST_USE vs_err setup_tls(etcd_ledger *e)
{
	CURL *c = e->curl;
	bool ok = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->curl_err) == CURLE_OK &&
		  (!e->cacert || curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert) == CURLE_OK) &&
		  (!e->cert || curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert) == CURLE_OK) &&
		  (!e->key || curl_easy_setopt(c, CURLOPT_SSLKEY, e->key) == CURLE_OK);
	return ok ? VS_OK : vs_fail(VS_E_ENV, "libcurl lacks TLS support for etcd:https://");
}

static VS_MUST_USE vs_err setup_curl(etcd_ledger *e)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return vs_fail(VS_E_ENV, "cannot initialize libcurl");
	e->curl = curl_easy_init();
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e->curl || !e->headers)
		return vs_fail(VS_E_ENV, "out of memory");
	CURL *c = e->curl;
	bool ok = curl_easy_setopt(c, CURLOPT_HTTPHEADER, e->headers) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ETCD_CONNECT_MS) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ETCD_TIMEOUT_MS) == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
		  /* The cluster is reached directly: no proxy from the environment. */
		  curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK &&
		  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
#if LIBCURL_VERSION_NUM >= 0x075500
		  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#else
		  curl_easy_setopt(c, CURLOPT_PROTOCOLS,
				   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) == CURLE_OK;
#endif
	if (!ok)
		return vs_fail(VS_E_ENV, "libcurl lacks a needed option (HTTP support)");
	return e->tls ? setup_tls(e) : VS_OK;
}

static VS_MUST_USE vs_err readable(const char *what, const char *path, vs_field field)
{
	if (path && access(path, R_OK) != 0)
		return vs_set_field(vs_fail_errno(VS_E_USAGE, "cannot read the %s %s", what, path),
				    field);
	return VS_OK;
}

static VS_MUST_USE vs_err dup_opt(char **dst, const char *src)
{
	if (src && !(*dst = strdup(src)))
		return vs_fail(VS_E_ENV, "out of memory");
	return VS_OK;
}

static bool user_ok(const char *u)
{
	size_t n = strnlen(u, ETCD_USER_MAX);
	bool ok = n > 0 && n < ETCD_USER_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = u[i] > 0x20 && u[i] < 0x7f;
	return ok;
}

/* What can be decided before any request: credentials only over TLS, a
 * user with a usable password file. */
static VS_MUST_USE vs_err check_opts(const etcd_ledger *e, const vs_etcd_opts *o)
{
	if (!e->tls && (o->user || o->password_file || o->cert || o->key || o->cacert))
		return vs_fail(VS_E_USAGE,
			       "refused: etcd credentials and TLS options need etcd:https:// endpoints; "
			       "over plain http:// they would travel in clear");
	if (!o->cert != !o->key)
		return vs_fail_field(VS_E_USAGE, o->cert ? VS_F_ETCD_KEY : VS_F_ETCD_CERT,
				     "an etcd client certificate and its key go together");
	if (!o->user != !o->password_file)
		return vs_fail_field(VS_E_USAGE, o->user ? VS_F_ETCD_PASSWORD_FILE : VS_F_ETCD_USER,
				     "an etcd user and its password file go together");
	if (o->user && !user_ok(o->user))
		return vs_fail_field(VS_E_USAGE, VS_F_ETCD_USER,
				     "invalid etcd user name (printable, no spaces, < %d bytes)",
				     ETCD_USER_MAX);
	VS_TRY(readable("etcd CA certificate", o->cacert, VS_F_ETCD_CACERT));
	VS_TRY(readable("etcd client certificate", o->cert, VS_F_ETCD_CERT));
	VS_TRY(readable("etcd client key", o->key, VS_F_ETCD_KEY));
	if (o->password_file) {
		char pw[ETCD_PASSWORD_MAX + 1];
		size_t n;
		vs_err rc = read_password(o->password_file, pw, sizeof pw, &n);
		OPENSSL_cleanse(pw, sizeof pw);
		if (rc != VS_OK)
			return vs_set_field(rc, VS_F_ETCD_PASSWORD_FILE);
	}
	return VS_OK;
}

static void set_auth_status(etcd_ledger *e)
{
	char *st = e->base.auth_status;
	size_t cap = sizeof e->base.auth_status;
	if (!e->tls)
		snprintf(st, cap, "unauthenticated: etcd over plain http:// (any client that "
				  "reaches the cluster can rewrite ledger records and audit anchors)");
	else if (e->user[0])
		snprintf(st, cap, "authenticated as etcd user %s over TLS (server verified%s%s)",
			 e->user, e->cacert ? " with the given CA certificates" : " with the system CAs",
			 e->cert ? ", client certificate" : "");
	else
		snprintf(st, cap, "TLS without an etcd user: unauthenticated unless the cluster "
				  "demands client certificates%s", e->cert ? " (one is presented)" : "");
}

static VS_MUST_USE vs_err etcd_setup(etcd_ledger *e, const char *endpoints, const vs_etcd_opts *o)
{
	static const vs_etcd_opts none;
	if (!o)
		o = &none;
	VS_TRY(parse_endpoints(e, endpoints));
	VS_TRY(check_opts(e, o));
	VS_TRY(dup_opt(&e->cacert, o->cacert));
	VS_TRY(dup_opt(&e->cert, o->cert));
	VS_TRY(dup_opt(&e->key, o->key));
	VS_TRY(dup_opt(&e->password_file, o->password_file));
	if (o->user)
		snprintf(e->user, sizeof e->user, "%s", o->user);
	VS_TRY(setup_curl(e));
	set_auth_status(e);
	return VS_OK;
}

VS_MUST_USE vs_err vs_ledger_etcd_open(vs_ledger **l, const char *endpoints)
{
	return vs_ledger_etcd_open_opts(l, endpoints, NULL);
}

VS_MUST_USE vs_err vs_ledger_etcd_open_opts(vs_ledger **l, const char *endpoints, const vs_etcd_opts *o)
{
	*l = NULL;
	etcd_ledger *e = calloc(1, sizeof *e);
	if (!e)
		return vs_fail(VS_E_ENV, "out of memory");
	e->base.ops = &etcd_ops;
	vs_err rc = etcd_setup(e, endpoints, o);
	if (rc != VS_OK) {
		etcd_close(&e->base);
		return rc;
	}
	snprintf(e->base.uri, sizeof e->base.uri, "etcd:%s", endpoints);
	*l = &e->base;
	return VS_OK;
}
