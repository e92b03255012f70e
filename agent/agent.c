/* The agent handle: open, close, reload, the PF cache, and what every
 * operation shares (the journal, notes, the libvirt connection, begin). */
#include "agent/agent_priv.h"

#include "agent/agent.h"
#include "agent/model.h"

#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "nl/vfnl.h"
#include "pci/vfpci.h"
#include "vfio/vfio.h"

/* Forgets every PF looked up: each operation starts from the kernel. */
void vfa_pf_cache_clear(struct vfa_agent *c)
{
	for (unsigned int i = 0; i < c->n_pfs; i++) {
		free(c->pfs[i].link);
		free(c->pfs[i].vf_pci);
	}
	c->n_pfs = 0;
}

/* Frees everything the agent holds; accepts NULL. */
void vfa_agent_close(struct vfa_agent *c)
{
	if (!c)
		return;
	vfa_pf_cache_clear(c);
	vfa_vf_holds_close(c);
	vfa_virt_close(c->virt);
	vfa_state_close(c->st);
	vfa_state_close(c->pst);
	vfio_ctx_free(c->io);
	vfpci_close(c->pci);
	vfnl_close(c->nl);
	json_object_put(c->notes);
	free(c);
}

/* Opens what every operation needs: config, rtnetlink, libpci, sysfs and
 * the state dir. *ret is the caller's (vfa_agent_close). */
int vfa_agent_open(const struct vfa_opts *o, struct vfa_agent **ret,
		   struct vfa_err *e)
{
	return vfa_agent_open_nl(o, NULL, ret, e);
}

/* vfa_agent_open() on the vfnl handle nl instead of a new rtnetlink socket
 * when nl is not NULL (the test seam: tests/unit/test_policy.c passes a
 * replay, nl/vfnl_priv.h). Takes nl in every case: the agent closes it. */
int vfa_agent_open_nl(const struct vfa_opts *o, struct vfnl *nl,
		      struct vfa_agent **ret, struct vfa_err *e)
{
	struct vfa_agent *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		vfnl_close(nl);
		return vfa_fail(e, ENOMEM, "out of memory");
	}
	c->nl = nl;
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", o->state_dir);
	r = snprintf(c->persist_dir, sizeof(c->persist_dir), "%s",
		     o->persist_dir ? o->persist_dir : VFA_PERSIST_DIR);
	if (r < 0 || (size_t)r >= sizeof(c->persist_dir)) {
		vfa_agent_close(c);
		return vfa_usage(e, ENAMETOOLONG, "--persist-dir: path longer than %zu bytes",
				 sizeof(c->persist_dir) - 1);
	}
	c->node_timeout_ms = o->node_timeout_ms > 0 ? o->node_timeout_ms : NODE_TIMEOUT_MS;
	c->notes = json_object_new_array();
	r = vfa_config_load(o->config, &c->cfg, e);
	if (r)
		goto fail;
	r = c->nl ? 0 : vfnl_open(&c->nl);
	if (r) {
		vfa_fail(e, r, "rtnetlink: %s", strerror(-r));
		goto fail;
	}
	r = vfpci_open(o->sys_root, &c->pci);
	if (r) {
		vfa_fail(e, r, "libpci: %s", strerror(-r));
		goto fail;
	}
	r = vfio_ctx_new(o->sys_root, o->dev_root, &c->io);
	if (r) {
		vfa_fail(e, r, "vfio: %s", strerror(-r));
		goto fail;
	}
	r = vfa_state_open(o->state_dir, &c->st, e);
	if (r)
		goto fail;
	*ret = c;
	return 0;
fail:
	vfa_agent_close(c);
	return r;
}

/* Rereads the config; on error the old one stays and e says why. */
int vfa_agent_reload(struct vfa_agent *c, struct vfa_err *e)
{
	struct vfa_config *cfg = malloc(sizeof(*cfg));
	int r;

	if (!cfg)
		return vfa_fail(e, ENOMEM, "out of memory");
	r = vfa_config_load(c->cfg.path, cfg, e);
	if (!r) {
		vfa_pf_cache_clear(c);
		c->cfg = *cfg;
	}
	free(cfg);
	return r;
}

/* The config in force (the agent's; valid until the next reload). */
const struct vfa_config *vfa_agent_config(const struct vfa_agent *c)
{
	return &c->cfg;
}

