/* One request, one reply: the same JSON for the CLI's direct path and the
 * daemon's socket, so both give the same results and exit codes. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci/vfpci.h"

#ifndef VFAGENT_VERSION
#define VFAGENT_VERSION "unknown"
#endif

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
	put_str(r, "holder", o->holder);
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

/* At most 32 bytes of s for a message, control characters as '?' (the
 * message reaches logs and terminals). Returns buf. */
static const char *shown(const char *s, char buf[36])
{
	size_t i;

	for (i = 0; s[i] && i < 32; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static int set_str(const char *k, json_object *v, const char **dst,
		   struct vfa_err *e)
{
	if (!json_object_is_type(v, json_type_string))
		return vfa_usage(e, EINVAL, "\"%s\" must be a string", k);
	*dst = json_object_get_string(v);
	return 0;
}

static int set_int(const char *k, json_object *v, long long max, long long *dst,
		   struct vfa_err *e)
{
	long long n;

	if (!json_object_is_type(v, json_type_int))
		return vfa_usage(e, EINVAL, "\"%s\" must be an integer", k);
	n = json_object_get_int64(v);
	if (n < 0 || n > max)
		return vfa_usage(e, ERANGE, "\"%s\": %lld is out of range 0..%lld%s", k, n, max,
				 max == 4094 ? " (4095 is reserved)" : "");
	*dst = n;
	return 0;
}

static int set_bool(const char *k, json_object *v, bool *dst, struct vfa_err *e)
{
	if (!json_object_is_type(v, json_type_boolean))
		return vfa_usage(e, EINVAL, "\"%s\" must be true or false", k);
	*dst = json_object_get_boolean(v);
	return 0;
}

/* One field of a request into o; mac/vlan/qos are kept for the end. */
static int req_field(const char *k, json_object *v, const char **ret_op,
		     struct vfa_opts *o, const char **mac, long long *vlan,
		     long long *qos, struct vfa_err *e)
{
	static const char *const keys[] = { "op", "pool", "pf", "pci", "lease", "domain", "mac",
					    "holder" };
	const char **dst[] = { ret_op, &o->pool, &o->pf, &o->pci, &o->lease, &o->domain, mac,
			       &o->holder };
	char b[36];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(k, keys[i]))
			return set_str(k, v, dst[i], e);
	if (!strcmp(k, "vlan"))
		return set_int(k, v, 4094, vlan, e);
	if (!strcmp(k, "qos"))
		return set_int(k, v, 7, qos, e);
	if (!strcmp(k, "live"))
		return set_bool(k, v, &o->live, e);
	if (!strcmp(k, "persistent"))
		return set_bool(k, v, &o->persistent, e);
	if (!strcmp(k, "v") || !strcmp(k, "id"))
		return 0;	/* framing: vfa_req_meta()'s */
	return vfa_usage(e, EINVAL, "unknown field \"%s\" (known: v id op pool pf pci lease domain holder mac vlan qos live persistent)",
			 shown(k, b));
}

/**
 * vfa_parse_pci() - a PCI address as the user typed it, in the one form
 * @s: "bb:dd.f" or "dddd:bb:dd.f", hex digits in either case
 * @ret: "dddd:bb:dd.f", lowercase (how leases, sysfs and libvirt name it);
 *	written only on success
 *
 * Returns 0, or -EINVAL when s is not a PCI address.
 */
int vfa_parse_pci(const char *s, char ret[VFA_PCI_LEN])
{
	struct vfpci_addr a;
	char buf[VFPCI_ADDR_LEN];

	if (!s || vfpci_addr_parse(s, &a))
		return -EINVAL;
	memcpy(ret, vfpci_addr_str(&a, buf), sizeof(buf));
	return 0;
}

/* o->pci in the one form: the request's "pci" is replaced by it, so o
 * still points into req. A malformed one is left for vfa_req_check(). */
static void req_norm_pci(json_object *req, struct vfa_opts *o)
{
	char pci[VFA_PCI_LEN];
	json_object *v;

	if (!o->pci || vfa_parse_pci(o->pci, pci) || !strcmp(pci, o->pci))
		return;
	v = json_object_new_string(pci);
	if (!v || json_object_object_add(req, "pci", v)) {
		json_object_put(v);
		return;
	}
	o->pci = json_object_get_string(v);
}

/* Fills o (strings point into req, which must outlive o) and *ret_op.
 * Every field is type- and range-checked; unknown fields are refused.
 * What each op needs is vfa_req_check()'s. */
int vfa_req_parse(json_object *req, const char **ret_op, struct vfa_opts *o,
		  struct vfa_err *e)
{
	const char *mac = NULL;
	long long vlan = -1, qos = -1;
	char b[36];
	int r;

	*ret_op = NULL;
	if (!json_object_is_type(req, json_type_object))
		return vfa_usage(e, EINVAL, "a request is one JSON object per line");
	json_object_object_foreach(req, k, v) {
		r = req_field(k, v, ret_op, o, &mac, &vlan, &qos, e);
		if (r)
			return r;
	}
	if (!*ret_op)
		return vfa_usage(e, EINVAL, "the request has no \"op\"");
	req_norm_pci(req, o);
	if (mac) {
		r = vfa_parse_mac(mac, o->mac);
		if (r)
			return vfa_usage(e, EINVAL, "--mac %s: %s", shown(mac, b), vfa_mac_error(r));
		o->has_mac = true;
	}
	if (qos >= 0 && vlan < 0)
		return vfa_usage(e, EINVAL, "\"qos\" needs \"vlan\" (--vlan ID:QOS)");
	if (vlan >= 0) {
		o->vlan = (uint16_t)vlan;
		o->qos = (uint8_t)(qos >= 0 ? qos : 0);
		o->has_vlan = true;
	}
	return 0;
}

/* A name given by the user: not empty, no control characters, short
 * enough for the journal field it lands in (max bytes with the NUL). */
static int check_name(const char *opt, const char *v, size_t max, struct vfa_err *e)
{
	if (!v)
		return 0;
	if (!*v)
		return vfa_usage(e, EINVAL, "%s '': empty; give a value (an empty one would match everything without one)", opt);
	if (strlen(v) >= max)
		return vfa_usage(e, ENAMETOOLONG, "%s: %zu bytes, at most %zu fit", opt, strlen(v), max - 1);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return vfa_usage(e, EINVAL, "%s: control character 0x%02x in the value: not a name", opt, *p);
	return 0;
}

static int check_ids(const struct vfa_opts *o, struct vfa_err *e)
{
	struct vfpci_addr a;

	if (o->pci && vfpci_addr_parse(o->pci, &a))
		return vfa_usage(e, EINVAL, "--pci %.32s: expected a PCI address like 0000:00:12.0", o->pci);
	if (o->holder && !vfa_holder_ok(o->holder))
		return vfa_usage(e, EINVAL, "--holder: 1 to %d bytes of printable ASCII without spaces, like k8s:vfagent.io/net1",
				 VFA_HOLDER_LEN - 1);
	if (o->lease && (strlen(o->lease) != 16 ||
			 strspn(o->lease, "0123456789abcdef") != 16))
		return vfa_usage(e, EINVAL, "--lease %.32s: expected the 16 hex digits alloc printed (vfagent status lists them)", o->lease);
	return 0;
}

enum {
	F_POOL = 1, F_PF = 2, F_PCI = 4, F_LEASE = 8, F_DOMAIN = 16, F_MAC = 32,
	F_VLAN = 64, F_LIVE = 128, F_PERSISTENT = 256, F_HOLDER = 512,
};

static unsigned int given(const struct vfa_opts *o)
{
	return (o->pool ? F_POOL : 0) | (o->pf ? F_PF : 0) | (o->pci ? F_PCI : 0) |
	       (o->lease ? F_LEASE : 0) | (o->domain ? F_DOMAIN : 0) |
	       (o->has_mac ? F_MAC : 0) | (o->has_vlan ? F_VLAN : 0) |
	       (o->live ? F_LIVE : 0) | (o->persistent ? F_PERSISTENT : 0) |
	       (o->holder ? F_HOLDER : 0);
}

static const char *flag_name(unsigned int f)
{
	static const char *const names[] = { "--pool", "PF", "--pci", "--lease", "--domain",
					     "--mac", "--vlan", "--live", "--persistent", "--holder" };

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & (1u << i))
			return names[i];
	return "?";
}

