/* libFuzzer harness for agent/slots.c: domain XML as libvirt returns it
 * (seeds: tests/fixtures/slots), counted, and with ports added. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/slots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfa_slots s;
	char *xml, *more = NULL;

	if (size > 65536)
		return 0;
	vfa_slots_count((const char *)data, size, &s);
	xml = malloc(size + 1);
	if (!xml)
		return 0;
	memcpy(xml, data, size);
	xml[size] = '\0';
	if (vfa_slots_add_ports(xml, 2, &more) == 0)
		free(more);
	free(xml);
	return 0;
}
