/* The journal's compaction: the fold written as a snapshot that replaces
 * the log (journal_priv.h says when), inside the append that crossed the
 * bound or, for the daemon, between requests (vfa_state_compact). */
#include "agent/journal_priv.h"
#include "agent/crash.h"
#include "agent/io.h"
#include "agent/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL VFA_JOURNAL_NAME
#define JOURNAL_TMP ".journal.tmp"
#define REC_MAX VFA_JOURNAL_REC_MAX

/* Is the log past bound and mostly history (a snapshot of n leases is
 * under n KiB)? */
bool vfa_journal_past(const struct vfa_state *st, size_t bound)
{
	return (size_t)st->off > bound + st->n * 1024;
}

/* The snapshot of the fold in a new temp file, synced: its fd (the
 * caller's) and its end in *ret_end, or -errno. */
static int write_snapshot(struct vfa_state *st, off_t *ret_end)
{
	char line[REC_MAX + 16];
	off_t at = 0;
	int fd = vfa_open_temp(st->dirfd, JOURNAL_TMP), r = 0;

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < st->n && !r; i++) {
		size_t len = vfa_journal_format(&st->fold[i], NULL, line, sizeof(line));

		r = len ? vfa_write_all(fd, line, len, at) : -EOVERFLOW;
		at += (off_t)len;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r) {
		close(fd);
		unlinkat(st->dirfd, JOURNAL_TMP, 0);
		return r;
	}
	*ret_end = at;
	return fd;
}

/* Replaces the journal by a snapshot of the fold. Under the lock; on
 * failure the old journal stays, whole. The "moved" marker goes at the end
 * of the old log before the rename: a reader there learns of the new file
 * without a stat per read, and a compactor killed between the two leaves
 * a marker that readers find pointing at the same file and pass. The
 * marker needs no fdatasync: only a machine crash loses it, and that
 * leaves no reader on the old file. */
int vfa_journal_compact(struct vfa_state *st)
{
	char mark[64];
	size_t mlen = vfa_journal_format(NULL, NULL, mark, sizeof(mark));
	int old = st->jfd, fd, r;
	struct stat s;
	off_t end = 0;

	fd = write_snapshot(st, &end);
	if (fd < 0)
		return fd;
	r = fstat(fd, &s) < 0 ? -errno : 0;
	if (!r)
		r = vfa_write_all(old, mark, mlen, st->off);
	if (!r)
		vfa_crash_point("journal.moved");
	if (!r && renameat(st->dirfd, JOURNAL_TMP, st->dirfd, JOURNAL) < 0)
		r = -errno;
	if (r) {
		/* Cut the marker back (one left behind points at this same
		 * file: readers pass it). */
		if (ftruncate(old, st->off) == 0)
			fdatasync(old);
		close(fd);
		unlinkat(st->dirfd, JOURNAL_TMP, 0);
		return r;
	}
	/* The new journal is in place; the dir's fsync makes that durable
	 * (until then a crash leaves the old one, which says the same). */
	fsync(st->dirfd);
	st->jfd = fd;
	st->jdev = s.st_dev;
	st->jino = s.st_ino;
	st->jgen++;
	st->jlocked = false;	/* we never locked the new one */
	st->off = end;
	st->jclean = true;	/* we wrote it, up to end */
	st->jroom = 0;
	st->nbad = 0;		/* the damaged records are not in the snapshot */
	close(old);	/* lets go of the old one's lock: waiters meet the marker */
	return 0;
}

/* A handle whose owner compacts between requests (vfa_state_compact):
 * its appends compact inline only past VFA_JOURNAL_DEFER_BOUND. */
void vfa_state_defer_compaction(struct vfa_state *st)
{
	st->jbound = VFA_JOURNAL_DEFER_BOUND;
}

/* Compacts the journal if it is past VFA_JOURNAL_BOUND, the bound an
 * append compacts at by default; for a caller between requests (the
 * daemon's sweep). Returns 1 when it compacted, 0 when there was nothing
 * to, or -errno with e set (the old journal stays, whole). */
int vfa_state_compact(struct vfa_state *st, struct vfa_err *e)
{
	int r = vfa_journal_lock(st, e);

	if (r)
		return r;
	if (vfa_journal_past(st, VFA_JOURNAL_BOUND)) {
		r = vfa_journal_cut_tail(st);
		if (!r)
			r = vfa_journal_compact(st);
		r = r ? vfa_fail(e, r, "journal %s/" JOURNAL ": compaction: %s", st->dir,
				 strerror(-r)) : 1;
	}
	vfa_journal_unlock(st);
	return r;
}
