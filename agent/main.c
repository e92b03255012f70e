/* vfagent: the CLI. Parses arguments, runs one operation, prints the
 * result as text or (--json) as one JSON document, picks the exit code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent.h"

static const char usage_head[] =
"usage: vfagent [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
"\n"
"Manage SR-IOV Virtual Functions: pools of VFs ready on vfio-pci, leased to VMs.\n"
"\n"
"Commands:\n"
"  setup                      make the host match the config: PFs up (no addresses),\n"
"                             VFs created (host-driver autoprobe off), bound to\n"
"                             vfio-pci, pool baseline applied, /dev/vfio nodes owned.\n"
"                             Idempotent.\n"
"  list [PF]                  every SR-IOV PF of the host (or only PF) and its VFs\n"
"  alloc --pool P [--pci ADDR] [--holder H] [--mac M] [--vlan ID[:QOS]] [--domain DOM [--live] [--persistent]]\n"
"                             lease a free VF of pool P, set its MAC (unicast, six\n"
"                             hex pairs split by ':') and VLAN (0..4094, QOS 0..7),\n"
"                             make it ready for the VM user; with --domain attach it\n"
"                             to that libvirt domain (DOM: its name or UUID) as\n"
"                             <hostdev managed='no'>\n"
"  release (--pci ADDR | --lease ID | --domain DOM | --holder H)\n"
"                             detach, scrub (MAC 0, VLAN 0, pool baseline) and return\n"
"                             VFs to the pool\n"
"  status                     per pool: VFs, free, leased and who holds each lease\n"
"  serve                      run the agent: answers the commands above on a Unix\n"
"                             socket, releases the VFs of libvirt domains that stop,\n"
"                             watches the PFs. Foreground; SIGHUP rereads the config\n"
"  doctor                     check the host (IOMMU, vfio, PFs, VFs, libvirt, AppArmor,\n"
"                             locked memory, hot-plug slots); names the fix for each\n"
"                             problem; exit 0 nothing found, 1 problems found\n"
"  ports DOM [--add N]        free hot-plug slots of a libvirt domain (name or UUID);\n"
"                             --add N adds N empty pcie-root-ports (q35) to its\n"
"                             saved config, used from its next start\n";

static const char usage_tail[] =
"\n"
"Exit status: 0 done, 1 failed (nothing half-done), 2 bad usage or config,\n"
"3 pool exhausted, 4 detach pending (the guest has not released the VF yet),\n"
"5 permission denied (the daemon's rules; the message names the config key).\n"
"Every command first reconciles the lease journal with the kernel and reports\n"
"what it repaired. When a daemon answers on the socket, commands go through it\n"
"(same results); otherwise they run directly, serialised by the state-dir lock.\n";

/* The options valid before and after the command: one table, shown by
 * --help and by COMMAND --help (global_opt() and gopts[] take them). */
static const struct opt_help {
	const char *opt, *text;	/* text: lines split by '\n' */
} global_opts[] = {
	{ "-c, --config FILE", "config (default /etc/vfagent/vfagent.conf)" },
	{ "-s, --state-dir DIR", "lease journal and locks (default /run/vfagent)" },
	{ "-j, --json", "print one JSON document" },
	{ "    --socket PATH", "daemon socket (default: [serve] socket in the config,\n"
			      "else STATE_DIR/vfagent.sock)" },
	{ "    --direct", "do not use a running daemon" },
	{ "    --persist-dir DIR", "leases that outlive a reboot (persistent attaches;\n"
				  "default /var/lib/vfagent, \"\" for none)" },
	{ "    --sysfs-root DIR", "sysfs root (default /sys; for tests)" },
	{ "    --dev-root DIR", "/dev root (default /dev; for tests)" },
	{ "-h, --help", "this text (COMMAND --help: that command's)" },
	{ "-V, --version", "print the version" },
};

/* Prints the global options table, each continuation line indented. */
static void print_global_opts(FILE *f)
{
	fputs("\nGlobal options (before or after the command):\n", f);
	for (size_t i = 0; i < sizeof(global_opts) / sizeof(global_opts[0]); i++) {
		const char *t = global_opts[i].text, *nl;

		fprintf(f, "  %-26s ", global_opts[i].opt);
		while ((nl = strchr(t, '\n'))) {
			fprintf(f, "%.*s\n%29s", (int)(nl - t), t, "");
			t = nl + 1;
		}
		fprintf(f, "%s\n", t);
	}
}

