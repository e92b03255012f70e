/* agent/loop.h: the daemon's epoll loop (see loop.c). */
#ifndef VFAGENT_LOOP_H
#define VFAGENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct vfa_loop;
typedef void (*vfa_io_cb)(int id, int fd, uint32_t events, void *ud);
typedef void (*vfa_timer_cb)(int id, void *ud);

int vfa_loop_new(struct vfa_loop **ret);
void vfa_loop_free(struct vfa_loop *l);		/* accepts NULL */
/* Watches fd for EPOLL* events; returns a watch id > 0 or -errno. */
int vfa_loop_add(struct vfa_loop *l, int fd, uint32_t events, vfa_io_cb cb, void *ud);
/* As vfa_loop_add; dispatched before the other fds of each batch. */
int vfa_loop_add_first(struct vfa_loop *l, int fd, uint32_t events, vfa_io_cb cb,
		       void *ud);
/* In a turn whose epoll_wait reported every ready fd: the ready ones of
 * vfa_loop_add_first were dispatched already (loop.c). */
bool vfa_loop_first_seen(const struct vfa_loop *l);
unsigned long vfa_loop_turn(const struct vfa_loop *l);	/* epoll_waits so far */
/* CLOCK_MONOTONIC (ns): read now / as last read (once per turn). */
long long vfa_loop_clock_ns(struct vfa_loop *l);
long long vfa_loop_now_ns(const struct vfa_loop *l);
int vfa_loop_mod(struct vfa_loop *l, int id, uint32_t events);
int vfa_loop_del(struct vfa_loop *l, int id);
/* A repeating timer every ms (0: every round, -1: off); id > 0 or -errno. */
int vfa_loop_timer(struct vfa_loop *l, int ms, vfa_timer_cb cb, void *ud);
int vfa_loop_timer_set(struct vfa_loop *l, int id, int ms);
int vfa_loop_timer_del(struct vfa_loop *l, int id);
int vfa_loop_run_once(struct vfa_loop *l);
int vfa_loop_run(struct vfa_loop *l);		/* until vfa_loop_quit */
void vfa_loop_quit(struct vfa_loop *l);
/* Makes l libvirt's event loop; call before opening a connection. */
void vfa_loop_for_libvirt(struct vfa_loop *l);

#endif
