/* Helper for tests/integration/audit_crash.sh (not installed):
 *   audit_helper init DIR SEED KEYPEM      new log, signer saved to KEYPEM(.pub)
 *   audit_helper append DIR KEYPEM THREADS appends until killed; prints each
 *                                          acknowledged seq on its own line
 *   audit_helper repair DIR KEYPEM         opens (repairs a torn tail), closes
 *   audit_helper verify DIR SEED           "intact N" (exit 0) or
 *                                          "damage KIND SEQ: message" (exit 2) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/audit.h"

static vs_audit *log_;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static int die(const char *what)
{
	fprintf(stderr, "audit_helper: %s: %s\n", what, vs_errmsg());
	return 4;
}

static void *loop(void *p)
{
	(void)p;
	char reason[200];
	memset(reason, 'r', 120);
	reason[120] = 0;
	for (;;) {
		vs_audit_event ev = { "uid:0", "vnf.start", "crash-vnf", "", 1, VS_AUDIT_OUT_OK, reason, false, 0 };
		uint64_t seq;
		if (vs_audit_append(log_, &ev, &seq) != VS_OK)
			exit(die("append"));
		pthread_mutex_lock(&out_mu);
		printf("%llu\n", (unsigned long long)seq);
		fflush(stdout);
		pthread_mutex_unlock(&out_mu);
	}
	return NULL;
}

static vs_err open_log(const char *dir, const char *pem, vs_signer **s)
{
	static vs_audit_opts o;
	VS_TRY(vs_signer_load_pem(s, pem));
	o.signer = *s;
	o.host = "crash-host";
	o.checkpoint_every = 50;
	return vs_audit_open(&log_, dir, &o);
}

int main(int argc, char **argv)
{
	vs_signer *s = NULL;
	if (argc == 5 && !strcmp(argv[1], "init")) {
		char pub[4200];
		snprintf(pub, sizeof pub, "%s.pub", argv[4]);
		if (vs_signer_generate(&s) != VS_OK || vs_signer_save_pem(s, argv[4], pub) != VS_OK ||
		    vs_audit_init(argv[2], argv[3], s, 1, NULL) != VS_OK)
			return die("init");
		vs_signer_free(s);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "append")) {
		int n = atoi(argv[4]);
		pthread_t t[16];
		if (n < 1 || n > 16)
			return 1;
		if (open_log(argv[2], argv[3], &s) != VS_OK)
			return die("open");
		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, loop, NULL);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "repair")) {
		if (open_log(argv[2], argv[3], &s) != VS_OK)
			return die("open");
		vs_audit_close(log_);
		vs_signer_free(s);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "verify")) {
		vs_audit_seed seed;
		vs_audit_report rep;
		if (vs_audit_seed_load(argv[3], &seed) != VS_OK)
			return die("seed");
		vs_audit_verify_opts o = { &seed, NULL, 0, NULL };
		vs_err rc = vs_audit_verify(argv[2], &o, &rep);
		vs_audit_seed_wipe(&seed);
		if (rc == VS_OK) {
			printf("intact %llu\n", (unsigned long long)rep.records);
			return 0;
		}
		if (rc != VS_E_INTEGRITY)
			return die("verify");
		printf("damage %s %llu: %s\n", vs_audit_damage_name(rep.kind),
		       (unsigned long long)rep.seq, rep.message);
		return 2;
	}
	fprintf(stderr, "usage: see tests/tools/audit_helper.c\n");
	return 1;
}
