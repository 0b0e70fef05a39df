/* The ledger's TPM anchor (vnfsafe/anchor.h) against the TPM named by
 * VNFSAFE_TPM (a swtpm: tests/integration/swtpm.sh run test_anchor); skipped
 * (exit 77) when it is unset. Each test uses its own NV counter index
 * (0x01c101f0 + n; one ledger per index) and undefines it afterwards. */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "testutil.h"
#include "vnfsafe/anchor.h"
#include "vnfsafe/ledger.h"

#define INDEX_BASE 0x01c101f0u

static char *tcti;

typedef struct {
	char dir[256];
	char db[300];
	char uri[320];
	uint32_t index;
} fixture;

static unsigned next_index;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	tu_tmpdir(f->dir, sizeof f->dir);
	snprintf(f->db, sizeof f->db, "%s/ledger.db", f->dir);
	snprintf(f->uri, sizeof f->uri, "sqlite:%s", f->db);
	f->index = INDEX_BASE + next_index++;
	char idx[16];
	snprintf(idx, sizeof idx, "0x%08x", f->index);
	setenv("VNFSAFE_TPM_NV_INDEX", idx, 1);
	setenv("VNFSAFE_TPM", tcti, 1);
	unsetenv("VNFSAFE_TPM_ADOPT");
	unsetenv("VNFSAFE_FAULT");
	*state = f;
	return 0;
}

/* Removes the index from the TPM (tests only; the library never does). */
static void nv_undefine(uint32_t index)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *e = NULL;
	ESYS_TR nv;
	if (Tss2_TctiLdr_Initialize(tcti, &t) != TSS2_RC_SUCCESS)
		return;
	if (Esys_Initialize(&e, t, NULL) == TSS2_RC_SUCCESS &&
	    Esys_TR_FromTPMPublic(e, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv) ==
		    TSS2_RC_SUCCESS)
		Esys_NV_UndefineSpace(e, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				      ESYS_TR_NONE);
	Esys_Finalize(&e);
	Tss2_TctiLdr_Finalize(&t);
}

static int teardown(void **state)
{
	fixture *f = *state;
	nv_undefine(f->index);
	tu_rmdir(f->dir);
	free(f);
	return 0;
}

static uint64_t nv_value(uint32_t index)
{
	vs_anchor *a;
	uint64_t v = 0;
	assert_int_equal(vs_anchor_open_config(&a, tcti, index), VS_OK);
	assert_int_equal(vs_anchor_read(a, &v), VS_OK);
	vs_anchor_close(a);
	return v;
}

static uint64_t db_counter(const fixture *f)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT counter FROM anchor", -1, &st, NULL), SQLITE_OK);
	/* No row: never bound (without a TPM there is none). */
	uint64_t c = sqlite3_step(st) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return c;
}

