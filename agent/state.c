/* The state dir handle: opening it (its subdirs, the selection lock
 * file, the journal, and what older versions left to import), the
 * selection lock, and the per-VF lock files (locks/<pci>). */
#include "agent/journal_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Who may write in the state dir (lease.c, vfa_open_state_dir). */
#define STATE_DIR_MODE 0755	/* others reach the daemon socket in it */
#define STATE_SUBDIR_MODE 0700

/* Opens (creating) the state dir. *ret is the caller's. */
int vfa_state_open(const char *dir, struct vfa_state **ret, struct vfa_err *e)
{
	struct vfa_state *st;
	char sub[300];
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return vfa_fail(e, ENOMEM, "out of memory");
	st->dirfd = st->locks_fd = st->lock_fd = st->jfd = -1;
	st->jbound = VFA_JOURNAL_BOUND;
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	r = st->dirfd = vfa_open_state_dir(AT_FDCWD, dir, dir, STATE_DIR_MODE, e);
	if (r < 0)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/locks", dir);
	r = st->locks_fd = vfa_open_state_dir(st->dirfd, "locks", sub, STATE_SUBDIR_MODE, e);
	if (r < 0)
		goto fail;
	r = st->lock_fd = vfa_open_reg(st->dirfd, "lock", O_RDWR | O_CREAT, 0600);
	if (r < 0) {
		if (r == -EINVAL)
			vfa_fail(e, EINVAL, "state dir %s: lock is not a regular file (a symlink, FIFO or device?): remove %s/lock",
				 dir, dir);
		else
			vfa_fail(e, -r, "state dir %s: lock: %s", dir, strerror(-r));
		goto fail;
	}
	r = vfa_journal_open(st, e);
	if (r)
		goto fail;
	r = vfa_journal_import(st, e);
	if (r)
		goto fail;
	*ret = st;
	return 0;
fail:
	vfa_state_close(st);
	return r;
}

/* Closes the state dir and drops its locks; accepts NULL. */
void vfa_state_close(struct vfa_state *st)
{
	if (!st)
		return;
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	if (st->locks_fd >= 0)
		close(st->locks_fd);
	vfa_journal_close(st);
	free(st->fold);
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st);
}

/* The state lock taken starts an operation: its first journal lock checks
 * that the journal's path is still our file (replaced by hand?), the
 * others trust that check (journal.c, vfa_journal_lock). */
static void op_start(struct vfa_state *st)
{
	st->locked = true;
	st->jop = true;
	st->jchecked = false;
}

/* Takes the selection lock (blocking); held already (vfa_state_trylock):
 * nothing to do. 0 or -errno with e set. */
int vfa_state_lock(struct vfa_state *st, struct vfa_err *e)
{
	if (st->locked)
		return 0;
	while (flock(st->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return vfa_fail(e, errno, "lock %s/lock: %s", st->dir, strerror(errno));
	op_start(st);
	return 0;
}

/* Takes the selection lock if no other process holds it, never waiting:
 * 0 (held now, or already), -EWOULDBLOCK, or another -errno. */
int vfa_state_trylock(struct vfa_state *st)
{
	if (st->locked)
		return 0;
	while (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0)
		if (errno != EINTR)
			return -errno;
	op_start(st);
	return 0;
}

/* Lets go of the selection lock; accepts it not held (no syscall then). */
void vfa_state_unlock(struct vfa_state *st)
{
	if (!st->locked)
		return;
	flock(st->lock_fd, LOCK_UN);
	st->locked = false;
}

/* Takes the lock on fd (a locks/<pci> file): 0, -EWOULDBLOCK if held and
 * not wait. */
int vfa_vf_flock(int fd, bool wait)
{
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Opens (creating) locks/<pci> without locking it: the fd (the caller's),
 * -EINVAL for a name that is no PCI address or a lock file that is not a
 * regular file. */
int vfa_vf_lock_open(struct vfa_state *st, const char *pci)
{
	if (!vfa_pci_addr_ok(pci))
		return -EINVAL;
	return vfa_open_reg(st->locks_fd, pci, O_RDWR | O_CREAT, 0600);
}

/* Locks locks/<pci>: returns an fd to close, -EWOULDBLOCK if held and not
 * wait, -EINVAL for a name that is no PCI address or a lock file that is
 * not a regular file. */
int vfa_vf_lock(struct vfa_state *st, const char *pci, bool wait)
{
	int fd = vfa_vf_lock_open(st, pci), r;

	if (fd < 0)
		return fd;
	r = vfa_vf_flock(fd, wait);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}
