/* bench/bench_floor.h: the floor, what a warm alloc cannot avoid, as the
 * benchmarks time it (header only, like bench/bench.h): one RTM_SETLINK
 * with a VF's MAC and VLAN, one chown of its /dev/vfio/N (and the untimed
 * chown back), one small file written, fsync'd and renamed in the state
 * dir. alloc_bench's classic rounds and serve_bench's quiet mode take the
 * same three steps from here. */
#ifndef VFAGENT_BENCH_FLOOR_H
#define VFAGENT_BENCH_FLOOR_H

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "nl/vfnl.h"
#include "bench/bench.h"

enum { BENCH_FLOOR_SETLINK, BENCH_FLOOR_CHOWN, BENCH_FLOOR_FSYNC_RENAME, BENCH_FLOOR_STEPS };

struct bench_floor {
	struct vfnl *nl;	/* the caller's */
	int ifindex;		/* the PF */
	uint32_t vf;		/* the VF's index on it */
	char node[64];		/* /dev/vfio/N of that VF */
	const char *dir;	/* where the small file goes: the state dir */
	uid_t uid;		/* the node's owner for a VM (libvirt-qemu) */
	gid_t gid;
	unsigned int seq;	/* the MAC's low bytes: a new MAC each sample */
};

/* Fills f for VF vf (index on the PF ifindex) whose node is group's, the
 * file written in dir; the VM user from the user database (64055 when
 * libvirt-qemu is unknown). nl and dir stay the caller's. */
static inline void bench_floor_init(struct bench_floor *f, struct vfnl *nl, int ifindex,
				    uint32_t vf, int group, const char *dir)
{
	struct passwd *pw = getpwnam("libvirt-qemu");

	f->nl = nl, f->ifindex = ifindex, f->vf = vf, f->dir = dir, f->seq = 0;
	snprintf(f->node, sizeof(f->node), "/dev/vfio/%d", group);
	f->uid = pw ? pw->pw_uid : 64055;
	f->gid = pw ? pw->pw_gid : 64055;
}

/* Writes a small file the way a lease is journaled: temp, fsync, rename. */
static inline int bench_journal_once(const char *dir)
{
	static const char body[] = "{\"id\":\"0123456789abcdef\",\"state\":\"ready\"}\n";
	char tmp[1024], dst[1024];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s/.bench.tmp", dir);
	snprintf(dst, sizeof(dst), "%s/.bench.json", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, body, sizeof(body) - 1) < 0 || fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (!r && rename(tmp, dst) < 0)
		r = -errno;
	return r;
}

/* One floor sample: each step's time (us) into ret_us[BENCH_FLOOR_*].
 * 0, or -errno with *ret_what naming the step that failed (ret_us is then
 * partly written). */
static inline int bench_floor_sample(struct bench_floor *f, double ret_us[BENCH_FLOOR_STEPS],
				     const char **ret_what)
{
	struct vfnl_vf_set s = { .index = f->vf, .set = VFNL_SET_MAC | VFNL_SET_VLAN, .vlan = 100 };
	double t0;
	int r;

	s.mac[0] = 0x02, s.mac[4] = (uint8_t)(f->seq >> 8), s.mac[5] = (uint8_t)f->seq;
	f->seq++;
	t0 = now_us();
	r = vfnl_set_vfs(f->nl, f->ifindex, &s, 1);
	ret_us[BENCH_FLOOR_SETLINK] = now_us() - t0;
	if (r) {
		*ret_what = "floor setlink";
		return r;
	}
	t0 = now_us();
	r = chown(f->node, f->uid, f->gid) ? -errno : 0;
	ret_us[BENCH_FLOOR_CHOWN] = now_us() - t0;
	if (r || (chown(f->node, 0, 0) && (r = -errno))) {
		*ret_what = "floor chown";
		return r;
	}
	t0 = now_us();
	r = bench_journal_once(f->dir);
	ret_us[BENCH_FLOOR_FSYNC_RENAME] = now_us() - t0;
	if (r)
		*ret_what = "floor fsync+rename";
	return r;
}

#endif
