/* libFuzzer harness for the agent's parsers of outside input: a lease
 * journal file, and a daemon request line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfa_lease l;
	struct json_tokener *tok;
	json_object *req;

	if (size > 8192)
		return 0;
	vfa_lease_parse((const char *)data, size, &l);
	tok = json_tokener_new();
	req = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (req) {
		struct vfa_opts o;
		struct vfa_err e;
		const char *op;

		memset(&o, 0, sizeof(o));
		vfa_req_parse(req, &op, &o, &e);
		json_object_put(req);
	}
	json_tokener_free(tok);
	return 0;
}
