/* vfio/uevent.c's parser on kernel uevent bytes recorded in the lab
 * (guest 6.1, igb VF 0000:00:12.0 in IOMMU group 6, bound to vfio-pci by
 * driver_override + drivers_probe, unbound, bound again, removed with
 * sriov_numvfs; tests/unit/uevent_rec.h), and what the
 * daemon's model does with each (agent/model.c). No kernel needed. */
#include "agent/agent_priv.h"
#include "agent/model.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio/vfio.h"

/* A recorded message: the bytes as received, NULs included. */
#define MSG(s) { s, sizeof(s) - 1 }
struct msg {
	const char *b;
	size_t n;
};

#include "tests/unit/uevent_rec.h"

static void test_parse(void)
{
	struct vfio_uevent ev;
	int r;

	r = vfio_uevent_parse(REC_BIND.b, REC_BIND.n, &ev);
	T("uevent.bind", r == 0 && ev.action == VFIO_UEV_BIND && !strcmp(ev.subsystem, "pci") &&
	  !strcmp(ev.pci, "0000:00:12.0") && !strcmp(ev.driver, "vfio-pci") && ev.group == -1,
	  "r=%d action %d subsys %s pci %s driver %s group %d", r, ev.action, ev.subsystem,
	  ev.pci, ev.driver, ev.group);
	r = vfio_uevent_parse(REC_UNBIND.b, REC_UNBIND.n, &ev);
	T("uevent.unbind", r == 0 && ev.action == VFIO_UEV_UNBIND && !strcmp(ev.pci, "0000:00:12.0") &&
	  !ev.driver[0], "r=%d action %d pci %s driver %s", r, ev.action, ev.pci, ev.driver);
	r = vfio_uevent_parse(REC_NODE_ADD.b, REC_NODE_ADD.n, &ev);
	T("uevent.node_add", r == 0 && ev.action == VFIO_UEV_ADD && !strcmp(ev.subsystem, "vfio") &&
	  ev.group == 6 && !ev.pci[0], "r=%d action %d subsys %s group %d", r, ev.action,
	  ev.subsystem, ev.group);
	r = vfio_uevent_parse(REC_NODE_REMOVE.b, REC_NODE_REMOVE.n, &ev);
	T("uevent.node_remove", r == 0 && ev.action == VFIO_UEV_REMOVE && ev.group == 6,
	  "r=%d action %d group %d", r, ev.action, ev.group);

	r = vfio_uevent_parse(REC_PCI_REMOVE.b, REC_PCI_REMOVE.n, &ev);
	T("uevent.pci_remove", r == 0 && ev.action == VFIO_UEV_REMOVE && !strcmp(ev.pci, "0000:00:12.0"),
	  "r=%d action %d pci %s", r, ev.action, ev.pci);
	r = vfio_uevent_parse(REC_VFIO_DEV_ADD.b, REC_VFIO_DEV_ADD.n, &ev);
	T("uevent.vfio_dev_neither", r == 0 && !ev.pci[0] && ev.group == -1 &&
	  !strcmp(ev.subsystem, "vfio-dev"), "r=%d pci %s group %d subsys %s", r, ev.pci,
	  ev.group, ev.subsystem);

	/* Not ours, or not a kernel uevent at all. */
	{
		static const char udev[] = "libudev\0\xfe\xed\xca\xfe" "ACTION=add\0SUBSYSTEM=pci";
		static const char nohdr[] = "ACTION=add\0SUBSYSTEM=pci\0";
		static const char noact[] = "add@/devices/x\0SUBSYSTEM=pci\0";
		static const char container[] = "add@/devices/virtual/misc/vfio\0ACTION=add\0"
						"SUBSYSTEM=vfio\0DEVNAME=vfio/vfio\0";
		static const char cut[] = "unbind@/devices/pci0000:00/0000:00:12.0\0ACTION=unbind\0"
					  "SUBSYSTEM=pci\0PCI_SLOT_NAME=0000:00:1";

		T_EQ_INT("uevent.udev_refused", vfio_uevent_parse(udev, sizeof(udev) - 1, &ev), -EBADMSG);
		T_EQ_INT("uevent.no_header_refused", vfio_uevent_parse(nohdr, sizeof(nohdr) - 1, &ev),
			 -EBADMSG);
		T_EQ_INT("uevent.no_action_refused", vfio_uevent_parse(noact, sizeof(noact) - 1, &ev),
			 -EBADMSG);
		T_EQ_INT("uevent.empty_refused", vfio_uevent_parse("", 0, &ev), -EBADMSG);
		r = vfio_uevent_parse(container, sizeof(container) - 1, &ev);
		T("uevent.container_no_group", r == 0 && ev.group == -1, "r=%d group %d", r, ev.group);
		/* The last string without its NUL is not read. */
		r = vfio_uevent_parse(cut, sizeof(cut) - 1, &ev);
		T("uevent.cut_last_ignored", r == 0 && !ev.pci[0], "r=%d pci %s", r, ev.pci);
	}
}

