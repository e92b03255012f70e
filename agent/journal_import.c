/* Importing what older versions kept beside the lease journal: the
 * per-VF lease files (leases/<pci>.json) from before the journal and the
 * owner files (owners/<lease id>) from before the owner was a lease field.
 * Each is moved in once, durable before any file is removed. */
#include "agent/journal_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads leases/NAME of a state dir from before the journal: a regular
 * file whose name is its lease's pci, every field valid. */
static int read_old(int dfd, const char *name, struct vfa_lease *ret)
{
	char buf[4096], want[64];
	struct vfa_lease l;
	ssize_t n;
	int fd = vfa_open_reg(dfd, name, O_RDONLY, 0), r;

	if (fd < 0)
		return fd;
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf))
		return n < 0 ? -errno : -EFBIG;
	r = vfa_lease_parse(buf, (size_t)n, &l);
	if (r)
		return r;
	snprintf(want, sizeof(want), "%s.json", l.pci);
	if (strcmp(name, want))
		return -EBADMSG;
	*ret = l;
	return 0;
}

/* Records being gathered for one append. */
struct jbuf {
	char *p;
	size_t len, cap;
};

/* l as a journal record appended to b (grown as needed). 0 or -errno. */
static int jbuf_add(struct jbuf *b, const struct vfa_lease *l)
{
	size_t got;

	if (b->cap - b->len < VFA_JOURNAL_REC_MAX + 16) {
		char *nb = realloc(b->p, b->cap * 2 + VFA_JOURNAL_REC_MAX + 16);

		if (!nb)
			return -ENOMEM;
		b->p = nb;
		b->cap = b->cap * 2 + VFA_JOURNAL_REC_MAX + 16;
	}
	got = vfa_journal_format(l, NULL, b->p + b->len, b->cap - b->len);
	if (!got)
		return -EOVERFLOW;
	b->len += got;
	return 0;
}

static bool is_old(const char *name)
{
	size_t nl = strlen(name);

	return name[0] != '.' && nl > 5 && !strcmp(name + nl - 5, ".json");
}

/* The lease leases/NAME stands for: the file's, or, when it cannot be
 * trusted but is named <pci>.json and the journal has no lease of that
 * VF, a fence (vfa_lease_fence). -EBADMSG when there is neither. */
static int old_lease(struct vfa_state *st, int dfd, const char *name, struct vfa_lease *ret)
{
	char pci[16];
	size_t nl = strlen(name);

	if (read_old(dfd, name, ret) == 0)
		return 0;
	if (nl - 5 >= sizeof(pci))
		return -EBADMSG;
	memcpy(pci, name, nl - 5);
	pci[nl - 5] = '\0';
	if (!vfa_pci_addr_ok(pci) || vfa_journal_find(st, pci))
		return -EBADMSG;
	vfa_lease_fence(pci, ret);
	return 0;
}

/* Each leases/<pci>.json as a journal record (a damaged one: a fence,
 * old_lease). */
static int collect_old(struct vfa_state *st, DIR *d, int dfd, struct jbuf *b)
{
	struct dirent *de;
	int r;

	rewinddir(d);
	while ((de = readdir(d))) {
		struct vfa_lease l;

		if (!is_old(de->d_name))
			continue;
		if (old_lease(st, dfd, de->d_name, &l))
			continue;
		r = jbuf_add(b, &l);
		if (r)
			return r;
	}
	return 0;
}

/* Once the records are durable: removes the imported files (and a
 * crash's temp files); files that cannot be trusted are renamed
 * NAME.damaged (kept for the admin, never imported again). Syncs. */
static void remove_old(struct vfa_state *st, DIR *d, int dfd)
{
	struct dirent *de;

	(void)st;
	rewinddir(d);
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		struct vfa_lease l;
		char damaged[300];

		if (is_old(de->d_name)) {
			snprintf(damaged, sizeof(damaged), "%s.damaged", de->d_name);
			if (read_old(dfd, de->d_name, &l))
				renameat(dfd, de->d_name, dfd, damaged);
			else
				unlinkat(dfd, de->d_name, 0);
		} else if (de->d_name[0] == '.' && nl > 4 && !strcmp(de->d_name + nl - 4, ".tmp")) {
			unlinkat(dfd, de->d_name, 0);
		}
	}
	fsync(dfd);
}

static bool has_old(DIR *d)
{
	struct dirent *de;

	rewinddir(d);
	while ((de = readdir(d)))
		if (is_old(de->d_name))
			return true;
	return false;
}

/* owners/NAME of a daemon from before owners were journaled: "<uid>\n" in
 * a regular file (never through a symlink). The uid, or VFA_NO_OWNER. */
