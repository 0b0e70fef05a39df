/* libFuzzer target: the audit log's small text files, which an intruder on
 * the host can edit (DIR/params, DIR/key, DIR/anchor-witness, DIR/frontier) or an operator
 * hands over (the verification seed): each parser must accept only its exact
 * canonical form, and refuse everything else as an integrity failure without
 * crashing. The first byte picks the file; the rest is its content. */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/audit/audit_priv.h"
#include "vnfsafe/fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void put(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/dev/shm/fz-audit-files-%d", (int)getpid());
		if (mkdir(dir, 0700) != 0)
			snprintf(dir, sizeof dir, "/tmp/fz-audit-files-%d", (int)getpid()),
				mkdir(dir, 0700);
	}
	if (size < 1)
		return 0;
	vs_err rc;
	switch (data[0] % 5) {
	case 0: {
		vs_audit_params p;
		put("params", data + 1, size - 1);
		rc = vs_audit_params_read(dir, &p);
		break;
	}
	case 1: {
		vs_key k;
		uint64_t e;
		put("key", data + 1, size - 1);
		rc = vs_audit_keyfile_read(dir, &e, &k);
		break;
	}
	case 3: {
		/* The anchor witness: what it accepts it writes back byte for byte. */
		vs_anchor_witness w[VS_WITNESS_MAX];
		size_t n;
		put("anchor-witness", data + 1, size - 1);
		rc = vs_audit_witness_read(dir, w, VS_WITNESS_MAX, &n);
		if (rc == VS_OK) {
			char path[128];
			uint8_t *back = NULL;
			size_t len = 0;
			if (vs_audit_witness_write(dir, w, n) != VS_OK)
				abort();
			snprintf(path, sizeof path, "%s/anchor-witness", dir);
			if (vs_read_small_file(path, 1 << 16, &back, &len) != VS_OK ||
			    len != size - 1 || memcmp(back, data + 1, len) != 0)
				abort(); /* accepted a form it would not write */
			free(back);
		}
		break;
	}
	case 4: {
		/* The writer's frontier: canonical only, and consistent in itself. */
		vs_audit_frontier *f = malloc(sizeof *f);
		char *back = malloc(VS_AUDIT_FRONTIER_MAX);
		size_t len = 0;
		if (!f || !back)
			abort();
		put("frontier", data + 1, size - 1);
		rc = vs_audit_frontier_read(dir, f);
		if (rc == VS_OK &&
		    (vs_audit_frontier_format(f, back, VS_AUDIT_FRONTIER_MAX, &len) != VS_OK ||
		     len != size - 1 || memcmp(back, data + 1, len) != 0))
			abort(); /* accepted a form it would not write */
		free(f);
		free(back);
		break;
	}
	default: {
		char path[128];
		vs_audit_seed s;
		put("seed", data + 1, size - 1);
		snprintf(path, sizeof path, "%s/seed", dir);
		rc = vs_audit_seed_load(path, &s);
		if (rc == VS_OK && (s.interval == 0 || s.t0 < 0))
			abort(); /* accepted a seed the writer could never make */
		break;
	}
	}
	if (rc != VS_OK && rc != VS_E_INTEGRITY && rc != VS_E_ENV)
		abort();
	return 0;
}
