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

vs_err vs_ledger_open(vs_ledger **l, const char *uri)
{
	vs_err rc;
	if (!strncmp(uri, "sqlite:", 7) && uri[7])
		rc = vs_ledger_sqlite_open(l, uri + 7);
	else if (!strncmp(uri, "etcd:", 5) && uri[5])
		rc = vs_ledger_etcd_open(l, uri + 5);
	else
		return vs_fail(VS_E_USAGE, "--ledger '%.80s': expected sqlite:PATH or "
					   "etcd:http://HOST:PORT[,HOST:PORT...]", uri);
	if (rc == VS_OK) {
		size_t n = strlen(uri);
		if (n >= sizeof (*l)->uri)
			n = sizeof (*l)->uri - 1;
		memcpy((*l)->uri, uri, n);
		(*l)->uri[n] = 0;
	}
	return rc;
}

void vs_ledger_close(vs_ledger *l)
{
	if (l)
		l->ops->close(l);
}
