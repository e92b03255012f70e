/* agent/journal.c: a read stats nothing; the compactor's "moved" marker,
 * written at the end of the old log before the rename, tells readers to
 * reopen. Each case here fails without the marker handling: a handle that
 * opened the log before a compaction (a --direct CLI, the daemon) follows
 * it and appends to the new file; a compactor killed between marker and
 * rename leaves a marker that readers pass (and appends after it are
 * read); a reader never passes the marker of a compactor still at work; a
 * replay folds a log holding markers as if they were not there; a marker
 * is a marker only with its CRC. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "tests/unit/t_state.h"

static const char *jpath(const char *sd)
{
	static char p[400];

	snprintf(p, sizeof(p), "%s/journal", sd);
	return p;
}

static ino_t ino_of(const char *path)
{
	struct stat s;

	return stat(path, &s) == 0 ? s.st_ino : 0;
}

static void jappend_lease(const char *sd, const struct vfa_lease *l)
{
	char line[4096];

	if (vfa_journal_format(l, NULL, line, sizeof(line)))
		t_jappend(sd, line);
}

static void jappend_marker(const char *sd)
{
	char line[64];

	if (vfa_journal_format(NULL, NULL, line, sizeof(line)))
		t_jappend(sd, line);
}

/* The number of leases st sees, its damaged-record count in *ret_bad. */
static long nleases(struct vfa_state *st, unsigned int *ret_bad)
{
	struct vfa_lease *all = NULL;
	size_t n = 0;

	if (vfa_lease_list(st, &all, &n, NULL))
		return -1;
	free(all);
	*ret_bad = st->nbad;
	return (long)n;
}

/* Saves through st until it compacts (its journal is another file). */
static int save_until_compacted(struct vfa_state *st, int first, struct vfa_err *e)
{
	ino_t ino = st->jino;
	int r = 0;

	st->jbound = 2048;
	for (int i = 0; i < 40 && !r && st->jino == ino; i++) {
		struct vfa_lease l = t_lease(first + i % 4, VFA_NO_OWNER);

		l.vlan = (uint16_t)(i + 1);
		r = vfa_lease_save(st, &l, e);
	}
	return r ? r : st->jino == ino ? -EAGAIN : 0;
}

/* A handle opened before a compaction (a --direct CLI beside the daemon)
 * reads the new file, and its next save goes there, not to the old one. */
static void test_old_handle(void)
{
	const char *sd = t_sdir("old");
	struct vfa_state *a = t_open_st(sd), *b = t_open_st(sd), *c = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease m = t_lease(20, VFA_NO_OWNER), got;
	unsigned int bad = 0;
	long n;
	int r;

	if (!a || !b) {
		T("moved.old_handle", 0, "open failed");
		goto out;
	}
	nleases(a, &bad);		/* a reads the first file, then sleeps */
	r = save_until_compacted(b, 0, &e);
	T("moved.compacted", r == 0, "r=%d %s", r, e.msg);
	n = nleases(a, &bad);
	T("moved.old_handle_follows", n == 4 && a->jino == ino_of(jpath(sd)) && bad == 0,
	  "n=%ld bad=%u, on the new file: %s", n, bad, a->jino == ino_of(jpath(sd)) ? "yes" : "no");
	r = vfa_lease_save(a, &m, &e);
	c = t_open_st(sd);
	T("moved.old_handle_appends_to_new", r == 0 && c && vfa_lease_load(c, m.pci, &got) == 0,
	  "r=%d: the save went to the replaced file", r);
out:
	vfa_state_close(c);
	vfa_state_close(a);
	vfa_state_close(b);
}

/* The compactor killed between its marker and its rename
 * (VFAGENT_CRASH_AT=journal.moved): readers pass the marker; a later
 * append goes after it and is read, by an old handle and a fresh one. */
