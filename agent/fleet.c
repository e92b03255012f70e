/* What vfagent serve publishes for the fleet: one snapshot of the pools
 * (the daemon's model, vfa_fleet_snapshot_model; the leases of the
 * agent's own journal fold; PF by PF, so a missing PF does not hide the
 * others), the CDI spec and the metrics file
 * rendered from it, each replaced atomically when its content changed
 * (compared with what was last written, kept in memory). */
#include "agent/fleet.h"
#include "agent/agent_priv.h"
#include "agent/io.h"
#include "agent/model.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nl/vfnl.h"
#include "vfio/vfio.h"

/* [serve] cdi-dir; VFA_CDI_DIR when not set, "" when set empty. */
const char *vfa_fleet_cdi_dir(const struct vfa_config *cfg)
{
	return cfg->cdi_dir_set ? cfg->cdi_dir : VFA_CDI_DIR;
}

/* [serve] metrics-file; VFA_METRICS_FILE when not set, "" when set empty. */
const char *vfa_fleet_metrics_file(const struct vfa_config *cfg)
{
	return cfg->metrics_file_set ? cfg->metrics_file : VFA_METRICS_FILE;
}

static int read_same(int dfd, const char *name, const char *buf, size_t len, bool *ret_same)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *cur;
	ssize_t n;
	struct stat st;

	*ret_same = false;
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP ? 0 : -errno;	/* a link is replaced */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len) {
		close(fd);
		return 0;
	}
	cur = malloc(len + 1);
	n = cur ? read(fd, cur, len + 1) : -1;
	*ret_same = n == (ssize_t)len && !memcmp(cur, buf, len);
	free(cur);
	close(fd);
	return 0;
}

/* Replaces path with buf unless it holds exactly that already: a temp
 * file beside it (not matching *.json or *.prom, which readers glob),
 * fsync, rename, fsync of the directory; no symlink is followed at the
 * last component (O_NOFOLLOW). Mode 0644: node_exporter and the runtime
 * read it as other users. Returns 0 or -errno. */
int vfa_file_update(const char *path, const char *buf, size_t len, bool *ret_changed)
{
	const char *slash = strrchr(path, '/');
	char dir[512], base[256], tmp[300];
	int dfd, fd = -1, r;
	bool same;

	if (!slash || slash == path + strlen(path) - 1 ||
	    (size_t)(slash - path) >= sizeof(dir) || strlen(slash + 1) >= sizeof(base))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	snprintf(base, sizeof(base), "%s", slash + 1);
	snprintf(tmp, sizeof(tmp), ".%s.tmp", base);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	r = read_same(dfd, base, buf, len, &same);
	if (r || same)
		goto out;
	unlinkat(dfd, tmp, 0);	/* a crash's leftover */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = fchmod(fd, 0644) < 0 ? -errno : vfa_write_all(fd, buf, len, VFA_IO_POS);	/* umask */
	if (!r && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (!r && renameat(dfd, tmp, dfd, base) < 0)
		r = -errno;
	if (r)
		unlinkat(dfd, tmp, 0);
	else
		fsync(dfd);
out:
	close(dfd);
	if (!r && ret_changed)
		*ret_changed = !same;
	return r;
}

/* Replaces path with buf: a temp file beside it (as vfa_file_update), then
 * a rename; no fsync and no read-back. For a file rewritten on every
 * publish (the metrics): a crash or power loss leaves the previous
 * version, or at worst an empty one, until the daemon's next publish
 * (at start, then every sweep) replaces it. mask: the process umask
 * (a mode it narrows is set back to 0644). Returns 0 or -errno. */
static int vfa_file_replace(const char *path, const char *buf, size_t len, mode_t mask)
{
	const char *slash = strrchr(path, '/');
	char tmp[800];
	int fd, r;

	if (!slash || !slash[1] || snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp",
					    (int)(slash - path), path, slash + 1) >= (int)sizeof(tmp))
		return -EINVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)	/* a crash's leftover */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = (mask & 0644) && fchmod(fd, 0644) < 0 ? -errno : vfa_write_all(fd, buf, len, VFA_IO_POS);
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static bool leased(const struct vfa_lease *ls, size_t n, const char *pci)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ls[i].pci, pci))
			return true;
	return false;
}

