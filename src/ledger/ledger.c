/* Ledger URI dispatch and state names. */
#include <stdlib.h>
#include <string.h>

#include "vnfsafe/ledger.h"

const char *vs_vnf_state_name(vs_vnf_state s)
{
	switch (s) {
	case VS_VNF_REGISTERED: return "REGISTERED";
	case VS_VNF_ACTIVE: return "ACTIVE";
	case VS_VNF_PAUSED: return "PAUSED";
	case VS_VNF_STOPPED: return "STOPPED";
	case VS_VNF_MIGRATING: return "MIGRATING";
	case VS_VNF_RETIRED: return "RETIRED";
	}
	return "UNKNOWN";
}

static bool etcd_opts_set(const vs_etcd_opts *o)
{
	return o && (o->cacert || o->cert || o->key || o->user || o->password_file);
}

VS_MUST_USE vs_err vs_ledger_open(vs_ledger **l, const char *uri)
{
	return vs_ledger_open_opts(l, uri, NULL);
}

VS_MUST_USE vs_err vs_ledger_open_opts(vs_ledger **l, const char *uri, const vs_etcd_opts *etcd)
{
	vs_err rc;
	*l = NULL;
	if (!strncmp(uri, "sqlite:", 7) && uri[7] && etcd_opts_set(etcd))
		return vs_fail(VS_E_USAGE, "etcd TLS or credential options given for an sqlite: "
					   "ledger");
	if (!strncmp(uri, "sqlite:", 7) && uri[7])
		rc = vs_ledger_sqlite_open(l, uri + 7);
	else if (!strncmp(uri, "etcd:", 5) && uri[5])
		rc = vs_ledger_etcd_open_opts(l, uri + 5, etcd);
	else
		return vs_fail_field(VS_E_USAGE, VS_F_LEDGER,
				     "ledger '%.80s': expected sqlite:PATH or "
				     "etcd:https://HOST:PORT[,HOST:PORT...] (or http:// for "
				     "local tests)", uri);
	if (rc == VS_OK) {
		size_t n = strlen(uri);
		if (n >= sizeof (*l)->uri)
			n = sizeof (*l)->uri - 1;
		memcpy((*l)->uri, uri, n);
		(*l)->uri[n] = 0;
	}
	return rc;
}

const char *vs_ledger_auth_status(const vs_ledger *l)
{
	return l && l->auth_status[0] ? l->auth_status : NULL;
}

void vs_ledger_close(vs_ledger *l)
{
	if (l)
		l->ops->close(l);
}