static void test_crash_between(void)
{
	const char *sd = t_sdir("crash");
	struct vfa_state *a = t_open_st(sd), *b = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease m = t_lease(30, VFA_NO_OWNER), got;
	unsigned int bad = 0;
	int status = -1;
	ino_t ino = ino_of(jpath(sd));
	pid_t pid;
	long n;

	if (!a) {
		T("moved.crash", 0, "open failed");
		return;
	}
	nleases(a, &bad);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct vfa_state *w = t_open_st(sd);

		setenv("VFAGENT_CRASH_AT", "journal.moved", 1);
		_exit(w && save_until_compacted(w, 0, &e) == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	T("moved.crash_killed", WIFSIGNALED(status) && ino_of(jpath(sd)) == ino,
	  "status %d, journal replaced: %s", status, ino_of(jpath(sd)) == ino ? "no" : "yes");
	n = nleases(a, &bad);
	T("moved.crash_marker_passed", n == 4 && bad == 0 && a->jino == ino,
	  "n=%ld bad=%u", n, bad);
	T("moved.crash_append_after_marker", vfa_lease_save(a, &m, &e) == 0, "%s", e.msg);
	b = t_open_st(sd);
	n = b ? nleases(b, &bad) : -1;
	T("moved.crash_fresh_reads_past_marker", n == 5 && bad == 0 &&
	  vfa_lease_load(b, m.pci, &got) == 0, "n=%ld bad=%u", n, bad);
	vfa_state_close(b);
	/* And a compaction after all that still works and is followed. */
	b = t_open_st(sd);
	T("moved.crash_then_compaction", b && save_until_compacted(b, 8, &e) == 0 &&
	  nleases(a, &bad) == 9 && a->jino == ino_of(jpath(sd)), "a did not follow");
	vfa_state_close(b);
	vfa_state_close(a);
}

/* A compactor still at work (it holds the lock, the marker is written,
 * the rename not yet): a reader stops at the marker, and once the rename
 * is done it reads the new file. Passing the marker would leave it on the
 * old file for good. */
static void test_compactor_at_work(void)
{
	const char *sd = t_sdir("work");
	struct vfa_state *a = t_open_st(sd);
	struct vfa_lease l0 = t_lease(0, VFA_NO_OWNER), l1 = t_lease(1, VFA_NO_OWNER), l2 = t_lease(2, VFA_NO_OWNER);
	char tmp[400], line[4096];
	unsigned int bad = 0;
	struct stat s;
	off_t before;
	long n;
	int lk, fd;

	if (!a) {
		T("moved.at_work", 0, "open failed");
		return;
	}
	jappend_lease(sd, &l0);
	jappend_lease(sd, &l1);
	lk = open(jpath(sd), O_RDWR);
	if (lk < 0 || flock(lk, LOCK_EX) < 0) {
		T("moved.at_work", 0, "lock: %s", strerror(errno));
		return;
	}
	t_jappend(sd, "deadbeef {\"junk\":1}\n");
	before = stat(jpath(sd), &s) == 0 ? s.st_size : -1;
	jappend_marker(sd);
	n = nleases(a, &bad);
	T("moved.at_work_stops_at_marker", n == 2 && a->off == before && bad == 1,
	  "n=%ld bad=%u off %lld, marker at %lld", n, bad, (long long)a->off, (long long)before);
	n = nleases(a, &bad);
	T("moved.at_work_damaged_counted_once", n == 2 && bad == 1, "n=%ld bad=%u", n, bad);
	/* The compactor's new file: l0 and l2 (l1 dropped meanwhile). */
	snprintf(tmp, sizeof(tmp), "%s/.journal.tmp", sd);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd >= 0) {
		size_t k = vfa_journal_format(&l0, NULL, line, sizeof(line));

		k += vfa_journal_format(&l2, NULL, line + k, sizeof(line) - k);
		if (write(fd, line, k) != (ssize_t)k)
			printf("# short write\n");
		close(fd);
	}
	T("moved.at_work_rename", rename(tmp, jpath(sd)) == 0, "%s", strerror(errno));
	close(lk);
	n = nleases(a, &bad);
	T("moved.at_work_follows", n == 2 && a->jino == ino_of(jpath(sd)) && bad == 0 &&
	  vfa_lease_load(a, l1.pci, &l0) == -ENOENT && vfa_lease_load(a, l2.pci, &l0) == 0,
	  "n=%ld bad=%u, on the new file: %s", n, bad, a->jino == ino_of(jpath(sd)) ? "yes" : "no");
	vfa_state_close(a);
}

