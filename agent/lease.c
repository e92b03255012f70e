/* What a lease is (its fields, checks, JSON, the fence lease) and how a
 * file of the state dir is opened safely; the state dir handle and its
 * locks are state.c, the journal is journal.c. */
#include "agent/lease_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The state dir is root's: anyone who can write in it could plant a
 * symlink, a FIFO or a forged lease and steer root. So the dir and its
 * subdirs must be owned by root (or by the user running the tests) and not
 * writable by group or others, and every file in it is opened without
 * following links, without blocking, and only if it is a regular file. */
static int check_dir(int fd, const char *path, struct vfa_err *e)
{
	struct stat s;

	if (fstat(fd, &s) < 0)
		return vfa_fail(e, errno, "state dir %s: %s", path, strerror(errno));
	if (!S_ISDIR(s.st_mode))
		return vfa_fail(e, ENOTDIR, "state dir %s is not a directory: remove it or choose another --state-dir", path);
	if (s.st_uid != 0 && s.st_uid != geteuid())
		return vfa_fail(e, EPERM, "state dir %s is owned by uid %u, not root: chown root:root %s (or choose another --state-dir)",
				path, (unsigned int)s.st_uid, path);
	if (s.st_mode & (S_IWGRP | S_IWOTH))
		return vfa_fail(e, EPERM, "state dir %s is writable by group or others (mode %04o): chmod go-w %s",
				path, (unsigned int)(s.st_mode & 07777), path);
	return 0;
}

/* Opens dir (creating it with mode when missing) as a directory, never
 * through a symlink, and checks who may write in it. Returns the fd (the
 * caller's) or -errno with e set. */
int vfa_open_state_dir(int at, const char *name, const char *path, mode_t mode,
		    struct vfa_err *e)
{
	bool made = mkdirat(at, name, mode) == 0;
	int fd, r;

	if (!made && errno != EEXIST)
		return vfa_fail(e, errno, "state dir %s: %s", path, strerror(errno));
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		if (r == ELOOP || r == ENOTDIR)
			return vfa_fail(e, r, "state dir %s is a symlink or not a directory: remove it or point --state-dir at the real directory",
					path);
		return vfa_fail(e, r, "state dir %s: %s", path, strerror(r));
	}
	/* Whatever the umask: exactly mode, and ours. */
	if (made && (fchmod(fd, mode) < 0 || fchown(fd, geteuid(), getegid()) < 0)) {
		r = vfa_fail(e, errno, "state dir %s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	r = check_dir(fd, path, e);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* Opens name in dfd only if it is a regular file: never through a
 * symlink, and never a FIFO or a device, which could block or act on
 * open. Returns the fd (the caller's), -EINVAL for anything but a regular
 * file. */
int vfa_open_reg(int dfd, const char *name, int flags, mode_t mode)
{
	struct stat s;
	int fd;

	if (fstatat(dfd, name, &s, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(s.st_mode))
			return -EINVAL;
	} else if (errno != ENOENT || !(flags & O_CREAT)) {
		return -errno;
	}
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &s) < 0 || !S_ISREG(s.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Is s a PCI address as sysfs spells it: DDDD:BB:DD.F, lowercase hex,
 * device <= 1f, function <= 7? Lease file and lock names come from it. */
bool vfa_pci_addr_ok(const char *s)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'x' ? !is_hex(s[i]) : s[i] != shape[i])
			return false;
	return s[8] <= '1' && s[11] <= '7';
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int jint(json_object *o, const char *k, long long min, long long max,
		long long *ret)
{
	json_object *v;
	long long x;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	x = json_object_get_int64(v);
	if (x < min || x > max)
		return -EBADMSG;
	*ret = x;
	return 0;
}

static int jcopy(json_object *o, const char *k, char *dst, size_t len,
		 bool required)
{
	const char *s = jstr(o, k);

	if (!s) {
		if (required)
			return -EBADMSG;
		dst[0] = '\0';
		return 0;
	}
	if (strlen(s) >= len)
		return -EBADMSG;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

/* xx:xx:xx:xx:xx:xx, lowercase, as vfa_mac_str writes it. */
static bool mac_ok(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (size_t i = 0; i < 17; i += 3)
		if (!hex_run(s + i, 2) || (i < 15 && s[i + 2] != ':'))
			return false;
	return true;
}

/* "" (journals from before UUIDs) or 8-4-4-4-12 hex digits. */
static bool uuid_ok(const char *u)
{
	if (!*u)
		return true;
	if (strlen(u) != VFA_UUID_LEN - 1)
		return false;
	for (int i = 0; u[i]; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? u[i] != '-' :
		    !is_hex(u[i]))
			return false;
	return true;
}

/* Non-empty, printable, no '/' (pool names, netdev names). */
static bool word_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '/')
			return false;
	return true;
}

/* A holder: 1..64 bytes of printable ASCII without spaces. */
bool vfa_holder_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= VFA_HOLDER_LEN)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static const char *const state_names[] = {
	[VFA_LS_ALLOCATING] = "allocating",
	[VFA_LS_READY] = "ready",
	[VFA_LS_DETACHING] = "detaching",
	[VFA_LS_RELEASING] = "releasing",
	[VFA_LS_FENCED] = "fenced",
};

/* The name of s ("?" for none). */
const char *vfa_lease_state_str(enum vfa_lease_state s)
{
	return s >= 0 && (size_t)s < sizeof(state_names) / sizeof(state_names[0]) ?
	       state_names[s] : "?";
}

/* The state named name; VFA_LS_UNKNOWN if it is none of the table's. */
static enum vfa_lease_state state_from_str(const char *name)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp(name, state_names[i]))
			return (enum vfa_lease_state)i;
	return VFA_LS_UNKNOWN;
}