static void db_exec(const fixture *f, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static vs_ledger *open_ok(const fixture *f)
{
	vs_ledger *l = NULL;
	vs_err rc = vs_ledger_open(&l, f->uri);
	if (rc != VS_OK)
		fail_msg("open %s: %s", f->uri, vs_errmsg());
	return l;
}

static vs_err open_rc(const fixture *f)
{
	vs_ledger *l = NULL;
	vs_err rc = vs_ledger_open(&l, f->uri);
	vs_ledger_close(l);
	return rc;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copies DB[-wal,-shm] to DB.<tag>[-wal,-shm] (save) or back (restore);
 * a suffix file absent on the source side is removed on the other. */
static void copy_set(const fixture *f, const char *tag, bool restore)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	for (int i = 0; i < 3; i++) {
		char a[400], b[400], cmd[1000];
		snprintf(a, sizeof a, "%s%s", f->db, sfx[i]);
		snprintf(b, sizeof b, "%s.%s%s", f->db, tag, sfx[i]);
		const char *from = restore ? b : a, *to = restore ? a : b;
		if (access(from, F_OK) == 0)
			snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", from, to);
		else
			snprintf(cmd, sizeof cmd, "rm -f '%s'", to);
		assert_int_equal(system(cmd), 0);
	}
}

/* --- the counter itself --- */

static void test_counter(void **state)
{
	fixture *f = *state;
	vs_anchor *a, *b;
	uint64_t v0, v;
	assert_int_equal(vs_anchor_open_config(&a, tcti, f->index), VS_OK);
	/* First use defines the index and increments it once: readable. */
	assert_int_equal(vs_anchor_read(a, &v0), VS_OK);
	assert_int_equal(vs_anchor_increment(a), VS_OK);
	assert_int_equal(vs_anchor_read(a, &v), VS_OK);
	assert_int_equal(v, v0 + 1);
	/* A second handle (reconnecting) sees the same counter. */
	vs_anchor_disconnect(a);
	assert_int_equal(vs_anchor_open_config(&b, tcti, f->index), VS_OK);
	assert_int_equal(vs_anchor_read(b, &v), VS_OK);
	assert_int_equal(v, v0 + 1);

	/* Latencies (printed for the record). */
	enum { N = 20 };
	double t0 = now();
	for (int i = 0; i < N; i++)
		assert_int_equal(vs_anchor_increment(b), VS_OK);
	double t_inc = (now() - t0) / N;
	t0 = now();
	for (int i = 0; i < N; i++)
		assert_int_equal(vs_anchor_read(b, &v), VS_OK);
	double t_read = (now() - t0) / N;
	t0 = now();
	for (int i = 0; i < N; i++) {
		vs_anchor_disconnect(b);
		assert_int_equal(vs_anchor_read(b, &v), VS_OK);
	}
	double t_conn = (now() - t0) / N;
	assert_int_equal(v, v0 + 1 + N);
	printf("# NV increment %.3f ms, read %.3f ms, connect+look up+read %.3f ms (mean of %d)\n",
	       t_inc * 1e3, t_read * 1e3, t_conn * 1e3, N);
	vs_anchor_close(a);
	vs_anchor_close(b);

	/* Not an NV index / bad configuration. */
	assert_int_equal(vs_anchor_open_config(&a, tcti, 0x81000001u), VS_E_USAGE);
	setenv("VNFSAFE_TPM_NV_INDEX", "0x02000000", 1);
	assert_int_equal(vs_anchor_open(&a), VS_E_USAGE);
	setenv("VNFSAFE_TPM_NV_INDEX", "12zz", 1);
	assert_int_equal(vs_anchor_open(&a), VS_E_USAGE);
	/* An unreachable TPM: VS_E_ENV with the TSS code decoded. */
	assert_int_equal(vs_anchor_open_config(&a, "swtpm:host=127.0.0.1,port=1", f->index), VS_OK);
	assert_int_equal(vs_anchor_read(a, &v), VS_E_ENV);
	assert_non_null(strstr(vs_errmsg(), "cannot reach the TPM"));
	vs_anchor_close(a);
	/* No TPM is not an error. */
	unsetenv("VNFSAFE_TPM");
	assert_int_equal(vs_anchor_open(&a), VS_OK);
	assert_null(a);
	assert_string_equal(vs_anchor_status(NULL),
			    "no TPM (VNFSAFE_TPM unset): a copied-back ledger file would not be detected");
	setenv("VNFSAFE_TPM", "none", 1);
	assert_int_equal(vs_anchor_open(&a), VS_OK);
	assert_null(a);
	assert_string_equal(vs_anchor_status(NULL),
			    "no TPM (VNFSAFE_TPM=none): a copied-back ledger file would not be detected");
}

/* --- one NV increment per acknowledged write (or batch) --- */

static void register_n(vs_ledger *l, const char *prefix, int n)
{
	for (int i = 0; i < n; i++) {
		char name[64];
		vs_vnf_record r;
		snprintf(name, sizeof name, "%.40s%d", prefix, i);
		assert_int_equal(vs_ledger_register(l, name, "", &r), VS_OK);
	}
}

static void status_is(vs_ledger *l, uint32_t index, uint64_t n)
{
	char want[128];
	snprintf(want, sizeof want, "TPM NV counter 0x%08x = %llu, ledger head bound: ", index,
		 (unsigned long long)n);
	const char *got = vs_ledger_anchor_status(l);
	if (strncmp(got, want, strlen(want)) != 0)
		fail_msg("status '%s' does not start with '%s'", got, want);
	assert_non_null(strstr(got, "copied-back or edited ledger file is refused"));
	assert_non_null(strstr(got, "not stopped: root using this TPM"));
}

static void test_per_write(void **state)
{
	fixture *f = *state;
	vs_ledger *l = open_ok(f);
	/* A brand-new ledger on a new index adopts the counter's value. */
	uint64_t n0 = nv_value(f->index);
	assert_int_equal(db_counter(f), n0);
	status_is(l, f->index, n0);

	/* Every write is acknowledged only once the TPM counter covers it. */
	vs_vnf_record r;
	vs_fence tok;
	assert_int_equal(vs_ledger_register(l, "fw", "", &r), VS_OK);
	assert_int_equal(nv_value(f->index), n0 + 1);
	assert_int_equal(vs_ledger_start(l, "fw", "host-a", NULL, false, &tok, &r), VS_OK);
	assert_int_equal(nv_value(f->index), n0 + 2);
	assert_int_equal(vs_ledger_pause(l, "fw", &tok, &r), VS_OK);
	assert_int_equal(vs_ledger_resume(l, "fw", &tok, &r), VS_OK);
	assert_int_equal(vs_ledger_stop(l, "fw", &tok, &r), VS_OK);
	assert_int_equal(nv_value(f->index), n0 + 5);
	assert_int_equal(db_counter(f), n0 + 5);
	status_is(l, f->index, n0 + 5);
	/* A refused write changes nothing. */
	assert_int_equal(vs_ledger_register(l, "fw", "", &r), VS_E_USAGE);
	assert_int_equal(nv_value(f->index), n0 + 5);
	vs_ledger_close(l);

	/* Reading only: no NV write. */
	l = open_ok(f);
	assert_int_equal(vs_ledger_get(l, "fw", &r), VS_OK);
	vs_ledger_close(l);
	assert_int_equal(nv_value(f->index), n0 + 5);

	/* Two handles at once, in any interleaving. */
	vs_ledger *a = open_ok(f), *b = open_ok(f);
	register_n(a, "a", 2);
	register_n(b, "b", 3);
	register_n(a, "c", 2);
	assert_int_equal(nv_value(f->index), n0 + 12);
	vs_ledger_close(a);
	vs_ledger_close(b);
	assert_int_equal(db_counter(f), n0 + 12);
	vs_ledger_close(open_ok(f));

	/* Without a TPM a bound ledger is read-only: a write would unbind it. */
	unsetenv("VNFSAFE_TPM");
	l = open_ok(f);
	assert_non_null(strstr(vs_ledger_anchor_status(l), "no TPM (VNFSAFE_TPM unset)"));
	assert_non_null(strstr(vs_ledger_anchor_status(l), "bound to TPM NV counter"));
	assert_int_equal(vs_ledger_get(l, "fw", &r), VS_OK);
	assert_int_equal(vs_ledger_register(l, "d0", "", &r), VS_E_ENV);
	assert_non_null(strstr(vs_errmsg(), "set VNFSAFE_TPM"));
	vs_ledger_close(l);
	setenv("VNFSAFE_TPM", tcti, 1);
	assert_int_equal(db_counter(f), n0 + 12);
	vs_ledger_close(open_ok(f));
}

/* Several processes at once, each its own handle and epoch. */
static void test_processes(void **state)
{
	fixture *f = *state;
	enum { P = 6, W = 3 };
	vs_ledger_close(open_ok(f));
	uint64_t n0 = nv_value(f->index);
	pid_t pid[P];
	for (int i = 0; i < P; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			vs_ledger *l = NULL;
			char prefix[16];
			snprintf(prefix, sizeof prefix, "p%d-", i);
			if (vs_ledger_open(&l, f->uri) != VS_OK) {
				fprintf(stderr, "child %d: %s\n", i, vs_errmsg());
				_exit(1);
			}
			for (int k = 0; k < W; k++) {
				char name[32];
				vs_vnf_record r;
				snprintf(name, sizeof name, "%s%d", prefix, k);
				if (vs_ledger_register(l, name, "", &r) != VS_OK) {
					fprintf(stderr, "child %d: %s\n", i, vs_errmsg());
					_exit(1);
				}
			}
			vs_ledger_close(l);
			_exit(0);
		}
	}
	for (int i = 0; i < P; i++) {
		int st;
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(nv_value(f->index), n0 + P * W);
	assert_int_equal(db_counter(f), n0 + P * W);
	vs_ledger_close(open_ok(f));
}

/* --- an old copy put back --- */

static void test_rollback(void **state)
{
	fixture *f = *state;
	vs_ledger *l = open_ok(f);
	vs_vnf_record r;
	vs_fence tok;
	assert_int_equal(vs_ledger_register(l, "fw", "", &r), VS_OK);
	assert_int_equal(vs_ledger_start(l, "fw", "host-a", NULL, false, &tok, &r), VS_OK);
	vs_ledger_close(l);
	copy_set(f, "old", false);

	l = open_ok(f);
	assert_int_equal(vs_ledger_stop(l, "fw", &tok, &r), VS_OK);
	/* The WAL is still there while the handle is open: copy all three. */
	copy_set(f, "new", false);
	vs_ledger_close(l);
	copy_set(f, "old", true);
	uint64_t n = nv_value(f->index), c = db_counter(f);
	assert_int_equal(c + 1, n);
	assert_int_equal(open_rc(f), VS_E_INTEGRITY);
	char want[200];
	snprintf(want, sizeof want,
		 "ledger database is older than the TPM counter (database %llu, TPM %llu): an old "
		 "copy of the file was put back (roll-back refused)",
		 (unsigned long long)c, (unsigned long long)n);
	assert_string_equal(vs_errmsg(), want);
	/* Still refused next time (nothing was "repaired"). */
	assert_int_equal(open_rc(f), VS_E_INTEGRITY);
	/* The old copy with its counter set to the TPM's: the MAC says no. */
	char sql[96];
	snprintf(sql, sizeof sql, "UPDATE anchor SET counter = %llu", (unsigned long long)n);
	db_exec(f, sql);
	assert_int_equal(open_rc(f), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "old copy was put back with its counter edited"));
	/* ... or its rows edited in place (triggers dropped). */
	copy_set(f, "new", true);
	db_exec(f, "DROP TRIGGER generation_monotonic; UPDATE vnfs SET generation = 0");
	assert_int_equal(open_rc(f), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "ledger content mismatch"));

	/* The current files (copied with the WAL of an open handle) are fine. */
	copy_set(f, "new", true);
	l = open_ok(f);
	assert_int_equal(vs_ledger_get(l, "fw", &r), VS_OK);
	assert_int_equal(r.state, VS_VNF_STOPPED);
	vs_ledger_close(l);

	/* A database ahead of the TPM by more than one: reset or other TPM. */
	db_exec(f, "UPDATE anchor SET counter = counter + 5");
	assert_int_equal(open_rc(f), VS_E_INTEGRITY);
	assert_non_null(strstr(vs_errmsg(), "ahead of the TPM counter"));
	/* The operator's explicit decision rebinds it. */
	setenv("VNFSAFE_TPM_ADOPT", "1", 1);
	l = open_ok(f);
	assert_non_null(strstr(vs_ledger_anchor_status(l), "(adopted: VNFSAFE_TPM_ADOPT=1)"));
	vs_ledger_close(l);
	unsetenv("VNFSAFE_TPM_ADOPT");
	assert_int_equal(db_counter(f), nv_value(f->index));
	vs_ledger_close(open_ok(f));

	/* Bound to another index. */
	char idx[16];
	snprintf(idx, sizeof idx, "0x%08x", f->index + 0x100);
	setenv("VNFSAFE_TPM_NV_INDEX", idx, 1);
	assert_int_equal(open_rc(f), VS_E_ENV);
	assert_non_null(strstr(vs_errmsg(), "is bound to TPM NV counter"));
}

