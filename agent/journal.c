/* The lease journal: one append-only log per state dir, one fdatasync'd
 * record per transition, folded in memory by every process that reads it
 * (the daemon, its workers and --direct CLIs all write it). Why a log and
 * not a file per VF: bench/README.md, "Journal format". */
#include "agent/journal_priv.h"
#include "agent/io.h"
#include "agent/lease.h"
#include "agent/self.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define JOURNAL VFA_JOURNAL_NAME
#define REC_MAX VFA_JOURNAL_REC_MAX
#define RESERVE 4096	/* ~100 drops */
#define ROOM_CHUNK (64 * 1024)	/* allocated ahead at a time: one fstatfs and
				 * one fallocate per chunk of log, not per save */

/* The folded lease of VF pci, or NULL. */
struct vfa_lease *vfa_journal_find(struct vfa_state *st, const char *pci)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->fold[i].pci, pci))
			return &st->fold[i];
	return NULL;
}

static int fold_apply(struct vfa_state *st, const struct vfa_jrec *r)
{
	struct vfa_lease *l;

	if (r->moved || r->format)
		return 0;	/* says where or who may read, holds no lease */
	l = vfa_journal_find(st, r->drop ? r->pci : r->lease.pci);
	if (r->drop) {
		if (l)
			*l = st->fold[--st->n];
		return 0;
	}
	if (l) {
		*l = r->lease;
		return 0;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct vfa_lease *v = realloc(st->fold, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		st->fold = v;
		st->cap = cap;
	}
	st->fold[st->n++] = r->lease;
	return 0;
}

/* The VF a damaged line still names, into pci: the "pci" of a lease
 * record or the address of a drop, if that reads as a PCI address (the
 * damage may be anywhere else in the line). */
static bool damaged_pci(const char *line, size_t len, char pci[16])
{
	static const char *const keys[] = { "\"pci\":\"", "{\"drop\":\"" };
	const size_t alen = 12;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t klen = strlen(keys[k]);
		const char *at = memmem(line, len, keys[k], klen);

		if (!at || (size_t)(line + len - at) < klen + alen + 1 || at[klen + alen] != '"')
			continue;
		memcpy(pci, at + klen, alen);
		pci[alen] = '\0';
		if (vfa_pci_addr_ok(pci))
			return true;
	}
	return false;
}

/* Fences pci, which a damaged record names: a VM may hold such a VF, so
 * its lease, if it has one, turns "fenced" and root's (only an admin can
 * tell who holds it now), and one that has none gets a fence lease. A
 * later good record of the VF supersedes it as any record does. There is
 * no bound on how many: each damaged record fences as it is read. */
static void fold_fence(struct vfa_state *st, const char *pci)
{
	struct vfa_lease *l = vfa_journal_find(st, pci);
	struct vfa_jrec rec = { .drop = false };

	if (l) {
		vfa_lease_set_state(l, VFA_LS_FENCED);
		l->owner = VFA_NO_OWNER;
		return;
	}
	vfa_lease_fence(pci, &rec.lease);
	fold_apply(st, &rec);	/* out of memory: it stays counted */
}

/* A journal only root (or the user running the tests) can have written. */
/* Its stat goes to *s (the caller keeps its device and inode). */
static int check_file(int fd, const char *dir, struct stat *s, struct vfa_err *e)
{
	if (fstat(fd, s) < 0)
		return vfa_fail(e, errno, "journal %s/" JOURNAL ": %s", dir, strerror(errno));
	if ((s->st_uid != 0 && s->st_uid != geteuid()) || (s->st_mode & (S_IWGRP | S_IWOTH)))
		return vfa_fail(e, EPERM, "journal %s/" JOURNAL " is owned by uid %u, mode %04o: it must be root's and 0600 (chown root:root, chmod 0600)",
				dir, (unsigned int)s->st_uid, (unsigned int)(s->st_mode & 07777));
	return 0;
}

/**
 * vfa_journal_open - (re)opens state_dir/journal, creating it, and starts
 * the fold over from its first byte. Returns 0 or -errno with e set.
 */
