/* Handing VFs to libvirt through its C API: <hostdev managed='no'>, since
 * the VF is already on vfio-pci with its node owned as configured. */
#include "agent/agent.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if VFAGENT_LIBVIRT
#include <dlfcn.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* libvirt is loaded on first use, not linked: its ~50 shared libraries
 * would otherwise be mapped at every start of the CLI, which most commands
 * (and every warm alloc without --domain) pay for and never use. */
#define LIBVIRT_FUNCS(X) \
	X(virConnectClose) X(virConnectDomainEventDeregisterAny) \
	X(virConnectListAllDomains) X(virDomainGetUUIDString) \
	X(virDomainLookupByUUIDString) \
	X(virConnectDomainEventRegisterAny) X(virConnectIsAlive) \
	X(virConnectOpen) X(virConnectRegisterCloseCallback) \
	X(virConnectSetKeepAlive) X(virConnectUnregisterCloseCallback) \
	X(virDomainAttachDeviceFlags) X(virDomainDetachDeviceFlags) \
	X(virDomainFree) X(virDomainGetName) X(virDomainGetXMLDesc) \
	X(virDomainIsActive) X(virDomainLookupByName) X(virEventRegisterImpl) \
	X(virGetLastError) X(virGetLastErrorMessage) X(virSetErrorFunc)

#define LV_PTR(fn) static __typeof__(fn) *lv_##fn;
LIBVIRT_FUNCS(LV_PTR)
#undef LV_PTR

static const char *lv_error;

/* Loads libvirt.so.0 once. 0, or -ENOENT with the reason in lv_error. */
static int lv_load(void)
{
	static int loaded;
	void *h;

	if (loaded)
		return loaded > 0 ? 0 : -ENOENT;
	loaded = -1;
	h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		lv_error = dlerror();
		return -ENOENT;
	}
#define LV_SYM(fn) if (!(*(void **)&lv_##fn = dlsym(h, #fn))) { lv_error = #fn " missing"; return -ENOENT; }
	LIBVIRT_FUNCS(LV_SYM)
#undef LV_SYM
	loaded = 1;
	return 0;
}

#define virConnectClose (*lv_virConnectClose)
#define virConnectListAllDomains (*lv_virConnectListAllDomains)
#define virDomainGetUUIDString (*lv_virDomainGetUUIDString)
#define virDomainLookupByUUIDString (*lv_virDomainLookupByUUIDString)
#define virConnectDomainEventDeregisterAny (*lv_virConnectDomainEventDeregisterAny)
#define virConnectDomainEventRegisterAny (*lv_virConnectDomainEventRegisterAny)
#define virConnectIsAlive (*lv_virConnectIsAlive)
#define virConnectOpen (*lv_virConnectOpen)
#define virConnectRegisterCloseCallback (*lv_virConnectRegisterCloseCallback)
#define virConnectSetKeepAlive (*lv_virConnectSetKeepAlive)
#define virConnectUnregisterCloseCallback (*lv_virConnectUnregisterCloseCallback)
#define virDomainAttachDeviceFlags (*lv_virDomainAttachDeviceFlags)
#define virDomainDetachDeviceFlags (*lv_virDomainDetachDeviceFlags)
#define virDomainFree (*lv_virDomainFree)
#define virDomainGetName (*lv_virDomainGetName)
#define virDomainGetXMLDesc (*lv_virDomainGetXMLDesc)
#define virDomainIsActive (*lv_virDomainIsActive)
#define virDomainLookupByName (*lv_virDomainLookupByName)
#define virEventRegisterImpl (*lv_virEventRegisterImpl)
#define virGetLastError (*lv_virGetLastError)
#define virGetLastErrorMessage (*lv_virGetLastErrorMessage)
#define virSetErrorFunc (*lv_virSetErrorFunc)

/* For loop.c: makes its loop libvirt's event loop. */
int vfa_virt_event_impl(virEventAddHandleFunc ah, virEventUpdateHandleFunc uh,
			virEventRemoveHandleFunc rh, virEventAddTimeoutFunc at,
			virEventUpdateTimeoutFunc ut, virEventRemoveTimeoutFunc rt);
