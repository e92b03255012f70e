/* CLI habits of ./vfagent (built by make all): --version prints the
 * version from debian/changelog; COMMAND --help shows that command's options
 * only, and every option it shows is one the parser accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/unit/t.h"
#include "tests/unit/t_run.h"

#define BIN "./vfagent"

/* The first line of debian/changelog carries "(VERSION)". */
static int changelog_version(char *buf, size_t len)
{
	FILE *f = fopen("debian/changelog", "r");
	char line[256], *a, *b;

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	a = strchr(line, '(');
	b = a ? strchr(a, ')') : NULL;
	if (!b || (size_t)(b - a) > len)
		return -1;
	snprintf(buf, len, "%.*s", (int)(b - a - 1), a + 1);
	return 0;
}

static void test_version(void)
{
	char out[256], want[128], ver[64];
	int rc;

	if (changelog_version(ver, sizeof(ver))) {
		T("host.version", 0, "cannot read the version from debian/changelog");
		return;
	}
	snprintf(want, sizeof(want), "vfagent %s\n", ver);
	rc = t_run(BIN " --version 2>&1", out, sizeof(out));
	T("host.version", rc == 0 && !strcmp(out, want), "rc %d, got \"%s\", want \"%s\"", rc, out, want);
	rc = t_run(BIN " -V 2>&1", out, sizeof(out));
	T("host.version_short", rc == 0 && !strcmp(out, want), "rc %d, got \"%s\"", rc, out);
}

/* Command-specific options: which command shows which. */
static const struct {
	const char *cmd;
	const char *opts[9];	/* options it must show (NULL-terminated) */
} cmds[] = {
	{ "setup", { NULL } },
	{ "list", { NULL } },
	{ "alloc", { "--pool", "--pci", "--holder", "--mac", "--vlan", "--domain", "--live", "--persistent", NULL } },
	{ "release", { "--pci", "--lease", "--domain", "--holder", NULL } },
	{ "status", { NULL } },
	{ "serve", { NULL } },
};
static const char *const all_cmd_opts[] = {
	"--pool", "--mac", "--vlan", "--domain", "--live", "--persistent", "--pci", "--lease",
	"--holder",
};
/* A valid argument for each option that takes one. */
static const char *arg_of(const char *opt)
{
	if (!strcmp(opt, "--mac"))
		return " 52:54:00:aa:bb:cc";
	if (!strcmp(opt, "--vlan"))
		return " 100:3";
	if (!strcmp(opt, "--live") || !strcmp(opt, "--persistent"))
		return "";
	return " x";
}

/* True if opt appears in text as a whole option word. */
static int shows(const char *text, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = strstr(text, opt); p; p = strstr(p + 1, opt))
		if (p[n] == ' ' || p[n] == ']' || p[n] == '\n' || p[n] == ')')
			return 1;
	return 0;
}

static void test_cmd_help(size_t i)
{
	const char *cmd = cmds[i].cmd;
	char out[8192], scratch[64], name[96], c[256], head[96];
	int rc;

	snprintf(c, sizeof(c), BIN " %s --help 2>&1", cmd);
	rc = t_run(c, out, sizeof(out));
	snprintf(head, sizeof(head), "usage: vfagent [GLOBAL OPTIONS] %s", cmd);
	snprintf(name, sizeof(name), "host.help_%s", cmd);
	T(name, rc == 0 && !strncmp(out, head, strlen(head)) && strstr(out, "--config"),
	  "rc %d, output starts \"%.60s\"", rc, out);
	/* Its own options are shown, other commands' are not. */
	for (size_t k = 0; k < sizeof(all_cmd_opts) / sizeof(all_cmd_opts[0]); k++) {
		const char *o = all_cmd_opts[k];
		int want = 0;

		for (size_t j = 0; cmds[i].opts[j]; j++)
			want |= !strcmp(cmds[i].opts[j], o);
		snprintf(name, sizeof(name), "host.help_%s_%s%s", cmd, want ? "shows" : "hides", o + 1);
		T(name, shows(out, o) == want, "%s --help %s %s", cmd, want ? "misses" : "shows", o);
		if (!want)
			continue;
		/* Truthful: the parser takes it (an unknown option exits 2 before --help). */
		snprintf(c, sizeof(c), BIN " %s %s%s --help >/dev/null 2>&1", cmd, o, arg_of(o));
		rc = t_run(c, scratch, sizeof(scratch));
		snprintf(name, sizeof(name), "host.help_%s_accepts%s", cmd, o + 1);
		T_EQ_INT(name, rc, 0);
	}
}

/* A new machine's first make (no build dependencies yet, simulated by an
 * empty pkg-config search path) prints no pkg-config errors before make deps
 * has run, and building says in one line what is missing. */