int vfa_journal_open(struct vfa_state *st, struct vfa_err *e)
{
	struct stat s;
	int fd = vfa_open_reg(st->dirfd, JOURNAL, O_RDWR | O_CREAT, 0600), r;

	if (fd < 0) {
		if (fd == -EINVAL)
			return vfa_fail(e, EINVAL, "journal %s/" JOURNAL " is not a regular file (a symlink, FIFO or device?): remove it",
					st->dir);
		return vfa_fail(e, -fd, "journal %s/" JOURNAL ": %s", st->dir, strerror(-fd));
	}
	r = check_file(fd, st->dir, &s, e);
	if (r) {
		close(fd);
		return r;
	}
	vfa_journal_close(st);
	st->jfd = fd;
	st->jpid = vfa_self_pid();
	st->jclean = false;	/* its end unknown until a refresh reads it */
	st->jroom = 0;
	st->jdev = s.st_dev;
	st->jino = s.st_ino;
	st->jgen++;
	st->jlocked = false;	/* the old fd's lock went with it */
	st->off = 0;
	st->n = 0;
	st->nbad = 0;
	st->jnewer = 0;
	return 0;
}

/* Closes the journal fd (the fold stays); accepts a closed one. */
void vfa_journal_close(struct vfa_state *st)
{
	if (st->jfd >= 0)
		close(st->jfd);
	st->jfd = -1;
}

/* Lets go of the journal's lock (vfa_journal_lock); accepts it not held. */
void vfa_journal_unlock(struct vfa_state *st)
{
	if (st->jlocked && st->jfd >= 0)
		flock(st->jfd, LOCK_UN);
	st->jlocked = false;
}

/* Folds the complete lines of buf[0..n) read at st->off onwards from pos;
 * returns the bytes consumed (up to the last '\n', or up to a "moved"
 * marker, whose line length goes to *ret_moved; 0 if none). A complete
 * line (its '\n' read) is whole: a writer appends a record with one write
 * past the end of the file, so no reader sees its '\n' before the bytes
 * in front of it. A damaged one, the last included, is damage, not a
 * write in progress: it is counted, passed (st->off moves past it, so no
 * appender cuts it off) and the VF it still names is fenced. Only a line
 * with no '\n' yet is left to be read again (a record still being
 * written, or a crash's torn tail that the next appender cuts off). *bad
 * counts junk skipped with no line end (vfa_journal_refresh), added to
 * the damaged once a complete line follows it. */
static size_t fold_lines(struct vfa_state *st, const char *buf, size_t n,
			 off_t pos, unsigned int *bad, size_t *ret_moved)
{
	size_t used = 0;

	*ret_moved = 0;
	while (used < n) {
		const char *nl = memchr(buf + used, '\n', n - used);
		struct vfa_jrec rec;
		char pci[16];
		size_t len;
		int r;

		if (!nl)
			break;
		len = (size_t)(nl - buf - used);
		r = vfa_journal_record(buf + used, len, &rec);
		if (!r && rec.format > VFA_JOURNAL_FORMAT) {
			/* A newer vfagent's: nothing past it can be read
			 * right (vfa_journal_refresh refuses). */
			st->jnewer = rec.format;
			break;
		}
		st->nbad += *bad;
		*bad = 0;
		if (r) {
			if (damaged_pci(buf + used, len, pci))
				fold_fence(st, pci);
			st->nbad++;
		} else if (!rec.moved && fold_apply(st, &rec)) {
			st->nbad++;
		} else if (rec.moved) {
			st->off = pos + (off_t)used;	/* read again from here */
			*ret_moved = len + 1;
			break;
		}
		used += len + 1;
		st->off = pos + (off_t)used;
	}
	return used;
}

/* Met a "moved" marker ending at end: is the path another file now? 1
 * when the compactor's rename is done (st reopened on the new journal, its
 * fold started over), 0 when the compactor died between marker and rename
 * (the marker is passed: st->off = end), -EAGAIN while it may still be
 * between the two (someone holds the lock: read the marker again later),
 * or another -errno with e set. */