/* A ledger used without a TPM is not silently bound later. */
static void test_unbound(void **state)
{
	fixture *f = *state;
	unsetenv("VNFSAFE_TPM");
	vs_ledger *l = open_ok(f);
	assert_string_equal(vs_ledger_anchor_status(l),
			    "no TPM (VNFSAFE_TPM unset): a copied-back ledger file would not be detected");
	register_n(l, "x", 2);
	vs_ledger_close(l);
	assert_int_equal(db_counter(f), 0);
	setenv("VNFSAFE_TPM", tcti, 1);
	assert_int_equal(open_rc(f), VS_E_POLICY);
	assert_non_null(strstr(vs_errmsg(), "VNFSAFE_TPM_ADOPT=1"));
	setenv("VNFSAFE_TPM_ADOPT", "1", 1);
	vs_ledger_close(open_ok(f));
	unsetenv("VNFSAFE_TPM_ADOPT");
	l = open_ok(f);
	register_n(l, "y", 1);
	vs_ledger_close(l);
	assert_int_equal(db_counter(f), nv_value(f->index));
}

/* --- killed between COMMIT and the NV increment --- */

static void test_crash_after_commit(void **state)
{
	fixture *f = *state;
	vs_ledger *l = open_ok(f);
	register_n(l, "a", 1);
	vs_ledger_close(l);
	uint64_t n = nv_value(f->index);
	assert_int_equal(db_counter(f), n);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("VNFSAFE_FAULT", "anchor.after_commit", 1);
		vs_ledger *c = NULL;
		vs_vnf_record r;
		if (vs_ledger_open(&c, f->uri) == VS_OK)
			vs_ignore(vs_ledger_register(c, "crash", "", &r));
		_exit(3); /* not reached: the fault point kills the process */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* Committed, not counted. */
	assert_int_equal(nv_value(f->index), n);
	assert_int_equal(db_counter(f), n + 1);

	/* The next open completes the increment and goes on. */
	l = open_ok(f);
	assert_non_null(strstr(vs_ledger_anchor_status(l), "interrupted counter increment was completed"));
	assert_int_equal(nv_value(f->index), n + 1);
	vs_vnf_record r;
	assert_int_equal(vs_ledger_get(l, "crash", &r), VS_OK);
	register_n(l, "b", 1);
	vs_ledger_close(l);
	assert_int_equal(nv_value(f->index), n + 2);
	assert_int_equal(db_counter(f), n + 2);
}

