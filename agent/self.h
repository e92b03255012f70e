/* agent/self.h: what a process knows of itself (self.c). */
#ifndef VFAGENT_SELF_H
#define VFAGENT_SELF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

pid_t vfa_self_pid(void);	/* getpid() asked once per process */
int vfa_random_bytes(void *buf, size_t n);
void vfa_new_id(char id[17]);	/* 16 random hex digits */
struct vfa_self_hooks {
	const char *crash_at, *stop_at;	/* VFAGENT_CRASH_AT, VFAGENT_STOP_AT */
	bool worker;			/* VFAGENT_WORKER: a daemon's worker */
};
const struct vfa_self_hooks *vfa_self_hooks(void);

#endif
