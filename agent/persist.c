/* What must outlive a reboot. The lease journal lives on tmpfs (/run),
 * but libvirt keeps a --persistent <hostdev> in the domain's saved config:
 * after a reboot that VF must still count as taken. Persistent leases are
 * mirrored into a second journal on disk (default /var/lib/vfagent, the
 * unit's StateDirectory=), and the runtime journal records the boot it was
 * rebuilt in, so the rebuild runs once per boot (or after the runtime
 * state was wiped), not on every command. */
#include "agent/persist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/**
 * vfa_persist_open - the persistent journal, opened on first need
 * @dir: its directory ("" disables persistent state)
 * @create: make it when missing (a persistent lease is being written)
 *
 * Returns 0 with *ret NULL when there is nothing to read (no dir, or
 * disabled), 0 with *ret the journal (the caller's, vfa_state_close), or
 * -errno with e saying why.
 */
int vfa_persist_open(const char *dir, bool create, struct vfa_state **ret,
		     struct vfa_err *e)
{
	struct stat sb;

	*ret = NULL;
	if (!dir || !*dir)
		return 0;
	if (!create && stat(dir, &sb) < 0 && errno == ENOENT)
		return 0;
	return vfa_state_open(dir, ret, e);
}

/* The kernel's boot id, or "" if unreadable. */
static void boot_id(char buf[40])
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, 39) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/**
 * vfa_rebuild_needed - has the runtime journal in state_dir been rebuilt
 * from persistent state in this boot? Returns true when not (no marker,
 * or one from another boot).
 */
bool vfa_rebuild_needed(const char *state_dir)
{
	char path[300], have[40], want[40];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/rebuilt", state_dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, have, sizeof(have) - 1);
	close(fd);
	have[n > 0 ? n : 0] = '\0';
	boot_id(want);
	return strcmp(have, want) != 0;
}

/* Records that the rebuild for this boot is done. 0 or -errno. */
int vfa_rebuild_done(const char *state_dir)
{
	char path[300], tmp[310], id[40];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/rebuilt", state_dir);
	snprintf(tmp, sizeof(tmp), "%s/.rebuilt.tmp", state_dir);
	boot_id(id);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, id, strlen(id)) != (ssize_t)strlen(id) || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}