/* --- group commit: threads sharing one handle --- */

enum { GC_THREADS = 12, GC_WRITES = 6, GC_VNFS = GC_THREADS / 2 };

static pthread_barrier_t gc_start;

typedef struct {
	vs_ledger *l;
	int vnf;
	int acked; /* CAS writes acknowledged (VS_OK) */
	int lost;  /* CAS refused: lost a race with the other thread on the VNF */
	int other; /* any other failure */
} gc_arg;

static void *gc_writer(void *p)
{
	gc_arg *a = p;
	char name[16];
	snprintf(name, sizeof name, "g%d", a->vnf);
	pthread_barrier_wait(&gc_start); /* all at once: writes queue up */
	for (int i = 0; i < GC_WRITES; i++) {
		vs_vnf_record r;
		if (a->l->ops->get(a->l, name, &r) != VS_OK) {
			a->other++;
			continue;
		}
		uint64_t expected = r.version;
		r.updated = i; /* any change */
		vs_err rc = a->l->ops->cas(a->l, &r, expected);
		if (rc == VS_OK)
			a->acked++;
		else if (rc == VS_E_POLICY && strstr(vs_errmsg(), "changed concurrently"))
			a->lost++;
		else
			a->other++;
	}
	return NULL;
}

static void test_group_commit(void **state)
{
	fixture *f = *state;
	vs_ledger *l = open_ok(f);
	register_n(l, "g", GC_VNFS);
	uint64_t n0 = nv_value(f->index);
	pthread_t th[GC_THREADS];
	gc_arg arg[GC_THREADS];
	assert_int_equal(pthread_barrier_init(&gc_start, NULL, GC_THREADS), 0);
	for (int i = 0; i < GC_THREADS; i++) {
		arg[i] = (gc_arg){ .l = l, .vnf = i % GC_VNFS };
		assert_int_equal(pthread_create(&th[i], NULL, gc_writer, &arg[i]), 0);
	}
	int acked = 0, lost = 0, per_vnf[GC_VNFS] = { 0 };
	for (int i = 0; i < GC_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(arg[i].other, 0);
		acked += arg[i].acked;
		lost += arg[i].lost;
		per_vnf[arg[i].vnf] += arg[i].acked;
	}
	pthread_barrier_destroy(&gc_start);
	vs_ledger_close(l);
	uint64_t n1 = nv_value(f->index);
	printf("# %d threads: %d CAS acknowledged, %d lost a race, %llu NV increments\n",
	       GC_THREADS, acked, lost, (unsigned long long)(n1 - n0));
	assert_int_equal(acked + lost, GC_THREADS * GC_WRITES);
	/* Batched: fewer NV writes than acknowledged writes, at least one. */
	assert_true(n1 > n0);
	assert_true(n1 - n0 < (uint64_t)acked);
	assert_int_equal(db_counter(f), n1);
	/* Every acknowledged write survived: each one bumped its version. */
	l = open_ok(f);
	for (int v = 0; v < GC_VNFS; v++) {
		char name[16];
		vs_vnf_record r;
		snprintf(name, sizeof name, "g%d", v);
		assert_int_equal(vs_ledger_get(l, name, &r), VS_OK);
		assert_int_equal(r.version, 1 + (uint64_t)per_vnf[v]);
	}
	vs_ledger_close(l);
}

