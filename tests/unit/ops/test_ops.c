/* The library operations driven directly, as a front end other than the
 * CLI (the agent) will: a real home in a temp dir, its real SQLite ledger,
 * each operation inside an audited session with a principal, refusals
 * checked by their reason codes, the audit records read back. */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/ops.h"
#include "vnfsafe/session.h"

typedef struct {
	char dir[256], home[300], src[300];
	vs_home *h;
	vs_ledger *l;
	vs_principal who;
	int notices;
} fixture;

static fixture F;

static vs_err open_ledger(void *ctx, vs_ledger **l)
{
	(void)ctx;
	*l = F.l;
	return VS_OK;
}

static void count_notice(void *ctx, const char *msg)
{
	(void)ctx;
	(void)msg;
	F.notices++;
}

static vs_session *begin(const char *action, const char *vnf)
{
	vs_session_opts o = { .principal = &F.who, .action = action, .open_ledger = open_ledger,
			      .notice = count_notice };
	vs_session *s = NULL;
	assert_int_equal(vs_session_begin(F.h, &o, &s), VS_OK);
	assert_non_null(s);
	vs_session_vnf(s, vnf);
	return s;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **st)
{
	(void)st;
	char seed[4200], path[400];
	memset(&F, 0, sizeof F);
	tu_tmpdir(F.dir, sizeof F.dir);
	snprintf(F.home, sizeof F.home, "%s/home", F.dir);
	snprintf(F.src, sizeof F.src, "%s/src", F.dir);
	assert_int_equal(vs_home_create(F.home, NULL, 0, seed, sizeof seed), VS_OK);
	assert_int_equal(vs_home_open(&F.h, F.home), VS_OK);
	assert_int_equal(vs_open_ledger(F.h, NULL, NULL, &F.l), VS_OK);
	assert_int_equal(vs_principal_local(4242, "alice", &F.who), VS_OK);
	assert_int_equal(mkdir(F.src, 0700), 0);
	snprintf(path, sizeof path, "%s/config", F.src);
	write_file(path, "hostname fw-1\n");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	vs_ledger_close(F.l);
	vs_home_close(F.h);
	tu_rmdir(F.dir);
	return 0;
}

typedef struct {
	int n;
	vs_audit_record last[16];
} records;

static int collect(const vs_audit_record *r, void *ctx)
{
	records *c = ctx;
	if (c->n < 16)
		c->last[c->n] = *r;
	c->n++;
	return 0;
}

static void test_principal_forms(void **st)
{
	(void)st;
	vs_principal p;
	assert_int_equal(vs_principal_local(0, "root", &p), VS_OK);
	assert_string_equal(p.name, "uid:root");
	assert_true(p.has_uid);
	assert_int_equal(p.uid, 0);
	assert_int_equal(vs_principal_local(1001, NULL, &p), VS_OK);
	assert_string_equal(p.name, "uid:1001"); /* a uid without a name */
	assert_int_equal(vs_principal_cert("CN=ops", &p), VS_OK);
	assert_string_equal(p.name, "cert:CN=ops");
	assert_false(p.has_uid);
	assert_int_equal(vs_principal_cert("", &p), VS_E_USAGE);
}