static const struct op_rule {
	const char *op;
	unsigned int takes;
} op_rules[] = {
	{ "alloc", F_POOL | F_PCI | F_MAC | F_VLAN | F_DOMAIN | F_LIVE | F_PERSISTENT | F_HOLDER },
	{ "release", F_PCI | F_LEASE | F_DOMAIN | F_HOLDER },
	{ "setup", 0 },
	{ "status", 0 },
	{ "list", F_PF },
	{ "hello", 0 },
	{ "watch", 0 },
};

/* What op needs and takes. */
static int check_op(const char *op, const struct vfa_opts *o, struct vfa_err *e)
{
	unsigned int g = given(o), extra;
	char b[36];
	size_t i;

	for (i = 0; i < sizeof(op_rules) / sizeof(op_rules[0]); i++)
		if (!strcmp(op, op_rules[i].op))
			break;
	if (i == sizeof(op_rules) / sizeof(op_rules[0]))
		return vfa_usage(e, EOPNOTSUPP, "unknown command \"%s\" (vfagent --help lists them)",
				 shown(op, b));
	extra = g & ~op_rules[i].takes;
	if (extra)
		return vfa_usage(e, EINVAL, "%s does not take %s (vfagent --help)", op, flag_name(extra));
	if (!strcmp(op, "alloc") && !o->pool)
		return vfa_usage(e, EINVAL, "alloc needs --pool NAME");
	if ((o->live || o->persistent) && !o->domain)
		return vfa_usage(e, EINVAL, "--live/--persistent need --domain NAME");
	if (!strcmp(op, "release") && !!o->pci + !!o->lease + !!o->domain + !!o->holder != 1)
		return vfa_usage(e, EINVAL, "release needs exactly one of --pci ADDR, --lease ID, --domain NAME, --holder NAME");
	return 0;
}

