/* The event loop's order and clock (agent/loop.c): the fds added with
 * vfa_loop_add_first run before the others of their batch; a full batch
 * says so (vfa_loop_first_seen false); one clock read per turn, which
 * timers and vfa_loop_now_ns share. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent/loop.h"
#include "t.h"

static char order[64];
static size_t n_order;
static int seen_first[64];

struct tag {
	struct vfa_loop *l;
	char name;
	int fd;
};

static void on_io(int id, int fd, uint32_t events, void *ud)
{
	struct tag *t = ud;
	char b[16];

	(void)id;
	(void)events;
	if (read(fd, b, sizeof(b)) < 0)
		return;
	if (n_order < sizeof(order) - 1) {
		seen_first[n_order] = vfa_loop_first_seen(t->l);
		order[n_order++] = t->name;
	}
}

static void order_first(void)
{
	struct vfa_loop *l = NULL;
	struct tag t[3];
	int p[3][2], ok = 1;

	if (vfa_loop_new(&l)) {
		T("loop.first_order", 0, "vfa_loop_new failed");
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC | O_NONBLOCK) < 0)
			ok = 0;
		t[i] = (struct tag){ .l = l, .name = (char)('a' + i), .fd = p[i][0] };
	}
	/* a and c plain, added before b, which is added "first". */
	ok &= vfa_loop_add(l, p[0][0], EPOLLIN, on_io, &t[0]) > 0;
	ok &= vfa_loop_add(l, p[2][0], EPOLLIN, on_io, &t[2]) > 0;
	ok &= vfa_loop_add_first(l, p[1][0], EPOLLIN, on_io, &t[1]) > 0;
	for (int i = 0; i < 3; i++)
		ok &= write(p[i][1], "x", 1) == 1;
	n_order = 0;
	ok &= vfa_loop_run_once(l) == 0;
	order[n_order] = '\0';
	T("loop.first_order", ok && n_order == 3 && order[0] == 'b',
	  "ok=%d order \"%s\" (b was added with vfa_loop_add_first)", ok, order);
	T("loop.first_seen_in_batch", ok && seen_first[0] && seen_first[1] && seen_first[2],
	  "first_seen %d %d %d", seen_first[0], seen_first[1], seen_first[2]);
	T("loop.first_seen_outside", !vfa_loop_first_seen(l), "true outside a turn");
	vfa_loop_free(l);
	for (int i = 0; i < 3; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

/* More ready fds than one epoll_wait takes (32): the batch is full, the
 * first ones may not have been reported. */
static void full_batch(void)
{
	enum { N = 40 };
	struct vfa_loop *l = NULL;
	struct tag t[N];
	int p[N][2], ok = 1, made = 0;

	if (vfa_loop_new(&l)) {
		T("loop.full_batch", 0, "vfa_loop_new failed");
		return;
	}
	for (int i = 0; i < N; i++, made++) {
		if (pipe2(p[i], O_CLOEXEC | O_NONBLOCK) < 0) {
			ok = 0;
			break;
		}
		t[i] = (struct tag){ .l = l, .name = 'x', .fd = p[i][0] };
		ok &= vfa_loop_add(l, p[i][0], EPOLLIN, on_io, &t[i]) > 0;
		ok &= write(p[i][1], "x", 1) == 1;
	}
	n_order = 0;
	ok &= vfa_loop_run_once(l) == 0;
	T("loop.full_batch", ok && n_order == 32 && !seen_first[0],
	  "ok=%d dispatched %zu, first_seen %d (want 32, 0)", ok, n_order, seen_first[0]);
	n_order = 0;
	ok &= vfa_loop_run_once(l) == 0;	/* the 8 left: not full */
	T("loop.batch_after_full", ok && n_order == N - 32 && seen_first[0],
	  "ok=%d dispatched %zu, first_seen %d (want %d, 1)", ok, n_order, seen_first[0],
	  N - 32);
	vfa_loop_free(l);
	for (int i = 0; i < made; i++) {
		close(p[i][0]);
		close(p[i][1]);
	}
}

static long long fired_now;

static void on_timer(int id, void *ud)
{
	struct vfa_loop *l = ud;

	(void)id;
	fired_now = vfa_loop_now_ns(l);
}

/* Timers see the clock of their turn, and vfa_loop_clock_ns moves it. */
static void clock_turn(void)
{
	struct vfa_loop *l = NULL;
	long long a, b;
	int turn0;

	if (vfa_loop_new(&l)) {
		T("loop.clock", 0, "vfa_loop_new failed");
		return;
	}
	a = vfa_loop_now_ns(l);
	b = vfa_loop_clock_ns(l);
	T("loop.clock_read", b >= a && vfa_loop_now_ns(l) == b, "now %lld then %lld", a, b);
	turn0 = (int)vfa_loop_turn(l);
	vfa_loop_timer(l, 0, on_timer, l);
	fired_now = 0;
	vfa_loop_run_once(l);
	T("loop.timer_sees_turn_clock", fired_now >= b && fired_now == vfa_loop_now_ns(l) &&
	  (int)vfa_loop_turn(l) == turn0 + 1, "timer saw %lld, loop %lld, turn %lu",
	  fired_now, vfa_loop_now_ns(l), vfa_loop_turn(l));
	vfa_loop_free(l);
}

int main(void)
{
	order_first();
	full_batch();
	clock_turn();
	return t_done();
}
