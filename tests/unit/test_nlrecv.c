/* nl/vfnl.c's receive path on a real NETLINK_ROUTE socket, in a new
 * network namespace (root only; SKIP otherwise): ACKs and notifications
 * are read with one recvmsg into the buffer as it is, GETLINK replies
 * are sized first. A datagram longer than the buffer is cut: the monitor
 * says -ENOBUFS (lost: re-read) and its buffer fits the next one; a
 * GETLINK still reads its whole reply; an ACK cut says -EMSGSIZE. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nl/vfnl.h"
#include "nl/vfnl_priv.h"
#include "t.h"

static int links;

static void count(const struct vfnl_link *l, bool removed, void *ud)
{
	(void)l;
	(void)removed;
	(void)ud;
	links++;
}

static void in_netns(void)
{
	struct vfnl *nl = NULL, *mon = NULL;
	struct vfnl_link *l = calloc(1, sizeof(*l));
	int lo = 0, r;

	if (!l || vfnl_open(&nl) || vfnl_monitor_open(&mon) ||
	    vfnl_ifindex(nl, "lo", &lo)) {
		T("nlrecv.open", 0, "cannot open the sockets or find lo");
		goto out;
	}
	/* The notification of lo going up is far longer than 64 bytes. */
	vfnl_set_rcap(mon, 64);
	r = vfnl_set_up(nl, lo, true);
	T("nlrecv.ack_direct", r == 0, "set lo up: %d (%s)", r, vfnl_errmsg(nl));
	links = 0;
	r = vfnl_monitor_read(mon, count, NULL);
	T("nlrecv.monitor_cut_is_lost", r == -ENOBUFS,
	  "read %d (want -ENOBUFS: a notification cut by a 64-byte buffer is lost)", r);
	r = vfnl_set_up(nl, lo, false);
	links = 0;
	r = r ? r : vfnl_monitor_read(mon, count, NULL);
	T("nlrecv.monitor_grown", r >= 1 && links >= 1,
	  "after the cut one, read %d, links %d (the buffer should fit now)", r, links);
	r = vfnl_monitor_read(mon, count, NULL);
	T("nlrecv.monitor_empty", r == 0, "nothing queued: %d", r);
	/* A GETLINK reply is sized first: a small buffer grows. */
	vfnl_set_rcap(nl, 64);
	r = vfnl_get_link(nl, lo, NULL, l);
	T("nlrecv.getlink_sized_first", r == 0 && l->ifindex == lo,
	  "GETLINK with a 64-byte buffer: %d (%s)", r, vfnl_errmsg(nl));
	/* An ACK longer than the buffer: an error, not a hang or garbage. */
	vfnl_set_rcap(nl, 16);
	r = vfnl_set_up(nl, lo, true);
	T("nlrecv.ack_cut", r == -EMSGSIZE, "ACK into 16 bytes: %d (%s)", r,
	  vfnl_errmsg(nl));
	r = vfnl_set_up(nl, lo, true);
	T("nlrecv.ack_after_cut", r == 0, "next ACK: %d (%s)", r, vfnl_errmsg(nl));
out:
	free(l);
	vfnl_close(mon);
	vfnl_close(nl);
}

int main(void)
{
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		t_skip("nlrecv", "not root: needs a network namespace of its own");
		return t_done();
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0) {
			t_skip("nlrecv", "unshare(CLONE_NEWNET) refused");
			fflush(stdout);
			_exit(0);
		}
		in_netns();
		_exit(t_done());
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st);
}
