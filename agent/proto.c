/* One request, one reply: the same JSON for the CLI's direct path and the
 * daemon's socket, so both give the same results and exit codes. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void put_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

/* A request document for op with the fields of o that are set. */
json_object *vfa_req_json(const char *op, const struct vfa_opts *o)
{
	json_object *r = json_object_new_object();
	char mac[18];

	json_object_object_add(r, "op", json_object_new_string(op));
	put_str(r, "pool", o->pool);
	put_str(r, "pf", o->pf);
	put_str(r, "pci", o->pci);
	put_str(r, "lease", o->lease);
	put_str(r, "domain", o->domain);
	if (o->has_mac) {
		vfa_mac_str(o->mac, mac);
		put_str(r, "mac", mac);
	}
	if (o->has_vlan) {
		json_object_object_add(r, "vlan", json_object_new_int(o->vlan));
		json_object_object_add(r, "qos", json_object_new_int(o->qos));
	}
	if (o->live)
		json_object_object_add(r, "live", json_object_new_boolean(1));
	if (o->persistent)
		json_object_object_add(r, "persistent", json_object_new_boolean(1));
	return r;
}

/* Fills o (strings point into req, which must outlive o) and *ret_op.
 * Every value is checked as the CLI checks it. */
int vfa_req_parse(json_object *req, const char **ret_op, struct vfa_opts *o,
		  struct vfa_err *e)
{
	static const char *const str_keys[] = { "op", "pool", "pf", "pci", "lease", "domain", "mac" };
	const char **str_dst[] = { ret_op, &o->pool, &o->pf, &o->pci, &o->lease, &o->domain, NULL };
	const char *mac = NULL;
	long long vlan = -1, qos = 0;

	*ret_op = NULL;
	if (!json_object_is_type(req, json_type_object))
		return vfa_usage(e, EINVAL, "a request is one JSON object per line");
	json_object_object_foreach(req, k, v) {
		size_t i;

		for (i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++)
			if (!strcmp(k, str_keys[i]))
				break;
		if (i < sizeof(str_keys) / sizeof(str_keys[0])) {
			if (!json_object_is_type(v, json_type_string))
				return vfa_usage(e, EINVAL, "\"%s\" must be a string", k);
			if (str_dst[i])
				*str_dst[i] = json_object_get_string(v);
			else
				mac = json_object_get_string(v);
		} else if (!strcmp(k, "vlan") || !strcmp(k, "qos")) {
			if (!json_object_is_type(v, json_type_int))
				return vfa_usage(e, EINVAL, "\"%s\" must be a number", k);
			*(!strcmp(k, "vlan") ? &vlan : &qos) = json_object_get_int64(v);
		} else if (!strcmp(k, "live") || !strcmp(k, "persistent")) {
			if (!json_object_is_type(v, json_type_boolean))
				return vfa_usage(e, EINVAL, "\"%s\" must be true or false", k);
			*(!strcmp(k, "live") ? &o->live : &o->persistent) = json_object_get_boolean(v);
		} else {
			return vfa_usage(e, EINVAL, "unknown field \"%s\"", k);
		}
	}
	if (!*ret_op)
		return vfa_usage(e, EINVAL, "the request has no \"op\"");
	if (mac) {
		int r = vfa_parse_mac(mac, o->mac);

		if (r)
			return vfa_usage(e, EINVAL, "--mac %s: %s", mac, r == -EADDRNOTAVAIL ?
					 "a multicast MAC cannot be a VF's address" :
					 "expected six hex bytes like 52:54:00:aa:bb:cc");
		o->has_mac = true;
	}
	if (vlan >= 0 || qos) {
		if (vlan < 0 || vlan > 4094)
			return vfa_usage(e, EINVAL, "--vlan %lld: VLAN ID must be 0..4094 (4095 is reserved), as ID or ID:QOS", vlan);
		if (qos < 0 || qos > 7)
			return vfa_usage(e, EINVAL, "--vlan %lld:%lld: QoS (802.1p priority) must be 0..7", vlan, qos);
		o->vlan = (uint16_t)vlan;
		o->qos = (uint8_t)qos;
		o->has_vlan = true;
	}
	return 0;
}

/* Checks what each op needs, then runs it. */
int vfa_dispatch(struct vfa_agent *a, const char *op, const struct vfa_opts *o,
		 json_object **ret, struct vfa_err *e)
{
	if (!strcmp(op, "alloc")) {
		if (!o->pool)
			return vfa_usage(e, EINVAL, "alloc needs --pool NAME");
		if ((o->live || o->persistent) && !o->domain)
			return vfa_usage(e, EINVAL, "--live/--persistent need --domain NAME");
		return vfa_alloc(a, o, ret, e);
	}
	if (!strcmp(op, "release")) {
		if (!!o->pci + !!o->lease + !!o->domain != 1)
			return vfa_usage(e, EINVAL, "release needs exactly one of --pci ADDR, --lease ID, --domain NAME");
		return vfa_release(a, o, ret, e);
	}
	if (!strcmp(op, "setup"))
		return vfa_setup(a, o, ret, e);
	if (!strcmp(op, "status"))
		return vfa_status(a, o, ret, e);
	if (!strcmp(op, "list"))
		return vfa_list(a, o, ret, e);
	return vfa_usage(e, EOPNOTSUPP, "unknown command \"%s\" (vfagent --help lists them)", op);
}

static const char *errno_name(int err)
{
	switch (err) {
	case EBUSY: return "EBUSY";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENETDOWN: return "ENETDOWN";
	case EINPROGRESS: return "EINPROGRESS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODEV: return "ENODEV";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EMSGSIZE: return "EMSGSIZE";
	default: return "EIO";
	}
}

/* The reply to a request: takes ownership of res. */
json_object *vfa_reply_json(int r, json_object *res, const struct vfa_err *e)
{
	json_object *o = json_object_new_object();
	int code = r == 0 ? 0 : r == -EINPROGRESS ? VFA_EXIT_PENDING :
		   e->exit ? e->exit : VFA_EXIT_FAIL;

	json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
	json_object_object_add(o, "exit", json_object_new_int(code));
	if (res)
		json_object_object_add(o, "result", res);
	if (r && r != -EINPROGRESS) {
		json_object_object_add(o, "error", json_object_new_string(e->msg));
		json_object_object_add(o, "errno", json_object_new_string(errno_name(-r)));
	}
	return o;
}
