/* libFuzzer harness for vfnl_parse_link() and vfnl_parse_error(): arbitrary bytes as a received
 * netlink datagram.  Seeds: tests/fixtures (the igb replies in nl/).
 * ASan/UBSan catch reads past the input or through unvalidated attributes;
 * the checks below catch a parser that "succeeds" with impossible output. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nl/vfnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vfnl_link l;
	uint8_t *copy;

	/* An exact-size heap copy so ASan sees every byte past the end. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (vfnl_parse_link(copy, size, &l) == 0) {
		if (l.n_vfs > VFNL_MAX_VFS || memchr(l.name, 0, sizeof(l.name)) == NULL ||
		    memchr(l.parent_dev, 0, sizeof(l.parent_dev)) == NULL ||
		    memchr(l.parent_bus, 0, sizeof(l.parent_bus)) == NULL ||
		    (l.has_num_vf && l.n_vfs < l.num_vf && !l.truncated))
			abort();
	}
	{
		char msg[64];

		msg[0] = 'x';
		if (vfnl_parse_error(copy, size, msg, sizeof(msg)) != -EBADMSG &&
		    memchr(msg, 0, sizeof(msg)) == NULL)
			abort();
	}
	free(copy);
	return 0;
}
