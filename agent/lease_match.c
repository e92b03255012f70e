/* Which leases a release names (--pci, --lease, --holder, --domain). */
#include "agent/lease_match.h"

#include <string.h>
#include <strings.h>

/**
 * vfa_lease_match() - true if the release asked for by o names lease l.
 * @uuid: the UUID libvirt has now for the domain named o->domain, "" when
 * it knows none (no libvirt, no such name, or a UUID given as the name).
 *
 * --domain matches by UUID when both the lease and libvirt have one (a
 * renamed domain, a name reused by another domain); otherwise by the
 * journaled name, or by the lease's UUID given as the name.
 */
bool vfa_lease_match(const struct vfa_opts *o, const char *uuid, const struct vfa_lease *l)
{
	if (o->pci && !strcmp(l->pci, o->pci))
		return true;
	if (o->lease && !strcmp(l->id, o->lease))
		return true;
	if (o->holder && !strcmp(l->holder, o->holder))
		return true;
	if (!o->domain)
		return false;
	if (uuid[0] && l->uuid[0])
		return !strcasecmp(l->uuid, uuid);
	return !strcmp(l->domain, o->domain) || (l->uuid[0] && !strcasecmp(l->uuid, o->domain));
}
