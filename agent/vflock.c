/* The VF locks of an operation. The CLI opens, locks and closes
 * locks/<pci> per operation; the daemon (model on) keeps each VF's lock
 * file open between its operations and only takes and lets go of the
 * lock: an open of the lock file (two path lookups) per alloc and per
 * release was a cost the floor does not have. The lock still excludes a
 * --direct CLI and the daemon's workers: each opens its own file
 * description, and flock() locks belong to the description. */
#include "agent/agent_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct vfa_vf_lockfd *held_find(struct vfa_agent *c, const char *pci)
{
	for (unsigned int i = 0; i < c->n_vf_locks; i++)
		if (!strcmp(c->vf_locks[i].pci, pci))
			return &c->vf_locks[i];
	return NULL;
}

/* st_nlink of fd, through the fstat system call itself: glibc's fstat()
 * is fstatat(fd, "", AT_EMPTY_PATH), which on older kernels (6.1) zeroes
 * a 4 KiB name buffer. 1 when it cannot tell. */
static nlink_t nlink_of(int fd)
{
	struct stat sb;

#ifdef SYS_fstat
	if (syscall(SYS_fstat, fd, &sb) < 0)
		return 1;
#else
	if (fstat(fd, &sb) < 0)
		return 1;
#endif
	return sb.st_nlink;
}

static void held_drop(struct vfa_agent *c, struct vfa_vf_lockfd *k)
{
	close(k->fd);
	*k = c->vf_locks[--c->n_vf_locks];
}

/* Locks VF pci for one operation (waiting for it if wait): an fd to give
 * back to vfa_vf_unhold(), -EWOULDBLOCK if held and not wait, other
 * -errno as vfa_vf_lock(). In the daemon the fd stays the agent's. */
int vfa_vf_hold(struct vfa_agent *c, const char *pci, bool wait)
{
	struct vfa_vf_lockfd *k;
	int fd, r;

	if (!c->model.on)
		return vfa_vf_lock(c->st, pci, wait);
	k = held_find(c, pci);
	if (!k) {
		if (c->n_vf_locks >= VFA_MODEL_VFS)
			return vfa_vf_lock(c->st, pci, wait);
		fd = vfa_vf_lock_open(c->st, pci);
		if (fd < 0)
			return fd;
		k = &c->vf_locks[c->n_vf_locks++];
		snprintf(k->pci, sizeof(k->pci), "%s", pci);
		k->fd = fd;
	}
	r = vfa_vf_flock(k->fd, wait);
	if (r)
		return r;
	/* Its file was removed (the state dir cleared): a CLI would lock a
	 * new one, so this one excludes nobody. Open the new one. */
	if (nlink_of(k->fd) == 0) {
		held_drop(c, k);
		return vfa_vf_hold(c, pci, wait);
	}
	return k->fd;
}

/* Lets go of a lock vfa_vf_hold() returned (accepts -1): unlocked and
 * kept open if the agent keeps it, else closed. */
void vfa_vf_unhold(struct vfa_agent *c, int fd)
{
	if (fd < 0)
		return;
	for (unsigned int i = 0; i < c->n_vf_locks; i++)
		if (c->vf_locks[i].fd == fd) {
			flock(fd, LOCK_UN);
			return;
		}
	close(fd);
}

/* Closes every lock file the agent keeps (at close). */
void vfa_vf_holds_close(struct vfa_agent *c)
{
	while (c->n_vf_locks)
		held_drop(c, &c->vf_locks[c->n_vf_locks - 1]);
}
