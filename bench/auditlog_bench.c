/* bench/auditlog: audit log throughput beside a bare baseline measured in the
 * same run, printed as a ratio (see docs/performance.md).
 *   auditlog_bench append DIR THREADS SECONDS [BATCH]
 *       durable appends/s (group commit, THREADS appenders, each handing
 *       BATCH records at a time to vs_audit_append_many; default 1) vs a
 *       plain write()+fdatasync() loop of lines of the same size
 *   auditlog_bench verify DIR N
 *       vs_audit_verify (with the seed: every MAC) over N records vs one
 *       SHA-256 pass over the same bytes */
#define _GNU_SOURCE
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vnfsafe/audit.h"
#include "vnfsafe/crypto.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "auditlog_bench: %s: %s\n", what, vs_errmsg());
	exit(4);
}

static double cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static vs_signer *signer;
static vs_audit_opts opts;

static void make_log(const char *dir, const char *seed)
{
	if (vs_signer_generate(&signer) != VS_OK)
		die("signer");
	opts.host = "bench-host";
	opts.signer = signer;
	if (vs_audit_init(dir, seed, signer, 0, &opts) != VS_OK)
		die("init");
}

typedef struct {
	vs_audit *a;
	double until;
	atomic_ulong *count;
	size_t batch;
} worker;

static const vs_audit_event bench_event = { "uid:1000", "snapshot.create", "vnf-bench", "",
					    1, VS_AUDIT_OUT_OK, "bench", false, 0 };

static void *append_loop(void *p)
{
	worker *w = p;
	vs_audit_event evs[256];
	for (size_t i = 0; i < w->batch; i++)
		evs[i] = bench_event;
	while (now() < w->until) {
		if (vs_audit_append_many(w->a, evs, w->batch, NULL) != VS_OK)
			die("append");
		atomic_fetch_add(w->count, w->batch);
	}
	return NULL;
}