/* Every recorded message, cut at every length: never read past len. */
static void test_cuts(void)
{
	const struct msg *all[] = { &REC_BIND, &REC_UNBIND, &REC_NODE_ADD, &REC_NODE_REMOVE,
				    &REC_PCI_REMOVE, &REC_VFIO_DEV_ADD };
	bool ok = true;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		for (size_t n = 0; n <= all[i]->n; n++) {
			char *b = malloc(n ? n : 1);
			struct vfio_uevent ev;

			memcpy(b, all[i]->b, n);
			if (vfio_uevent_parse(b, n, &ev) == 0 && ev.pci[0] &&
			    strcmp(ev.pci, "0000:00:12.0"))
				ok = false;
			free(b);
		}
	T("uevent.every_cut", ok, "a cut message gave a wrong PCI name");
}

static struct vfa_agent *agent_knowing(const char *pci, int group)
{
	struct vfa_agent *c = calloc(1, sizeof(*c));

	vfa_model_enable(c, NULL, NULL);
	vfa_model_uevents(c, true);
	vfa_model_vf_seen(c, pci, group);
	vfa_model_vf_seen(c, "0000:00:12.2", 7);
	return c;
}

static void feed(struct vfa_agent *c, const struct msg *m)
{
	struct vfio_uevent ev;

	if (vfio_uevent_parse(m->b, m->n, &ev) == 0)
		vfa_model_uevent(c, &ev);
}

static void test_model(void)
{
	struct vfa_agent *c = agent_knowing("0000:00:12.0", 6);
	int g = -1;

	T("uevent.model_trusts", vfa_model_vf_ready(c, "0000:00:12.0", &g) && g == 6,
	  "not ready (group %d)", g);
	feed(c, &REC_BIND);	/* our own bind to vfio-pci: kept */
	T("uevent.model_bind_vfio_kept", vfa_model_vf_ready(c, "0000:00:12.0", &g), "forgotten");
	feed(c, &REC_UNBIND);
	T("uevent.model_unbind_forgets", !vfa_model_vf_ready(c, "0000:00:12.0", &g), "still trusted");
	T("uevent.model_other_vf_kept", vfa_model_vf_ready(c, "0000:00:12.2", &g) && g == 7,
	  "VF 12.2 forgotten");
	vfa_agent_close(c);

	c = agent_knowing("0000:00:12.0", 6);
	feed(c, &REC_PCI_REMOVE);
	T("uevent.model_pci_remove_forgets", !vfa_model_vf_ready(c, "0000:00:12.0", &g),
	  "still trusted");
	vfa_agent_close(c);

	c = agent_knowing("0000:00:12.0", 6);
	feed(c, &REC_NODE_REMOVE);
	T("uevent.model_node_remove_forgets", !vfa_model_vf_ready(c, "0000:00:12.0", &g),
	  "still trusted");
	T("uevent.model_node_remove_other_kept", vfa_model_vf_ready(c, "0000:00:12.2", &g),
	  "VF 12.2 forgotten");
	feed(c, &REC_NODE_ADD);
	T("uevent.model_node_add_nothing", !vfa_model_vf_ready(c, "0000:00:12.0", &g) &&
	  vfa_model_vf_ready(c, "0000:00:12.2", &g), "changed the model");
	feed(c, &REC_VFIO_DEV_ADD);
	feed(c, &REC_PCI_REMOVE);	/* 12.0, already forgotten */
	T("uevent.model_other_events_nothing", vfa_model_vf_ready(c, "0000:00:12.2", &g),
	  "VF 12.2 forgotten");
	vfa_model_uevents_lost(c);
	T("uevent.model_lost_forgets_all", !vfa_model_vf_ready(c, "0000:00:12.2", &g),
	  "still trusted after ENOBUFS");
	vfa_agent_close(c);
}

int main(void)
{
	test_parse();
	test_cuts();
	test_model();
	return t_done();
}
