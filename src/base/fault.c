#include "vnfsafe/fault.h"

#ifdef VS_FAULT_POINTS /* -DVS_TEST_HOOKS=ON (CMakeLists.txt): test builds only */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vs_fault(const char *point)
{
	const char *want = getenv("VNFSAFE_FAULT");
	size_t n = strlen(point);
	if (!want || strncmp(want, point, n) != 0)
		return;
	if (!want[n])
		kill(getpid(), SIGKILL);
	else if (!strcmp(want + n, ":pause"))
		raise(SIGSTOP);
	else if (!strcmp(want + n, ":abort"))
		abort();
}

bool vs_fault_armed(void)
{
	return getenv("VNFSAFE_FAULT") != NULL;
}

void vs_pause(const char *point)
{
	const char *want = getenv("VNFSAFE_PAUSE");
	if (want && !strcmp(want, point))
		raise(SIGSTOP);
}
#else
/* A release or package build: the points compile to nothing and the
 * variables are never read (tests/pkg/fault_off.sh checks the binary). */
void vs_fault(const char *point)
{
	(void)point;
}

bool vs_fault_armed(void)
{
	return false;
}

void vs_pause(const char *point)
{
	(void)point;
}
#endif
