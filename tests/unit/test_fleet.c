/* What vfagent serve publishes for the fleet, from struct inputs: the CDI
 * spec's JSON, the metrics text, the repair counts by kind, the
 * atomic file update, the [serve] keys. */
#include "agent/fleet.h"
#include "tests/unit/t.h"
#include "tests/unit/t_text.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static struct vfa_fleet_snap snap;

static void fill(void)
{
	static const struct vfa_fleet_vf vfs[] = {
		{ "net-a", "0000:00:12.0", 17, false, true },
		{ "net-a", "0000:00:12.2", 18, true, true },
		{ "net-a", "0000:00:12.4", -1, false, false },
		{ "b", "0000:00:13.0", 20, false, false },
	};

	memset(&snap, 0, sizeof(snap));
	memcpy(snap.vfs, vfs, sizeof(vfs));
	snap.n_vfs = 4;
	snap.pfs[0] = (struct vfa_fleet_pf){ "net-a", "eth0", true, true };
	snap.pfs[1] = (struct vfa_fleet_pf){ "b", "0000:00:03.0", false, false };
	snap.n_pfs = 2;
	snap.libvirt_connected = true;
}

static const char *dev_env(json_object *devs, size_t i, const char **ret_name,
			   const char **ret_node)
{
	json_object *d = json_object_array_get_idx(devs, i), *v, *ed, *a;

	*ret_name = json_object_object_get_ex(d, "name", &v) ? json_object_get_string(v) : "";
	*ret_node = "";
	if (!json_object_object_get_ex(d, "containerEdits", &ed))
		return "";
	if (json_object_object_get_ex(ed, "deviceNodes", &a) && json_object_array_length(a) == 1 &&
	    json_object_object_get_ex(json_object_array_get_idx(a, 0), "path", &v))
		*ret_node = json_object_get_string(v);
	if (!json_object_object_get_ex(ed, "env", &a) || json_object_array_length(a) != 1)
		return "";
	return json_object_get_string(json_object_array_get_idx(a, 0));
}

static void test_cdi(void)
{
	json_object *spec, *v, *devs, *ed, *nodes;
	const char *name, *node, *env;
	char *txt = NULL, buf[64];

	fill();
	int r = vfa_cdi_render(&snap, &txt);	/* T_EQ_INT evaluates twice */

	T_EQ_INT("cdi.render", r, 0);
	spec = json_tokener_parse(txt);
	T("cdi.json_parses", spec, "%s", txt);
	T_EQ_STR("cdi.version", json_object_object_get_ex(spec, "cdiVersion", &v) ?
		 json_object_get_string(v) : "", "0.5.0");
	T_EQ_STR("cdi.kind", json_object_object_get_ex(spec, "kind", &v) ?
		 json_object_get_string(v) : "", "vfagent.io/vf");
	json_object_object_get_ex(spec, "devices", &devs);
	T_EQ_INT("cdi.no_group_left_out", devs ? json_object_array_length(devs) : 0, 3);
	env = dev_env(devs, 0, &name, &node);
	T_EQ_STR("cdi.name_is_pci", name, "0000:00:12.0");
	T_EQ_STR("cdi.group_node", node, "/dev/vfio/17");
	T_EQ_STR("cdi.env", env, "PCIDEVICE_VFAGENT_IO_NET_A=0000:00:12.0");
	env = dev_env(devs, 2, &name, &node);
	T_EQ_STR("cdi.other_pool", env, "PCIDEVICE_VFAGENT_IO_B=0000:00:13.0");
	T_EQ_STR("cdi.other_node", node, "/dev/vfio/20");
	T("cdi.container_node", json_object_object_get_ex(spec, "containerEdits", &ed) &&
	  json_object_object_get_ex(ed, "deviceNodes", &nodes) &&
	  json_object_array_length(nodes) == 1 &&
	  json_object_object_get_ex(json_object_array_get_idx(nodes, 0), "path", &v) &&
	  !strcmp(json_object_get_string(v), "/dev/vfio/vfio"), "%s", txt);
	vfa_cdi_env_name("x.y-z", buf, sizeof(buf));
	T_EQ_STR("cdi.env_name_mapping", buf, "PCIDEVICE_VFAGENT_IO_X_Y_Z");
	vfa_cdi_env_name("abcdefgh", buf, 24);
	T_EQ_STR("cdi.env_name_cut", buf, "PCIDEVICE_VFAGENT_IO_AB");
	json_object_put(spec);
	free(txt);
}

