/* Crash-test hooks: when the environment variable VNFSAFE_FAULT names this
 * point, the process kills itself with SIGKILL right there, as a power cut
 * would. The crash tests walk every point of every transition. With
 * "POINT:pause" it stops itself (SIGSTOP) there until a SIGCONT, so a test
 * can order another process's steps against it; with "POINT:abort" it
 * aborts (SIGABRT), which writes a core dump where the process may dump.
 * Compiled in only by a test build (cmake -DVS_TEST_HOOKS=ON, which
 * scripts/build.sh sets); otherwise every hook here does nothing and the
 * variables are not read. */
#ifndef VNFSAFE_FAULT_H
#define VNFSAFE_FAULT_H

#include <stdbool.h>

void vs_fault(const char *point);
/* True when a test build was given VNFSAFE_FAULT (a point may then want
 * the work around it split so a crash can land in the middle). */
bool vs_fault_armed(void);
/* Race-test hooks: when VNFSAFE_PAUSE names this point, the process stops
 * itself (SIGSTOP) there; a test changes the world, then sends SIGCONT. */
void vs_pause(const char *point);

#endif
