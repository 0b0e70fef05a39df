/* One function in this file, alone: the test tree links a copy built with
 * VS_TEST_HOOKS into its own CLI (tests/CMakeLists.txt, vnfsafe-dumpable),
 * which replaces this one; a release build has no way to switch it off. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "vnfsafe/nodump.h"

VS_MUST_USE vs_err vs_no_core_dumps(void)
{
#ifdef VS_TEST_HOOKS
	/* The positive control of integration.coredump. */
	const char *off = getenv("VNFSAFE_TEST_DUMPABLE");
	if (off && !strcmp(off, "1"))
		return VS_OK;
#endif
	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
		return vs_fail_errno(VS_E_ENV, "cannot keep keys out of core dumps (prctl)");
	return VS_OK;
}
