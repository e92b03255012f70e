/* libFuzzer harness for vfpci_parse_sriov(): any config-space image must
 * parse or be rejected without reading out of bounds or looping, and an
 * accepted capability must be consistent with the image. Seeds:
 * tests/fixtures (the recorded igb images and the broken ones). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pci/vfpci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfpci_sriov s;
	struct vfpci_addr pf = { 0, 0, 2, 0 }, vf;
	uint8_t *copy;
	unsigned int i, idx;
	int r;

	/* An exact-size heap copy, so ASan sees any read past size. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = vfpci_parse_sriov(copy, size, &s);
	if (r == 0) {
		if (s.cap_offset < 0x100 || s.cap_offset & 3 ||
		    s.cap_offset + 0x40u > size || s.num_vfs > s.total_vfs ||
		    s.initial_vfs > s.total_vfs)
			abort();
		/* VF math round-trips for every index it accepts. */
		for (i = 0; i < s.total_vfs && i < 256; i++) {
			if (vfpci_vf_addr(&pf, &s, i, &vf) < 0)
				continue;
			if (vfpci_vf_index(&pf, &s, &vf, &idx) < 0 || idx != i)
				abort();
		}
	} else if (r != -ENOENT && r != -EBADMSG) {
		abort();
	}
	free(copy);
	return 0;
}
