/* Helpers for the unit tests of the state dir and its journal
 * (test_owner.c, test_journal_moved.c, test_damaged.c): a temp top dir,
 * state handles in it, leases, and raw bytes appended to a journal. */
#ifndef VFAGENT_T_STATE_H
#define VFAGENT_T_STATE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/journal_priv.h"

static char t_top[64];

/* Makes the top dir (0755, as a state dir's parent must allow); 0 or -1. */
__attribute__((unused))
static int t_state_begin(const char *name)
{
	snprintf(t_top, sizeof(t_top), "/tmp/vfagent-test-%s.XXXXXX", name);
	if (!mkdtemp(t_top)) {
		perror("mkdtemp");
		return -1;
	}
	chmod(t_top, 0755);
	return 0;
}

/* Removes the top dir and everything in it. */
__attribute__((unused))
static void t_state_end(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t_top);
	if (system(cmd))
		printf("# cleanup of %s failed\n", t_top);
}

/* t_top/name (a static buffer: one at a time). */
__attribute__((unused))
static const char *t_sdir(const char *name)
{
	static char p[300];

	snprintf(p, sizeof(p), "%s/%s", t_top, name);
	return p;
}

/* A state handle on sd, or NULL (said on stdout). */
__attribute__((unused))
static struct vfa_state *t_open_st(const char *sd)
{
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };

	if (vfa_state_open(sd, &st, &e))
		printf("# open %s: %s\n", sd, e.msg);
	return st;
}

/* Lease i (id ...%02x, VF 0000:00:1X.Y), ready, of owner. */
__attribute__((unused))
static struct vfa_lease t_lease(int i, uid_t owner)
{
	struct vfa_lease l = {
		.state = VFA_LS_READY, .pool = "net1", .pf = "eth0",
		.pf_pci = "0000:00:02.0", .group = 9, .mac = "02:00:00:00:00:01",
		.pid = 42, .created = 1700000000, .owner = owner,
	};

	l.vf = (unsigned int)i;
	snprintf(l.id, sizeof(l.id), "00000000000000%02x", i);
	snprintf(l.pci, sizeof(l.pci), "0000:00:%02x.%x", 0x10 + i / 8, i % 8);
	return l;
}

/* Appends bytes to sd/journal as another writer would, lock aside. */
__attribute__((unused))
static void t_jappend(const char *sd, const char *bytes)
{
	char p[400];
	int fd;

	snprintf(p, sizeof(p), "%s/journal", sd);
	fd = open(p, O_WRONLY | O_APPEND);
	if (fd < 0)
		return;
	if (write(fd, bytes, strlen(bytes)) != (ssize_t)strlen(bytes))
		printf("# short write to %s\n", p);
	close(fd);
}

#endif