/* l's state. */
enum vfa_lease_state vfa_lease_state(const struct vfa_lease *l)
{
	return l->state;
}

/* Sets l's state. */
void vfa_lease_set_state(struct vfa_lease *l, enum vfa_lease_state s)
{
	l->state = s;
}

/* Every field read back is checked as strictly as it was written: names
 * built from them (lock files, sysfs paths) cannot leave their dirs. */
bool vfa_lease_fields_ok(const struct vfa_lease *l)
{
	return l->state >= VFA_LS_ALLOCATING && l->state <= VFA_LS_FENCED && strlen(l->id) == 16 && hex_run(l->id, 16) &&
	       vfa_pci_addr_ok(l->pci) && vfa_pci_addr_ok(l->pf_pci) && mac_ok(l->mac) &&
	       word_ok(l->pool) && word_ok(l->pf) && strlen(l->pf) < 16 &&
	       strcmp(l->pf, ".") && strcmp(l->pf, "..") && l->pid < (1 << 22);
}

/* "owner": absent or null (records from before owners were journaled,
 * leases made by --direct) is VFA_NO_OWNER, else a uid below it. */
static int owner_parse(json_object *o, uid_t *ret)
{
	json_object *v;
	long long x;

	if (!json_object_object_get_ex(o, "owner", &v) || !v) {
		*ret = VFA_NO_OWNER;
		return 0;
	}
	if (jint(o, "owner", 0, (long long)VFA_NO_OWNER - 1, &x))
		return -EBADMSG;
	*ret = (uid_t)x;
	return 0;
}

/* Parses one lease (a journal record's JSON, or a lease file from before
 * the journal). Text cut anywhere is -EBADMSG, never a half-filled lease. */
