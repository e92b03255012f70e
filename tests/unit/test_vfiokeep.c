/* vfio_ctx_keep_nodes (vfio/vfio.c): the daemon keeps /dev/vfio nodes
 * open between ownership changes. A kept node is used only while its
 * inode is still linked: a node removed and made again (a VF rebound, a
 * group number reused) is the new node, changed as asked; something
 * renamed over the name is refused as a fresh open would; turning the
 * keeping off and on (the model's sweep) brings back the path check.
 * Root only (mknod of character devices); SKIP otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vfio/vfio.h"
#include "t.h"

static char top[256];

static int mknode(const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/dev/vfio/%s", top, name);
	unlink(p);
	return mknod(p, S_IFCHR | 0600, makedev(1, 3));
}

static int st_of(const char *name, struct stat *st)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/dev/vfio/%s", top, name);
	return lstat(p, st);
}

int main(void)
{
	struct vfio_ctx *c = NULL;
	char dev[300], p[512], q[512];
	struct stat st;
	int r;

	if (geteuid() != 0) {
		t_skip("vfiokeep", "not root: cannot mknod a character device");
		return t_done();
	}
	snprintf(top, sizeof(top), "/tmp/vfagent-vfiokeep.XXXXXX");
	if (!mkdtemp(top)) {
		t_skip("vfiokeep", "no temp dir");
		return t_done();
	}
	snprintf(dev, sizeof(dev), "%s/dev", top);
	snprintf(p, sizeof(p), "%s/dev/vfio", top);
	mkdir(dev, 0755);
	mkdir(p, 0755);
	if (mknode("9") < 0) {
		t_skip("vfiokeep", "mknod failed in the temp dir");
		goto out;
	}
	if (vfio_ctx_new(top, dev, &c)) {
		T("vfiokeep.ctx", 0, "vfio_ctx_new failed");
		goto out;
	}
	vfio_ctx_keep_nodes(c, true);
	r = vfio_node_own(c, 9, 65534, 65534, 0660);
	st_of("9", &st);
	T("vfiokeep.own", r == 1 && st.st_uid == 65534 && st.st_mode % 01000 == 0660,
	  "r=%d (%s) %u %o", r, vfio_errmsg(c), (unsigned)st.st_uid, st.st_mode & 0777);
	r = vfio_node_own(c, 9, 0, 0, 0600);
	st_of("9", &st);
	T("vfiokeep.back", r == 1 && st.st_uid == 0 && st.st_mode % 01000 == 0600,
	  "r=%d (%s) %u %o", r, vfio_errmsg(c), (unsigned)st.st_uid, st.st_mode & 0777);
	r = vfio_node_own(c, 9, 65534, 65534, 0660);
	/* The node removed and made again (root:root 0600): the kept inode
	 * is unlinked, so the new one is opened and changed, not the old
	 * one (which already is 65534 0660: a no-op on it). */
	mknode("9");
	r = vfio_node_own(c, 9, 65534, 65534, 0660);
	st_of("9", &st);
	T("vfiokeep.recreated_node_changed", r == 1 && st.st_uid == 65534 &&
	  st.st_mode % 01000 == 0660, "r=%d (%s) node now %u %o", r, vfio_errmsg(c),
	  (unsigned)st.st_uid, st.st_mode & 0777);
	/* A symlink renamed over the name: the kept inode is unlinked, the
	 * name is opened again and refused. */
	snprintf(p, sizeof(p), "%s/dev/vfio/9", top);
	snprintf(q, sizeof(q), "%s/dev/vfio/9.new", top);
	r = symlink("/dev/null", q) < 0 || rename(q, p) < 0 ? -errno : 0;
	r = r ? r : vfio_node_own(c, 9, 0, 0, 0600);
	T("vfiokeep.symlink_over_refused", r == -EPERM, "r=%d (%s)", r, vfio_errmsg(c));
	/* A node kept, then vfio itself made a link to elsewhere: unseen
	 * while kept (root-only on a real /dev), refused once the keeping
	 * is turned off and on (the model's sweep does that). */
	mknode("9");
	r = vfio_node_own(c, 9, 0, 0, 0600);
	snprintf(p, sizeof(p), "%s/dev/vfio", top);
	snprintf(q, sizeof(q), "%s/dev/vfio.real", top);
	if (rename(p, q) < 0 || symlink("vfio.real", p) < 0) {
		T("vfiokeep.dir_link", 0, "cannot rename %s: %s", p, strerror(errno));
		goto out;
	}
	vfio_ctx_keep_nodes(c, false);
	vfio_ctx_keep_nodes(c, true);
	r = vfio_node_own(c, 9, 65534, 65534, 0660);
	T("vfiokeep.dir_link_refused_after_reset", r == -EPERM, "r=%d (%s)", r,
	  vfio_errmsg(c));
out:
	vfio_ctx_free(c);
	snprintf(p, sizeof(p), "rm -rf '%s'", top);
	if (system(p) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	return t_done();
}