static int usage(FILE *f, int code)
{
	fputs(usage_head, f);
	print_global_opts(f);
	fputs(usage_tail, f);
	return code;
}

#ifndef VFAGENT_VERSION
#define VFAGENT_VERSION "unknown"
#endif

/* Per-command help: that command's own options, then the global ones. */
static const struct cmd_help {
	const char *name, *text;
} cmd_helps[] = {
	{ "setup",
"usage: vfagent [GLOBAL OPTIONS] setup\n"
"\n"
"Make the host match the config: each pool PF up with no addresses, its VFs\n"
"created (host-driver autoprobe off) and bound to vfio-pci, the pool baseline\n"
"(spoofchk, trust, link state, rate) applied, /dev/vfio nodes owned. Idempotent;\n"
"prints what it changed.\n" },
	{ "list",
"usage: vfagent [GLOBAL OPTIONS] list [PF]\n"
"\n"
"Every SR-IOV PF of the host (or only PF: netdev name or PCI address) and its\n"
"VFs: PCI address, driver, netdev, IOMMU group, node owner, MAC, VLAN, lease.\n" },
	{ "alloc",
"usage: vfagent [GLOBAL OPTIONS] alloc --pool P [--pci ADDR] [--holder H] [--mac M] [--vlan ID[:QOS]]\n"
"                                    [--domain DOM [--live] [--persistent]]\n"
"\n"
"Lease a free VF of pool P, set its MAC and VLAN, make its /dev/vfio node ready\n"
"for the VM user.\n"
"\n"
"      --pool P               the pool (a [pool P] section of the config)\n"
"      --pci ADDR             exactly this VF of the pool (exit 3 if it is leased)\n"
"      --holder H             who holds the lease (printable ASCII, no spaces,\n"
"                             at most 64 bytes, e.g. k8s:vfagent.io/net1)\n"
"      --mac M                the VF's MAC, six hex bytes (unicast)\n"
"      --vlan ID[:QOS]        VLAN ID 0..4094 and 802.1p priority 0..7\n"
"                             (default: the pool's vlan and qos)\n"
"      --domain DOM           attach the VF to this libvirt domain (its name or\n"
"                             UUID, as virsh takes them) as <hostdev managed='no'>\n"
"      --live                 attach to the running domain\n"
"      --persistent           attach in the domain's persistent config\n" },
	{ "release",
"usage: vfagent [GLOBAL OPTIONS] release (--pci ADDR | --lease ID | --domain DOM | --holder H)\n"
"\n"
"Detach, scrub (MAC 0, VLAN 0, pool baseline) and return VFs to their pool.\n"
"Exit status 4 when the guest has not released the VF yet.\n"
"\n"
"      --pci ADDR             the VF at this PCI address\n"
"      --lease ID             the lease with this id (vfagent status)\n"
"      --domain DOM           every VF leased to this libvirt domain (its name or\n"
"                             UUID)\n"
"      --holder H             every lease with this holder\n" },
	{ "status",
"usage: vfagent [GLOBAL OPTIONS] status\n"
"\n"
"Per pool: VFs, present, free, leased, and who holds each lease.\n" },
	{ "serve",
"usage: vfagent [GLOBAL OPTIONS] serve\n"
"\n"
"Run the agent in the foreground: answer the commands on the Unix socket,\n"
"release the VFs of libvirt domains that stop, watch the PFs. SIGHUP rereads\n"
"the config, SIGTERM stops. Under systemd (Type=notify) it reports readiness.\n" },
	{ "doctor",
"usage: vfagent [GLOBAL OPTIONS] doctor\n"
"\n"
"Check the host: IOMMU and interrupt remapping, vfio modules, each pool PF\n"
"(present, SR-IOV, up, VF count, no address or default route), VF drivers,\n"
"IOMMU groups, /dev/vfio owners, libvirt (reachable, dynamic_ownership,\n"
"AppArmor rule for /dev/vfio), locked memory, free hot-plug slots of domains\n"
"holding leases, fenced leases. Names the fix for each problem. Exit 0 nothing found, 1\n"
"problems found.\n"
"\n"
"      --proc-root DIR        /proc root (default /proc; for tests)\n"
"      --etc-root DIR         /etc root (default /etc; for tests)\n"
"      --run-root DIR         /run root (default /run; for tests)\n"
"      --modules-root DIR     kernel modules root (default /lib/modules; for tests)\n"
"      --apparmor-param FILE  AppArmor enabled parameter (default\n"
"                             /sys/module/apparmor/parameters/enabled; for tests)\n" },
	{ "ports",
"usage: vfagent [GLOBAL OPTIONS] ports DOM [--add N]\n"
"\n"
"Free hot-plug slots of a libvirt domain DOM (its name or UUID), live and in its\n"
"saved config.\n"
"\n"
"      --add N                add N (1..64) empty pcie-root-ports (q35) to its\n"
"                             saved config, used from its next start\n" },
};

