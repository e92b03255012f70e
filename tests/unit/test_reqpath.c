/* The daemon's request path without its per-request syscalls (self.c,
 * lease.c's state lock, journal.c's append): what each saving keeps.
 * The pid and the random pool start over in a forked child; the state
 * lock tried by one handle is held against another and taken once; a
 * journal replaced by hand is caught at the next operation (and at every
 * save outside one); a torn tail that appears after a clean append is
 * still cut; the room allocated ahead keeps RESERVE bytes past each save. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_priv.h"
#include "tests/unit/t.h"
#include "tests/unit/t_state.h"

static const char *jpath(const char *sd)
{
	static char p[400];

	snprintf(p, sizeof(p), "%s/journal", sd);
	return p;
}

/* The child's answer (its exit status), or -1. */
static int child_status(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_pid_fork(void)
{
	pid_t me = vfa_self_pid(), pid;

	T("self.pid", me == getpid(), "cached %d, getpid %d", (int)me, (int)getpid());
	pid = fork();
	if (pid == 0)
		_exit(vfa_self_pid() == getpid() && vfa_self_pid() != me ? 0 : 1);
	T("self.pid_in_child", child_status(pid) == 0, "the child reports its parent's pid");
}

static void test_random_fork(void)
{
	unsigned char a[8], b[8], c[8] = { 0 };
	int fd[2];
	pid_t pid;

	/* The parent's pool filled before the fork: the child must not
	 * hand out the parent's next bytes. */
	if (vfa_random_bytes(a, sizeof(a)) || pipe(fd) < 0) {
		T("self.random_child", 0, "no random bytes or no pipe");
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(fd[0]);
		if (vfa_random_bytes(c, sizeof(c)) || write(fd[1], c, sizeof(c)) != sizeof(c))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], c, sizeof(c)) != sizeof(c))
		memset(c, 0, sizeof(c));
	close(fd[0]);
	vfa_random_bytes(b, sizeof(b));
	T("self.random_child", child_status(pid) == 0 && memcmp(b, c, sizeof(b)),
	  "the child drew the parent's next bytes (or failed)");
}

/* The hooks' environment is read once per process, and again in a
 * forked child, which may set a hook of its own (a daemon's worker sets
 * VFAGENT_WORKER; test_journal_moved sets VFAGENT_CRASH_AT). */
static void test_hooks_fork(void)
{
	pid_t pid;

	unsetenv("VFAGENT_STOP_AT");
	T("self.hooks_read", vfa_self_hooks()->stop_at == NULL, "stop_at set");
	pid = fork();
	if (pid == 0) {
		setenv("VFAGENT_STOP_AT", "t.hooks", 1);
		_exit(vfa_self_hooks()->stop_at && !strcmp(vfa_self_hooks()->stop_at, "t.hooks") ? 0 : 1);
	}
	T("self.hooks_in_child", child_status(pid) == 0, "the child kept its parent's hooks");
	setenv("VFAGENT_STOP_AT", "t.hooks", 1);
	T("self.hooks_once", vfa_self_hooks()->stop_at == NULL, "read again in the same process");
	unsetenv("VFAGENT_STOP_AT");
}

static void test_random_distinct(void)
{
	unsigned char v[200][8];
	bool same = false;

	for (int i = 0; i < 200; i++)
		vfa_random_bytes(v[i], sizeof(v[i]));
	for (int i = 0; i < 200 && !same; i++)
		for (int k = i + 1; k < 200 && !same; k++)
			same = !memcmp(v[i], v[k], sizeof(v[i]));
	T("self.random_distinct", !same, "two of 200 draws equal: bytes handed out twice");
}

static void test_trylock(void)
{
	const char *sd = t_sdir("lock");
	struct vfa_state *a = t_open_st(sd), *b = t_open_st(sd);
	struct vfa_err e = { "", 0 };

	if (!a || !b) {
		T("lock.try", 0, "open failed");
		goto out;
	}
	T("lock.try", vfa_state_trylock(a) == 0 && a->locked, "a could not take it");
	T("lock.try_held", vfa_state_trylock(b) == -EWOULDBLOCK && !b->locked,
	  "b took the lock a holds");
	T("lock.try_then_lock", vfa_state_lock(a, &e) == 0 && a->locked, "%s", e.msg);
	vfa_state_unlock(a);
	vfa_state_unlock(a);	/* not held: nothing */
	T("lock.try_after_unlock", vfa_state_trylock(b) == 0 && !a->locked,
	  "b cannot take it after a let go");
	vfa_state_unlock(b);
out:
	vfa_state_close(a);
	vfa_state_close(b);
}

/* The journal swapped for a copy of itself (another inode), with no
 * "moved" marker, as someone restoring it by hand would. */
static int swap_by_hand(const char *sd)
{
	char tmp[400], cmd[1000];

	snprintf(tmp, sizeof(tmp), "%s/journal.hand", sd);
	snprintf(cmd, sizeof(cmd), "cp %s %s", jpath(sd), tmp);
	if (system(cmd))
		return -1;
	return rename(tmp, jpath(sd));
}

