/* Keys out of core dumps (docs/format.md, "Secrets in memory"). */
#ifndef VNFSAFE_NODUMP_H
#define VNFSAFE_NODUMP_H

#include "vnfsafe/err.h"

/* Makes this process non-dumpable (prctl PR_SET_DUMPABLE 0): no core dump
 * or crash report of it holds the KEK, the host key or a data key, OpenSSL's
 * own copies included. Called before any key is loaded. */
VS_MUST_USE vs_err vs_no_core_dumps(void);

#endif