/* --- killed at every step of a write --- */

static void test_crash_points(void **state)
{
	fixture *f = *state;
	static const char *const points[] = { "anchor.before_commit", "anchor.after_commit",
					      "anchor.after_increment" };
	vs_ledger_close(open_ok(f));
	for (int i = 0; i < 3; i++) {
		uint64_t n = nv_value(f->index);
		char name[16];
		snprintf(name, sizeof name, "crash%d", i);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			setenv("VNFSAFE_FAULT", points[i], 1);
			vs_ledger *c = NULL;
			vs_vnf_record r;
			if (vs_ledger_open(&c, f->uri) == VS_OK)
				vs_ignore(vs_ledger_register(c, name, "", &r));
			_exit(3); /* not reached: the fault point kills the process */
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		/* The next open succeeds, with the write iff it was committed. */
		vs_ledger *l = open_ok(f);
		vs_vnf_record r;
		vs_err got = vs_ledger_get(l, name, &r);
		assert_int_equal(got, i == 0 ? VS_E_USAGE : VS_OK);
		assert_int_equal(nv_value(f->index), i == 0 ? n : n + 1);
		assert_int_equal(db_counter(f), nv_value(f->index));
		if (i == 1)
			assert_non_null(strstr(vs_ledger_anchor_status(l),
					       "interrupted counter increment was completed"));
		register_n(l, name, 1); /* and goes on */
		vs_ledger_close(l);
		printf("# killed at %s: reopened, write %s\n", points[i], i ? "kept" : "absent");
	}
}

int main(void)
{
	const char *env = getenv("VNFSAFE_TPM");
	if (!env || !*env || !strcmp(env, "none")) {
		printf("SKIP: VNFSAFE_TPM unset (run it as: tests/integration/swtpm.sh run test_anchor)\n");
		return 77;
	}
	tcti = strdup(env); /* the tests set and unset VNFSAFE_TPM */
	assert_non_null(tcti);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_after_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_points, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(tcti);
	return rc;
}