/**
 * vfa_req_check() - the one validator of a request, from argv or a socket
 * @op: the command; @o: its options
 *
 * Refuses an unknown op, options the op does not take, missing ones,
 * empty or control-character names and malformed --pci/--lease. Returns 0
 * or -errno with e set (exit 2). Changes nothing.
 */
int vfa_req_check(const char *op, const struct vfa_opts *o, struct vfa_err *e)
{
	const struct vfa_lease *l = NULL;
	int r = check_name("--pool", o->pool, sizeof(l->pool), e);

	if (!r)
		r = check_name("PF", o->pf, sizeof(l->pf), e);
	if (!r)
		r = check_name("--pci", o->pci, sizeof(l->pci), e);
	if (!r)
		r = check_name("--lease", o->lease, sizeof(l->id), e);
	if (!r)
		r = check_name("--domain", o->domain, sizeof(l->domain), e);
	if (!r)
		r = check_ids(o, e);
	if (!r)
		r = check_op(op, o, e);
	return r;
}

/**
 * vfa_req_frame() - find the first complete request line in a buffer
 * @buf, @len: bytes received so far
 * @ret_len: length of the line, newline excluded
 *
 * Returns 1 with *ret_len (the line is buf[0..*ret_len), the next one
 * starts at *ret_len + 1), 0 if more bytes are needed, -EMSGSIZE if len
 * reached VFA_REQ_MAX without a newline (the caller drops the client).
 */
int vfa_req_frame(const char *buf, size_t len, size_t *ret_len)
{
	const char *nl = memchr(buf, '\n', len < VFA_REQ_MAX ? len : VFA_REQ_MAX);

	if (nl) {
		*ret_len = (size_t)(nl - buf);
		return 1;
	}
	return len >= VFA_REQ_MAX ? -EMSGSIZE : 0;
}

/* Records the key token tok (len bytes, quotes included, valid JSON) in
 * seen, decoded: "\u0070ci" is "pci". -EINVAL (exit 2) if already there. */
static int req_key_once(json_object *seen, const char *tok, size_t len,
			struct vfa_err *e)
{
	struct json_tokener *t = json_tokener_new();
	json_object *k = t ? json_tokener_parse_ex(t, tok, (int)len) : NULL;
	char b[36];
	int r = 0;

	json_tokener_free(t);
	if (!json_object_is_type(k, json_type_string))
		r = vfa_usage(e, EINVAL, "malformed JSON request: a key that is not a string");
	else if (json_object_object_get_ex(seen, json_object_get_string(k), NULL))
		r = vfa_usage(e, EINVAL, "field \"%s\" given more than once in the request: give each field once",
			      shown(json_object_get_string(k), b));
	else
		json_object_object_add(seen, json_object_get_string(k), NULL);
	json_object_put(k);
	return r;
}

/* Walks the keys of the top-level object of line (valid JSON): counts
 * them into *ret_n and, if seen is set, records each in it
 * (req_key_once), stopping at the first duplicate (-EINVAL). */