/* Every bucket's le label is its bound as "%g" prints it (Prometheus
 * reads the label as a float; the renderer keeps them as text); label
 * values escape '\\', '"' and newlines; a text past the first buffer. */
static void test_metrics_text(const struct vfa_metrics *m)
{
	static const double bound[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
	static struct vfa_fleet_snap big;
	unsigned int all = 0;
	char line[160], *txt = NULL;

	if (vfa_metrics_render(m, &snap, &txt)) {
		T("metrics.text_render", 0, "render failed");
		return;
	}
	for (size_t i = 0; i < sizeof(bound) / sizeof(bound[0]); i++) {
		snprintf(line, sizeof(line), "vfagent_alloc_duration_seconds_bucket{pool=\"net-a\",le=\"%g\"} %d",
			 bound[i], bound[i] < 0.2 ? 1 : 2);
		all += t_has_line(txt, line);
	}
	T("metrics.le_all_bounds", all == sizeof(bound) / sizeof(bound[0]), "%u of 11\n%s", all, txt);
	free(txt);
	big = snap;
	snprintf(big.pfs[0].pf, sizeof(big.pfs[0].pf), "a\"b\\c\nd");
	for (size_t i = 1; i < 60 && i < sizeof(big.pfs) / sizeof(big.pfs[0]); i++)
		big.pfs[i] = (struct vfa_fleet_pf){ "b", "0123456789abcdef", true, true };
	big.n_pfs = 60 < sizeof(big.pfs) / sizeof(big.pfs[0]) ? 60 : sizeof(big.pfs) / sizeof(big.pfs[0]);
	txt = NULL;
	int r = vfa_metrics_render(m, &big, &txt);

	T("metrics.label_escaped", !r && t_has_line(txt, "vfagent_pf_up{pool=\"net-a\",pf=\"a\\\"b\\\\c\\nd\"} 1"),
	  "%s", txt ? txt : "");
	T("metrics.text_grows", !r && strlen(txt) > 8192 && t_has_line(txt, "vfagent_libvirt_connected 1") &&
	  t_has_line(txt, "vfagent_release_failures_total 1"), "len %zu", txt ? strlen(txt) : 0);
	free(txt);
}

static void test_metrics(void)
{
	static struct vfa_metrics m;
	struct vfa_config cfg = { .n_pools = 2 };
	unsigned int rep[VFA_REPAIR__N] = { [VFA_REPAIR_DRIVER] = 1, [VFA_REPAIR_RECLAIMED] = 1,
					    [VFA_REPAIR_PF_UP] = 1 };
	char *txt = NULL;

	fill();
	snprintf(cfg.pools[0].name, VFA_NAME_LEN, "net-a");
	snprintf(cfg.pools[1].name, VFA_NAME_LEN, "b");
	vfa_metrics_sync(&m, &cfg);
	vfa_metrics_alloc(&m, "net-a", 0, 0, 0.003);
	vfa_metrics_alloc(&m, "net-a", 0, 0, 0.2);
	vfa_metrics_alloc(&m, "net-a", -ENOSPC, VFA_EXIT_EXHAUSTED, 0.001);
	vfa_metrics_alloc(&m, "net-a", -EIO, VFA_EXIT_FAIL, 0.001);
	vfa_metrics_alloc(&m, "nosuch", 0, 0, 0.001);	/* not configured: not counted */
	vfa_metrics_release(&m, "b", 2, -EINPROGRESS, 20);
	vfa_metrics_release(&m, NULL, 0, -ENOENT, 0.1);
	vfa_metrics_repairs(&m, rep);
	int r = vfa_metrics_render(&m, &snap, &txt);

	T_EQ_INT("metrics.render", r, 0);
	if (!txt)
		return;
	T("metrics.total", t_has_line(txt, "vfagent_pool_vfs{pool=\"net-a\"} 3"), "%s", txt);
	T("metrics.free", t_has_line(txt, "vfagent_pool_vfs_free{pool=\"net-a\"} 1"), "%s", txt);
	T("metrics.leased", t_has_line(txt, "vfagent_pool_vfs_leased{pool=\"net-a\"} 1"), "%s", txt);
	T("metrics.unhealthy", t_has_line(txt, "vfagent_pool_vfs_unhealthy{pool=\"net-a\"} 1") &&
	  t_has_line(txt, "vfagent_pool_vfs_unhealthy{pool=\"b\"} 1"), "%s", txt);
	T("metrics.pf_up", t_has_line(txt, "vfagent_pf_up{pool=\"net-a\",pf=\"eth0\"} 1") &&
	  t_has_line(txt, "vfagent_pf_up{pool=\"b\",pf=\"0000:00:03.0\"} 0"), "%s", txt);
	T("metrics.libvirt", t_has_line(txt, "vfagent_libvirt_connected 1"), "%s", txt);
	T("metrics.allocs", t_has_line(txt, "vfagent_allocs_total{pool=\"net-a\"} 2"), "%s", txt);
	T("metrics.exhausted", t_has_line(txt, "vfagent_alloc_exhausted_total{pool=\"net-a\"} 1"), "%s", txt);
	T("metrics.failures", t_has_line(txt, "vfagent_alloc_failures_total{pool=\"net-a\"} 1"), "%s", txt);
	T("metrics.unknown_pool_ignored", !strstr(txt, "nosuch"), "%s", txt);
	T("metrics.releases_pending_counted", t_has_line(txt, "vfagent_releases_total{pool=\"b\"} 2"), "%s", txt);
	T("metrics.release_failures", t_has_line(txt, "vfagent_release_failures_total 1"), "%s", txt);
	T("metrics.repairs", t_has_line(txt, "vfagent_reconcile_repairs_total{kind=\"driver\"} 1") &&
	  t_has_line(txt, "vfagent_reconcile_repairs_total{kind=\"reclaimed\"} 1") &&
	  t_has_line(txt, "vfagent_reconcile_repairs_total{kind=\"pf_up\"} 1") &&
	  t_has_line(txt, "vfagent_reconcile_repairs_total{kind=\"mac_vlan\"} 0"), "%s", txt);
	T("metrics.hist_buckets_cumulative",
	  t_has_line(txt, "vfagent_alloc_duration_seconds_bucket{pool=\"net-a\",le=\"0.005\"} 1") &&
	  t_has_line(txt, "vfagent_alloc_duration_seconds_bucket{pool=\"net-a\",le=\"0.1\"} 1") &&
	  t_has_line(txt, "vfagent_alloc_duration_seconds_bucket{pool=\"net-a\",le=\"0.25\"} 2") &&
	  t_has_line(txt, "vfagent_alloc_duration_seconds_bucket{pool=\"net-a\",le=\"+Inf\"} 2") &&
	  t_has_line(txt, "vfagent_alloc_duration_seconds_count{pool=\"net-a\"} 2") &&
	  t_has_line(txt, "vfagent_alloc_duration_seconds_sum{pool=\"net-a\"} 0.203"), "%s", txt);
	T("metrics.hist_inf", t_has_line(txt, "vfagent_release_duration_seconds_bucket{pool=\"b\",le=\"10\"} 0") &&
	  t_has_line(txt, "vfagent_release_duration_seconds_bucket{pool=\"b\",le=\"+Inf\"} 1"), "%s", txt);
	T("metrics.help_type", strstr(txt, "# HELP vfagent_allocs_total ") &&
	  strstr(txt, "# TYPE vfagent_allocs_total counter\n") &&
	  strstr(txt, "# TYPE vfagent_alloc_duration_seconds histogram\n"), "%s", txt);
	free(txt);
	test_metrics_text(&m);
	/* A pool dropped from the config leaves; one kept keeps its counts. */
	cfg.n_pools = 1;
	vfa_metrics_sync(&m, &cfg);
	T("metrics.sync", m.n_pools == 1 && m.pools[0].allocs == 2, "n %zu allocs %llu",
	  m.n_pools, m.pools[0].allocs);
}

static void test_file_update(void)
{
	char dir[] = "/tmp/vfagent-fleet.XXXXXX", path[128], link[128], buf[32] = "";
	struct stat st1, st2;
	bool changed = false;
	int fd;

	if (!mkdtemp(dir)) {
		T("file.tmpdir", 0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/x.prom", dir);
	T("file.create", vfa_file_update(path, "a 1\n", 4, &changed) == 0 && changed, "changed %d", changed);
	stat(path, &st1);
	T("file.unchanged_not_rewritten", vfa_file_update(path, "a 1\n", 4, &changed) == 0 &&
	  !changed && stat(path, &st2) == 0 && st1.st_ino == st2.st_ino, "changed %d", changed);
	T("file.changed", vfa_file_update(path, "a 2\n", 4, &changed) == 0 && changed &&
	  stat(path, &st2) == 0 && st1.st_ino != st2.st_ino && (st2.st_mode & 0777) == 0644,
	  "changed %d mode %o", changed, st2.st_mode & 0777);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		close(fd);
	}
	T_EQ_STR("file.content", buf, "a 2\n");
	/* A symlink planted where the file goes is replaced, never followed. */
	snprintf(link, sizeof(link), "%s/victim", dir);
	close(open(link, O_CREAT | O_WRONLY, 0600));
	unlink(path);
	if (symlink(link, path) == 0) {
		T("file.symlink_not_followed", vfa_file_update(path, "b 1\n", 4, NULL) == 0 &&
		  lstat(path, &st1) == 0 && S_ISREG(st1.st_mode) && stat(link, &st2) == 0 &&
		  st2.st_size == 0, "victim size %lld", (long long)st2.st_size);
	}
	T("file.no_dir", vfa_file_update("/nonexistent-vfagent/x.prom", "x", 1, NULL) == -ENOENT,
	  "want -ENOENT");
	unlink(path);
	unlink(link);
	rmdir(dir);
}

static void test_config(void)
{
	static struct vfa_config cfg;
	struct vfa_err e = { "", 0 };
	const char *c1 = "[serve]\ncdi-dir = /run/x/cdi\nmetrics-file =\n";
	const char *c2 = "[serve]\nmetrics-file = /tmp/x.txt\n";
	const char *c3 = "[serve]\nsocket = /tmp/s\n";

	T("config.keys", vfa_config_parse(c1, strlen(c1), "t.conf", &cfg, &e) == 0 &&
	  !strcmp(vfa_fleet_cdi_dir(&cfg), "/run/x/cdi") && !strcmp(vfa_fleet_metrics_file(&cfg), ""),
	  "%s", e.msg);
	T("config.defaults", vfa_config_parse(c3, strlen(c3), "t.conf", &cfg, &e) == 0 &&
	  !strcmp(vfa_fleet_cdi_dir(&cfg), "/var/run/cdi") &&
	  !strcmp(vfa_fleet_metrics_file(&cfg), "/var/lib/prometheus/node-exporter/vfagent.prom"),
	  "%s", e.msg);
	T("config.prom_suffix", vfa_config_parse(c2, strlen(c2), "t.conf", &cfg, &e) == -EINVAL &&
	  strstr(e.msg, "*.prom"), "%s", e.msg);
}

int main(void)
{
	test_cdi();
	test_metrics();
	test_file_update();
	test_config();
	return t_done();
}
