/* bench/cli: the latency of audited CLI commands at two audit log sizes,
 * beside the bare cost they cannot avoid, measured in the same run and
 * printed as ratios (docs/performance.md).
 *   cli_bench VNFSAFE WORKDIR [PAIRS [BIG]]
 * For a log of 10 records and one of BIG (default 1,000,000; grown with
 * vs_audit_append_many, not by running the CLI), times PAIRS runs each of
 * `vnf stop`+`vnf start` and `snapshot verify` (a small snapshot), plus two
 * floors: `vnfsafe version` (process start, dynamic linking) and `vnf status`
 * (home and ledger opened, no audit); and, for comparison, a few stop/start
 * pairs on the big log with DIR/frontier removed before each command (the
 * whole log read at open, as before the frontier). The bare cost: one SQLite transaction
 * of the ledger's kind (WAL, synchronous=FULL, BEGIN IMMEDIATE, a
 * compare-and-set UPDATE, COMMIT) plus one write()+fdatasync() of a
 * record-sized line, in this process, on the same file system.
 * Then the same operations in process, as the coming agent will run them:
 * home and ledger opened once, each operation inside an audited session
 * (vnfsafe/session.h), beside the bare cost again; and the cost of opening
 * and closing the home and the ledger alone.
 *   cli_bench --trace HOME
 * runs one stop, start and verify in process between marker calls, for
 * bench/cli's strace of the syncs per operation;
 *   cli_bench --open-once HOME
 * times the first and a second open of HOME and its ledger in one process;
 *   cli_bench --spawn N PROG [ARGS...]
 * times N runs of PROG (bench/cli's process start floors). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vnfsafe/audit.h"
#include "vnfsafe/ops.h"
#include "vnfsafe/session.h"

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "cli_bench: %s: %s\n", what, why);
	exit(4);
}

static const char *bin;

/* Runs `bin --home home args...` with output to /dev/null; ms taken. */
static double run(const char *home, const char *const *args, int want_rc)
{
	const char *argv[16] = { bin, "--home", home, "--quiet" };
	int n = 4;
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	double t = now_ms();
	if (posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ) != 0)
		die("spawn", bin);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("wait", bin);
	t = now_ms() - t;
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != want_rc) {
		char cmd[512] = "";
		for (int i = 0; argv[i]; i++)
			snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s ", argv[i]);
		die("unexpected exit status", cmd);
	}
	return t;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct {
	double median, p90, mean;
} stats;

static stats summarize(double *v, int n)
{
	stats s = { 0, 0, 0 };
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	for (int i = 0; i < n; i++)
		s.mean += v[i] / n;
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.p90 = v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1];
	return s;
}

/* Appends records until the log holds `total` (the CLI's own records count). */
static void grow(const char *home, uint64_t total)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/audit", home);
	vs_audit *a;
	vs_audit_opts o = { .host = "bench-host" };
	if (vs_audit_open(&a, dir, &o) != VS_OK)
		die("open the audit log", vs_errmsg());
	static vs_audit_event ev[VS_AUDIT_MANY_MAX];
	for (size_t i = 0; i < VS_AUDIT_MANY_MAX; i++)
		ev[i] = (vs_audit_event){ .actor = "uid:bench", .action = "vnf.start", .vnf = "fw",
					  .snapshot = "", .generation = 2,
					  .outcome = VS_AUDIT_OUT_OK, .reason = "grown by bench/cli",
					  .has_uid = true, .uid = 1000 };
	uint64_t seq = 0;
	vs_audit_event probe = ev[0];
	if (vs_audit_append(a, &probe, &seq) != VS_OK)
		die("append", vs_errmsg());
	while (seq < total) {
		uint64_t left = total - seq;
		size_t n = left < VS_AUDIT_MANY_MAX ? (size_t)left : VS_AUDIT_MANY_MAX;
		uint64_t first;
		if (vs_audit_append_many(a, ev, n, &first) != VS_OK)
			die("append", vs_errmsg());
		seq = first + n - 1;
	}
	vs_audit_close(a);
}