static uid_t read_owner(int dfd, const char *name)
{
	char buf[16], *end;
	unsigned long v;
	ssize_t n;
	int fd = vfa_open_reg(dfd, name, O_RDONLY, 0);

	if (fd < 0)
		return VFA_NO_OWNER;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return VFA_NO_OWNER;
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || end == buf || (*end != '\n' && *end) || v >= VFA_NO_OWNER)
		return VFA_NO_OWNER;
	return (uid_t)v;
}

/* Each owners/<lease id> of a lease in the fold that has no owner yet, as
 * the lease's record with the owner. Under the lock. */
static int collect_owners(struct vfa_state *st, DIR *d, int dfd, struct jbuf *b)
{
	struct dirent *de;
	int r;

	rewinddir(d);
	while ((de = readdir(d)))
		for (size_t i = 0; i < st->n; i++) {
			struct vfa_lease l = st->fold[i];

			if (strcmp(l.id, de->d_name) || l.owner != VFA_NO_OWNER)
				continue;
			l.owner = read_owner(dfd, de->d_name);
			r = l.owner == VFA_NO_OWNER ? 0 : jbuf_add(b, &l);
			if (r)
				return r;
			break;
		}
	return 0;
}

/* Removes every file of owners/ (owners of leases gone, a crash's temp
 * files), then owners/ itself. */
static void remove_owners(struct vfa_state *st, DIR *d, int dfd)
{
	struct dirent *de;

	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dfd, de->d_name, 0);
	if (unlinkat(st->dirfd, "owners", AT_REMOVEDIR) == 0)
		fsync(st->dirfd);
}

/* What an older version kept beside the journal, in a subdir. */
struct old_kind {
	const char *sub;
	bool (*pending)(DIR *d);	/* NULL: the dir itself is */
	int (*collect)(struct vfa_state *st, DIR *d, int dfd, struct jbuf *b);
	void (*remove)(struct vfa_state *st, DIR *d, int dfd);
};

static const struct old_kind old_kinds[] = {
	/* leases/<pci>.json: one file per lease, before the journal */
	{ "leases", has_old, collect_old, remove_old },
	/* owners/<lease id>: the uid that allocated it through the daemon,
	 * before the owner was a lease field */
	{ "owners", NULL, collect_owners, remove_owners },
};

/* Moves st->dir/k->sub into the journal, once: the records are durable
 * before any file is removed, and a crash in between imports the same
 * again (an owner already journaled is not). 0 or -errno with e set; the
 * files are then left as they were. */
static int import_old(struct vfa_state *st, const struct old_kind *k, struct vfa_err *e)
{
	struct jbuf b = { NULL, 0, 0 };
	char path[300];
	struct stat s;
	DIR *d;
	int fd, r;

	if (fstatat(st->dirfd, k->sub, &s, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", st->dir, k->sub);
	fd = vfa_open_state_dir(st->dirfd, k->sub, path, 0700, e);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return vfa_fail(e, errno, "%s: %s", path, strerror(errno));
	}
	if (k->pending && !k->pending(d)) {
		closedir(d);
		return 0;
	}
	r = vfa_journal_lock(st, e);
	if (r)
		goto out;
	r = k->collect(st, d, fd, &b);
	if (!r && b.len)
		r = vfa_journal_append_locked(st, b.p, b.len);
	if (!r)
		k->remove(st, d, fd);
	vfa_journal_unlock(st);
	if (!r)
		r = vfa_journal_refresh(st, e);	/* folds what was appended */
	else
		vfa_fail(e, r, "importing %s into %s/" VFA_JOURNAL_NAME ": %s", path, st->dir, strerror(-r));
out:
	free(b.p);
	closedir(d);
	return r;
}

/**
 * vfa_journal_import - moves what older versions kept beside the journal
 * into it, once each (old_kinds: leases/, then owners/). A leases/ file
 * that does not parse leaves its VF fenced (a lease in state "fenced", see
 * vfa_lease_fence) and is kept as NAME.damaged. The journal is folded
 * first: one of a newer format is refused here, with its message, before
 * any command reads it. Returns 0 (also when there is nothing to import)
 * or -errno with e set.
 */
int vfa_journal_import(struct vfa_state *st, struct vfa_err *e)
{
	int r0 = vfa_journal_refresh(st, e);

	if (r0)
		return r0;
	for (size_t i = 0; i < sizeof(old_kinds) / sizeof(old_kinds[0]); i++) {
		int r = import_old(st, &old_kinds[i], e);

		if (r)
			return r;
	}
	return 0;
}
