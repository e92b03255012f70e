/* agent/io.h: writing a whole buffer (io.c). */
#ifndef VFAGENT_IO_H
#define VFAGENT_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Where vfa_write_all() writes: at an offset >= 0 (pwrite), or these. */
#define VFA_IO_POS ((off_t)-1)		/* at the file position (write) */
#define VFA_IO_SEND ((off_t)-2)		/* to a socket, no SIGPIPE (send) */
int vfa_write_all(int fd, const void *buf, size_t len, off_t at);

#endif