int vfa_virt_event_impl(virEventAddHandleFunc ah, virEventUpdateHandleFunc uh,
			virEventRemoveHandleFunc rh, virEventAddTimeoutFunc at,
			virEventUpdateTimeoutFunc ut, virEventRemoveTimeoutFunc rt)
{
	if (lv_load())
		return -ENOENT;
	virEventRegisterImpl(ah, uh, rh, at, ut, rt);
	return 0;
}

struct vfa_virt {
	virConnectPtr conn;
	vfa_virt_event_cb cb;
	void *ud;
	int ev_life, ev_removed;	/* callback ids, -1 if not watching */
	bool closed;
};

static void quiet(void *ud, virErrorPtr err)
{
	(void)ud;
	(void)err;		/* errors are read with virGetLastErrorMessage() */
}

int vfa_virt_open(const char *uri, struct vfa_virt **ret, struct vfa_err *e)
{
	struct vfa_virt *v;

	if (lv_load())
		return vfa_fail(e, ENOTSUP, "libvirt not reachable: cannot load libvirt.so.0 (%s); install libvirt0",
				lv_error);
	virSetErrorFunc(NULL, quiet);
	v = calloc(1, sizeof(*v));
	if (!v)
		return vfa_fail(e, ENOMEM, "out of memory");
	v->ev_life = v->ev_removed = -1;
	v->conn = virConnectOpen(uri && *uri ? uri : NULL);
	if (!v->conn) {
		vfa_fail(e, ECONNREFUSED, "libvirt not reachable (%s): %s; is libvirtd running?",
			 uri && *uri ? uri : "default URI", virGetLastErrorMessage());
		free(v);
		return -ECONNREFUSED;
	}
	*ret = v;
	return 0;
}

static void on_close(virConnectPtr conn, int reason, void *opaque);

void vfa_virt_close(struct vfa_virt *v)
{
	if (!v)
		return;
	if (v->ev_life >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->ev_life);
	if (v->ev_removed >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->ev_removed);
	if (v->cb)
		virConnectUnregisterCloseCallback(v->conn, on_close);
	virConnectClose(v->conn);
	free(v);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	struct vfa_virt *v = opaque;

	(void)conn;
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STOPPED)
		v->cb(virDomainGetName(dom), VFA_DOM_STOPPED, v->ud);
	else if (event == VIR_DOMAIN_EVENT_UNDEFINED)
		v->cb(virDomainGetName(dom), VFA_DOM_UNDEFINED, v->ud);
	return 0;
}

static void on_removed(virConnectPtr conn, virDomainPtr dom, const char *alias,
		       void *opaque)
{
	struct vfa_virt *v = opaque;

	(void)conn;
	(void)alias;
	v->cb(virDomainGetName(dom), VFA_DOM_DEVICE_REMOVED, v->ud);
}

static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	struct vfa_virt *v = opaque;

	(void)conn;
	(void)reason;
	v->closed = true;
	v->cb(NULL, VFA_VIRT_CLOSED, v->ud);
}

/* Subscribes to domain stop/undefine, device removal and connection loss.
 * Needs an event loop registered before the connection was opened. */
int vfa_virt_watch(struct vfa_virt *v, vfa_virt_event_cb cb, void *ud,
		   struct vfa_err *e)
{
	if (v->cb)
		return 0;
	v->cb = cb;
	v->ud = ud;
	v->ev_life = virConnectDomainEventRegisterAny(v->conn, NULL,
		VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), v, NULL);
	v->ev_removed = virConnectDomainEventRegisterAny(v->conn, NULL,
		VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_removed), v, NULL);
	if (v->ev_life < 0 || v->ev_removed < 0 ||
	    virConnectRegisterCloseCallback(v->conn, on_close, v, NULL) < 0)
		goto fail;
	/* Keepalive finds a libvirtd that died without closing the socket;
	 * drivers without it (test:///) still work, so only note it. */
	virConnectSetKeepAlive(v->conn, 5, 3);
	return 0;
