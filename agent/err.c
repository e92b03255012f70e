/* One line for the user when something fails, and the exit status it
 * carries. */
#include "agent/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static int vfail(struct vfa_err *e, int code, int err, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));
static int vfail(struct vfa_err *e, int code, int err, const char *fmt,
		 va_list ap)
{
	if (e) {
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		e->exit = code;
	}
	return err < 0 ? err : -err;
}

/* Fills e (may be NULL) with the message fmt, exit status VFA_EXIT_FAIL;
 * returns err as -errno (err may be given either way). */
int vfa_fail(struct vfa_err *e, int err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(e, VFA_EXIT_FAIL, err, fmt, ap);
	va_end(ap);
	return r;
}

/* vfa_fail() for what the user asked or configured: exit VFA_EXIT_USAGE. */
int vfa_usage(struct vfa_err *e, int err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(e, VFA_EXIT_USAGE, err, fmt, ap);
	va_end(ap);
	return r;
}

/* vfa_fail() for a permission denied by the daemon's rules: exit
 * VFA_EXIT_DENIED, returns -EACCES. */
int vfa_denied(struct vfa_err *e, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(e, VFA_EXIT_DENIED, EACCES, fmt, ap);
	va_end(ap);
	return r;
}