static json_object *vjfmt(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
static json_object *vjfmt(const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	return json_object_new_string(buf);
}

/* A new JSON string, formatted; the caller owns it. */
json_object *vfa_jfmt(const char *fmt, ...)
{
	json_object *o;
	va_list ap;

	va_start(ap, fmt);
	o = vjfmt(fmt, ap);
	va_end(ap);
	return o;
}

/* Records what reconcile repaired or found; shown with the result. */
void vfa_note(struct vfa_agent *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_object_array_add(c->notes, vjfmt(fmt, ap));
	va_end(ap);
}

/* vfa_note() for a repair: also counted by kind, for the result's
 * "repairs" and the metrics (repair.h). */
void vfa_repaired(struct vfa_agent *c, enum vfa_repair kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_object_array_add(c->notes, vjfmt(fmt, ap));
	va_end(ap);
	if (kind >= 0 && kind < VFA_REPAIR__N)
		c->repairs[kind]++;
}

/* The repairs of a's last operation (VFA_REPAIR__N counts, by kind), owned
 * by a until its next operation. */
const unsigned int *vfa_agent_repairs(const struct vfa_agent *a)
{
	return a->repairs;
}

/* Copies src into dst, or -ENAMETOOLONG: nothing journaled is ever cut. */
int vfa_put_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Writes a lease to the journal and, when persistent, to the persistent
 * journal as well (runtime first: a crash between the two leaves a lease
 * the next command finishes). */
int vfa_journal(struct vfa_agent *c, const struct vfa_lease *l, struct vfa_err *e)
{
	int r = vfa_lease_save(c->st, l, e);

	if (r || !l->persistent || !c->persist_dir[0])
		return r;
	if (!c->pst) {
		r = vfa_persist_open(c->persist_dir, true, &c->pst, e);
		if (r)
			return r;
	}
	return vfa_lease_save(c->pst, l, e);
}

/* Drops a lease, the persistent copy first: no crash leaves a persistent
 * lease without its runtime one. */
int vfa_unjournal(struct vfa_agent *c, const char *pci, struct vfa_err *e)
{
	int r;

	if (!c->pst) {
		r = vfa_persist_open(c->persist_dir, false, &c->pst, e);
		if (r)
			return r;
	}
	if (c->pst) {
		r = vfa_lease_drop(c->pst, pci, e);
		if (r)
			return r;
	}
	return vfa_lease_drop(c->st, pci, e);
}

/* The libvirt connection, opened once per operation at most; e gets the
 * reason when there is none. */
struct vfa_virt *vfa_virt_conn(struct vfa_agent *c, struct vfa_err *e)
{
	if (c->no_libvirt) {
		c->virt_errno = -EAGAIN;
		if (e)
			vfa_fail(e, EAGAIN, "setup does not ask libvirt (it runs before libvirt at boot)");
		return NULL;
	}
	if (!c->virt && !c->virt_tried) {
		c->virt_tried = true;
		c->virt_errno = vfa_virt_open(c->cfg.libvirt_uri, &c->virt, &c->virt_err);
	}
	if (!c->virt && e)
		*e = c->virt_err;
	return c->virt;
}

/* Starts one operation: fresh view of the PFs, the state lock, reconcile. */
int vfa_begin(struct vfa_agent *c, struct vfa_err *e)
{
	int r;

	/* The daemon's model (model.c) keeps the PFs; the CLI starts over. */
	if (c->model.on)
		vfa_model_refresh(c);
	else
		vfa_pf_cache_clear(c);
	json_object_put(c->notes);
	c->notes = json_object_new_array();
	memset(c->repairs, 0, sizeof(c->repairs));
	c->n_reclaimed = 0;
	if (!c->virt)
		c->virt_tried = false;	/* the daemon retries libvirt per operation */
	r = vfa_state_lock(c->st, e);
	if (r)
		return r;
	/* Reconciled on the sweep and on events; but while the persistent
	 * leases are not restored (alloc refuses), each operation retries. */
	if (c->model.on && !c->model.due && !c->unrestored[0])
		return 0;
	c->model.due = false;
	vfa_rebuild(c);
	vfa_reconcile_leases(c);
	return 0;
}

/* Every journaled lease (*ret malloc'd, the caller frees), or -errno with
 * e. */
int vfa_leases_of(struct vfa_agent *c, struct vfa_lease **ret, size_t *ret_n,
		  struct vfa_err *e)
{
	int r = vfa_lease_list(c->st, ret, ret_n, NULL);

	if (r)
		return vfa_fail(e, r, "journal %s: %s", c->state_dir, strerror(-r));
	return 0;
}

/* The state lock, tried: 0 (held now, kept for the operation that follows),
 * -EWOULDBLOCK when another process holds it, another -errno. */
int vfa_agent_trylock(struct vfa_agent *c)
{
	return vfa_state_trylock(c->st);
}

/* Lets go of the state lock; accepts it not held (no syscall then). */
void vfa_agent_unlock(struct vfa_agent *c)
{
	vfa_state_unlock(c->st);
}

/* The leases as c's journal fold has them, brought up to date (one pread
 * when nothing is new). *ret is malloc'd, the caller's. 0 or -errno. */
int vfa_agent_leases(struct vfa_agent *c, struct vfa_lease **ret, size_t *ret_n)
{
	return vfa_lease_list(c->st, ret, ret_n, NULL);
}

/* c's appends leave compaction to vfa_agent_compact, called between
 * requests, until the log passes the larger bound (journal_priv.h). */
void vfa_agent_defer_compaction(struct vfa_agent *c)
{
	vfa_state_defer_compaction(c->st);
}

/* vfa_state_compact on c's journal: 1 compacted, 0 not due, -errno. */
int vfa_agent_compact(struct vfa_agent *c, struct vfa_err *e)
{
	return vfa_state_compact(c->st, e);
}

/* vfa_begin() for commands that only read: the leases, then the lock is let go. */
int vfa_begin_read(struct vfa_agent *c, struct vfa_lease **ret_ls,
		   size_t *ret_n, struct vfa_err *e)
{
	int r;

	/* The daemon answers from its model at once: no state lock (a
	 * --direct CLI holding it must not delay status or list). */
	if (c->model.on) {
		vfa_model_refresh(c);
		json_object_put(c->notes);
		c->notes = json_object_new_array();
		memset(c->repairs, 0, sizeof(c->repairs));
		if (c->unrestored[0])	/* from the last rebuild: still so */
			vfa_note(c, "%s", c->unrestored);
		return vfa_leases_of(c, ret_ls, ret_n, e);
	}
	r = vfa_begin(c, e);
	if (r)
		return r;
	r = vfa_leases_of(c, ret_ls, ret_n, e);
	vfa_state_unlock(c->st);
	return r;
}

/* Adds the reconcile notes to a result document, and "repairs" (kind:
 * count) when reconcile repaired anything; returns it. */
json_object *vfa_finish(struct vfa_agent *c, json_object *o)
{
	json_object *rep = NULL;

	json_object_object_add(o, "reconcile", json_object_get(c->notes));
	for (int k = 0; k < VFA_REPAIR__N; k++) {
		if (!c->repairs[k])
			continue;
		if (!rep)
			rep = json_object_new_object();
		json_object_object_add(rep, vfa_repair_str((enum vfa_repair)k),
				       json_object_new_int64(c->repairs[k]));
	}
	if (rep)
		json_object_object_add(o, "repairs", rep);
	return o;
}

/* A result document holding val under key, with the reconcile notes. */
json_object *vfa_result(struct vfa_agent *c, const char *key, json_object *val)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, val);
	return vfa_finish(c, o);
}

/* The lease of VF pci among ls, or NULL. */
const struct vfa_lease *vfa_lease_on(const struct vfa_lease *ls, size_t n,
				     const char *pci)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ls[i].pci, pci))
			return &ls[i];
	return NULL;
}

/* The libvirt connection, reopened if it died; NULL with e set if none. */
struct vfa_virt *vfa_agent_virt(struct vfa_agent *c, struct vfa_err *e)
{
	if (c->virt && !vfa_virt_alive(c->virt))
		vfa_agent_virt_lost(c);
	if (!c->virt)
		c->virt_tried = false;
	return vfa_virt_conn(c, e);
}

/* Drops the libvirt connection (the daemon reconnects from its timer). */
void vfa_agent_virt_lost(struct vfa_agent *c)
{
	vfa_virt_close(c->virt);
	c->virt = NULL;
	c->virt_tried = false;
}