static int req_keys_walk(const char *line, size_t len, json_object *seen, size_t *ret_n,
			 struct vfa_err *e)
{
	bool want_key = false;
	size_t n = 0;
	int depth = 0, r = 0;

	for (size_t i = 0; i < len && !r; i++) {
		if (line[i] == '"') {
			size_t j = i + 1;

			while (j < len && line[j] != '"')
				j += line[j] == '\\' ? 2 : 1;
			if (j >= len)
				break;	/* cannot happen: the line parsed */
			if (depth == 1 && want_key) {
				n++;
				if (seen)
					r = req_key_once(seen, line + i, j + 1 - i, e);
			}
			want_key = false;
			i = j;
		} else if (line[i] == '{' || line[i] == '[') {
			want_key = ++depth == 1 && line[i] == '{';
		} else if (line[i] == '}' || line[i] == ']') {
			depth--;
		} else if (line[i] == ',' && depth == 1) {
			want_key = true;
		}
	}
	*ret_n = n;
	return r;
}

/* json-c keeps the last of duplicate keys, so {"op":"status","op":"setup"}
 * would silently run setup: each key of the top-level object is checked
 * once. line is valid JSON (already parsed into req, an object). When
 * req holds as many keys as the line names, no two were the same (json-c
 * merged none): no key is decoded. Otherwise each is, to name the one
 * given twice. */
static int req_keys_unique(json_object *req, const char *line, size_t len, struct vfa_err *e)
{
	json_object *seen;
	size_t n = 0;
	int r;

	req_keys_walk(line, len, NULL, &n, e);
	if (n == (size_t)json_object_object_length(req))
		return 0;
	seen = json_object_new_object();
	if (!seen)
		return vfa_fail(e, ENOMEM, "out of memory");
	r = req_keys_walk(line, len, seen, &n, e);
	json_object_put(seen);
	return r;
}

/* The line as exactly one JSON object (trailing spaces, tabs or one CR
 * aside); *ret is the caller's. */
static int req_tokenize(const char *line, size_t len, json_object **ret,
			struct vfa_err *e)
{
	struct json_tokener *tok;
	json_object *req;
	size_t end;