/* A replay of a log that holds markers (compactors killed between marker
 * and rename, twice) folds its leases as if the markers were not there:
 * no lease lost, none counted damaged, a drop after a marker applied. */
static void test_replay(void)
{
	const char *sd = t_sdir("replay");
	struct vfa_state *a = t_open_st(sd), *b;
	struct vfa_lease l0 = t_lease(0, VFA_NO_OWNER), l1 = t_lease(1, VFA_NO_OWNER), l2 = t_lease(2, VFA_NO_OWNER), got;
	unsigned int bad = 0;
	char drop[64];
	long n;

	vfa_state_close(a);
	jappend_lease(sd, &l0);
	jappend_marker(sd);
	jappend_lease(sd, &l1);
	jappend_marker(sd);
	jappend_marker(sd);
	jappend_lease(sd, &l2);
	if (vfa_journal_format(NULL, l0.pci, drop, sizeof(drop)))
		t_jappend(sd, drop);
	b = t_open_st(sd);
	n = b ? nleases(b, &bad) : -1;
	T("moved.replay", n == 2 && bad == 0 && vfa_lease_load(b, l0.pci, &got) == -ENOENT &&
	  vfa_lease_load(b, l2.pci, &got) == 0, "n=%ld bad=%u", n, bad);
	vfa_state_close(b);
}

/* The marker's framing: a marker is one only with its CRC (a bad one is a
 * damaged record, and nobody reopens for it); {"moved":false} is no
 * record; a torn marker at the tail is waited on, then cut by the next
 * appender. */
static void test_framing(void)
{
	const char *sd = t_sdir("frame");
	struct vfa_state *a = t_open_st(sd);
	struct vfa_lease l0 = t_lease(0, VFA_NO_OWNER), l1 = t_lease(1, VFA_NO_OWNER);
	struct vfa_err e = { "", 0 };
	struct vfa_jrec rec;
	char line[64], bad_line[64];
	unsigned int bad = 0;
	size_t k = vfa_journal_format(NULL, NULL, line, sizeof(line));
	long n;

	T("moved.record", k && vfa_journal_record(line, k - 1, &rec) == 0 && rec.moved && !rec.drop,
	  "%s", line);
	T_EQ_INT("moved.false_refused", vfa_journal_record("00000000 {\"moved\":false}", 24, &rec),
		 -EBADMSG);
	snprintf(bad_line, sizeof(bad_line), "%08x%s", (unsigned int)(vfa_journal_crc("x", 1)),
		 line + 8);
	T_EQ_INT("moved.bad_crc_refused", vfa_journal_record(bad_line, strlen(bad_line) - 1, &rec),
		 -EBADMSG);
	if (!a)
		return;
	jappend_lease(sd, &l0);
	t_jappend(sd, bad_line);
	jappend_lease(sd, &l1);
	n = nleases(a, &bad);
	T("moved.bad_crc_is_damaged", n == 2 && bad == 1, "n=%ld bad=%u", n, bad);
	line[k - 1] = '\0';
	line[k - 4] = '\0';		/* torn: no end, no newline */
	t_jappend(sd, line);
	n = nleases(a, &bad);
	T("moved.torn_marker_waits", n == 2, "n=%ld", n);
	T("moved.torn_marker_cut", vfa_lease_save(a, &l0, &e) == 0 && nleases(a, &bad) == 2 &&
	  bad == 1, "%s bad=%u", e.msg, bad);
	vfa_state_close(a);
	a = t_open_st(sd);
	T("moved.torn_marker_cut_fresh", a && nleases(a, &bad) == 2 && bad == 1, "bad=%u", bad);
	vfa_state_close(a);
}

int main(void)
{
	if (t_state_begin("moved"))
		return 1;
	test_old_handle();
	test_crash_between();
	test_compactor_at_work();
	test_replay();
	test_framing();
	t_state_end();
	return t_done();
}
