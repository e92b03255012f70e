/* agent/self.h: what a process knows of itself (self.c). */
#ifndef VFAGENT_SELF_H
#define VFAGENT_SELF_H

#include <stddef.h>
#include <sys/types.h>

pid_t vfa_self_pid(void);	/* getpid() asked once per process */
int vfa_random_bytes(void *buf, size_t n);

#endif
