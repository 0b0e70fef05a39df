/* Crash-test hooks: when the environment variable VNFSAFE_FAULT names this
 * point, the process kills itself with SIGKILL right there, as a power cut
 * would. The crash tests walk every point of every transition. With
 * "POINT:pause" it stops itself (SIGSTOP) there until a SIGCONT, so a test
 * can order another process's steps against it; with "POINT:abort" it
 * aborts (SIGABRT), which writes a core dump where the process may dump. */
#ifndef VNFSAFE_FAULT_H
#define VNFSAFE_FAULT_H

void vs_fault(const char *point);
/* Race-test hooks: when VNFSAFE_PAUSE names this point, the process stops
 * itself (SIGSTOP) there; a test changes the world, then sends SIGCONT. */
void vs_pause(const char *point);

#endif