static void test_lifecycle_and_refusals(void **st)
{
	(void)st;
	vs_vnf_record rec;
	vs_snap_result res;
	char snap[400], to[400], to2[400], path[500];
	snprintf(snap, sizeof snap, "%s/a.vsnap", F.dir);
	snprintf(to, sizeof to, "%s/restored", F.dir);
	snprintf(to2, sizeof to2, "%s/restored-2", F.dir);

	vs_session *s = begin("vnf.register", "fw-1");
	assert_int_equal(vs_session_end(s, vs_vnf_register(F.l, "fw-1", "", &rec)), VS_OK);
	assert_int_equal(rec.state, VS_VNF_REGISTERED);

	s = begin("vnf.start", "fw-1");
	assert_int_equal(vs_session_end(s, vs_vnf_start(F.h, F.l, "fw-1", NULL, &rec)), VS_OK);
	assert_int_equal(rec.state, VS_VNF_ACTIVE);

	/* A second start is a fork: refused, with its reason code. */
	s = begin("vnf.start", "fw-1");
	vs_err rc = vs_session_end(s, vs_vnf_start(F.h, F.l, "fw-1", NULL, &rec));
	assert_int_equal(rc, VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_FORK);
	assert_string_equal(vs_errvnf(), "fw-1");

	s = begin("snapshot.create", "fw-1");
	vs_create_opts co = { .vnf = "fw-1", .engine = "dir", .source = F.src, .out = snap,
			      .ledger = F.l };
	memset(&res, 0, sizeof res);
	rc = vs_snapshot_create(F.h, &co, &res);
	vs_session_snapshot(s, res.header.snapshot_id);
	assert_int_equal(vs_session_end(s, rc), VS_OK);

	s = begin("vnf.stop", "fw-1");
	assert_int_equal(vs_session_end(s, vs_vnf_stop(F.h, F.l, "fw-1", &rec)), VS_OK);
	assert_int_equal(rec.state, VS_VNF_STOPPED);

	/* Taken while it ran: restoring it would lose the newer state. */
	vs_open_opts oo = { .in = snap, .to = to, .ledger = F.l };
	vs_snap_result ores;
	vs_vnf_record orec;
	s = begin("snapshot.restore", "fw-1");
	assert_int_equal(vs_session_end(s, vs_snapshot_open(F.h, &oo, &ores, &orec)), VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_NOT_FINAL);
	assert_null(strstr(vs_errmsg(), "--")); /* no CLI flag in a library message */

	/* Stopped: a final snapshot, then a restore of it here. */
	co.out = snap;
	unlink(snap);
	s = begin("snapshot.create", "fw-1");
	assert_int_equal(vs_session_end(s, vs_snapshot_create(F.h, &co, &res)), VS_OK);
	s = begin("snapshot.restore", "fw-1");
	assert_int_equal(vs_session_end(s, vs_snapshot_open(F.h, &oo, &ores, &orec)), VS_OK);
	assert_int_equal(orec.state, VS_VNF_ACTIVE);
	snprintf(path, sizeof path, "%s/config", to);
	struct stat stt;
	assert_int_equal(stat(path, &stt), 0);

	/* Restoring it again while it runs: a fork. */
	oo.to = to2;
	s = begin("snapshot.restore", "fw-1");
	assert_int_equal(vs_session_end(s, vs_snapshot_open(F.h, &oo, &ores, &orec)), VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_FORK);
	assert_int_equal(stat(to2, &stt), -1);

	/* The latest snapshot of a VNF not retired is not deleted. */
	vs_delete_result dr;
	s = begin("snapshot.delete", "fw-1");
	assert_int_equal(vs_session_end(s, vs_snapshot_erase(F.h, F.l, res.header.snapshot_id, false,
							    false, &dr)),
			 VS_E_POLICY);
	assert_int_equal(vs_errreason(), VS_R_LATEST_SNAPSHOT);

	/* A release asserts a host is dead: never without the operator's reason. */
	assert_int_equal(vs_vnf_release(F.h, F.l, "fw-1", "other-host", "", &rec), VS_E_USAGE);
	assert_int_equal(vs_errreason(), VS_R_NEED_REASON);
	assert_int_equal(vs_vnf_start(F.h, F.l, "fw-1", "", &rec), VS_E_USAGE);
	assert_int_equal(vs_errreason(), VS_R_NEED_REASON);

	/* Every operation left its record, with the principal and the uid. */
	char dir[4200];
	records *c = calloc(1, sizeof *c);
	assert_non_null(c);
	assert_int_equal(vs_home_audit_dir(F.h, dir, sizeof dir), VS_OK);
	assert_int_equal(vs_audit_read(dir, collect, c), VS_OK);
	static const struct {
		const char *action;
		vs_audit_outcome out;
	} want[] = {
		{ "vnf.register", VS_AUDIT_OUT_OK },
		{ "vnf.start", VS_AUDIT_OUT_OK },	  { "vnf.start", VS_AUDIT_OUT_REFUSED },
		{ "snapshot.create", VS_AUDIT_OUT_OK },	  { "vnf.stop", VS_AUDIT_OUT_OK },
		{ "snapshot.restore", VS_AUDIT_OUT_REFUSED }, { "snapshot.create", VS_AUDIT_OUT_OK },
		{ "snapshot.restore", VS_AUDIT_OUT_OK },	  { "snapshot.restore", VS_AUDIT_OUT_REFUSED },
		{ "snapshot.delete", VS_AUDIT_OUT_REFUSED },
	};
	size_t nwant = sizeof want / sizeof *want;
	assert_int_equal(c->n, (int)nwant);
	for (size_t i = 0; i < nwant; i++) {
		assert_string_equal(c->last[i].action, want[i].action);
		assert_int_equal(c->last[i].outcome, want[i].out);
		assert_string_equal(c->last[i].actor, "uid:alice");
		assert_true(c->last[i].has_uid);
		assert_int_equal(c->last[i].uid, 4242);
		assert_string_equal(c->last[i].vnf, "fw-1");
	}
	assert_non_null(strstr(c->last[2].reason, "fork"));
	assert_int_equal(F.notices, 0);
	free(c);

	/* Fail closed: a log that lost its last anchored record takes no more
	 * sessions, so no operation runs. */
	char log[4300];
	struct stat ls;
	snprintf(log, sizeof log, "%s/log", dir);
	assert_int_equal(stat(log, &ls), 0);
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	long keep = 0, pos = 0;
	int ch;
	while ((ch = fgetc(f)) != EOF) {
		pos++;
		if (ch == '\n' && pos < ls.st_size)
			keep = pos; /* the end of the second-to-last line */
	}
	fclose(f);
	assert_int_equal(truncate(log, keep), 0);
	vs_session_opts o = { .principal = &F.who, .action = "vnf.stop", .open_ledger = open_ledger };
	vs_session *s2 = (vs_session *)1;
	assert_int_equal(vs_session_begin(F.h, &o, &s2), VS_E_INTEGRITY);
	assert_null(s2);
}

