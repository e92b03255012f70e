/* libFuzzer harness for the daemon's input path: arbitrary bytes arrive
 * on the socket in chunks, are framed into lines by vfa_req_frame() and
 * each line goes through vfa_req_line() (JSON, fields, vfa_req_check), as
 * agent/serve_client.c does. An accepted request must satisfy the validator's
 * promises and survive the CLI's encoding (vfa_req_json) unchanged. Seeds:
 * tests/fixtures/request. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sane_name(const char *s)
{
	if (!s)
		return 1;
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* What the CLI would send for o must come back as o. */
static void round_trip(const char *op, const struct vfa_opts *o)
{
	json_object *req = vfa_req_json(op, o), *back = NULL;
	const char *txt = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	struct vfa_opts b;
	struct vfa_err e;
	const char *op2;

	memset(&b, 0, sizeof(b));
	if (vfa_req_line(txt, strlen(txt), &back, &op2, &b, &e) ||
	    strcmp(op, op2) || !same(o->pool, b.pool) || !same(o->pf, b.pf) ||
	    !same(o->pci, b.pci) || !same(o->lease, b.lease) || !same(o->domain, b.domain) ||
	    !same(o->holder, b.holder) ||
	    o->has_mac != b.has_mac || (o->has_mac && memcmp(o->mac, b.mac, 6)) ||
	    o->has_vlan != b.has_vlan || o->vlan != b.vlan || o->qos != b.qos ||
	    o->live != b.live || o->persistent != b.persistent)
		abort();
	json_object_put(back);
	json_object_put(req);
}

static void one_line(const char *line, size_t len)
{
	json_object *req = NULL;
	struct vfa_opts o;
	struct vfa_err e = { "", 0 };
	const char *op = NULL;
	int r;

	memset(&o, 0, sizeof(o));
	r = vfa_req_line(line, len, &req, &op, &o, &e);
	if (r) {
		if (req || !memchr(e.msg, '\0', sizeof(e.msg)) || !e.msg[0] ||
		    (e.exit != VFA_EXIT_USAGE && r != -ENOMEM))
			abort();
		return;
	}
	if (!req || !op || !sane_name(o.pool) || !sane_name(o.pf) || !sane_name(o.pci) ||
	    !sane_name(o.lease) || !sane_name(o.domain) || !sane_name(o.holder) ||
	    (o.has_vlan && (o.vlan > 4094 || o.qos > 7)) ||
	    (o.has_mac && ((o.mac[0] & 1) || !memcmp(o.mac, "\0\0\0\0\0\0", 6))) ||
	    (!strcmp(op, "release") && !!o.pci + !!o.lease + !!o.domain + !!o.holder != 1) ||
	    (!strcmp(op, "alloc") && !o.pool))
		abort();
	round_trip(op, &o);
	json_object_put(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[VFA_REQ_MAX];
	size_t in_len = 0, off = 0, chunk;

	if (size == 0)
		return 0;
	/* The first byte sets the chunk size, as recv() might split it. */
	chunk = (size_t)data[0] % 64 + 1;
	for (off = 1; off < size; ) {
		size_t n = size - off < chunk ? size - off : chunk, len;
		int r;

		if (n > sizeof(in) - in_len)
			n = sizeof(in) - in_len;
		memcpy(in + in_len, data + off, n);
		in_len += n;
		off += n;
		while ((r = vfa_req_frame(in, in_len, &len)) == 1) {
			one_line(in, len);
			memmove(in, in + len + 1, in_len - len - 1);
			in_len -= len + 1;
		}
		if (r < 0)
			break;		/* the daemon drops this client */
	}
	return 0;
}