static void test_make_before_deps(void)
{
	char out[16384];
	int rc;

	rc = t_run("PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= make -n demo 2>&1", out, sizeof(out));
	T("host.make_demo_quiet", rc == 0 && !strstr(out, "was not found") && !strstr(out, "No package"),
	  "rc %d: %.300s", rc, out);
	rc = t_run("PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= make -s check-build-deps 2>&1", out, sizeof(out));
	T("host.make_missing_deps_one_line",
	  rc != 0 && strstr(out, "missing build dependencies: libmnl") && strstr(out, "make deps") &&
	  !strstr(out, "was not found"), "rc %d: %.300s", rc, out);
}

/* etc/vfagent-generator: one Wants=/After= pair per PF of the config, by
 * name or by PCI address (short form completed), comments ignored. */
static void test_generator(void)
{
	char dir[] = "/tmp/vfagent-gen.XXXXXX", c[512], out[4096];
	const char *want =
		"[Unit]\n"
		"Wants=sys-subsystem-net-devices-eth0.device\n"
		"After=sys-subsystem-net-devices-eth0.device\n"
		"Wants=sys-subsystem-net-pci-0000:03:00.0.device\n"
		"After=sys-subsystem-net-pci-0000:03:00.0.device\n"
		"Wants=sys-subsystem-net-pci-0000:04:00.1.device\n"
		"After=sys-subsystem-net-pci-0000:04:00.1.device\n"
		"Wants=sys-subsystem-net-devices-ens1f0.device\n"
		"After=sys-subsystem-net-devices-ens1f0.device\n";
	FILE *f;
	int rc;

	if (!mkdtemp(dir)) {
		T("host.generator", 0, "mkdtemp failed");
		return;
	}
	snprintf(c, sizeof(c), "%s/vfagent.conf", dir);
	f = fopen(c, "w");
	if (!f) {
		T("host.generator", 0, "cannot write %s", c);
		return;
	}
	fputs("[pool a]\npf = eth0   ; the first\n# pf = commented\n;pf = also\nvfs = 2\n"
	      "[pool b]\npf = 0000:03:00.0, 04:00.1\npf=ens1f0\n", f);
	fclose(f);
	snprintf(c, sizeof(c), "VFAGENT_CONFIG=%s/vfagent.conf sh etc/vfagent-generator %s/gen && "
		 "grep -v '^#' %s/gen/vfagent-setup.service.d/50-pfs.conf", dir, dir, dir);
	rc = t_run(c, out, sizeof(out));
	T("host.generator", rc == 0 && !strcmp(out, want), "rc %d, got:\n%s", rc, out);
	snprintf(c, sizeof(c), "VFAGENT_CONFIG=%s/none sh etc/vfagent-generator %s/gen2 && "
		 "! [ -e %s/gen2 ]", dir, dir, dir);
	T("host.generator_no_config", t_run(c, out, sizeof(out)) == 0, "a drop-in was written without a config");
	snprintf(c, sizeof(c), "rm -rf %s", dir);
	t_run(c, out, sizeof(out));
}

/* tests/lab/exit_of.sh finds the guest's exit marker even when the
 * firmware's escape sequences share its line (a script that printed
 * nothing), and reports none when there is none. */
static void test_lab_exit_marker(void)
{
	char out[64];
	int rc;

	rc = t_run("printf 'SeaBIOS\\nBooting from ROM...\\n\\033c\\033[?7l\\033[2JVFAGENT-LAB-EXIT=3\\n"
		 "[ 4.02] sysrq: Power Off\\n' >/tmp/vfagent-exit.log && "
		 "sh tests/lab/exit_of.sh /tmp/vfagent-exit.log", out, sizeof(out));
	T("host.lab_exit_marker_after_escapes", rc == 0 && !strcmp(out, "3\n"), "rc %d, got \"%s\"", rc, out);
	rc = t_run("printf 'VFAGENT-LAB-EXIT=0\\nVFAGENT-LAB-EXIT=12\\n' >/tmp/vfagent-exit.log && "
		 "sh tests/lab/exit_of.sh /tmp/vfagent-exit.log", out, sizeof(out));
	T("host.lab_exit_marker_last", rc == 0 && !strcmp(out, "12\n"), "rc %d, got \"%s\"", rc, out);
	rc = t_run("printf 'kernel panic\\n' >/tmp/vfagent-exit.log && "
		 "sh tests/lab/exit_of.sh /tmp/vfagent-exit.log; rm -f /tmp/vfagent-exit.log", out, sizeof(out));
	T("host.lab_exit_marker_none", rc == 0 && !strcmp(out, ""), "rc %d, got \"%s\"", rc, out);
}

int main(void)
{
	FILE *f;

	test_make_before_deps();
	test_generator();
	test_lab_exit_marker();
	f = fopen(BIN, "r");
	if (!f) {
		t_skip("host.cli", BIN " not built (run make all from the tree's root)");
		return 0;
	}
	fclose(f);
	test_version();
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		test_cmd_help(i);
	return t_done();
}