int vfa_lease_parse(const char *buf, size_t len, struct vfa_lease *ret)
{
	struct json_tokener *tok = json_tokener_new();
	struct vfa_lease l = { 0 };
	json_object *o, *v;
	char state[16];
	long long x;
	int r = -EBADMSG;

	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))
		goto out;
	if (jcopy(o, "id", l.id, sizeof(l.id), true) ||
	    jcopy(o, "state", state, sizeof(state), true) ||
	    jcopy(o, "pool", l.pool, sizeof(l.pool), true) ||
	    jcopy(o, "pf", l.pf, sizeof(l.pf), true) ||
	    jcopy(o, "pf_pci", l.pf_pci, sizeof(l.pf_pci), true) ||
	    jcopy(o, "pci", l.pci, sizeof(l.pci), true) ||
	    jcopy(o, "mac", l.mac, sizeof(l.mac), true) ||
	    jcopy(o, "domain", l.domain, sizeof(l.domain), false) ||
	    jcopy(o, "uuid", l.uuid, sizeof(l.uuid), false) || !uuid_ok(l.uuid) ||
	    jcopy(o, "holder", l.holder, sizeof(l.holder), false) ||
	    (l.holder[0] && !vfa_holder_ok(l.holder)))
		goto out;
	/* Optional: absent, null or a valid holder ("" is not one). */
	if (json_object_object_get_ex(o, "holder", &v) && v &&
	    (!json_object_is_type(v, json_type_string) || !l.holder[0]))
		goto out;
	l.state = state_from_str(state);
	if (jint(o, "vf", 0, 65535, &x))
		goto out;
	l.vf = (unsigned int)x;
	if (jint(o, "iommu_group", -1, 1 << 30, &x))
		goto out;
	l.group = (int)x;
	if (jint(o, "vlan", 0, 4094, &x))
		goto out;
	l.vlan = (uint16_t)x;
	if (jint(o, "qos", 0, 7, &x))
		goto out;
	l.qos = (uint8_t)x;
	if (jint(o, "pid", 0, 1LL << 40, &l.pid) ||
	    jint(o, "created", 0, 1LL << 40, &l.created))
		goto out;
	if (!json_object_object_get_ex(o, "attached", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		goto out;
	l.attached = json_object_get_boolean(v);
	if (owner_parse(o, &l.owner))
		goto out;
	/* Optional: journals written before it existed lack it. */
	if (json_object_object_get_ex(o, "persistent", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			goto out;
		l.persistent = json_object_get_boolean(v);
	}
	if (!vfa_lease_fields_ok(&l))
		goto out;
	*ret = l;
	r = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

/* Adds a key vfa_lease_json adds once, a string constant: json-c
 * neither looks for it first nor copies it (the same bytes out). */
static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT);
}

/* A new JSON object for a lease; the caller owns it. */
json_object *vfa_lease_json(const struct vfa_lease *l)
{
	json_object *o = json_object_new_object();
	char node[32];

	add(o, "id", json_object_new_string(l->id));
	add(o, "state", json_object_new_string(vfa_lease_state_str(l->state)));
	add(o, "pool", json_object_new_string(l->pool));
	add(o, "pf", json_object_new_string(l->pf));
	add(o, "pf_pci", json_object_new_string(l->pf_pci));
	add(o, "vf", json_object_new_int(l->vf));
	add(o, "pci", json_object_new_string(l->pci));
	add(o, "iommu_group", json_object_new_int(l->group));
	/* No group known (-1: a fence, a VF adopted off vfio-pci): no node. */
	snprintf(node, sizeof(node), "/dev/vfio/%d", l->group);
	add(o, "vfio_node", l->group >= 0 ? json_object_new_string(node) : NULL);
	add(o, "mac", json_object_new_string(l->mac));
	add(o, "vlan", json_object_new_int(l->vlan));
	add(o, "qos", json_object_new_int(l->qos));
	add(o, "domain", l->domain[0] ?
			    json_object_new_string(l->domain) : NULL);
	if (l->uuid[0])
		add(o, "uuid", json_object_new_string(l->uuid));
	add(o, "attached", json_object_new_boolean(l->attached));
	add(o, "persistent", json_object_new_boolean(l->persistent));
	add(o, "holder", l->holder[0] ?
			    json_object_new_string(l->holder) : NULL);
	add(o, "pid", json_object_new_int64(l->pid));
	add(o, "created", json_object_new_int64(l->created));
	add(o, "owner", l->owner == VFA_NO_OWNER ? NULL :
			   json_object_new_int64(l->owner));
	return o;
}

/* A new temp file in dfd, exclusively ours: a stale one (a crash) or
 * anything planted under its name is removed, never written through.
 * Returns the fd (the caller's) or -errno. */
int vfa_open_temp(int dfd, const char *name)
{
	for (int tries = 0; tries < 2; tries++) {
		int fd;

		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

/**
 * vfa_lease_fence - the lease that fences pci into *ret: a record of its
 * lease could not be read (its leases/<pci>.json from before the journal,
 * or a damaged journal record: journal.c), so a VM may hold the VF. Only
 * the address is known; the id is derived from it (a re-import after a
 * crash, or a second reader of the same damaged record, makes the same
 * lease, not a second one), reconcile fills in the pool and PF, and only a
 * release by an admin frees the VF.
 */
void vfa_lease_fence(const char *pci, struct vfa_lease *ret)
{
	struct vfa_lease l = { .state = VFA_LS_FENCED, .group = -1, .created = time(NULL) };
	size_t k = 0;

	snprintf(l.id, sizeof(l.id), "0bad000");
	for (const char *p = pci; *p; p++)
		if (*p != ':' && *p != '.')
			l.id[7 + k++] = *p;
	snprintf(l.pci, sizeof(l.pci), "%s", pci);
	snprintf(l.pf_pci, sizeof(l.pf_pci), "%s", pci);
	snprintf(l.pool, sizeof(l.pool), "-");
	snprintf(l.pf, sizeof(l.pf), "-");
	snprintf(l.mac, sizeof(l.mac), "00:00:00:00:00:00");
	*ret = l;
}
