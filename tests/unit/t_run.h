/* t_run(): runs a shell command and keeps its stdout, for the unit tests
 * that drive ./vfagent or make (test_host.c, test_help.c). */
#ifndef VFAGENT_T_RUN_H
#define VFAGENT_T_RUN_H

#include <stdio.h>
#include <sys/wait.h>

/* Runs cmd, keeps up to len-1 bytes of its stdout in buf (the rest is read
 * and dropped); returns its exit
 * status, or -1 if it could not run or died by a signal. */
__attribute__((unused))
static int t_run(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "r");
	char drain[4096];
	size_t n = 0, r;
	int st;

	if (!f)
		return -1;
	while (n < len - 1 && (r = fread(buf + n, 1, len - 1 - n, f)) > 0)
		n += r;
	buf[n] = '\0';
	/* Read what does not fit, or the command dies of SIGPIPE. */
	while (fread(drain, 1, sizeof(drain), f) > 0)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
