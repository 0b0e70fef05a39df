/* src/base/fault.c built as a package build builds it (no VS_TEST_HOOKS):
 * with every fault and pause variable set, each hook must return. */
#include <stdio.h>
#include <stdlib.h>

#include "vnfsafe/fault.h"

int main(void)
{
	setenv("VNFSAFE_FAULT", "probe.point", 1);
	setenv("VNFSAFE_PAUSE", "probe.point", 1);
	vs_fault("probe.point");
	vs_pause("probe.point");
	if (vs_fault_armed()) {
		fprintf(stderr, "fault_probe: vs_fault_armed() is true in a build without hooks\n");
		return 1;
	}
	puts("fault_probe: hooks ignored");
	return 0;
}
