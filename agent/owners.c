/* Who allocated each lease through the daemon: STATE_DIR/owners/<lease
 * id> holds the uid, so the rule "release only your own leases" holds
 * across daemon restarts. Kept beside the journal, not in it: a lease made
 * by vfagent --direct (root) has no owner file and counts as root's. */
#include "agent/serve_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < 17 && strspn(id, "0123456789abcdef") == n;
}

static int owners_dir(const char *state_dir, bool create)
{
	char p[300];
	int fd;

	snprintf(p, sizeof(p), "%s/owners", state_dir);
	if (create && mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Records uid as the owner of lease_id (atomically); 0 or -errno. */
int vfa_owner_set(const char *state_dir, const char *lease_id, uid_t uid)
{
	char tmp[32], txt[16];
	int dfd, fd, r = 0;
	int n = snprintf(txt, sizeof(txt), "%u\n", (unsigned int)uid);

	if (!id_ok(lease_id))
		return -EINVAL;
	dfd = owners_dir(state_dir, true);
	if (dfd < 0)
		return dfd;
	snprintf(tmp, sizeof(tmp), ".%s.tmp", lease_id);
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out_dir;
	}
	if (write(fd, txt, (size_t)n) != n || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	if (!r && renameat(dfd, tmp, dfd, lease_id) < 0)
		r = -errno;
	if (r)
		unlinkat(dfd, tmp, 0);
out_dir:
	close(dfd);
	return r;
}

/* The uid recorded for lease_id, or VFA_NO_OWNER. */
uid_t vfa_owner_get(const char *state_dir, const char *lease_id)
{
	char buf[16], *end;
	struct stat sb;
	unsigned long v;
	uid_t uid = VFA_NO_OWNER;
	ssize_t n;
	int dfd, fd;

	if (!id_ok(lease_id) || (dfd = owners_dir(state_dir, false)) < 0)
		return VFA_NO_OWNER;
	fd = openat(dfd, lease_id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return VFA_NO_OWNER;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		errno = 0;
		v = strtoul(buf, &end, 10);
		if (!errno && end != buf && (*end == '\n' || !*end) && v < VFA_NO_OWNER)
			uid = (uid_t)v;
	}
	close(fd);
	return uid;
}

/* Drops the owner files of leases that are gone (ls: all current ones). */
void vfa_owner_gc(const char *state_dir, const struct vfa_lease *ls, size_t n)
{
	int dfd = owners_dir(state_dir, false);
	struct dirent *de;
	DIR *d;

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		bool live = false;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		for (size_t i = 0; i < n && !live; i++)
			live = !strcmp(ls[i].id, de->d_name);
		if (!live)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}