static int follow_move(struct vfa_state *st, off_t end, struct vfa_err *e)
{
	struct stat s;
	int r;

	/* Whoever holds the lock may be the compactor, half-way: unless it
	 * is us, ask the lock (never waiting) whether someone does. */
	if (!st->jlocked && flock(st->jfd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN :
		       vfa_fail(e, errno, "lock %s/" JOURNAL ": %s", st->dir, strerror(errno));
	r = fstatat(st->dirfd, JOURNAL, &s, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (!st->jlocked)
		flock(st->jfd, LOCK_UN);
	if (r == -ENOENT || (!r && (s.st_dev != st->jdev || s.st_ino != st->jino))) {
		r = vfa_journal_open(st, e);
		return r ? r : 1;
	}
	if (r)
		return vfa_fail(e, -r, "journal %s/" JOURNAL ": %s", st->dir, strerror(-r));
	st->off = end;
	return 0;
}

/* Reads the journal on from st->off into the fold; past a "moved" marker,
 * starts over on the file that replaced it. 0 or -errno. A read that finds
 * nothing new is one pread. */
int vfa_journal_refresh(struct vfa_state *st, struct vfa_err *e)
{
	char buf[64 * 1024];
	unsigned int bad = 0;
	off_t pos;
	int r;

	if (st->jfd < 0 || st->jpid != vfa_self_pid()) {
		r = vfa_journal_open(st, e);
		if (r)
			return r;
	}
	pos = st->off;
	for (;;) {
		ssize_t got = pread(st->jfd, buf, sizeof(buf), pos);
		size_t used, mlen;

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return vfa_fail(e, errno, "journal %s/" JOURNAL ": %s", st->dir, strerror(errno));
		if (got == 0) {
			/* Nothing past the last good record: under the lock,
			 * the append needs no fstat for a torn tail. */
			st->jclean = pos == st->off;
			return 0;
		}
		st->jclean = false;
		used = fold_lines(st, buf, (size_t)got, pos, &bad, &mlen);
		if (st->jnewer)
			return vfa_fail(e, EPROTO, "journal %s/" JOURNAL " is format %u, this vfagent reads format %d: run the vfagent version that wrote it or a newer one (an older one cannot account for every VF: doc/PROTOCOL.md, \"Downgrades\")",
					st->dir, st->jnewer, VFA_JOURNAL_FORMAT);
		if (mlen) {
			r = follow_move(st, pos + (off_t)(used + mlen), e);
			if (r < 0)
				return r == -EAGAIN ? 0 : r;
			bad = 0;
			pos = st->off;
			continue;
		}
		if (!used && (size_t)got == sizeof(buf)) {
			/* No line is that long: junk. */
			bad++;
			used = sizeof(buf);
		}
		if (!used)
			return 0;	/* a line still being written */
		pos += (off_t)used;
	}
}

/* Is st->jfd still the file at the journal's path? */
static bool still_the_journal(struct vfa_state *st)
{
	struct stat s;

	return fstatat(st->dirfd, JOURNAL, &s, AT_SYMLINK_NOFOLLOW) == 0 &&
	       s.st_dev == st->jdev && s.st_ino == st->jino;
}

/* Takes the journal's lock, on the file that is the journal now, with the
 * fold brought up to date: a log compacted while we waited ends in a
 * "moved" marker, which vfa_journal_refresh follows to the new one
 * (closing the old one, and so letting go of its lock): then we lock that one. One stat
 * per operation (the first lock since the state lock was taken; every
 * lock outside one) also catches a journal replaced by hand, with no
 * marker: never append to the old one. Within an operation the next
 * locks trust that stat: a hand-made swap in the milliseconds between two
 * saves of one request is caught at the next request. */
int vfa_journal_lock(struct vfa_state *st, struct vfa_err *e)
{
	unsigned int gen;
	int r;

	if (st->jfd < 0 || st->jpid != vfa_self_pid()) {
		r = vfa_journal_open(st, e);
		if (r)
			return r;
	}
	for (;;) {
		while (flock(st->jfd, LOCK_EX) < 0)
			if (errno != EINTR)
				return vfa_fail(e, errno, "lock %s/" JOURNAL ": %s", st->dir, strerror(errno));
		st->jlocked = true;
		gen = st->jgen;
		r = vfa_journal_refresh(st, e);
		if (!r && gen == st->jgen) {
			if (st->jop && st->jchecked)
				return 0;
			if (still_the_journal(st)) {
				st->jchecked = st->jop;
				return 0;
			}
			r = vfa_journal_open(st, e);
		}
		if (r) {
			vfa_journal_unlock(st);
			return r;
		}
	}
}

/* Under the lock: cuts a torn tail (a crashed writer's) off at st->off.
 * No syscall when the refresh under the lock read the file's end at
 * st->off. The cut frees what was allocated past it. 0 or -errno. */
int vfa_journal_cut_tail(struct vfa_state *st)
{
	struct stat s;

	if (st->jclean)
		return 0;
	if (fstat(st->jfd, &s) < 0)
		return -errno;
	if (s.st_size > st->off) {
		if (ftruncate(st->jfd, st->off) < 0)
			return -errno;
		st->jroom = 0;
	}
	st->jclean = true;
	return 0;
}

/* Appends buf (whole records) with one write and one fdatasync. Under the
 * lock: a torn tail (a crashed writer) is cut off first; a failed write is
 * cut back, so the journal never keeps half a record. The caller folds
 * buf and moves st->off past it (until then the file is not "clean"). */
int vfa_journal_append_locked(struct vfa_state *st, const char *buf, size_t len)
{
	int r = vfa_journal_cut_tail(st);

	if (r)
		return r;
	r = vfa_write_all(st->jfd, buf, len, st->off);
	if (!r && fdatasync(st->jfd) < 0)
		r = -errno;
	st->jclean = false;
	if (r) {
		if (ftruncate(st->jfd, st->off) == 0)
			fdatasync(st->jfd);
		st->jroom = 0;
		return r;
	}
	return 0;
}

/* Room for a save: len plus RESERVE bytes allocated to the journal past
 * st->off, so the drops of a release still fit on a file system that is
 * full. Allocated ROOM_CHUNK at a time (just len + RESERVE when the file
 * system has no more): within what we allocated, a save asks nothing.
 * Else len + RESERVE must be free (what root may use). Under the lock,
 * with the torn tail cut (a cut frees what lies past it). 0 or -errno.
 * A cut by another process (a crashed writer's torn tail, a failed
 * write) frees our room unseen: a save still goes through when the space
 * is there, and the next chunk brings the reserve back. */
static int reserve_room(struct vfa_state *st, size_t len)
{
	off_t need = (off_t)(len + RESERVE);
	struct statfs sf;

	if (st->off + need <= st->jroom)
		return 0;
	if (fstatfs(st->jfd, &sf) == 0 && sf.f_bsize > 0 &&
	    (unsigned long long)sf.f_bfree * (unsigned long long)sf.f_bsize < (size_t)need)
		return -ENOSPC;
	if (need < ROOM_CHUNK && fallocate(st->jfd, FALLOC_FL_KEEP_SIZE, st->off, ROOM_CHUNK) == 0) {
		st->jroom = st->off + ROOM_CHUNK;
		return 0;
	}
	/* Not that much free, or no fallocate here (then asked each time). */
	if ((need < ROOM_CHUNK && errno == EOPNOTSUPP) ||
	    fallocate(st->jfd, FALLOC_FL_KEEP_SIZE, st->off, need) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno;
	st->jroom = st->off + need;
	return 0;
}

/* Appends the line durably and folds it, under the journal's lock taken
 * here, or held already (locked: the caller's vfa_journal_lock). A save
 * first makes sure of room for itself and some drops after it
 * (reserve_room). The lock is held per append, not per operation: an
 * operation takes VF locks (blocking) after its first save (a release of
 * several leases), so holding the journal's across them would invert the
 * order state -> VF -> journal that workers keep (a worker holding a VF's
 * lock waits for the journal's: deadlock); and a worker holding it across
 * a libvirt call would stall the daemon's loop at its next save. */
static int append(struct vfa_state *st, const char *line, size_t len,
		  const struct vfa_jrec *rec, bool locked, struct vfa_err *e)
{
	int r = locked ? 0 : vfa_journal_lock(st, e);

	if (r)
		return r;
	r = vfa_journal_cut_tail(st);
	if (!r && !rec->drop)
		r = reserve_room(st, len);
	if (!r)
		r = vfa_journal_append_locked(st, line, len);
	if (r) {
		vfa_journal_unlock(st);
		return vfa_fail(e, r, "journal %s/" JOURNAL ": %s%s", st->dir, strerror(-r),
				r == -ENOSPC ? " (free space in the state dir's file system)" : "");
	}
	r = fold_apply(st, rec);
	if (!r) {
		st->off += (off_t)len;	/* else the next vfa_journal_refresh folds it */
		st->jclean = true;
	}
	/* Past the bound: compact. The record is durable either way. */
	if (!r && vfa_journal_past(st, st->jbound))
		vfa_journal_compact(st);
	vfa_journal_unlock(st);
	return r ? vfa_fail(e, r, "journal %s: %s", st->dir, strerror(-r)) : 0;
}

/* Saves l: durable when this returns 0. */
int vfa_lease_save(struct vfa_state *st, const struct vfa_lease *l,
		   struct vfa_err *e)
{
	struct vfa_jrec rec = { .drop = false };
	char line[REC_MAX + 16];
	size_t len;

	if (!vfa_pci_addr_ok(l->pci) || !vfa_lease_fields_ok(l))
		return vfa_fail(e, EINVAL, "journal %s: refusing to save a lease with a bad field (pci \"%s\")",
				st->dir, l->pci);
	len = vfa_journal_format(l, NULL, line, sizeof(line));
	if (!len)
		return vfa_fail(e, EOVERFLOW, "journal %s: lease of %s too long", st->dir, l->pci);
	rec.lease = *l;
	return append(st, line, len, &rec, false, e);
}

/* Drops pci's lease (none is fine): durable when this returns 0. Looked
 * up under the journal's lock, whose refresh is the one read: a release
 * always has the lease, and "none" costs a lock and an unlock. */
int vfa_lease_drop(struct vfa_state *st, const char *pci, struct vfa_err *e)
{
	struct vfa_jrec rec = { .drop = true };
	char line[64];
	size_t len;
	int r;

	if (!vfa_pci_addr_ok(pci))
		return vfa_fail(e, EINVAL, "journal %s: \"%s\" is no PCI address", st->dir, pci);
	r = vfa_journal_lock(st, e);
	if (r)
		return r;
	if (!vfa_journal_find(st, pci)) {
		vfa_journal_unlock(st);
		return 0;
	}
	len = vfa_journal_format(NULL, pci, line, sizeof(line));
	snprintf(rec.pci, sizeof(rec.pci), "%s", pci);
	return append(st, line, len, &rec, true, e);
}

/* pci's lease: 0, -ENOENT when there is none, -EINVAL for no PCI address,
 * another -errno when the journal cannot be read. */
int vfa_lease_load(struct vfa_state *st, const char *pci, struct vfa_lease *ret)
{
	struct vfa_err e;
	struct vfa_lease *l;
	int r;

	if (!vfa_pci_addr_ok(pci))
		return -EINVAL;
	r = vfa_journal_refresh(st, &e);
	if (r)
		return r;
	l = vfa_journal_find(st, pci);
	if (!l)
		return -ENOENT;
	*ret = *l;
	return 0;
}

/* All leases; *ret is malloc'd (the caller's). Damaged records skipped are
 * reported through bad (may be NULL). 0 or -errno. */
int vfa_lease_list(struct vfa_state *st, struct vfa_lease **ret, size_t *ret_n,
		   json_object *bad)
{
	struct vfa_lease *v;
	struct vfa_err e;
	int r = vfa_journal_refresh(st, &e);

	if (r)
		return r;
	v = malloc((st->n ? st->n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (st->n)
		memcpy(v, st->fold, st->n * sizeof(*v));
	if (bad && st->nbad) {
		char msg[400];

		snprintf(msg, sizeof(msg), "journal %s/" JOURNAL ": %u damaged records skipped",
			 st->dir, st->nbad);
		json_object_array_add(bad, json_object_new_string(msg));
	}
	*ret = v;
	*ret_n = st->n;
	return 0;
}

/* Damaged records the fold skipped since this handle (re)read the journal
 * (a compaction's snapshot has none; the fences of those that named
 * their VF are leases in it): what list and doctor report. 0 for no
 * handle (NULL). */
unsigned int vfa_lease_damaged(const struct vfa_state *st)
{
	return st ? st->nbad : 0;
}
