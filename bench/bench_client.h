/* bench/bench_client.h: requests to the daemon as the benchmarks send them,
 * over a connection of the client library (agent/vfagent-client.h). Header
 * only, like bench/bench.h. */
#ifndef VFAGENT_BENCH_CLIENT_H
#define VFAGENT_BENCH_CLIENT_H

#include <errno.h>
#include <stdio.h>
#include <json-c/json.h>

#include "agent/vfagent-client.h"

/* {"op": op} plus key: val when key is not NULL; the caller's. */
static inline json_object *bench_req(const char *op, const char *key, const char *val)
{
	json_object *q = json_object_new_object();

	json_object_object_add(q, "op", json_object_new_string(op));
	if (key)
		json_object_object_add(q, key, json_object_new_string(val));
	return q;
}

/* Sends req (taken, even on failure) over c and waits up to timeout_ms
 * (< 0: forever). Returns the reply's exit code (0 ok, 3 exhausted, ...) or
 * -errno; the reply goes to *ret_rep (the caller's) if ret_rep is set. */
static inline int bench_call(struct vfa_client *c, json_object *req, int timeout_ms,
			     json_object **ret_rep)
{
	json_object *rep = NULL, *x;
	int r = req && c ? vfa_client_request(c, req, timeout_ms, &rep) : -EINVAL;

	json_object_put(req);
	if (r)
		return r;
	r = json_object_object_get_ex(rep, "exit", &x) ? json_object_get_int(x) : -EBADMSG;
	if (ret_rep)
		*ret_rep = rep;
	else
		json_object_put(rep);
	return r;
}

/* An alloc from pool (attached to domain, live, if domain is set); the
 * VF's address into pci. Returns the reply's exit code or -errno. */
static inline int bench_alloc(struct vfa_client *c, const char *pool, const char *domain,
			      int timeout_ms, char pci[16])
{
	json_object *q = bench_req("alloc", "pool", pool), *rep = NULL, *res, *p;
	int r;

	if (domain) {
		json_object_object_add(q, "domain", json_object_new_string(domain));
		json_object_object_add(q, "live", json_object_new_boolean(1));
	}
	r = bench_call(c, q, timeout_ms, &rep);
	if (r)
		return r;
	if (!json_object_object_get_ex(rep, "result", &res) ||
	    !json_object_object_get_ex(res, "pci", &p)) {
		json_object_put(rep);
		return -EBADMSG;
	}
	snprintf(pci, 16, "%s", json_object_get_string(p));
	json_object_put(rep);
	return 0;
}

/* A release of the lease on VF pci; the reply's exit code or -errno. */
static inline int bench_release(struct vfa_client *c, const char *pci, int timeout_ms)
{
	return bench_call(c, bench_req("release", "pci", pci), timeout_ms, NULL);
}

#endif
