/* The daemon's single-threaded event loop: epoll for fds, a list of
 * timers, and the same loop offered to libvirt as its event
 * implementation, so domain events arrive on this thread too. */
#include "agent/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#if VFAGENT_LIBVIRT
#include <libvirt/libvirt.h>
#endif

struct watch {
	int id;
	int fd;			/* as registered with epoll (maybe a dup) */
	bool own_fd;		/* fd is our dup, close it */
	uint32_t events;
	vfa_io_cb cb;
	void *ud;
	void (*ff)(void *);	/* libvirt's free function for ud */
	bool dead;
	bool first;		/* dispatched before the others of its batch */
};

struct timer {
	int id;
	int ms;			/* -1 off, 0 every iteration */
	long long due;		/* monotonic ms */
	vfa_timer_cb cb;
	void *ud;
	void (*ff)(void *);
	bool dead;
};

struct vfa_loop {
	int ep;
	int next_id;
	struct watch *w;
	size_t nw, cw;
	struct timer *t;
	size_t nt, ct;
	bool quit;
	bool in_batch;		/* dispatching the fds of one epoll_wait */
	bool batch_full;	/* it returned as many as asked: maybe not all */
	unsigned long turn;	/* epoll_waits returned so far */
	long long now_ns;	/* CLOCK_MONOTONIC as last read (vfa_loop_clock_ns) */
};

/* The clock, read (clock_gettime is a real syscall where there is no
 * vDSO clocksource, as in the lab's TCG guest): once per turn, after
 * epoll_wait returns, and when a caller asks (vfa_loop_clock_ns). Timers
 * and vfa_loop_now_ns() use the value last read. */
long long vfa_loop_clock_ns(struct vfa_loop *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	l->now_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	return l->now_ns;
}

/* CLOCK_MONOTONIC in ns as last read: at the start of this turn's
 * dispatch or later (no clock read). */
long long vfa_loop_now_ns(const struct vfa_loop *l)
{
	return l->now_ns;
}

static long long now_ms(const struct vfa_loop *l)
{
	return l->now_ns / 1000000;
}

int vfa_loop_new(struct vfa_loop **ret)
{
	struct vfa_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		int r = -errno;

		free(l);
		return r;
	}
	l->next_id = 1;
	vfa_loop_clock_ns(l);
	*ret = l;
	return 0;
}

void vfa_loop_free(struct vfa_loop *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].own_fd)
			close(l->w[i].fd);
		if (l->w[i].ff)
			l->w[i].ff(l->w[i].ud);
	}
	for (size_t i = 0; i < l->nt; i++)
		if (l->t[i].ff)
			l->t[i].ff(l->t[i].ud);
	free(l->w);
	free(l->t);
	close(l->ep);
	free(l);
}

static struct watch *find_watch(struct vfa_loop *l, int id)
{
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].id == id && !l->w[i].dead)
			return &l->w[i];
	return NULL;
}

static struct timer *find_timer(struct vfa_loop *l, int id)
{
	for (size_t i = 0; i < l->nt; i++)
		if (l->t[i].id == id && !l->t[i].dead)
			return &l->t[i];
	return NULL;
}

static int add_watch(struct vfa_loop *l, int fd, uint32_t events, vfa_io_cb cb,
		     void *ud, void (*ff)(void *))
{
	struct epoll_event ev = { .events = events };
	struct watch *w;
	bool own = false;

	if (l->nw == l->cw) {
		size_t c = l->cw ? l->cw * 2 : 16;
		struct watch *nw = realloc(l->w, c * sizeof(*nw));

		if (!nw)
			return -ENOMEM;
		l->w = nw;
		l->cw = c;
	}
	ev.data.u32 = (uint32_t)l->next_id;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		/* libvirt may watch one fd twice; epoll takes each fd once. */
		if (errno != EEXIST)
			return -errno;
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		own = true;
		if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	w = &l->w[l->nw++];
	*w = (struct watch){ .id = l->next_id++, .fd = fd, .own_fd = own,
			     .events = events, .cb = cb, .ud = ud, .ff = ff };
	return w->id;
}

int vfa_loop_add(struct vfa_loop *l, int fd, uint32_t events, vfa_io_cb cb, void *ud)
{
	return add_watch(l, fd, events, cb, ud, NULL);
}

/* As vfa_loop_add, and fd is dispatched before every fd that is not so
 * in each batch of events (the daemon's kernel event sockets before its
 * clients: vfa_loop_first_seen). */
int vfa_loop_add_first(struct vfa_loop *l, int fd, uint32_t events, vfa_io_cb cb,
		       void *ud)
{
	int id = add_watch(l, fd, events, cb, ud, NULL);

	if (id > 0)
		find_watch(l, id)->first = true;
	return id;
}