/* One configured PF and its VFs from the daemon's model (model.c): the
 * PF's last link, its VFs' addresses and groups as last seen; only what
 * the model has not seen yet is read (and then kept). */
static void snap_model_pf(struct vfa_fleet *f, struct vfa_agent *c, const struct vfa_pool *p,
			  unsigned int j, const struct vfa_lease *ls, size_t nl)
{
	struct vfa_fleet_snap *s = &f->snap;
	struct vfa_fleet_pf *fp = &s->pfs[s->n_pfs++];
	struct vfa_err e;
	struct pf *pf;

	memset(fp, 0, sizeof(*fp));
	snprintf(fp->pool, sizeof(fp->pool), "%s", p->name);
	snprintf(fp->pf, sizeof(fp->pf), "%s", p->pf[j]);
	if (vfa_pf_resolve(c, p->pf[j], p, &pf, &e))
		return;
	fp->present = true;
	fp->up = pf->link->flags & IFF_UP;
	for (unsigned int i = 0; i < pf->link->num_vf && s->n_vfs < VFA_FLEET_MAX_VFS; i++) {
		struct vfa_fleet_vf *v = &s->vfs[s->n_vfs];

		memset(v, 0, sizeof(*v));
		if (vfa_vf_pci(c, pf, i, v->pci, sizeof(v->pci), &e))
			continue;
		snprintf(v->pool, sizeof(v->pool), "%s", p->name);
		if (!vfa_model_vf_group(c, pf, i, &v->group)) {
			if (vfio_group(c->io, v->pci, &v->group))
				v->group = -1;
			vfa_model_vf_group_seen(c, pf, i, v->group);
		}
		v->leased = ls && leased(ls, nl, v->pci);
		v->healthy = ls && fp->up && v->group >= 0;
		s->n_vfs++;
	}
}

/* Fills f->snap from every PF of every pool, as the daemon's model c
 * holds them (its PFs, VF addresses and groups, kept true by events and
 * the sweep): no link dump and no sysfs walk per publish once the model
 * has seen the VFs. When the leases cannot be read, no VF is announced
 * free. Called between requests (it brings the model up to date).
 * Returns 0 or -ENOMEM. */
int vfa_fleet_snapshot_model(struct vfa_fleet *f, struct vfa_agent *c)
{
	const struct vfa_config *cfg = vfa_agent_config(c);
	struct vfa_lease *ls = NULL;
	size_t nl = 0;

	vfa_model_refresh(c);
	/* The agent's own fold: current after its own writes, so only what
	 * other writers appended is read (a second handle would parse every
	 * record the daemon wrote since the last publish). */
	if (vfa_agent_leases(c, &ls, &nl)) {
		ls = NULL;
		nl = 0;
	}
	f->snap.n_vfs = f->snap.n_pfs = 0;
	for (unsigned int i = 0; i < cfg->n_pools; i++)
		for (unsigned int j = 0; j < cfg->pools[i].n_pf; j++)
			snap_model_pf(f, c, &cfg->pools[i], j, ls, nl);
	free(ls);
	return 0;
}

/* The daemon's fleet state, reading sysfs under sys_root (NULL: /sys).
 * It opens no netlink socket: the daemon publishes from its model
 * (vfa_fleet_snapshot_model). Returns 0 or -errno; the caller frees
 * *ret with vfa_fleet_free(). */