fail:
	vfa_fail(e, EIO, "libvirt events: %s", virGetLastErrorMessage());
	if (v->ev_life >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->ev_life);
	if (v->ev_removed >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->ev_removed);
	v->ev_life = v->ev_removed = -1;
	v->cb = NULL;	/* vfa_virt_close then skips the close callback */
	return -EIO;
}

bool vfa_virt_alive(const struct vfa_virt *v)
{
	return v && !v->closed && virConnectIsAlive(v->conn) == 1;
}

/* By UUID when there is one (a name can be cut, reused or renamed; the
 * UUID stays), by name only for journals written before UUIDs. */
static int lookup(struct vfa_virt *v, const char *uuid, const char *name,
		  virDomainPtr *ret, struct vfa_err *e)
{
	bool by_uuid = uuid && *uuid;
	virDomainPtr d = by_uuid ? virDomainLookupByUUIDString(v->conn, uuid) :
		virDomainLookupByName(v->conn, name);

	if (!d) {
		virErrorPtr err = virGetLastError();

		if (err && err->code == VIR_ERR_NO_DOMAIN)
			return vfa_fail(e, ENOENT, "unknown domain \"%s\"%s%s%s (virsh list --all shows the known ones)",
					name, by_uuid ? " (UUID " : "", by_uuid ? uuid : "",
					by_uuid ? ")" : "");
		return vfa_fail(e, EIO, "libvirt: %s", virGetLastErrorMessage());
	}
	*ret = d;
	return 0;
}

static int running(virDomainPtr d, bool *ret, struct vfa_err *e)
{
	int a = virDomainIsActive(d);

	if (a < 0)
		return vfa_fail(e, EIO, "libvirt: %s", virGetLastErrorMessage());
	*ret = a == 1;
	return 0;
}

/* Could s be a UUID as virsh takes one (36 characters with dashes, or 32
 * hex digits)? libvirt parses it. */