/* The number of the current turn (epoll_waits returned so far): what a
 * callback read in this turn may have arrived after epoll_wait returned. */
unsigned long vfa_loop_turn(const struct vfa_loop *l)
{
	return l->turn;
}

/* True while the fds of one epoll_wait are dispatched (and the timers
 * after them) and that epoll_wait reported every fd that was ready (it
 * did not fill the batch): then each ready fd added with
 * vfa_loop_add_first was reported and its callback ran before those of
 * the other fds. False outside a turn or after a full batch. */
bool vfa_loop_first_seen(const struct vfa_loop *l)
{
	return l->in_batch && !l->batch_full;
}

int vfa_loop_mod(struct vfa_loop *l, int id, uint32_t events)
{
	struct watch *w = find_watch(l, id);
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)id };

	if (!w)
		return -ENOENT;
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

/* Removal is deferred to the end of the dispatch round: callbacks may
 * remove watches, even their own. */
int vfa_loop_del(struct vfa_loop *l, int id)
{
	struct watch *w = find_watch(l, id);

	if (!w)
		return -ENOENT;
	epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->own_fd) {
		close(w->fd);
		w->own_fd = false;
	}
	w->dead = true;
	return 0;
}

static int add_timer(struct vfa_loop *l, int ms, vfa_timer_cb cb, void *ud,
		     void (*ff)(void *))
{
	struct timer *t;

	if (l->nt == l->ct) {
		size_t c = l->ct ? l->ct * 2 : 8;
		struct timer *nt = realloc(l->t, c * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		l->t = nt;
		l->ct = c;
	}
	t = &l->t[l->nt++];
	*t = (struct timer){ .id = l->next_id++, .ms = ms, .due = now_ms(l) + (ms > 0 ? ms : 0),
			     .cb = cb, .ud = ud, .ff = ff };
	return t->id;
}

int vfa_loop_timer(struct vfa_loop *l, int ms, vfa_timer_cb cb, void *ud)
{
	return add_timer(l, ms, cb, ud, NULL);
}

int vfa_loop_timer_set(struct vfa_loop *l, int id, int ms)
{
	struct timer *t = find_timer(l, id);

	if (!t)
		return -ENOENT;
	t->ms = ms;
	t->due = now_ms(l) + (ms > 0 ? ms : 0);
	return 0;
}

int vfa_loop_timer_del(struct vfa_loop *l, int id)
{
	struct timer *t = find_timer(l, id);

	if (!t)
		return -ENOENT;
	t->dead = true;
	return 0;
}

static void reap(struct vfa_loop *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->nw; i++) {
		if (l->w[i].dead) {
			if (l->w[i].ff)
				l->w[i].ff(l->w[i].ud);
			continue;
		}
		l->w[k++] = l->w[i];
	}
	l->nw = k;
	k = 0;
	for (size_t i = 0; i < l->nt; i++) {
		if (l->t[i].dead) {
			if (l->t[i].ff)
				l->t[i].ff(l->t[i].ud);
			continue;
		}
		l->t[k++] = l->t[i];
	}
	l->nt = k;
}

void vfa_loop_quit(struct vfa_loop *l)
{
	l->quit = true;
}

static void dispatch(struct vfa_loop *l, const struct epoll_event *ev, int n,
		     bool first)
{
	for (int i = 0; i < n; i++) {
		struct watch *w = find_watch(l, (int)ev[i].data.u32);

		if (w && w->first == first)
			w->cb(w->id, w->fd, ev[i].events, w->ud);
	}
}

/* Waits for one round of events and timers and dispatches them: the
 * watches added with vfa_loop_add_first, then the others, then the timers
 * due. One clock read per turn (after epoll_wait); the wait is computed
 * from the last one. */
int vfa_loop_run_once(struct vfa_loop *l)
{
	struct epoll_event ev[32];
	long long now = now_ms(l), wait = -1;
	int n;

	for (size_t i = 0; i < l->nt; i++) {
		struct timer *t = &l->t[i];
		long long d;

		if (t->dead || t->ms < 0)
			continue;
		d = t->due > now ? t->due - now : 0;
		if (wait < 0 || d < wait)
			wait = d;
	}
	n = epoll_wait(l->ep, ev, 32, wait > 60000 ? 60000 : (int)wait);
	if (n < 0 && errno != EINTR)
		return -errno;
	vfa_loop_clock_ns(l);
	l->turn++;
	l->in_batch = n >= 0;
	l->batch_full = n == 32;
	dispatch(l, ev, n, true);
	dispatch(l, ev, n, false);
	for (size_t i = 0; i < l->nt; i++) {
		struct timer *t = &l->t[i];

		/* now as last read: a request may have read it since */
		if (t->dead || t->ms < 0 || t->due > now_ms(l))
			continue;
		t->due = now_ms(l) + t->ms;
		t->cb(t->id, t->ud);	/* may add timers: index, not pointer, after */
	}
	l->in_batch = false;
	reap(l);
	return 0;
}