static double run_appends(vs_audit *a, int threads, double secs, size_t batch)
{
	pthread_t t[256];
	worker w[256];
	atomic_ulong count = 0;
	double t0 = now();
	for (int i = 0; i < threads; i++) {
		w[i] = (worker){ a, t0 + secs, &count, batch };
		pthread_create(&t[i], NULL, append_loop, &w[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (double)atomic_load(&count) / (now() - t0);
}

/* The same line size, written and synced one by one, nothing else. */
static double run_bare(const char *path, size_t line, double secs)
{
	char buf[4096];
	memset(buf, 'x', line);
	buf[line - 1] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
	if (fd < 0)
		die("open bare file");
	unsigned long n = 0;
	double t0 = now(), t;
	while ((t = now()) < t0 + secs) {
		if (write(fd, buf, line) != (ssize_t)line || fdatasync(fd) != 0)
			die("bare write");
		n++;
	}
	close(fd);
	return (double)n / (t - t0);
}

/* Records and average line length of DIR/log. */
static size_t avg_line(const char *dir, unsigned long *records)
{
	char path[4200];
	struct stat st;
	snprintf(path, sizeof path, "%s/log", dir);
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		die("stat log");
	size_t bytes = (size_t)st.st_size;
	char *m = bytes ? mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	*records = 0;
	for (size_t i = 0; m && i < bytes; i++)
		*records += m[i] == '\n';
	if (m)
		munmap(m, bytes);
	return *records ? bytes / *records : 256;
}

static int cmd_append(const char *dir, int threads, double secs, size_t batch)
{
	char adir[4096], seed[4096], bare[4096];
	if (threads < 1 || threads > 256 || secs <= 0 || batch < 1 || batch > 256)
		die("bad arguments");
	snprintf(adir, sizeof adir, "%s/audit", dir);
	snprintf(seed, sizeof seed, "%s/seed", dir);
	snprintf(bare, sizeof bare, "%s/bare.log", dir);
	make_log(adir, seed);
	vs_audit *a;
	if (vs_audit_open(&a, adir, &opts) != VS_OK)
		die("open");
	/* Interleaved halves so machine load hits both alike. */
	double ra = 0, rb = 0;
	unsigned long records = 0;
	size_t line = 0;
	for (int half = 0; half < 2; half++) {
		ra += run_appends(a, threads, secs / 2, batch) / 2;
		line = avg_line(adir, &records);
		rb += run_bare(bare, line, secs / 2) / 2;
	}
	printf("append  %3d threads x %3zu: vnfsafe durable appends/s %9.0f   bare write+fdatasync/s "
	       "%9.0f   ratio %.2fx   (%lu records, %zu-byte lines; target >= 100000/s)\n",
	       threads, batch, ra, rb, ra / rb, records, line);
	vs_audit_close(a);
	vs_signer_free(signer);
	return 0;
}

static void *fill_loop(void *p)
{
	worker *w = p;
	for (;;) {
		unsigned long k = atomic_fetch_add(w->count, 1);
		if (k >= (unsigned long)w->until)
			break;
		if (vs_audit_append(w->a, &bench_event, NULL) != VS_OK)
			die("append");
	}
	return NULL;
}

static double sha_pass(const char *path, size_t *bytes)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		die("open log");
	*bytes = (size_t)st.st_size;
	void *m = mmap(NULL, *bytes, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	uint8_t h[VS_HASH_LEN];
	double t0 = now();
	if (vs_sha256(m, *bytes, h) != VS_OK)
		die("sha256");
	double t = now() - t0;
	munmap(m, *bytes);
	return t;
}

static int cmd_verify(const char *dir, unsigned long n)
{
	char adir[4096], seed_path[4096], log[4200];
	snprintf(adir, sizeof adir, "%s/audit", dir);
	snprintf(seed_path, sizeof seed_path, "%s/seed", dir);
	snprintf(log, sizeof log, "%s/log", adir);
	make_log(adir, seed_path);
	opts.checkpoint_every = 10000;
	vs_audit *a;
	if (vs_audit_open(&a, adir, &opts) != VS_OK)
		die("open");
	atomic_ulong count = 0;
	pthread_t t[16];
	worker w[16];
	double f0 = now();
	for (int i = 0; i < 16; i++) {
		w[i] = (worker){ a, (double)n, &count, 1 };
		pthread_create(&t[i], NULL, fill_loop, &w[i]);
	}
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	double fill = now() - f0;
	vs_audit_close(a);
	vs_audit_seed seed;
	if (vs_audit_seed_load(seed_path, &seed) != VS_OK)
		die("seed");
	vs_audit_verify_opts o = { &seed, NULL, 0, NULL };
	vs_audit_report rep;
	double best = 1e9, best_sha = 1e9, best_nos = 1e9, best_cpu = 1e9;
	size_t bytes = 0;
	for (int run = 0; run < 3; run++) {
		double t0 = now(), c0 = cpu();
		if (vs_audit_verify(adir, &o, &rep) != VS_OK || rep.records != n)
			die("verify");
		double t1 = now() - t0, c1 = cpu() - c0;
		best = t1 < best ? t1 : best;
		best_cpu = c1 < best_cpu ? c1 : best_cpu;
		vs_audit_verify_opts no = { NULL, NULL, 0, NULL };
		t0 = now();
		if (vs_audit_verify(adir, &no, &rep) != VS_OK)
			die("verify without seed");
		t1 = now() - t0;
		best_nos = t1 < best_nos ? t1 : best_nos;
		t1 = sha_pass(log, &bytes);
		best_sha = t1 < best_sha ? t1 : best_sha;
	}
	printf("fill    %lu records (%zu bytes) in %.2f s with 16 appenders\n", n, bytes, fill);
	printf("verify  with seed   records/s %10.0f   bare SHA-256 over the log: records/s %10.0f "
	       "(%.0f MB/s)   ratio %.2fx   (target >= 1000000/s)\n",
	       n / best, n / best_sha, bytes / best_sha / 1e6, (n / best) / (n / best_sha));
	printf("verify  with seed   records per CPU-second %10.0f (both threads; %.2f CPU-s per "
	       "wall-s)\n",
	       n / best_cpu, best_cpu / best);
	printf("verify  no seed     records/s %10.0f   (chain, checkpoints and signatures only; %llu "
	       "checkpoints)\n",
	       n / best_nos, (unsigned long long)rep.checkpoints);
	vs_audit_seed_wipe(&seed);
	vs_signer_free(signer);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "append"))
		return cmd_append(argv[2], atoi(argv[3]), atof(argv[4]), 1);
	if (argc == 6 && !strcmp(argv[1], "append"))
		return cmd_append(argv[2], atoi(argv[3]), atof(argv[4]), strtoul(argv[5], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2], strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: auditlog_bench append DIR THREADS SECONDS [BATCH] | verify DIR N\n");
	return 1;
}
