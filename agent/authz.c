/* Who may do what through vfagent serve: the peer's credentials as the
 * kernel recorded them at connect(), and the config's rules, checked on
 * every request (so a reload applies to open connections too). */
#include "agent/serve_priv.h"
#include "agent/lease_match.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Fills *ret from fd's SO_PEERCRED and SO_PEERGROUPS; 0 or -errno. A
 * kernel without SO_PEERGROUPS leaves only the primary group. */
int vfa_peer_get(int fd, struct vfa_peer *ret)
{
	struct vfa_peer p = { .ngroups = 0 };
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	p.uid = cr.uid;
	p.gid = cr.gid;
	p.pid = cr.pid;
	len = sizeof(p.groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p.groups, &len) == 0) {
		p.ngroups = len / sizeof(gid_t);
	} else if (errno == ERANGE) {
		/* More groups than we keep: the first ones, flagged. */
		gid_t *all = malloc(len);

		if (!all)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, all, &len) == 0) {
			p.ngroups = VFA_PEER_GROUPS;
			memcpy(p.groups, all, sizeof(p.groups));
			p.groups_truncated = true;
		}
		free(all);
	} else if (errno != ENOPROTOOPT) {
		return -errno;
	}
	*ret = p;
	return 0;
}

/* True if g is the peer's primary or one of its supplementary groups. */
bool vfa_peer_in_group(const struct vfa_peer *p, gid_t g)
{
	if (p->gid == g)
		return true;
	for (unsigned int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == g)
			return true;
	return false;
}

static bool in_groups(const struct vfa_peer *p, const gid_t *gids, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (vfa_peer_in_group(p, gids[i]))
			return true;
	return false;
}

static bool in_uids(uid_t uid, const uid_t *uids, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (uids[i] == uid)
			return true;
	return false;
}

/* root, or a member of [serve] admin-groups. */
bool vfa_authz_admin(const struct vfa_config *cfg, const struct vfa_peer *p)
{
	return p->uid == 0 || in_groups(p, cfg->admin_gid, cfg->n_admin_gid);
}

/* May the peer use the daemon at all: root, admin-groups, allow-users,
 * allow-groups. */
bool vfa_authz_connect(const struct vfa_config *cfg, const struct vfa_peer *p)
{
	return vfa_authz_admin(cfg, p) || in_uids(p->uid, cfg->allow_uid, cfg->n_allow_uid) ||
	       in_groups(p, cfg->allow_gid, cfg->n_allow_gid);
}

static const struct vfa_pool *pool_of(const struct vfa_config *cfg, const char *name)
{
	for (unsigned int i = 0; name && i < cfg->n_pools; i++)
		if (!strcmp(cfg->pools[i].name, name))
			return &cfg->pools[i];
	return NULL;
}

static bool vlan_allowed(const struct vfa_pool *pl, uint16_t vlan)
{
	if (!pl->n_vlan_ranges)
		return true;
	for (unsigned int i = 0; i < pl->n_vlan_ranges; i++)
		if (vlan >= pl->vlan_lo[i] && vlan <= pl->vlan_hi[i])
			return true;
	return false;
}

/* The rules of one request, before it runs: 0, or -EACCES with e naming
 * the config key that would allow it. Release ownership: see below. */
int vfa_authz_request(const struct vfa_config *cfg, const struct vfa_peer *p,
		      const char *op, const struct vfa_opts *o, struct vfa_err *e)
{
	const struct vfa_pool *pl;

	if (!vfa_authz_connect(cfg, p))
		return vfa_denied(e, "permission denied: uid %u is not allowed to use the daemon (add it to [serve] allow-users or allow-groups in %s)",
				  (unsigned int)p->uid, cfg->path);
	if (vfa_authz_admin(cfg, p))
		return 0;
	if (!strcmp(op, "setup"))
		return vfa_denied(e, "permission denied: setup is reserved to root and [serve] admin-groups in %s (uid %u is in none)",
				  cfg->path, (unsigned int)p->uid);
	if (!strcmp(op, "release") && o->holder)
		return vfa_denied(e, "permission denied: release --holder (every lease of a holder) is reserved to root and [serve] admin-groups in %s (uid %u is in none)",
				  cfg->path, (unsigned int)p->uid);
	if (strcmp(op, "alloc") || !(pl = pool_of(cfg, o->pool)))
		return 0;
	if ((pl->n_acl_uid || pl->n_acl_gid) && !in_uids(p->uid, pl->acl_uid, pl->n_acl_uid) &&
	    !in_groups(p, pl->acl_gid, pl->n_acl_gid))
		return vfa_denied(e, "permission denied: uid %u may not alloc from pool %s (its allow-users / allow-groups in [pool %s] of %s)",
				  (unsigned int)p->uid, pl->name, pl->name, cfg->path);
	if (o->has_vlan && !vlan_allowed(pl, o->vlan))
		return vfa_denied(e, "permission denied: VLAN %u is not in allow-vlans of [pool %s] in %s",
				  (unsigned int)o->vlan, pl->name, cfg->path);
	return 0;
}

/* A release may touch only the peer's own leases (ls[i].owner, journaled
 * with the lease; VFA_NO_OWNER: root's), unless the peer is an admin;
 * uuid is the UUID of o->domain as libvirt knows it ("" if not).
 * 0 or -EACCES with e set. */
int vfa_authz_release(const struct vfa_config *cfg, const struct vfa_peer *p,
		      const struct vfa_opts *o, const char *uuid,
		      const struct vfa_lease *ls, size_t n, struct vfa_err *e)
{
	if (vfa_authz_admin(cfg, p))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!vfa_lease_match(o, uuid, &ls[i]) || ls[i].owner == p->uid)
			continue;
		if (ls[i].owner == VFA_NO_OWNER)
			return vfa_denied(e, "permission denied: lease %s (%s) has no recorded owner (made by vfagent --direct or before owners were recorded); only root and [serve] admin-groups in %s may release it",
					  ls[i].id, ls[i].pci, cfg->path);
		return vfa_denied(e, "permission denied: lease %s (%s) belongs to uid %u; releasing another user's lease is reserved to root and [serve] admin-groups in %s",
				  ls[i].id, ls[i].pci, (unsigned int)ls[i].owner, cfg->path);
	}
	return 0;
}