/* Help of one command on stdout, exit 0; the general usage for an unknown one. */
static int cmd_usage(const char *cmd)
{
	for (size_t i = 0; i < sizeof(cmd_helps) / sizeof(cmd_helps[0]); i++)
		if (!strcmp(cmd, cmd_helps[i].name)) {
			fputs(cmd_helps[i].text, stdout);
			print_global_opts(stdout);
			return 0;
		}
	return usage(stdout, 0);
}

/* Options valid before and after the command. Returns false if c is not one. */
static bool global_opt(int c, struct vfa_opts *o, bool *json)
{
	switch (c) {
	case 'c': o->config = optarg; return true;
	case 's': o->state_dir = optarg; return true;
	case 'j': *json = true; return true;
	case 'S': o->sys_root = optarg; return true;
	case 'D': o->dev_root = optarg; return true;
	case 'h': o->help = true; return true;
	case 'k': o->socket = optarg; return true;
	case 'x': o->direct = true; return true;
	case 'G': o->persist_dir = optarg; return true;
	default: return false;
	}
}

static char sock_buf[300];

/* The daemon socket: --socket, else the config's [serve] socket, else
 * STATE_DIR/vfagent.sock. A config that cannot be opened (e.g. not
 * readable by this user) leaves the default; a broken one is an error. */
static int pick_socket(struct vfa_opts *o, struct vfa_err *e)
{
	struct vfa_config *cfg;
	int r;

	if (o->socket)
		return 0;
	snprintf(sock_buf, sizeof(sock_buf), "%s/vfagent.sock", o->state_dir);
	o->socket = sock_buf;
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return vfa_fail(e, ENOMEM, "out of memory");
	r = vfa_config_load(o->config, cfg, e);
	if (r == -ENOENT || r == -EACCES)
		r = 0;
	else if (!r && cfg->socket[0])
		snprintf(sock_buf, sizeof(sock_buf), "%s", cfg->socket);
	free(cfg);
	return r;
}

/* The state dir, if it exists, must be a directory. */
static int check_state_dir(const char *dir, struct vfa_err *e)
{
	struct stat st;

	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return vfa_usage(e, ENOTDIR, "state dir %s is not a directory: give -s a directory (default /run/vfagent)", dir);
	return 0;
}

/* The reply to cmd: from the daemon when one answers on o->socket, else
 * by running it here. */
static int call(const char *cmd, struct vfa_opts *o, json_object **ret_reply)
{
	json_object *req, *res = NULL;
	struct vfa_err e = { "", 0 };
	int r = vfa_req_check(cmd, o, &e);

	if (!r)
		r = check_state_dir(o->state_dir, &e);
	if (!r)
		r = pick_socket(o, &e);
	if (r) {
		*ret_reply = vfa_reply_json(r, NULL, &e);
		return 0;
	}
	req = vfa_req_json(cmd, o);
	r = o->direct ? -ECONNREFUSED : vfa_client_call(o->socket, req, ret_reply, &e);
	json_object_put(req);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		struct vfa_agent *a = NULL;

		r = vfa_agent_open(o, &a, &e);
		if (!r)
			r = vfa_dispatch(a, cmd, o, &res, &e);
		vfa_agent_close(a);
		*ret_reply = vfa_reply_json(r, res, &e);
		return 0;
	}
	if (r)
		fprintf(stderr, "vfagent: %s\n", e.msg);
	return r;
}

/* One command: through the daemon when one answers on its socket, else
 * directly (the state-dir lock keeps both safe). */
