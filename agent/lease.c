/* The lease journal: one small JSON file per leased VF. */
#include "agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct vfa_state {
	char dir[256];
	int dirfd;
	int leases_fd;
	int locks_fd;
	int lock_fd;
};

static int mkdir_at(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Opens (creating) the state dir. *ret is the caller's. */
int vfa_state_open(const char *dir, struct vfa_state **ret, struct vfa_err *e)
{
	struct vfa_state *st;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return vfa_fail(e, ENOMEM, "out of memory");
	st->dirfd = st->leases_fd = st->locks_fd = st->lock_fd = -1;
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = vfa_fail(e, errno, "state dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	st->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0 || (r = mkdir_at(st->dirfd, "leases")) < 0 ||
	    (r = mkdir_at(st->dirfd, "locks")) < 0) {
		r = vfa_fail(e, errno, "state dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	st->leases_fd = openat(st->dirfd, "leases", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	st->locks_fd = openat(st->dirfd, "locks", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	st->lock_fd = openat(st->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->leases_fd < 0 || st->locks_fd < 0 || st->lock_fd < 0) {
		r = vfa_fail(e, errno, "state dir %s: %s", dir, strerror(errno));
		goto fail;
	}
	*ret = st;
	return 0;
fail:
	vfa_state_close(st);
	return r;
}

void vfa_state_close(struct vfa_state *st)
{
	if (!st)
		return;
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	if (st->locks_fd >= 0)
		close(st->locks_fd);
	if (st->leases_fd >= 0)
		close(st->leases_fd);
	if (st->dirfd >= 0)
		close(st->dirfd);
	free(st);
}

/* Takes the selection lock (blocking). */
int vfa_state_lock(struct vfa_state *st, struct vfa_err *e)
{
	while (flock(st->lock_fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return vfa_fail(e, errno, "lock %s/lock: %s", st->dir, strerror(errno));
	return 0;
}

void vfa_state_unlock(struct vfa_state *st)
{
	flock(st->lock_fd, LOCK_UN);
}

int vfa_vf_lock(struct vfa_state *st, const char *pci, bool wait)
{
	int fd = openat(st->locks_fd, pci, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int r = -errno;

		if (r == -EINTR)
			continue;
		close(fd);
		return r;
	}
	return fd;
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

/* "" (journals from before UUIDs) or 8-4-4-4-12 hex digits. */
static bool uuid_ok(const char *u)
{
	if (!*u)
		return true;
	if (strlen(u) != VFA_UUID_LEN - 1)
		return false;
	for (int i = 0; u[i]; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? u[i] != '-' :
		    !strchr("0123456789abcdefABCDEF", u[i]))
			return false;
	return true;
}

/* Parses one lease file. A file cut anywhere is -EBADMSG, never a
 * half-filled lease. */
int vfa_lease_parse(const char *buf, size_t len, struct vfa_lease *ret)
{
	struct json_tokener *tok = json_tokener_new();
	struct vfa_lease l = { 0 };
	json_object *o, *v;
	long long x;
	int r = -EBADMSG;

	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))
		goto out;
	if (jcopy(o, "id", l.id, sizeof(l.id), true) ||
	    jcopy(o, "state", l.state, sizeof(l.state), true) ||
	    jcopy(o, "pool", l.pool, sizeof(l.pool), true) ||
	    jcopy(o, "pf", l.pf, sizeof(l.pf), true) ||
	    jcopy(o, "pf_pci", l.pf_pci, sizeof(l.pf_pci), true) ||
	    jcopy(o, "pci", l.pci, sizeof(l.pci), true) ||
	    jcopy(o, "mac", l.mac, sizeof(l.mac), true) ||
	    jcopy(o, "domain", l.domain, sizeof(l.domain), false) ||
	    jcopy(o, "uuid", l.uuid, sizeof(l.uuid), false) || !uuid_ok(l.uuid))
		goto out;
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
	/* Optional: journals written before it existed lack it. */
	if (json_object_object_get_ex(o, "persistent", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			goto out;
		l.persistent = json_object_get_boolean(v);
	}
	if (strcmp(l.state, "allocating") && strcmp(l.state, "ready") &&
	    strcmp(l.state, "detaching") && strcmp(l.state, "releasing"))
		goto out;
	*ret = l;
	r = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

/* A new JSON object for a lease; the caller owns it. */
json_object *vfa_lease_json(const struct vfa_lease *l)
{
	json_object *o = json_object_new_object();
	char node[32];

	json_object_object_add(o, "id", json_object_new_string(l->id));
	json_object_object_add(o, "state", json_object_new_string(l->state));
	json_object_object_add(o, "pool", json_object_new_string(l->pool));
	json_object_object_add(o, "pf", json_object_new_string(l->pf));
	json_object_object_add(o, "pf_pci", json_object_new_string(l->pf_pci));
	json_object_object_add(o, "vf", json_object_new_int(l->vf));
	json_object_object_add(o, "pci", json_object_new_string(l->pci));
	json_object_object_add(o, "iommu_group", json_object_new_int(l->group));
	snprintf(node, sizeof(node), "/dev/vfio/%d", l->group);
	json_object_object_add(o, "vfio_node", json_object_new_string(node));
	json_object_object_add(o, "mac", json_object_new_string(l->mac));
	json_object_object_add(o, "vlan", json_object_new_int(l->vlan));
	json_object_object_add(o, "qos", json_object_new_int(l->qos));
	json_object_object_add(o, "domain", l->domain[0] ?
			       json_object_new_string(l->domain) : NULL);
	if (l->uuid[0])
		json_object_object_add(o, "uuid", json_object_new_string(l->uuid));
	json_object_object_add(o, "attached", json_object_new_boolean(l->attached));
	json_object_object_add(o, "persistent", json_object_new_boolean(l->persistent));
	json_object_object_add(o, "pid", json_object_new_int64(l->pid));
	json_object_object_add(o, "created", json_object_new_int64(l->created));
	return o;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes leases/<pci>.json atomically and durably. */
int vfa_lease_save(struct vfa_state *st, const struct vfa_lease *l,
		   struct vfa_err *e)
{
	json_object *o = vfa_lease_json(l);
	const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char tmp[64], name[64];
	int fd, r;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", l->pci);
	snprintf(name, sizeof(name), "%s.json", l->pci);
	fd = openat(st->leases_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, txt, strlen(txt));
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (!r && renameat(st->leases_fd, tmp, st->leases_fd, name) < 0)
		r = -errno;
	if (!r && fsync(st->leases_fd) < 0)
		r = -errno;
	if (r)
		unlinkat(st->leases_fd, tmp, 0);
out:
	json_object_put(o);
	if (r)
		return vfa_fail(e, r, "journal %s/leases/%s: %s", st->dir, name,
				strerror(-r));
	return 0;
}

int vfa_lease_drop(struct vfa_state *st, const char *pci, struct vfa_err *e)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.json", pci);
	if (unlinkat(st->leases_fd, name, 0) < 0 && errno != ENOENT)
		return vfa_fail(e, errno, "journal %s/leases/%s: %s", st->dir,
				name, strerror(errno));
	if (fsync(st->leases_fd) < 0)
		return vfa_fail(e, errno, "journal %s: fsync: %s", st->dir,
				strerror(errno));
	return 0;
}

static int read_lease_file(struct vfa_state *st, const char *name,
			   struct vfa_lease *ret)
{
	char buf[4096];
	ssize_t n;
	int fd = openat(st->leases_fd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -errno;
	if ((size_t)n == sizeof(buf))
		return -EFBIG;
	return vfa_lease_parse(buf, (size_t)n, ret);
}

int vfa_lease_load(struct vfa_state *st, const char *pci, struct vfa_lease *ret)
{
	char name[64];
	struct vfa_lease l;
	int r;

	snprintf(name, sizeof(name), "%s.json", pci);
	r = read_lease_file(st, name, &l);
	if (r)
		return r;
	*ret = l;
	return 0;
}

int vfa_lease_list(struct vfa_state *st, struct vfa_lease **ret, size_t *ret_n,
		   json_object *bad)
{
	struct vfa_lease *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd = dup(st->leases_fd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct vfa_lease l;
		int r;

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		r = read_lease_file(st, de->d_name, &l);
		if (r == -ENOENT)
			continue;
		if (r) {
			if (bad)
				json_object_array_add(bad, json_object_new_string(de->d_name));
			continue;
		}
		if (n == cap) {
			struct vfa_lease *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[n++] = l;
	}
	closedir(d);
	*ret = v;
	*ret_n = n;
	return 0;
}