/* Bad requests name the field in neutral words and set its code: the front
 * end, not the library, knows it was "--source" (or a JSON field). */
static void test_request_fields(void **st)
{
	(void)st;
	vs_snap_result res;
	vs_vnf_record rec;
	char snap[400], missing[400], file[400], to[400];
	snprintf(snap, sizeof snap, "%s/f.vsnap", F.dir);
	snprintf(missing, sizeof missing, "%s/no-such-dir", F.dir);
	snprintf(file, sizeof file, "%s/config", F.src);
	assert_int_equal(vs_vnf_register(F.l, "fw-2", "", &rec), VS_OK);
	struct {
		vs_create_opts o;
		vs_field want;
	} bad[] = {
		{ { .vnf = "fw-2", .engine = "dir", .source = missing, .out = snap }, VS_F_SOURCE },
		{ { .vnf = "fw-2", .engine = "dir", .source = file, .out = snap }, VS_F_SOURCE },
		{ { .vnf = "fw-2", .engine = "dir", .out = snap }, VS_F_SOURCE },
		{ { .vnf = "bad/name", .engine = "dir", .source = F.src, .out = snap }, VS_F_VNF },
		{ { .vnf = "fw-2", .engine = "qemu", .source = F.src, .out = snap }, VS_F_ENGINE },
		{ { .vnf = "fw-2", .engine = "dir", .source = F.src }, VS_F_OUT },
		{ { .vnf = "fw-2", .engine = "dir", .source = F.src, .out = snap, .chunk_size = 1 },
		  VS_F_CHUNK_SIZE },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		bad[i].o.ledger = F.l;
		memset(&res, 0, sizeof res);
		assert_int_equal(vs_snapshot_create(F.h, &bad[i].o, &res), VS_E_USAGE);
		assert_int_equal(vs_errfield(), bad[i].want);
		assert_null(strstr(vs_errmsg(), "--"));
		assert_null(strstr(vs_errmsg(), "-o "));
	}
	assert_non_null(strstr(vs_errmsg(), "chunk size"));
	/* Recording the failure in the audit log keeps the field for the caller. */
	vs_session *s = begin("snapshot.create", "fw-2");
	memset(&res, 0, sizeof res);
	assert_int_equal(vs_session_end(s, vs_snapshot_create(F.h, &bad[0].o, &res)), VS_E_USAGE);
	assert_int_equal(vs_errfield(), VS_F_SOURCE);
	assert_non_null(strstr(vs_errmsg(), "is not a directory"));
	struct stat sb;
	assert_int_not_equal(stat(snap, &sb), 0); /* nothing written */

	/* A mapping that is no path inside the state directory. */
	vs_domain_map dm;
	assert_int_equal(vs_domain_map_parse("keys=../etc", &dm), VS_E_USAGE);
	assert_int_equal(vs_errfield(), VS_F_DOMAIN);
	assert_null(strstr(vs_errmsg(), "--"));
	/* One that names nothing in it: found while sealing, after the keys
	 * were made; their erasure keeps the field. */
	assert_int_equal(vs_domain_map_parse("keys=nosuch", &dm), VS_OK);
	vs_create_opts cd = { .vnf = "fw-2", .engine = "dir", .source = F.src, .out = snap,
			      .ledger = F.l, .domains = &dm, .ndomains = 1 };
	memset(&res, 0, sizeof res);
	assert_int_equal(vs_snapshot_create(F.h, &cd, &res), VS_E_USAGE);
	assert_int_equal(vs_errfield(), VS_F_DOMAIN);
	assert_non_null(strstr(vs_errmsg(), "nosuch"));
	assert_null(strstr(vs_errmsg(), "--"));

	/* A restore target that exists and is not empty. */
	vs_create_opts co = { .vnf = "fw-2", .engine = "dir", .source = F.src, .out = snap,
			      .ledger = F.l };
	memset(&res, 0, sizeof res);
	assert_int_equal(vs_snapshot_create(F.h, &co, &res), VS_OK);
	snprintf(to, sizeof to, "%s", F.src);
	vs_open_opts oo = { .in = snap, .to = to, .ledger = F.l };
	vs_snap_result ores;
	vs_vnf_record orec;
	assert_int_equal(vs_snapshot_open(F.h, &oo, &ores, &orec), VS_E_USAGE);
	assert_int_equal(vs_errfield(), VS_F_TO);
	assert_null(strstr(vs_errmsg(), "--"));

	/* No home there: a reason code, and no command named in the message. */
	vs_home *h = NULL;
	assert_int_equal(vs_home_open(&h, missing), VS_E_ENV);
	assert_int_equal(vs_errreason(), VS_R_NO_HOME);
	assert_null(strstr(vs_errmsg(), "vnfsafe init"));
	assert_null(strstr(vs_errmsg(), "--"));
}