static int run(const char *cmd, struct vfa_opts *o, bool json)
{
	json_object *reply = NULL, *res = NULL, *v;
	int code;

	if (call(cmd, o, &reply))
		return VFA_EXIT_FAIL;
	code = json_object_object_get_ex(reply, "exit", &v) ? json_object_get_int(v) : 1;
	json_object_object_get_ex(reply, "result", &res);
	if (json) {
		json_object *out = res;

		if (!res) {
			out = json_object_new_object();
			json_object_object_foreach(reply, k, val)
				if (strcmp(k, "ok"))
					json_object_object_add(out, k, json_object_get(val));
		}
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		if (out != res)
			json_object_put(out);
	} else if (res) {
		if (json_object_object_get_ex(res, "reconcile", &v))
			for (size_t i = 0; i < json_object_array_length(v); i++)
				fprintf(stderr, "vfagent: reconcile: %s\n",
					json_object_get_string(json_object_array_get_idx(v, i)));
		vfa_render_text(stdout, cmd, res);
	}
	if (!res || code == VFA_EXIT_FAIL || code == VFA_EXIT_USAGE || code == VFA_EXIT_EXHAUSTED)
		if (json_object_object_get_ex(reply, "error", &v))
			fprintf(stderr, "vfagent: %s\n", json_object_get_string(v));
	json_object_put(reply);
	return code;
}

static const struct option gopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "state-dir", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "sysfs-root", required_argument, NULL, 'S' },
	{ "dev-root", required_argument, NULL, 'D' },
	{ "help", no_argument, NULL, 'h' },
	{ "pool", required_argument, NULL, 'p' },
	{ "mac", required_argument, NULL, 'm' },
	{ "vlan", required_argument, NULL, 'v' },
	{ "domain", required_argument, NULL, 'd' },
	{ "live", no_argument, NULL, 'L' },
	{ "persistent", no_argument, NULL, 'P' },
	{ "pci", required_argument, NULL, 'a' },
	{ "add", required_argument, NULL, 'A' },
	/* doctor's roots, for tests (README: vfagent doctor) */
	{ "proc-root", required_argument, NULL, 1001 },
	{ "etc-root", required_argument, NULL, 1002 },
	{ "run-root", required_argument, NULL, 1003 },
	{ "modules-root", required_argument, NULL, 1004 },
	{ "apparmor-param", required_argument, NULL, 1005 },
	{ "lease", required_argument, NULL, 'l' },
	{ "socket", required_argument, NULL, 'k' },
	{ "direct", no_argument, NULL, 'x' },
	{ "persist-dir", required_argument, NULL, 'G' },
	{ "version", no_argument, NULL, 'V' },
	{ "holder", required_argument, NULL, 1006 },
	{ NULL, 0, NULL, 0 },
};

/* One line for a bad option (getopt's own messages are off). */
static int bad_option(int c, char **argv, bool after_cmd)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		fprintf(stderr, "vfagent: option %s needs a value (vfagent --help)\n", arg);
	else if (c != '?')
		for (const struct option *g = gopts; g->name; g++) {
			if (g->val == c)
				fprintf(stderr, "vfagent: option --%s goes after the command (vfagent COMMAND --%s ...)\n",
					g->name, g->name);
		}
	else if (optopt)
		fprintf(stderr, "vfagent: unknown option -%c (vfagent --help lists the options)\n", optopt);
	else
		fprintf(stderr, "vfagent: unknown option %s (vfagent --help lists the options%s)\n",
			arg, after_cmd ? "" : "; options of a command go after it");
	return VFA_EXIT_USAGE;
}

/* Paths given on the command line must not be empty. */
static int check_paths(const struct vfa_opts *o)
{
	const char *bad = !*o->config ? "-c/--config" : !*o->state_dir ? "-s/--state-dir" :
			  o->socket && !*o->socket ? "--socket" : NULL;

	if (!bad)
		return 0;
	fprintf(stderr, "vfagent: %s '': empty path; give a file or directory\n", bad);
	return VFA_EXIT_USAGE;
}

