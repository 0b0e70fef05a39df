#include "vnfsafe/fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vs_fault(const char *point)
{
	const char *want = getenv("VNFSAFE_FAULT");
	if (want && !strcmp(want, point))
		kill(getpid(), SIGKILL);
}

void vs_pause(const char *point)
{
	const char *want = getenv("VNFSAFE_PAUSE");
	if (want && !strcmp(want, point))
		raise(SIGSTOP);
}