static bool uuid_shaped(const char *s)
{
	size_t n = strlen(s);

	if (n != 32 && n != 36)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* The domain named name, or (as virsh does) whose UUID is name when no
 * domain has that name. */
static int lookup_user(struct vfa_virt *v, const char *name, virDomainPtr *ret,
		       struct vfa_err *e)
{
	int r = lookup(v, NULL, name, ret, e);

	if (r == -ENOENT && uuid_shaped(name))
		r = lookup(v, name, name, ret, e);
	return r;
}

int vfa_virt_domain(struct vfa_virt *v, const char *name, bool *ret_running,
		    char ret_uuid[VFA_UUID_LEN], struct vfa_err *e)
{
	char uuid[VIR_UUID_STRING_BUFLEN];
	virDomainPtr d = NULL;
	bool run;
	int r = lookup_user(v, name, &d, e);

	if (r)
		return r;
	r = running(d, &run, e);
	if (!r && virDomainGetUUIDString(d, uuid) < 0)
		r = vfa_fail(e, EIO, "libvirt: %s", virGetLastErrorMessage());
	virDomainFree(d);
	if (r)
		return r;
	*ret_running = run;
	memcpy(ret_uuid, uuid, VFA_UUID_LEN);
	return 0;
}

int vfa_virt_domain_uuid(struct vfa_virt *v, const char *uuid, bool *ret_running,
			 char ret_name[VFA_DOMAIN_LEN], struct vfa_err *e)
{
	virDomainPtr d = NULL;
	const char *n;
	bool run;
	int r = lookup(v, uuid, uuid, &d, e);

	if (r)
		return r;
	r = running(d, &run, e);
	n = virDomainGetName(d);
	if (!r && (!n || strlen(n) >= VFA_DOMAIN_LEN))
		r = vfa_fail(e, ENAMETOOLONG, "domain %s: name unreadable or longer than %d bytes",
			     uuid, VFA_DOMAIN_LEN - 1);
	if (!r) {
		*ret_running = run;
		memcpy(ret_name, n, strlen(n) + 1);
	}
	virDomainFree(d);
	return r;
}

static int hostdev_xml(const char *pci, char *buf, size_t len, bool source_only)
{
	unsigned int dom, bus, slot, fn;

	if (sscanf(pci, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return -EINVAL;
	if (source_only)
		snprintf(buf, len, "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>",
			 dom, bus, slot, fn);
	else
		snprintf(buf, len,
			 "<hostdev mode='subsystem' type='pci' managed='no'>"
			 "<driver name='vfio'/><source>"
			 "<address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>"
			 "</source></hostdev>", dom, bus, slot, fn);
	return 0;
}

int vfa_virt_attach(struct vfa_virt *v, const char *uuid, const char *name,
		    const char *pci, unsigned int flags, struct vfa_err *e)
{
	char xml[512];
	virDomainPtr d = NULL;
	unsigned int vf = 0;
	int r;

	if (hostdev_xml(pci, xml, sizeof(xml), false) < 0)
		return vfa_fail(e, EINVAL, "bad PCI address %s", pci);
	r = lookup(v, uuid, name, &d, e);
	if (r)
		return r;
	if (flags & VFA_LIVE)
		vf |= VIR_DOMAIN_AFFECT_LIVE;
	if (flags & VFA_PERSISTENT)
		vf |= VIR_DOMAIN_AFFECT_CONFIG;
	if (!vf)
		vf = VIR_DOMAIN_AFFECT_CURRENT;
	if (virDomainAttachDeviceFlags(d, xml, vf) < 0) {
		const char *m = virGetLastErrorMessage();

		r = vfa_fail(e, EIO, "libvirt could not attach %s to %s: %s%s", pci, name, m,
			     strstr(m, "PCI slots") ?
			     "; attach with --persistent and restart the domain, or add pcie-root-port controllers to it" : "");
	}
	virDomainFree(d);
	return r;
}

/* Looks for pci as a hostdev source in the live XML. */
static int holds(virDomainPtr d, const char *pci, bool *ret, struct vfa_err *e)
{
	char src[128];
	char *xml;
	int a = virDomainIsActive(d);

	if (a < 0)
		return vfa_fail(e, EIO, "libvirt: %s", virGetLastErrorMessage());
	if (a == 0) {
		*ret = false;
		return 0;
	}
	hostdev_xml(pci, src, sizeof(src), true);
	xml = virDomainGetXMLDesc(d, 0);
	if (!xml)
		return vfa_fail(e, EIO, "libvirt: %s", virGetLastErrorMessage());
	*ret = strstr(xml, src) != NULL;
	free(xml);
	return 0;
}

int vfa_virt_holds(struct vfa_virt *v, const char *uuid, const char *name,
		   const char *pci, bool *ret, struct vfa_err *e)
{
	virDomainPtr d = NULL;
	int r = lookup(v, uuid, name, &d, e);

	if (r == -ENOENT) {
		*ret = false;
		return 0;
	}
	if (r)
		return r;
	r = holds(d, pci, ret, e);
	virDomainFree(d);
	return r;
}

/* Is pci a hostdev source in the domain's saved (inactive) config? */
static int in_config(virDomainPtr d, const char *pci, bool *ret, struct vfa_err *e)
{
	char src[128];
	char *xml;

	hostdev_xml(pci, src, sizeof(src), true);
	xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	if (!xml)
		return vfa_fail(e, EIO, "libvirt: %s", virGetLastErrorMessage());
	*ret = strstr(xml, src) != NULL;
	free(xml);
	return 0;
}

int vfa_virt_detach(struct vfa_virt *v, const char *uuid, const char *name,
		    const char *pci, bool persistent, struct vfa_err *e)
{
	char xml[512];
	virDomainPtr d = NULL;
	bool held = false;
	int r;

	if (hostdev_xml(pci, xml, sizeof(xml), false) < 0)
		return vfa_fail(e, EINVAL, "bad PCI address %s", pci);
	r = lookup(v, uuid, name, &d, e);
	if (r == -ENOENT)
		return 0;	/* domain gone: nothing holds the VF */
	if (r)
		return r;
	/* A persistent attach lives on in the saved config: out of it first,
	 * or the next start of the domain takes a VF we gave to someone else. */
	if (persistent) {
		r = in_config(d, pci, &held, e);
		if (r)
			goto out;
		if (held && virDomainDetachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_CONFIG) < 0) {
			r = vfa_fail(e, EIO, "libvirt could not remove %s from the config of %s: %s",
				     pci, name, virGetLastErrorMessage());
			goto out;
		}
	}
	r = holds(d, pci, &held, e);
	if (r || !held)
		goto out;
	/* Returns 0 when the unplug was only requested; the live XML tells
	 * whether the guest really let go. */
	if (virDomainDetachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_LIVE) < 0) {
		r = vfa_fail(e, EIO, "libvirt could not detach %s from %s: %s",
			     pci, name, virGetLastErrorMessage());
		goto out;
	}
	r = holds(d, pci, &held, e);
	if (!r && held)
		r = vfa_fail(e, EINPROGRESS,
			     "detach of %s from %s is pending: the guest has not released the device; the VF stays leased until it does or the domain stops",
			     pci, name);
out:
	virDomainFree(d);
	return r;
}

/* Reports each hostdev of one domain's XML (flags: 0 live, or inactive). */
static int dom_devs(virDomainPtr d, unsigned int flags, vfa_virt_dev_cb cb,
		    void *ud, struct vfa_err *e)
{
	struct vfa_hostdev devs[64];
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *xml = virDomainGetXMLDesc(d, flags);
	const char *name = virDomainGetName(d);
	size_t n = 0;
	int r;

	if (!xml || !name || virDomainGetUUIDString(d, uuid) < 0) {
		free(xml);
		return vfa_fail(e, EIO, "libvirt: %s", virGetLastErrorMessage());
	}
	r = vfa_domxml_hostdevs(xml, devs, sizeof(devs) / sizeof(devs[0]), &n);
	free(xml);
	if (r)
		return vfa_fail(e, -r, "domain %s: more hostdevs than vfagent reads (%zu)",
				name, sizeof(devs) / sizeof(devs[0]));
	for (size_t i = 0; !r && i < n; i++)
		r = cb(uuid, name, devs[i].pci, devs[i].mac, flags != 0, ud);
	return r;
}

/* Walks every domain's saved config and, if running, its live XML: what
 * libvirt will hand to a guest at its next start, or holds now. */
int vfa_virt_hostdevs(struct vfa_virt *v, vfa_virt_dev_cb cb, void *ud,
		      struct vfa_err *e)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(v->conn, &doms, 0), r = 0;

	if (n < 0)
		return vfa_fail(e, EIO, "libvirt: listing domains: %s", virGetLastErrorMessage());
	for (int i = 0; i < n; i++) {
		bool run = false;

		if (!r)
			r = dom_devs(doms[i], VIR_DOMAIN_XML_INACTIVE, cb, ud, e);
		if (!r)
			r = running(doms[i], &run, e);
		if (!r && run)
			r = dom_devs(doms[i], 0, cb, ud, e);
		virDomainFree(doms[i]);
	}
	free(doms);
	return r;
}

