/* vfagent --help tells the truth: the global options shown by --help and
 * by every COMMAND --help are the same lines, each is taken by the parser
 * before and after the command, and the man page names every option any
 * help shows. Runs ./vfagent (built by make all) and reads doc/vfagent.8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/unit/t.h"
#include "tests/unit/t_run.h"

#define BIN "./vfagent"
#define MAN "doc/vfagent.8"

static const char *const cmds[] = {
	"setup", "list", "alloc", "release", "status", "serve", "doctor", "ports",
};

/* The "Global options" section of a help text (up to a blank line or the
 * end), copied into out; empty if there is none. */
static void global_section(const char *help, char *out, size_t len)
{
	const char *a = strstr(help, "\nGlobal options"), *b;

	out[0] = '\0';
	if (!a)
		return;
	b = strstr(a + 1, "\n\n");
	if (!b)
		b = a + strlen(a) - (a[strlen(a) - 1] == '\n');
	snprintf(out, len, "%.*s", (int)(b - a), a);
}

/* Each global option shown is taken before and after the command. */
static void check_accepted(const char *sec)
{
	char line[128], c[512], name[96], scratch[256];

	for (const char *p = strstr(sec, "--"); p; p = strstr(p + 1, "\n  ")) {
		const char *o = strstr(p, "--"), *eol = strchr(p, '\n');
		char opt[32] = "", arg[32] = "";

		if (!o || (eol && o > eol))
			continue;
		snprintf(line, sizeof(line), "%.*s", (int)(eol ? eol - o : (long)strlen(o)), o);
		if (sscanf(line, "%31s %31[A-Z_]", opt, arg) < 1 || strncmp(opt, "--", 2))
			continue;
		snprintf(c, sizeof(c), BIN " status %s%s%s --help >/dev/null 2>&1",
			 opt, *arg ? " " : "", *arg ? "/tmp" : "");
		snprintf(name, sizeof(name), "help.global_after_cmd%s", opt + 1);
		T_EQ_INT(name, t_run(c, scratch, sizeof(scratch)), 0);
		snprintf(c, sizeof(c), BIN " %s%s%s status --help >/dev/null 2>&1",
			 opt, *arg ? " " : "", *arg ? "/tmp" : "");
		snprintf(name, sizeof(name), "help.global_before_cmd%s", opt + 1);
		T_EQ_INT(name, t_run(c, scratch, sizeof(scratch)), 0);
	}
}

/* Every --option word of text appears as \-\-option in the man page. */
static void check_man(const char *what, const char *text, const char *man)
{
	char opt[40], want[48], name[128];

	for (const char *p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
		size_t n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");

		if (!n || n > 30)
			continue;
		snprintf(opt, sizeof(opt), "%.*s", (int)n, p + 2);
		snprintf(want, sizeof(want), "\\-\\-%s", opt);
		for (char *q = want + 4; (q = strchr(q, '-')); q += 2) {
			memmove(q + 1, q, strlen(q) + 1);
			*q = '\\';
		}
		snprintf(name, sizeof(name), "help.man_%s_%s", what, opt);
		T(name, strstr(man, want) != NULL, MAN " does not name --%s (%s --help shows it)", opt, what);
	}
}

int main(void)
{
	static char top[16384], out[16384], man[65536], gtop[4096], gcmd[4096];
	char c[128], name[96];
	FILE *f = fopen(MAN, "r");
	size_t n = f ? fread(man, 1, sizeof(man) - 1, f) : 0;
	int rc;

	if (f)
		fclose(f);
	man[n] = '\0';
	rc = t_run(BIN " --help 2>&1", top, sizeof(top));
	global_section(top, gtop, sizeof(gtop));
	T("help.top", rc == 0 && *gtop, "rc %d, global options section %s", rc, *gtop ? "found" : "missing");
	check_accepted(gtop);
	T("help.man_read", n > 0, "cannot read " MAN);
	check_man("vfagent", top, man);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(c, sizeof(c), BIN " %s --help 2>&1", cmds[i]);
		rc = t_run(c, out, sizeof(out));
		global_section(out, gcmd, sizeof(gcmd));
		snprintf(name, sizeof(name), "help.global_same_%s", cmds[i]);
		T(name, rc == 0 && !strcmp(gtop, gcmd), "rc %d; %s --help global options differ from --help's:%s",
		  rc, cmds[i], gcmd);
		check_man(cmds[i], out, man);
		snprintf(c, sizeof(c), BIN " %s --version 2>&1", cmds[i]);
		rc = t_run(c, out, sizeof(out));
		snprintf(name, sizeof(name), "help.version_after_%s", cmds[i]);
		T(name, rc == 0 && !strncmp(out, "vfagent ", 8), "rc %d: %s", rc, out);
	}
	return t_done();
}
