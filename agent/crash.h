/* agent/crash.h: the test hook that kills (or stops) the process at a
 * named point of an operation (crash.c). */
#ifndef VFAGENT_CRASH_H
#define VFAGENT_CRASH_H

void vfa_crash_point(const char *name);

#endif