#else /* !VFAGENT_LIBVIRT */

#define NOT_BUILT(e) vfa_fail(e, ENOTSUP, \
	"libvirt support is not built in (make LIBVIRT=1); hand the VF to QEMU directly")

int vfa_virt_open(const char *uri, struct vfa_virt **ret, struct vfa_err *e)
{
	(void)uri;
	(void)ret;
	return NOT_BUILT(e);
}

void vfa_virt_close(struct vfa_virt *v)
{
	(void)v;
}

int vfa_virt_domain(struct vfa_virt *v, const char *name, bool *ret_running,
		    char ret_uuid[VFA_UUID_LEN], struct vfa_err *e)
{
	(void)v; (void)name; (void)ret_running; (void)ret_uuid;
	return NOT_BUILT(e);
}

int vfa_virt_domain_uuid(struct vfa_virt *v, const char *uuid, bool *ret_running,
			 char ret_name[VFA_DOMAIN_LEN], struct vfa_err *e)
{
	(void)v; (void)uuid; (void)ret_running; (void)ret_name;
	return NOT_BUILT(e);
}

int vfa_virt_attach(struct vfa_virt *v, const char *uuid, const char *name,
		    const char *pci, unsigned int flags, struct vfa_err *e)
{
	(void)v; (void)uuid; (void)name; (void)pci; (void)flags;
	return NOT_BUILT(e);
}