static void setup(const char *home, uint64_t records)
{
	char seed[4200], state[4200], snap[4200], f[4300];
	snprintf(seed, sizeof seed, "%s.seed", home);
	snprintf(state, sizeof state, "%s.state", home);
	snprintf(snap, sizeof snap, "%s.vsnap", home);
	if (mkdir(state, 0700) != 0)
		die("mkdir", state);
	snprintf(f, sizeof f, "%s/fw.conf", state);
	FILE *fp = fopen(f, "w");
	if (!fp)
		die("create", f);
	fprintf(fp, "zone lan\nallow 22/tcp\n");
	fclose(fp);
	run(home, (const char *[]){ "init", "--audit-seed", seed, NULL }, 0);
	run(home, (const char *[]){ "vnf", "register", "fw", NULL }, 0);
	run(home, (const char *[]){ "vnf", "start", "fw", NULL }, 0);
	run(home,
	    (const char *[]){ "snapshot", "create", "--vnf", "fw", "--engine", "dir", "--source",
			      state, "-o", snap, NULL },
	    0);
	grow(home, records);
	/* Warm-up: a first checkpoint (the grown records came without a signer). */
	run(home, (const char *[]){ "vnf", "stop", "fw", NULL }, 0);
	run(home, (const char *[]){ "vnf", "start", "fw", NULL }, 0);
}

/* The bare cost: one ledger-like CAS transaction and one synced
 * record-sized append, in this process. */
typedef struct {
	sqlite3 *db;
	sqlite3_stmt *up;
	int fd;
	int64_t gen;
} bare_ctx;