int vfa_loop_run(struct vfa_loop *l)
{
	int r = 0;

	while (!l->quit && r == 0)
		r = vfa_loop_run_once(l);
	return r;
}

#if VFAGENT_LIBVIRT
/* libvirt's event implementation, on this loop. */
static struct vfa_loop *virt_loop;

static uint32_t to_epoll(int ev)
{
	return (ev & VIR_EVENT_HANDLE_READABLE ? EPOLLIN : 0) |
	       (ev & VIR_EVENT_HANDLE_WRITABLE ? EPOLLOUT : 0);
}

static int from_epoll(uint32_t ev)
{
	return (ev & EPOLLIN ? VIR_EVENT_HANDLE_READABLE : 0) |
	       (ev & EPOLLOUT ? VIR_EVENT_HANDLE_WRITABLE : 0) |
	       (ev & EPOLLERR ? VIR_EVENT_HANDLE_ERROR : 0) |
	       (ev & EPOLLHUP ? VIR_EVENT_HANDLE_HANGUP : 0);
}

struct virt_io {
	virEventHandleCallback cb;
	void *opaque;
	virFreeCallback ff;
	int fd;			/* libvirt's own fd number */
};

static void virt_io_cb(int id, int fd, uint32_t events, void *ud)
{
	struct virt_io *v = ud;

	(void)fd;
	v->cb(id, v->fd, from_epoll(events), v->opaque);
}

static void virt_io_free(void *ud)
{
	struct virt_io *v = ud;

	if (v->ff)
		v->ff(v->opaque);
	free(v);
}

static int virt_add_handle(int fd, int events, virEventHandleCallback cb,
			   void *opaque, virFreeCallback ff)
{
	struct virt_io *v = malloc(sizeof(*v));
	int id;

	if (!v)
		return -1;
	*v = (struct virt_io){ .cb = cb, .opaque = opaque, .ff = ff, .fd = fd };
	id = add_watch(virt_loop, fd, to_epoll(events), virt_io_cb, v, virt_io_free);
	if (id < 0) {
		free(v);
		return -1;
	}
	return id;
}

static void virt_update_handle(int id, int events)
{
	vfa_loop_mod(virt_loop, id, to_epoll(events));
}

static int virt_remove_handle(int id)
{
	return vfa_loop_del(virt_loop, id) ? -1 : 0;
}

struct virt_tm {
	virEventTimeoutCallback cb;
	void *opaque;
	virFreeCallback ff;
};

static void virt_tm_cb(int id, void *ud)
{
	struct virt_tm *t = ud;

	t->cb(id, t->opaque);
}

static void virt_tm_free(void *ud)
{
	struct virt_tm *t = ud;

	if (t->ff)
		t->ff(t->opaque);
	free(t);
}

static int virt_add_timeout(int ms, virEventTimeoutCallback cb, void *opaque,
			    virFreeCallback ff)
{
	struct virt_tm *t = malloc(sizeof(*t));
	int id;

	if (!t)
		return -1;
	*t = (struct virt_tm){ .cb = cb, .opaque = opaque, .ff = ff };
	id = add_timer(virt_loop, ms, virt_tm_cb, t, virt_tm_free);
	if (id < 0) {
		free(t);
		return -1;
	}
	return id;
}

static void virt_update_timeout(int id, int ms)
{
	vfa_loop_timer_set(virt_loop, id, ms);
}

static int virt_remove_timeout(int id)
{
	return vfa_loop_timer_del(virt_loop, id) ? -1 : 0;
}

int vfa_virt_event_impl(virEventAddHandleFunc ah, virEventUpdateHandleFunc uh,
			virEventRemoveHandleFunc rh, virEventAddTimeoutFunc at,
			virEventUpdateTimeoutFunc ut, virEventRemoveTimeoutFunc rt);

void vfa_loop_for_libvirt(struct vfa_loop *l)
{
	static bool registered;	/* a forked worker inherits it */

	virt_loop = l;
	/* libvirt takes one event implementation per process and logs a
	 * warning on a second: a worker forked from the daemon only points
	 * the same callbacks at its own loop. virt.c owns the (lazily
	 * loaded) library. */
	if (!registered)
		registered = !vfa_virt_event_impl(virt_add_handle, virt_update_handle,
						  virt_remove_handle, virt_add_timeout,
						  virt_update_timeout, virt_remove_timeout);
}
#else
void vfa_loop_for_libvirt(struct vfa_loop *l)
{
	(void)l;
}
#endif