/* vfagent serve, after the same checks as any command. */
static int serve(struct vfa_opts *o)
{
	struct vfa_err e = { "", 0 };
	int r = check_state_dir(o->state_dir, &e);

	if (!r)
		r = vfa_serve(o, &e);
	if (r)
		fprintf(stderr, "vfagent: %s\n", e.msg);
	return r ? (e.exit ? e.exit : 1) : 0;
}

int main(int argc, char **argv)
{
	struct vfa_opts o = {
		.config = "/etc/vfagent/vfagent.conf",
		.state_dir = "/run/vfagent",
	};
	const char *cmd = NULL;
	bool json = false;
	char pci[VFA_PCI_LEN];
	int c, r;

	opterr = 0;
	/* Options may come before or after the command. */
	while ((c = getopt_long(argc, argv, "+:c:s:jhV", gopts, NULL)) != -1) {
		if (c == 'V') {
			printf("vfagent %s\n", VFAGENT_VERSION);
			return 0;
		}
		if (!global_opt(c, &o, &json))
			return bad_option(c, argv, false);
	}
	if (o.help)
		return usage(stdout, 0);
	if (optind >= argc) {
		fprintf(stderr, "vfagent: no command given (vfagent --help lists them)\n");
		return VFA_EXIT_USAGE;
	}
	cmd = argv[optind];
	/* getopt stops at the first operand: ports takes its domain first */
	if (!strcmp(cmd, "ports") && optind + 1 < argc && argv[optind + 1][0] != '-')
		o.domain = argv[++optind];
	optind++;
	while ((c = getopt_long(argc, argv, ":c:s:jhV", gopts, NULL)) != -1) {
		if (c == 'V') {
			printf("vfagent %s\n", VFAGENT_VERSION);
			return 0;
		}
		if (global_opt(c, &o, &json)) {
			if (o.help)
				return cmd_usage(cmd);
			continue;
		}
		switch (c) {
		case 'p': o.pool = optarg; break;
		case 'd': o.domain = optarg; break;
		case 'L': o.live = true; break;
		case 'P': o.persistent = true; break;
		case 'a': o.pci = optarg; break;
		case 'l': o.lease = optarg; break;
		case 1006: o.holder = optarg; break;
		case 'A': {
			char *end;

			o.ports_add = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || !o.ports_add || o.ports_add > 64) {
				fprintf(stderr, "vfagent: --add %s: give 1..64 ports\n", optarg);
				return VFA_EXIT_USAGE;
			}
			break;
		}
		case 1001: o.proc_root = optarg; break;
		case 1002: o.etc_root = optarg; break;
		case 1003: o.run_root = optarg; break;
		case 1004: o.modules_root = optarg; break;
		case 1005: o.apparmor_param = optarg; break;
		case 'm':
			r = vfa_parse_mac(optarg, o.mac);
			if (r) {
				fprintf(stderr, "vfagent: --mac %s: %s\n", optarg, vfa_mac_error(r));
				return VFA_EXIT_USAGE;
			}
			o.has_mac = true;
			break;
		case 'v':
			r = vfa_parse_vlan(optarg, &o.vlan, &o.qos, NULL);
			if (r) {
				fprintf(stderr, "vfagent: --vlan %s: %s\n", optarg, r == -EDOM ?
					"QoS (802.1p priority) must be 0..7" :
					"VLAN ID must be 0..4094 (4095 is reserved), as ID or ID:QOS");
				return VFA_EXIT_USAGE;
			}
			o.has_vlan = true;
			break;
		default: return bad_option(c, argv, true);
		}
	}
	if (!strcmp(cmd, "list") && optind < argc)
		o.pf = argv[optind++];
	if (!strcmp(cmd, "ports") && !o.domain && optind < argc)
		o.domain = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "vfagent: unexpected argument \"%s\"\n", argv[optind]);
		return VFA_EXIT_USAGE;
	}
	/* --pci 00:12.0 names the same VF as 0000:00:12.0 (bad ones: check_ids) */
	if (o.pci && vfa_parse_pci(o.pci, pci) == 0)
		o.pci = pci;
	if (check_paths(&o))
		return VFA_EXIT_USAGE;
	if (!strcmp(cmd, "doctor"))
		return vfa_doctor_main(&o, json);
	if (!strcmp(cmd, "ports"))
		return vfa_ports_main(&o, json);
	if (!strcmp(cmd, "serve"))
		return serve(&o);
	return run(cmd, &o, json);
}