/* A damaged record in the log: no session, and the reason code (not a
 * command in the message) tells the front end to have the log verified. */
static void test_damaged_log_reason(void **st)
{
	(void)st;
	vs_vnf_record rec;
	vs_session *s = begin("vnf.register", "fw-3");
	assert_int_equal(vs_session_end(s, vs_vnf_register(F.l, "fw-3", "", &rec)), VS_OK);
	s = begin("vnf.start", "fw-3");
	assert_int_equal(vs_session_end(s, vs_vnf_start(F.h, F.l, "fw-3", NULL, &rec)), VS_OK);
	char dir[4200], log[4300];
	assert_int_equal(vs_home_audit_dir(F.h, dir, sizeof dir), VS_OK);
	snprintf(log, sizeof log, "%s/log", dir);
	FILE *f = fopen(log, "r+");
	assert_non_null(f);
	char line[4096];
	assert_non_null(fgets(line, sizeof line, f)); /* the first record stays */
	long second = ftell(f);
	assert_non_null(fgets(line, sizeof line, f));
	char *k = strstr(line, "\"seq\"");
	assert_non_null(k);
	k[2] = 'E'; /* "sEq": the record no longer parses */
	assert_int_equal(fseek(f, second, SEEK_SET), 0);
	fputs(line, f);
	fclose(f);
	vs_session_opts o = { .principal = &F.who, .action = "vnf.stop", .open_ledger = open_ledger };
	vs_session *s2 = (vs_session *)1;
	assert_int_equal(vs_session_begin(F.h, &o, &s2), VS_E_INTEGRITY);
	assert_null(s2);
	assert_int_equal(vs_errreason(), VS_R_LOG_DAMAGED);
	assert_non_null(strstr(vs_errmsg(), "refusing to append"));
	assert_null(strstr(vs_errmsg(), "vnfsafe log verify"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_principal_forms),
		cmocka_unit_test_setup_teardown(test_lifecycle_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_log_reason, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