	if (memchr(line, '\0', len))
		return vfa_usage(e, EINVAL, "malformed JSON request: NUL byte in the line");
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	tok = json_tokener_new();
	if (!tok)
		return vfa_fail(e, ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	req = json_tokener_parse_ex(tok, line, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!req || json_tokener_get_error(tok) != json_tokener_success || end != len) {
		vfa_usage(e, EINVAL, "malformed JSON request: %s (one JSON object per line, nothing after it)",
			  !req ? json_tokener_error_desc(json_tokener_get_error(tok)) :
			  "bytes after the JSON object");
		json_object_put(req);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	if (json_object_is_type(req, json_type_object) && req_keys_unique(req, line, len, e)) {
		json_object_put(req);
		return -EINVAL;
	}
	*ret = req;
	return 0;
}

/* "id" (a string or integer of at most 64 bytes) and "v" (1..VFA_PROTO_V,
 * absent means 1) of a request. *ret_id is set (a new reference, NULL if
 * absent) as soon as the id is valid, so later refusals echo it too. */
static int req_meta(json_object *req, json_object **ret_id, struct vfa_err *e)
{
	json_object *v;

	if (json_object_object_get_ex(req, "id", &v)) {
		if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
			return vfa_usage(e, EINVAL, "\"id\" must be a string or an integer");
		if (strlen(json_object_get_string(v)) > VFA_ID_MAX)
			return vfa_usage(e, EINVAL, "\"id\": at most %d bytes", VFA_ID_MAX);
		*ret_id = json_object_get(v);
	}
	if (!json_object_object_get_ex(req, "v", &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1)
		return vfa_usage(e, EINVAL, "\"v\" must be a protocol version (an integer >= 1)");
	if (json_object_get_int64(v) > VFA_PROTO_V)
		return vfa_usage(e, EPROTONOSUPPORT, "protocol version %lld is not supported: this vfagent speaks version %d (upgrade vfagent, or send \"v\":%d)",
				 (long long)json_object_get_int64(v), VFA_PROTO_V, VFA_PROTO_V);
	return 0;
}

/**
 * vfa_req_line_id() - vfa_req_line(), and the request's "id"
 * @ret_id: NULL, or a new reference to the request's valid "id" (the
 *	caller's, json_object_put), set even when the request is refused
 *	after the id was read, so the refusal can echo it
 *
 * Otherwise as vfa_req_line().
 */
int vfa_req_line_id(const char *line, size_t len, json_object **ret_req,
		    const char **ret_op, struct vfa_opts *o, json_object **ret_id,
		    struct vfa_err *e)
{
	json_object *req = NULL, *id = NULL;
	int r;

	*ret_req = NULL;
	*ret_op = NULL;
	*ret_id = NULL;
	o->pool = o->pf = o->pci = o->lease = o->domain = o->holder = NULL;
	o->has_mac = o->has_vlan = o->live = o->persistent = false;
	r = req_tokenize(line, len, &req, e);
	if (!r && json_object_is_type(req, json_type_object))
		r = req_meta(req, &id, e);
	if (!r)
		r = vfa_req_parse(req, ret_op, o, e);
	if (!r)
		r = vfa_req_check(*ret_op, o, e);
	*ret_id = id;
	if (r) {
		json_object_put(req);
		*ret_op = NULL;
		return r;
	}
	*ret_req = req;
	return 0;
}

/**
 * vfa_req_line() - a request line from the socket, parsed and validated
 * @line, @len: one line as vfa_req_frame() delimited it
 * @ret_req: the parsed document; o's strings and *ret_op point into it,
 *	so the caller keeps it (json_object_put) until done with o
 * @o: comes in with the daemon's paths; its request fields are reset
 *
 * The daemon's whole input path: exactly one JSON object, each field
 * type- and range-checked, then vfa_req_check(). Returns 0, or -errno
 * with e set and *ret_req NULL.
 */
int vfa_req_line(const char *line, size_t len, json_object **ret_req,
		 const char **ret_op, struct vfa_opts *o, struct vfa_err *e)
{
	json_object *id = NULL;
	int r = vfa_req_line_id(line, len, ret_req, ret_op, o, &id, e);

	json_object_put(id);
	return r;
}

/* The result of "hello": the protocol version, vfagent's, the ops. */
json_object *vfa_hello_json(void)
{
	static const char *const ops[] = { "hello", "status", "list", "alloc", "release",
					   "setup", "watch" };
	json_object *r = json_object_new_object(), *a = json_object_new_array();

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		json_object_array_add(a, json_object_new_string(ops[i]));
	json_object_object_add(r, "v", json_object_new_int(VFA_PROTO_V));
	json_object_object_add(r, "version", json_object_new_string(VFAGENT_VERSION));
	json_object_object_add(r, "ops", a);
	return r;
}

/* Checks the request (vfa_req_check), then runs it. */
int vfa_dispatch(struct vfa_agent *a, const char *op, const struct vfa_opts *o,
		 json_object **ret, struct vfa_err *e)
{
	int r = vfa_req_check(op, o, e);

	if (r)
		return r;
	if ((!strcmp(op, "alloc") || !strcmp(op, "setup")) &&
	    vfa_agent_config(a)->n_pools == 0)
		return vfa_usage(e, ENOENT, "%s: no [pool NAME] section: %s needs one (see vfagent.conf.example)",
				 vfa_agent_config(a)->path, op);
	if (!strcmp(op, "hello")) {
		*ret = vfa_hello_json();
		return 0;
	}
	if (!strcmp(op, "watch"))
		return vfa_usage(e, EOPNOTSUPP, "watch streams the daemon's events: it needs vfagent serve running");
	if (!strcmp(op, "alloc"))
		return vfa_alloc(a, o, ret, e);
	if (!strcmp(op, "release"))
		return vfa_release(a, o, ret, e);
	if (!strcmp(op, "setup"))
		return vfa_setup(a, o, ret, e);
	if (!strcmp(op, "status"))
		return vfa_status(a, o, ret, e);
	return vfa_list(a, o, ret, e);
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
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ERANGE: return "ERANGE";
	case EADDRINUSE: return "EADDRINUSE";
	case ENOTCONN: return "ENOTCONN";
	case ENOMEM: return "ENOMEM";
	case EAGAIN: return "EAGAIN";	/* persistent leases not restored yet */
	default: return "EIO";
	}
}

/* The reply to a request: takes ownership of res. */
json_object *vfa_reply_json(int r, json_object *res, const struct vfa_err *e)
{
	json_object *o = json_object_new_object();
	int code = r == 0 ? 0 : r == -EINPROGRESS ? VFA_EXIT_PENDING :
		   e->exit ? e->exit : VFA_EXIT_FAIL;

	json_object_object_add(o, "v", json_object_new_int(VFA_PROTO_V));
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
