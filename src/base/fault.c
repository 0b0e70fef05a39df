#include "vnfsafe/fault.h"

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

void vs_pause(const char *point)
{
	const char *want = getenv("VNFSAFE_PAUSE");
	if (want && !strcmp(want, point))
		raise(SIGSTOP);
}
