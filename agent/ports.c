/* Hot-plug slots of libvirt domains: the check before a live attach (a
 * domain with no free slot fails inside libvirt with "No more available
 * PCI slots" after the VF was already prepared), and `vfagent ports`,
 * which adds spare pcie-root-port controllers to a domain's saved config
 * (OpenStack Nova does the same with [libvirt] num_pcie_ports), taking
 * effect at its next start: ports cannot be hot-added to a running q35. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/slots.h"

#define PORTS_HINT 4	/* the --add count the refusal suggests */

/* Free slots in the domain's live (or saved) XML. */
static int slots_of(struct vfa_virt *v, const char *domain, bool inactive,
		    struct vfa_slots *ret, struct vfa_err *e)
{
	char *xml = NULL;
	int r = vfa_virt_xml(v, domain, inactive, &xml, e);

	if (r)
		return r;
	r = vfa_slots_count(xml, strlen(xml), ret);
	if (r)
		vfa_fail(e, -r, "cannot read the PCI topology of %s from its XML", domain);
	free(xml);
	return r;
}

/**
 * vfa_slots_require() - 0 if the running domain has a free hot-plug slot
 * (or a machine type whose slots are not counted); -ENOSPC naming the fix
 * if it has none, so alloc can refuse before it changes anything.
 */
int vfa_slots_require(struct vfa_virt *v, const char *domain, struct vfa_err *e)
{
	struct vfa_slots s;
	int r = slots_of(v, domain, false, &s, e);

	if (r)
		return r;
	if (s.machine == VFA_MACHINE_UNKNOWN || s.free)
		return 0;
	if (s.machine == VFA_MACHINE_Q35)
		return vfa_fail(e, ENOSPC,
				"domain %s has no free hot-plug slot (all %u pcie-root-ports are in use): run vfagent ports %s --add %d and restart the domain, or attach with --persistent only and restart it",
				domain, s.ports, domain, PORTS_HINT);
	return vfa_fail(e, ENOSPC,
			"domain %s has no free hot-plug slot on its PCI buses: add a <controller type='pci' model='pci-bridge'/> to its config (virsh edit %s) and restart it",
			domain, domain);
}

static json_object *slots_json(const struct vfa_slots *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "machine", json_object_new_string(vfa_machine_names[s->machine]));
	json_object_object_add(o, "free", json_object_new_int((int)s->free));
	json_object_object_add(o, "ports", json_object_new_int((int)s->ports));
	return o;
}

/* Adds n empty pcie-root-ports to the saved config of domain. */
static int add_ports(struct vfa_virt *v, const char *domain, unsigned int n,
		     struct vfa_err *e)
{
	char *xml = NULL, *nxml = NULL;
	int r = vfa_virt_xml(v, domain, true, &xml, e);

	if (r)
		return r;
	r = vfa_slots_add_ports(xml, n, &nxml);
	if (r == -ENOTSUP)
		vfa_fail(e, ENOTSUP, "domain %s is not a q35 machine: pcie-root-ports need one; add a <controller type='pci' model='pci-bridge'/> (31 slots) with virsh edit %s instead",
			 domain, domain);
	else if (r == -ERANGE)
		vfa_usage(e, ERANGE, "--add takes 1..%d ports", VFA_PORTS_MAX);
	else if (r)
		vfa_fail(e, -r, "cannot add ports to the XML of %s", domain);
	else
		r = vfa_virt_define(v, nxml, e);
	free(nxml);
	free(xml);
	return r;
}

/**
 * vfa_ports() - free hot-plug slots of domain now (live, when running)
 * and in its saved config; with add > 0 first adds that many empty
 * pcie-root-ports to the saved config. *ret is the caller's JSON.
 */
static int vfa_ports(const struct vfa_config *cfg, const char *domain, unsigned int add,
	      json_object **ret, struct vfa_err *e)
{
	struct vfa_virt *v = NULL;
	struct vfa_slots live, saved;
	char uuid[VFA_UUID_LEN];
	bool running = false;
	json_object *o;
	int r;

	r = vfa_virt_open(cfg->libvirt_uri, &v, e);
	if (r)
		return r;
	r = vfa_virt_domain(v, domain, &running, uuid, e);
	if (!r && add)
		r = add_ports(v, domain, add, e);
	if (!r && running)
		r = slots_of(v, domain, false, &live, e);
	if (!r)
		r = slots_of(v, domain, true, &saved, e);
	if (r)
		goto out;
	o = json_object_new_object();
	json_object_object_add(o, "domain", json_object_new_string(domain));
	json_object_object_add(o, "running", json_object_new_boolean(running));
	json_object_object_add(o, "live", running ? slots_json(&live) : NULL);
	json_object_object_add(o, "config", slots_json(&saved));
	json_object_object_add(o, "added", json_object_new_int((int)add));
	*ret = o;
out:
	vfa_virt_close(v);
	return r;
}

/**
 * vfa_ports_main() - `vfagent ports DOMAIN [--add N]`, run directly (not
 * through the daemon): prints the result as text or JSON, returns the
 * exit code.
 */
int vfa_ports_main(const struct vfa_opts *o, bool json)
{
	struct vfa_config *cfg = calloc(1, sizeof(*cfg));
	struct vfa_err e = { "", 0 };
	json_object *res = NULL, *l, *c;
	int r;

	if (!o->domain) {
		free(cfg);
		fprintf(stderr, "vfagent: ports needs a domain: vfagent ports DOMAIN [--add N]\n");
		return VFA_EXIT_USAGE;
	}
	r = cfg ? vfa_config_load(o->config, cfg, &e) : vfa_fail(&e, ENOMEM, "out of memory");
	if (!r)
		r = vfa_ports(cfg, o->domain, o->ports_add, &res, &e);
	free(cfg);
	if (r) {
		fprintf(stderr, "vfagent: %s\n", e.msg);
		return e.exit ? e.exit : VFA_EXIT_FAIL;
	}
	if (json) {
		puts(json_object_to_json_string_ext(res, JSON_C_TO_STRING_PRETTY));
	} else {
		json_object_object_get_ex(res, "live", &l);
		json_object_object_get_ex(res, "config", &c);
		if (o->ports_add)
			printf("added %u pcie-root-port(s) to the config of %s: they appear at its next start (virsh shutdown, virsh start)\n",
			       o->ports_add, o->domain);
		if (l)
			printf("%s (%s) now: %d free hot-plug slot(s)\n", o->domain,
			       json_object_get_string(json_object_object_get(l, "machine")),
			       json_object_get_int(json_object_object_get(l, "free")));
		else
			printf("%s is not running\n", o->domain);
		printf("%s (%s) config: %d free hot-plug slot(s) at the next start\n", o->domain,
		       json_object_get_string(json_object_object_get(c, "machine")),
		       json_object_get_int(json_object_object_get(c, "free")));
	}
	json_object_put(res);
	return 0;
}