static void bare_open(bare_ctx *b, const char *work)
{
	char db_path[4200], log_path[4200];
	snprintf(db_path, sizeof db_path, "%s/bare.db", work);
	snprintf(log_path, sizeof log_path, "%s/bare.log", work);
	if (sqlite3_open(db_path, &b->db) != SQLITE_OK ||
	    sqlite3_exec(b->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				"CREATE TABLE IF NOT EXISTS vnf(id TEXT PRIMARY KEY, gen INTEGER);"
				"INSERT OR REPLACE INTO vnf VALUES('fw', 0);",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(b->db, "UPDATE vnf SET gen = gen + 1 WHERE id = 'fw' AND gen = ?",
			       -1, &b->up, NULL) != SQLITE_OK)
		die("sqlite", sqlite3_errmsg(b->db));
	b->fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (b->fd < 0)
		die("open", log_path);
	b->gen = 0;
}

#define BARE_LINE 320 /* about one CLI audit record */

static double bare_once(bare_ctx *b)
{
	char line[BARE_LINE];
	memset(line, 'r', sizeof line);
	line[sizeof line - 1] = '\n';
	double t = now_ms();
	sqlite3_bind_int64(b->up, 1, b->gen++);
	if (sqlite3_exec(b->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_step(b->up) != SQLITE_DONE || sqlite3_changes(b->db) != 1 ||
	    sqlite3_reset(b->up) != SQLITE_OK ||
	    sqlite3_exec(b->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die("sqlite CAS", sqlite3_errmsg(b->db));
	if (write(b->fd, line, sizeof line) != (ssize_t)sizeof line || fdatasync(b->fd) != 0)
		die("append", "bare.log");
	return now_ms() - t;
}

static void bare_close(bare_ctx *b)
{
	close(b->fd);
	sqlite3_finalize(b->up);
	sqlite3_close(b->db);
}

/* One round of each command on one home; v[k][i] gets command k's time. */
static void round_on(const char *home, double *v[4], int i)
{
	char snap[4200];
	snprintf(snap, sizeof snap, "%s.vsnap", home);
	/* One stop+start pair is two audited commands: per command. */
	double t = run(home, (const char *[]){ "vnf", "stop", "fw", NULL }, 0);
	t += run(home, (const char *[]){ "vnf", "start", "fw", NULL }, 0);
	v[0][i] = t / 2;
	v[1][i] = run(home, (const char *[]){ "snapshot", "verify", snap, NULL }, 0);
	v[2][i] = run(home, (const char *[]){ "vnf", "status", "fw", NULL }, 0);
	v[3][i] = run(home, (const char *[]){ "version", NULL }, 0);
}

/* Rounds alternate between the homes and the bare cost, so drift on a
 * shared machine hits all three alike. */
static void measure(const char *work, const char *small, const char *big, int pairs, stats s[4],
		    stats b[4], stats *base)
{
	double *vs[4], *vb[4], *vbare = calloc((size_t)pairs * 2, sizeof(double));
	bare_ctx bc;
	bare_open(&bc, work);
	for (int k = 0; k < 4; k++) {
		vs[k] = calloc((size_t)pairs, sizeof(double));
		vb[k] = calloc((size_t)pairs, sizeof(double));
	}
	for (int i = 0; i < pairs; i++) {
		round_on(small, vs, i);
		vbare[2 * i] = bare_once(&bc);
		round_on(big, vb, i);
		vbare[2 * i + 1] = bare_once(&bc);
	}
	bare_close(&bc);
	*base = summarize(vbare, 2 * pairs);
	free(vbare);
	for (int k = 0; k < 4; k++) {
		s[k] = summarize(vs[k], pairs);
		b[k] = summarize(vb[k], pairs);
		free(vs[k]);
		free(vb[k]);
	}
}

/* What every audited command cost before DIR/frontier: the whole log read
 * at open (the frontier removed before each command). */
static stats without_frontier(const char *home, int pairs)
{
	char fr[4300];
	double *v = calloc((size_t)pairs, sizeof(double));
	snprintf(fr, sizeof fr, "%s/audit/frontier", home);
	for (int i = 0; i < pairs; i++) {
		unlink(fr);
		double t = run(home, (const char *[]){ "vnf", "stop", "fw", NULL }, 0);
		unlink(fr);
		t += run(home, (const char *[]){ "vnf", "start", "fw", NULL }, 0);
		v[i] = t / 2;
	}
	stats s = summarize(v, pairs);
	free(v);
	return s;
}

/* In process, as the agent will run: the home and the ledger opened once,
 * then the library operations the CLI runs, each inside an audited
 * session (vs_session_begin, the operation, vs_session_end). */
typedef struct {
	vs_home *h;
	vs_ledger *l;
	char snap[4200];
} inproc;

static vs_err inproc_ledger(void *ctx, vs_ledger **l)
{
	*l = ((inproc *)ctx)->l;
	return VS_OK;
}

static void inproc_open(inproc *p, const char *home)
{
	char path[4096];
	vs_etcd_opts eo;
	memset(&eo, 0, sizeof eo);
	snprintf(p->snap, sizeof p->snap, "%s.vsnap", home);
	if (vs_open_home(home, path, sizeof path, &p->h) != VS_OK ||
	    vs_open_ledger(p->h, NULL, &eo, &p->l) != VS_OK)
		die("open home and ledger", vs_errmsg());
}

static void inproc_close(inproc *p)
{
	vs_ledger_close(p->l);
	vs_home_close(p->h);
}

enum { OP_STOP, OP_START, OP_VERIFY };

/* One audited operation, as the CLI runs it; ms taken. */
static double inproc_op(inproc *p, int op)
{
	static const char *const actions[] = { "vnf.stop", "vnf.start", "snapshot.verify" };
	vs_principal who;
	if (vs_principal_local((uint32_t)getuid(), "bench", &who) != VS_OK)
		die("principal", vs_errmsg());
	vs_session_opts o = { .principal = &who, .action = actions[op],
			      .open_ledger = inproc_ledger, .ledger_ctx = p };
	vs_session *s;
	vs_vnf_record rec;
	memset(&rec, 0, sizeof rec);
	double t = now_ms();
	if (vs_session_begin(p->h, &o, &s) != VS_OK)
		die("session begin", vs_errmsg());
	vs_err rc;
	if (op == OP_VERIFY) {
		vs_open_opts oo = { .in = p->snap };
		vs_snap_result res;
		memset(&res, 0, sizeof res);
		rc = vs_snapshot_open(p->h, &oo, &res, &rec);
		res.header.vnf[sizeof res.header.vnf - 1] = 0;
		vs_session_vnf(s, res.header.vnf);
		vs_session_snapshot(s, res.header.snapshot_id);
		vs_session_generation(s, res.header.generation);
	} else {
		rc = op == OP_STOP ? vs_vnf_stop(p->h, p->l, "fw", &rec)
				   : vs_vnf_start(p->h, p->l, "fw", NULL, &rec);
		vs_session_vnf(s, "fw");
		vs_session_generation(s, rec.generation);
	}
	if (vs_session_end(s, rc) != VS_OK)
		die(actions[op], vs_errmsg());
	return now_ms() - t;
}

/* Home and ledger opened and closed, nothing else (no process start). */
static double inproc_open_close(const char *home)
{
	inproc p;
	double t = now_ms();
	inproc_open(&p, home);
	inproc_close(&p);
	return now_ms() - t;
}

/* Like measure(), in process: v[0] stop|start per op, v[1] verify, v[2]
 * open+close of home and ledger. */
static void measure_inproc(const char *work, const char *small, const char *big, int n,
			   stats s[3], stats b[3], stats *base)
{
	double *vs[3], *vb[3], *vbare = calloc((size_t)n * 2, sizeof(double));
	for (int k = 0; k < 3; k++) {
		vs[k] = calloc((size_t)n, sizeof(double));
		vb[k] = calloc((size_t)n, sizeof(double));
	}
	bare_ctx bc;
	bare_open(&bc, work);
	inproc ps, pb;
	inproc_open(&ps, small);
	inproc_open(&pb, big);
	for (int i = 0; i < n; i++) {
		vs[0][i] = (inproc_op(&ps, OP_STOP) + inproc_op(&ps, OP_START)) / 2;
		vs[1][i] = inproc_op(&ps, OP_VERIFY);
		vbare[2 * i] = bare_once(&bc);
		vb[0][i] = (inproc_op(&pb, OP_STOP) + inproc_op(&pb, OP_START)) / 2;
		vb[1][i] = inproc_op(&pb, OP_VERIFY);
		vbare[2 * i + 1] = bare_once(&bc);
	}
	inproc_close(&ps);
	inproc_close(&pb);
	for (int i = 0; i < n; i++) {
		vs[2][i] = inproc_open_close(small);
		vb[2][i] = inproc_open_close(big);
	}
	bare_close(&bc);
	*base = summarize(vbare, 2 * n);
	free(vbare);
	for (int k = 0; k < 3; k++) {
		s[k] = summarize(vs[k], n);
		b[k] = summarize(vb[k], n);
		free(vs[k]);
		free(vb[k]);
	}
}

/* cli_bench --trace HOME: one stop, start and verify in process, each
 * between two marker calls access("/vnfsafe-bench-mark/WHAT") that
 * bench/cli finds in `strace -y -e trace=fsync,fdatasync,access` output to
 * attribute each sync to its operation. */
static int trace_main(const char *home)
{
	static const char *const names[] = { "stop", "start", "verify" };
	inproc p;
	char mark[64];
	inproc_open(&p, home);
	inproc_op(&p, OP_STOP); /* warm-up: a first session of this process */
	inproc_op(&p, OP_START);
	for (int op = OP_STOP; op <= OP_VERIFY; op++) {
		snprintf(mark, sizeof mark, "/vnfsafe-bench-mark/begin-%s", names[op]);
		(void)access(mark, F_OK);
		inproc_op(&p, op);
		snprintf(mark, sizeof mark, "/vnfsafe-bench-mark/end-%s", names[op]);
		(void)access(mark, F_OK);
	}
	inproc_close(&p);
	return 0;
}

/* cli_bench --open-once HOME: opening HOME and its ledger the first time in
 * a fresh process (one-time OpenSSL and SQLite set-up included), then again
 * warm; ms for the home, the ledger, closing both. */
static int open_once_main(const char *home)
{
	char path[4096];
	vs_etcd_opts eo;
	memset(&eo, 0, sizeof eo);
	for (int i = 0; i < 2; i++) {
		vs_home *h;
		vs_ledger *l;
		double t0 = now_ms();
		if (vs_open_home(home, path, sizeof path, &h) != VS_OK)
			die("open home", vs_errmsg());
		double t1 = now_ms();
		if (vs_open_ledger(h, NULL, &eo, &l) != VS_OK)
			die("open ledger", vs_errmsg());
		double t2 = now_ms();
		vs_ledger_close(l);
		vs_home_close(h);
		printf("%s open: home %.2f ms, ledger %.2f ms, close both %.2f ms\n",
		       i ? "warm " : "first", t1 - t0, t2 - t1, now_ms() - t2);
	}
	return 0;
}

/* cli_bench --spawn N PROG [ARGS...]: median and p90 ms of N runs of PROG
 * (output to /dev/null), spawn to exit. */
static int spawn_main(int n, char **argv)
{
	double *v = calloc((size_t)n, sizeof(double));
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (int i = 0; i < n; i++) {
		pid_t pid;
		int st;
		double t = now_ms();
		if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0 ||
		    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("spawn", argv[0]);
		v[i] = now_ms() - t;
	}
	posix_spawn_file_actions_destroy(&fa);
	stats s = summarize(v, n);
	free(v);
	printf("%8.2f %8.2f  %s\n", s.median, s.p90, argv[0]);
	return 0;
}

static uint64_t log_bytes(const char *home)
{
	char p[4200];
	struct stat st;
	snprintf(p, sizeof p, "%s/audit/log", home);
	return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void row(const char *what, const stats *small, const stats *big, double base)
{
	printf("%-34s %9.2f %9.2f   %9.2f %9.2f   %6.2fx %6.2fx %6.2fx\n", what, small->median,
	       small->p90, big->median, big->p90, big->median / small->median,
	       small->median / base, big->median / base);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--trace"))
		return trace_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--open-once"))
		return open_once_main(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "--spawn") && atoi(argv[2]) > 0)
		return spawn_main(atoi(argv[2]), argv + 3);
	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: cli_bench VNFSAFE WORKDIR [PAIRS [BIG]]\n");
		return 1;
	}
	bin = argv[1];
	const char *work = argv[2];
	int pairs = argc > 3 ? atoi(argv[3]) : 30;
	uint64_t big = argc > 4 ? strtoull(argv[4], NULL, 10) : 1000000;
	if (pairs < 1 || big < 10)
		die("usage", "PAIRS >= 1, BIG >= 10");
	char h_small[4200], h_big[4200];
	snprintf(h_small, sizeof h_small, "%s/home-small", work);
	snprintf(h_big, sizeof h_big, "%s/home-big", work);
	double t = now_ms();
	setup(h_small, 10);
	setup(h_big, big);
	printf("# setup (two homes, grown to 10 and %llu records): %.1f s\n",
	       (unsigned long long)big, (now_ms() - t) / 1e3);
	/* The grown log's pages out before anything is timed: otherwise the
	 * first syncs of the run wait behind their writeback. */
	sync();
	stats s[4], b[4], base, old;
	measure(work, h_small, h_big, pairs, s, b, &base);
	old = without_frontier(h_big, pairs < 5 ? pairs : 5);
	printf("# audit log: %llu B at 10 records, %llu B at %llu records; %d runs each\n",
	       (unsigned long long)log_bytes(h_small), (unsigned long long)log_bytes(h_big),
	       (unsigned long long)big, pairs);
	printf("# bare cost (SQLite CAS txn + fdatasync'd %d-byte append): median %.2f ms, "
	       "p90 %.2f ms\n",
	       BARE_LINE, base.median, base.p90);
	printf("%-34s %9s %9s   %9s %9s   %7s %7s %7s\n", "command (ms per command)", "10:med",
	       "10:p90", "big:med", "big:p90", "big/10", "10/bare", "big/bare");
	static const char *names[4] = { "vnf stop|start (audited)", "snapshot verify (audited)",
					"vnf status (no audit)", "version (process start)" };
	for (int k = 0; k < 4; k++)
		row(names[k], &s[k], &b[k], base.median);
	printf("%-34s %9s %9s   %9.2f %9.2f   %6.2fx %7s %6.2fx\n", "vnf stop|start, no frontier", "",
	       "", old.median, old.p90, old.median / s[0].median, "", old.median / base.median);
	stats is[3], ib[3], ibase;
	measure_inproc(work, h_small, h_big, pairs, is, ib, &ibase);
	printf("# in process (home and ledger opened once, each operation in an audited "
	       "session): bare cost in this phase median %.2f ms, p90 %.2f ms\n",
	       ibase.median, ibase.p90);
	static const char *inames[3] = { "vnf stop|start, in process", "snapshot verify, in process",
					 "open+close home+ledger" };
	for (int k = 0; k < 3; k++)
		row(inames[k], &is[k], &ib[k], ibase.median);
	return 0;
}