int vfa_virt_detach(struct vfa_virt *v, const char *uuid, const char *name,
		    const char *pci, bool persistent, struct vfa_err *e)
{
	(void)v; (void)uuid; (void)name; (void)pci; (void)persistent;
	return NOT_BUILT(e);
}

int vfa_virt_holds(struct vfa_virt *v, const char *uuid, const char *name,
		   const char *pci, bool *ret, struct vfa_err *e)
{
	(void)v; (void)uuid; (void)name; (void)pci; (void)ret;
	return NOT_BUILT(e);
}

int vfa_virt_hostdevs(struct vfa_virt *v, vfa_virt_dev_cb cb, void *ud,
		      struct vfa_err *e)
{
	(void)v; (void)cb; (void)ud;
	return NOT_BUILT(e);
}

int vfa_virt_watch(struct vfa_virt *v, vfa_virt_event_cb cb, void *ud,
		   struct vfa_err *e)
{
	(void)v; (void)cb; (void)ud;
	return NOT_BUILT(e);
}

bool vfa_virt_alive(const struct vfa_virt *v)
{
	(void)v;
	return false;
}
#endif

/* ---- domain XML: hot-plug slots and spare ports (agent/ports.c) ---- */
#if VFAGENT_LIBVIRT
typedef virDomainPtr (*define_fn)(virConnectPtr, const char *, unsigned int);

/* virDomainDefineXMLFlags from the libvirt lv_load() opened; NULL if the
 * library lacks it (older than 1.2.12). */
static define_fn define_sym(void)
{
	void *h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	define_fn f = NULL;

	if (h) {
		*(void **)&f = dlsym(h, "virDomainDefineXMLFlags");
		dlclose(h);
	}
	return f;
}

/**
 * vfa_virt_xml() - the domain's XML: the running one (live) or the saved
 * config (inactive, with secrets, as `virsh edit` reads it). *ret_xml is
 * malloc'd, the caller frees it. -ENOENT for an unknown domain.
 */
int vfa_virt_xml(struct vfa_virt *v, const char *name, bool inactive,
		 char **ret_xml, struct vfa_err *e)
{
	virDomainPtr d = NULL;
	char *xml;
	int r = lookup_user(v, name, &d, e);

	if (r)
		return r;
	xml = virDomainGetXMLDesc(d, inactive ?
				  VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE : 0);
	if (!xml)
		r = vfa_fail(e, EIO, "libvirt: XML of %s: %s", name, virGetLastErrorMessage());
	else
		*ret_xml = xml;
	virDomainFree(d);
	return r;
}

/**
 * vfa_virt_define() - replaces a domain's saved config by xml, validated
 * against libvirt's schema. The running domain is untouched; the change
 * takes effect at its next start.
 */
int vfa_virt_define(struct vfa_virt *v, const char *xml, struct vfa_err *e)
{
	define_fn define = define_sym();
	virDomainPtr d;

	if (!define)
		return vfa_fail(e, ENOTSUP, "libvirt lacks virDomainDefineXMLFlags (needs 1.2.12 or later)");
	d = define(v->conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	if (!d)
		return vfa_fail(e, EIO, "libvirt could not define the new config: %s",
				virGetLastErrorMessage());
	virDomainFree(d);
	return 0;
}
#else
int vfa_virt_xml(struct vfa_virt *v, const char *name, bool inactive,
		 char **ret_xml, struct vfa_err *e)
{
	(void)v; (void)name; (void)inactive; (void)ret_xml;
	return NOT_BUILT(e);
}

int vfa_virt_define(struct vfa_virt *v, const char *xml, struct vfa_err *e)
{
	(void)v; (void)xml;
	return NOT_BUILT(e);
}
#endif
