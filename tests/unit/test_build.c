/* A build with other flags does not outlive its target: after an object is
 * built sanitized (as make asan does), a plain make rebuilds it, and a
 * second plain make leaves it alone. Works in a copy of the tracked files
 * (git ls-files) in a temporary directory, building one object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/unit/t.h"

#define OBJ "agent/logsafe.o"

/* Runs a shell command in dir; returns its exit status, -1 if it died. */
static int sh(const char *dir, const char *cmd)
{
	char c[1024];
	int st;

	snprintf(c, sizeof(c), "cd '%s' && { %s; } >/dev/null 2>&1", dir, cmd);
	st = system(c);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1 if the object carries ASan's instrumentation, 0 if not, -1 on error. */
static int sanitized(const char *dir)
{
	int r = sh(dir, "nm " OBJ " | grep -q __asan_");

	return r == 0 ? 1 : r == 1 ? 0 : -1;
}

int main(void)
{
	char dir[] = "/tmp/vfagent-build.XXXXXX", c[512];
	struct stat a, b;

	if (!mkdtemp(dir)) {
		t_skip("build.flags_change_rebuilds", "mkdtemp failed");
		return t_done();
	}
	snprintf(c, sizeof(c), "git ls-files -z | tar --null -cf - -T - | tar -xf - -C '%s'", dir);
	if (sh(".", c) || sh(dir, "command -v nm")) {
		t_skip("build.flags_change_rebuilds", "no git checkout here, or no nm");
		goto out;
	}
	T("build.asan_object", !sh(dir, "make -s CFLAGS='-O1 -g -fsanitize=address' " OBJ) &&
	  sanitized(dir) == 1, "a sanitized " OBJ " was not built");
	T("build.flags_change_rebuilds", !sh(dir, "make -s " OBJ) && sanitized(dir) == 0,
	  "a plain make after a sanitized build kept the sanitized " OBJ);
	snprintf(c, sizeof(c), "%s/" OBJ, dir);
	T("build.same_flags_keep", !stat(c, &a) && !sh(dir, "make -s " OBJ) && !stat(c, &b) &&
	  a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec,
	  "a second plain make rebuilt " OBJ " with the same flags");
out:
	snprintf(c, sizeof(c), "rm -rf '%s'", dir);
	sh(".", c);
	return t_done();
}