int vfa_fleet_new(const char *sys_root, const char *dev_root, struct vfa_fleet **ret)
{
	struct vfa_fleet *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	f->umask = umask(022);
	umask(f->umask);
	r = vfio_ctx_new(sys_root, dev_root, &f->io);
	if (r) {
		vfa_fleet_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

/* Accepts NULL. */
void vfa_fleet_free(struct vfa_fleet *f)
{
	if (!f)
		return;
	vfio_ctx_free(f->io);
	free(f->cdi.txt);
	free(f->metrics.txt);
	free(f);
}

/* Is what the daemon last wrote at path (kept in memory) txt? Then the
 * file is not read back: it was compared with the file once, at the
 * first publish to path. */
static bool same_as_last(const struct vfa_file_last *l, const char *path, const char *txt)
{
	return l->txt && !strcmp(l->path, path) && !strcmp(l->txt, txt);
}

/* Remembers txt as what path now holds (NULL: not known). */
static void set_last(struct vfa_file_last *l, const char *path, const char *txt)
{
	free(l->txt);
	l->txt = txt ? strdup(txt) : NULL;
	snprintf(l->path, sizeof(l->path), "%s", path);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* A fingerprint of what the CDI spec is rendered from (each VF's pool,
 * address and group): equal, the spec is not even rendered again. */
static uint64_t cdi_fp(const struct vfa_fleet_snap *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < s->n_vfs; i++) {
		const struct vfa_fleet_vf *v = &s->vfs[i];

		h = fnv(h, v->pool, strlen(v->pool) + 1);
		h = fnv(h, v->pci, strlen(v->pci) + 1);
		h = fnv(h, &v->group, sizeof(v->group));
	}
	return h;
}

static int write_cdi(struct vfa_fleet *f, const char *dir, struct vfa_err *e)
{
	char path[512], *txt = NULL;
	uint64_t fp = cdi_fp(&f->snap);
	bool first;
	size_t n = 0;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", dir, VFA_CDI_FILE) >= (int)sizeof(path))
		return vfa_usage(e, ENAMETOOLONG, "[serve] cdi-dir %s: path too long", dir);
	if (f->cdi.txt && !strcmp(f->cdi.path, path) && f->cdi.fp == fp)
		return 0;	/* the same VFs as the spec written: not rendered */
	for (size_t i = 0; i < f->snap.n_vfs; i++)
		n += f->snap.vfs[i].group >= 0;
	r = n ? vfa_cdi_render(&f->snap, &txt) : 0;
	if (r)
		return vfa_fail(e, r, "CDI spec %s: out of memory", path);
	if (same_as_last(&f->cdi, path, n ? txt : "")) {
		free(txt);
		f->cdi.fp = fp;
		return 0;	/* unchanged since we wrote it: no syscall */
	}
	first = !f->cdi.txt || strcmp(f->cdi.path, path);
	set_last(&f->cdi, path, NULL);
	if (first && mkdir(dir, 0755) < 0 && errno != EEXIST) {
		free(txt);
		return vfa_fail(e, errno, "CDI spec: cannot create %s: %s (create it or set [serve] cdi-dir, empty disables)",
				dir, strerror(errno));
	}
	if (!n) {	/* a spec without devices is invalid: none at all */
		if (unlink(path) < 0 && errno != ENOENT)
			return vfa_fail(e, errno, "CDI spec %s: cannot remove: %s", path, strerror(errno));
		set_last(&f->cdi, path, "");
		f->cdi.fp = fp;
		return 0;
	}
	/* Durable (fsync'd) and only on change: runtimes read it, and it
	 * changes only when the VFs do. */
	r = vfa_file_update(path, txt, strlen(txt), NULL);
	if (!r) {
		set_last(&f->cdi, path, txt);
		f->cdi.fp = fp;
	}
	free(txt);
	if (r)
		return vfa_fail(e, r, "CDI spec %s: cannot write: %s", path, strerror(-r));
	return 0;
}

/* quiet: the default path, whose directory exists only where
 * prometheus-node-exporter is installed: no directory, no file, no word. */
static int write_metrics(struct vfa_fleet *f, const char *path, bool quiet,
			 struct vfa_err *e)
{
	char *txt = NULL;
	int r = vfa_metrics_render(&f->m, &f->snap, &txt);

	/* Unchanged: a fresh mtime still says the daemon is alive
	 * (node_textfile_mtime_seconds); gone meanwhile: written again. */
	if (!r && same_as_last(&f->metrics, path, txt) &&
	    utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) == 0) {
		free(txt);
		return 0;
	}
	set_last(&f->metrics, path, NULL);
	if (!r)
		r = vfa_file_replace(path, txt, strlen(txt), f->umask);
	if (!r)
		set_last(&f->metrics, path, txt);
	free(txt);
	if (r == -ENOENT && quiet)
		return 0;
	if (r == -ENOENT)
		return vfa_fail(e, r, "metrics file %s: its directory does not exist (install prometheus-node-exporter, or set [serve] metrics-file; empty disables)",
				path);
	if (r)
		return vfa_fail(e, r, "metrics file %s: cannot write: %s", path, strerror(-r));
	return 0;
}

/* The next publish compares the CDI spec with the file, not with what
 * was written last: the sweep's safety net for a spec removed or edited
 * behind the daemon's back (a read every sweep, not every publish). */
void vfa_fleet_recheck(struct vfa_fleet *f)
{
	free(f->cdi.txt);
	f->cdi.txt = NULL;
}

/* Rewrites what changed of the CDI spec and the metrics file, from a
 * snapshot of the daemon's model c (vfa_fleet_snapshot_model). Returns 1
 * with e set when this failure differs from the last one (the caller
 * logs it once), else 0. */
int vfa_fleet_publish(struct vfa_fleet *f, struct vfa_agent *c, bool libvirt_connected,
		      struct vfa_err *e)
{
	const struct vfa_config *cfg = vfa_agent_config(c);
	const char *dir = vfa_fleet_cdi_dir(cfg), *mf = vfa_fleet_metrics_file(cfg);
	int r = 0;

	e->msg[0] = '\0';
	vfa_metrics_sync(&f->m, cfg);
	r = vfa_fleet_snapshot_model(f, c);
	if (r)
		return vfa_fail(e, r, "metrics and CDI spec: out of memory"), 1;
	f->snap.libvirt_connected = libvirt_connected;
	if (*dir)
		r = write_cdi(f, dir, e);
	if (*mf && !r)
		r = write_metrics(f, mf, !cfg->metrics_file_set, e);
	else if (*mf)
		write_metrics(f, mf, true, &(struct vfa_err){ "", 0 });
	if (!strcmp(e->msg, f->last_err))
		return 0;
	snprintf(f->last_err, sizeof(f->last_err), "%s", e->msg);
	return r ? 1 : 0;
}

/* The counts of a result's "repairs" object (kind name: count; names
 * this version does not know are left out). */
static void repairs_of(json_object *rep, unsigned int n[VFA_REPAIR__N])
{
	memset(n, 0, VFA_REPAIR__N * sizeof(n[0]));
	if (!json_object_is_type(rep, json_type_object))
		return;
	json_object_object_foreach(rep, k, v) {
		enum vfa_repair kind = vfa_repair_from_str(k);
		int64_t x = json_object_get_int64(v);

		if (kind != VFA_REPAIR_UNKNOWN && json_object_is_type(v, json_type_int) &&
		    x > 0 && x < 1 << 20)
			n[kind] = (unsigned int)x;
	}
}

/* Counts one request the daemon ran (op, its options o, result r, e's
 * exit status, the result document res, its duration) and the repairs
 * its reconcile did (res's "repairs"). */
void vfa_fleet_op(struct vfa_fleet *f, const char *op, const struct vfa_opts *o, int r,
		  const struct vfa_err *e, json_object *res, double seconds)
{
	unsigned int n[VFA_REPAIR__N];
	json_object *v;

	if (res && json_object_object_get_ex(res, "repairs", &v)) {
		repairs_of(v, n);
		vfa_metrics_repairs(&f->m, n);
	}
	if (!op)
		return;
	if (!strcmp(op, "alloc"))
		vfa_metrics_alloc(&f->m, o->pool, r, e->exit, seconds);
	if (strcmp(op, "release"))
		return;
	if (r && r != -EINPROGRESS) {
		vfa_metrics_release(&f->m, NULL, 0, r, seconds);
		return;
	}
	if (res && json_object_object_get_ex(res, "released", &v) && json_object_array_length(v))
		vfa_metrics_release(&f->m, jstr(json_object_array_get_idx(v, 0), "pool"),
				    (unsigned int)json_object_array_length(v), r, seconds);
}