static void test_hand_swap(void)
{
	const char *sd = t_sdir("swap");
	struct vfa_state *st = t_open_st(sd), *c = NULL;
	struct vfa_lease l0 = t_lease(1, VFA_NO_OWNER), l1 = t_lease(2, VFA_NO_OWNER),
			 l2 = t_lease(3, VFA_NO_OWNER), got;
	struct vfa_err e = { "", 0 };
	int r;

	if (!st) {
		T("swap.next_op", 0, "open failed");
		return;
	}
	/* Operation 1 saves (its journal lock checks the path). */
	vfa_state_lock(st, &e);
	r = vfa_lease_save(st, &l0, &e);
	vfa_state_unlock(st);
	if (r || swap_by_hand(sd)) {
		T("swap.next_op", 0, "setup failed: %s", e.msg);
		goto out;
	}
	/* Operation 2: its first save checks the path again. */
	vfa_state_lock(st, &e);
	r = vfa_lease_save(st, &l1, &e);
	vfa_state_unlock(st);
	c = t_open_st(sd);
	T("swap.next_op", !r && c && vfa_lease_load(c, l1.pci, &got) == 0 &&
	  vfa_lease_load(c, l0.pci, &got) == 0, "r=%d: the save went to the replaced file", r);
	vfa_state_close(c);
	c = NULL;
	/* A handle that never took the state lock (no operation) checks at
	 * every save. */
	vfa_state_close(st);
	st = t_open_st(sd);
	r = st ? vfa_lease_save(st, &l0, &e) : -1;
	if (r || swap_by_hand(sd)) {
		T("swap.outside_op", 0, "setup failed: %s", e.msg);
		goto out;
	}
	r = vfa_lease_save(st, &l2, &e);
	c = t_open_st(sd);
	T("swap.outside_op", !r && c && vfa_lease_load(c, l2.pci, &got) == 0,
	  "r=%d: the save went to the replaced file", r);
out:
	vfa_state_close(c);
	vfa_state_close(st);
}

/* A torn tail written after our last clean append (a writer killed mid
 * record): our next save reads it under the lock and cuts it. */
static void test_torn_after_clean(void)
{
	const char *sd = t_sdir("torn");
	struct vfa_state *st = t_open_st(sd), *c = NULL;
	struct vfa_lease l0 = t_lease(1, VFA_NO_OWNER), l1 = t_lease(2, VFA_NO_OWNER), got;
	struct vfa_err e = { "", 0 };
	struct stat s = { 0 };
	char torn[1500];
	int r;

	if (!st || vfa_lease_save(st, &l0, &e)) {
		T("torn.after_clean", 0, "setup failed: %s", e.msg);
		goto out;
	}
	/* Longer than the next record: a write over it would not hide it. */
	memset(torn, 'x', sizeof(torn) - 1);
	torn[sizeof(torn) - 1] = '\0';
	memcpy(torn, "0badc0de {\"id\":\"", 16);
	t_jappend(sd, torn);
	r = vfa_lease_save(st, &l1, &e);
	c = t_open_st(sd);
	stat(jpath(sd), &s);
	T("torn.after_clean", !r && c && vfa_lease_load(c, l1.pci, &got) == 0 &&
	  vfa_lease_load(c, l0.pci, &got) == 0 && vfa_lease_damaged(c) == 0 &&
	  s.st_size == st->off,
	  "r=%d, damaged %u, %lld bytes past the last record: the torn tail stayed", r,
	  c ? vfa_lease_damaged(c) : 0, (long long)(s.st_size - st->off));
out:
	vfa_state_close(c);
	vfa_state_close(st);
}

/* After every save RESERVE bytes (4096) stay allocated past the end. */
static void test_room(void)
{
	const char *sd = t_sdir("room");
	struct vfa_state *st = t_open_st(sd);
	struct vfa_lease l = t_lease(1, VFA_NO_OWNER);
	struct vfa_err e = { "", 0 };
	bool ok = true;
	struct stat s;
	int i, r = 0;

	if (!st) {
		T("room.reserve_kept", 0, "open failed");
		return;
	}
	st->jbound = 1 << 20;	/* no compaction here */
	for (i = 0; i < 300 && ok && !r; i++) {
		l.vlan = (uint16_t)i;
		r = vfa_lease_save(st, &l, &e);
		ok = stat(jpath(sd), &s) == 0 && (long long)s.st_blocks * 512 >= s.st_size + 4096;
	}
	if (!r && !ok && i == 1) {
		t_skip("room.reserve_kept", "no fallocate on this file system");
		vfa_state_close(st);
		return;
	}
	T("room.reserve_kept", !r && ok, "save %d: r=%d, %lld bytes allocated for %lld", i, r,
	  (long long)s.st_blocks * 512, (long long)s.st_size);
	vfa_state_close(st);
}

int main(void)
{
	if (t_state_begin("reqpath"))
		return 1;
	test_pid_fork();
	test_random_fork();
	test_hooks_fork();
	test_random_distinct();
	test_trylock();
	test_hand_swap();
	test_torn_after_clean();
	test_room();
	t_state_end();
	return t_done();
}
