/* The CDI spec of the pool VFs (Container Device Interface, spec version
 * VFA_CDI_VERSION): kind vfagent.io/vf, one device per VF named by its
 * PCI address (CDI device names may hold ':' and '.'), giving a container
 * /dev/vfio/vfio, the VF's /dev/vfio/<group> and the variable
 * sriov-network-device-plugin sets for the resource vfagent.io/<pool>. */
#include "agent/fleet.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PCIDEVICE_<RESOURCE> for the resource vfagent.io/<pool>: upper case,
 * every character but a letter or digit made '_' (the device plugin's
 * convention). Cut to size, always terminated. */
void vfa_cdi_env_name(const char *pool, char *buf, size_t size)
{
	size_t n;

	if (!size)
		return;
	n = (size_t)snprintf(buf, size, "PCIDEVICE_VFAGENT_IO_%s", pool);
	if (n >= size)
		n = size - 1;
	for (size_t i = strlen("PCIDEVICE_"); i < n; i++)
		buf[i] = isalnum((unsigned char)buf[i]) ? (char)toupper((unsigned char)buf[i]) : '_';
}

static json_object *node(const char *path)
{
	json_object *n = json_object_new_object();

	json_object_object_add(n, "path", json_object_new_string(path));
	json_object_object_add(n, "permissions", json_object_new_string("rw"));
	return n;
}

static json_object *device(const struct vfa_fleet_vf *v)
{
	json_object *d = json_object_new_object(), *ed = json_object_new_object();
	json_object *env = json_object_new_array(), *nodes = json_object_new_array();
	char name[128], kv[256], path[32];

	vfa_cdi_env_name(v->pool, name, sizeof(name));
	snprintf(kv, sizeof(kv), "%s=%s", name, v->pci);
	json_object_array_add(env, json_object_new_string(kv));
	snprintf(path, sizeof(path), "/dev/vfio/%d", v->group);
	json_object_array_add(nodes, node(path));
	json_object_object_add(ed, "env", env);
	json_object_object_add(ed, "deviceNodes", nodes);
	json_object_object_add(d, "name", json_object_new_string(v->pci));
	json_object_object_add(d, "containerEdits", ed);
	return d;
}

/* The spec as JSON text, devices in the snapshot's order (VFs with no
 * IOMMU group have no node to give and are left out). *ret is malloc'd,
 * the caller frees it; returns 0 or -ENOMEM. */
int vfa_cdi_render(const struct vfa_fleet_snap *s, char **ret)
{
	json_object *spec = json_object_new_object(), *devs = json_object_new_array();
	json_object *common = json_object_new_object(), *nodes = json_object_new_array();
	char *txt;

	if (!spec || !devs || !common || !nodes) {
		json_object_put(spec);
		json_object_put(devs);
		json_object_put(common);
		json_object_put(nodes);
		return -ENOMEM;
	}
	json_object_object_add(spec, "cdiVersion", json_object_new_string(VFA_CDI_VERSION));
	json_object_object_add(spec, "kind", json_object_new_string(VFA_CDI_KIND));
	for (size_t i = 0; i < s->n_vfs; i++)
		if (s->vfs[i].group >= 0)
			json_object_array_add(devs, device(&s->vfs[i]));
	json_object_object_add(spec, "devices", devs);
	/* The container node every VFIO user opens first, once per spec. */
	json_object_array_add(nodes, node("/dev/vfio/vfio"));
	json_object_object_add(common, "deviceNodes", nodes);
	json_object_object_add(spec, "containerEdits", common);
	txt = strdup(json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(spec);
	if (!txt)
		return -ENOMEM;
	*ret = txt;
	return 0;
}
