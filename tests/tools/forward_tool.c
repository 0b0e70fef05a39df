/* forward_tool: drives audit forwarding for tests/integration/rsyslog.sh.
 *   forward_tool configure DIR   forward.conf text on stdin -> DIR/forward.conf
 *   forward_tool send DIR        vs_forward_pending with DIR/forward.conf;
 *                                prints "sent=N queued=N seq=N offset=N torn=0|1"
 *   forward_tool format          one record line on stdin -> its framed message
 * Errors: one line on stderr, exit code = vs_err. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/forward.h"

static int failed(vs_err rc)
{
	fprintf(stderr, "forward_tool: %s\n", vs_errmsg());
	return (int)rc;
}

static char *read_stdin(size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	size_t r;
	while (n < cap && (r = fread(buf + n, 1, cap - n, stdin)) > 0)
		n += r;
	*len = n;
	return buf;
}

static int configure(const char *dir)
{
	size_t len;
	char *text = read_stdin(&len);
	if (!text)
		return failed(vs_fail(VS_E_ENV, "out of memory"));
	vs_forward_cfg cfg;
	vs_err rc = vs_forward_cfg_parse(text, len, &cfg);
	free(text);
	if (rc == VS_OK)
		rc = vs_forward_cfg_save(dir, &cfg);
	return rc == VS_OK ? 0 : failed(rc);
}

static int send(const char *dir)
{
	vs_forward_cfg cfg;
	bool present = false;
	vs_err rc = vs_forward_cfg_load(dir, &cfg, &present);
	if (rc != VS_OK)
		return failed(rc);
	if (!present)
		return failed(vs_fail(VS_E_USAGE, "%s/forward.conf: forwarding not configured", dir));
	vs_forward_stats st;
	rc = vs_forward_pending(dir, &cfg, &st);
	printf("sent=%llu queued=%llu seq=%llu offset=%llu torn=%d\n",
	       (unsigned long long)st.sent, (unsigned long long)st.queued,
	       (unsigned long long)st.last_seq, (unsigned long long)st.offset, st.torn_tail ? 1 : 0);
	return rc == VS_OK ? 0 : failed(rc);
}

static int format(void)
{
	size_t len;
	char *line = read_stdin(&len);
	if (!line)
		return failed(vs_fail(VS_E_ENV, "out of memory"));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	char *msg;
	size_t n;
	uint64_t seq;
	vs_err rc = vs_forward_format(line, len, &msg, &n, &seq);
	free(line);
	if (rc != VS_OK)
		return failed(rc);
	printf("%zu %s", n, msg);
	free(msg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "configure"))
		return configure(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "send"))
		return send(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "format"))
		return format();
	fprintf(stderr, "usage: forward_tool configure DIR | send DIR | format\n");
	return 1;
}
