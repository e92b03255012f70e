/* Configuration: INI through libinih. Errors carry file:line; a line
 * counter in our reader gives the handler the line it is on. */
#include "agent/agent.h"
#include "agent/numfmt.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfio/vfio.h"

static int vfa_parse_bool(const char *s, bool *ret)
{
	static const char *yes[] = { "1", "yes", "on", "true" };
	static const char *no[] = { "0", "no", "off", "false" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*ret = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned long max, int base,
		      unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A VF's MAC: exactly six pairs of hex digits split by ':' (as ip(8)
 * prints them; '-' and other separators are refused so that one spelling
 * is journaled and compared). Returns 0, -EINVAL if malformed,
 * -EADDRNOTAVAIL for a multicast/broadcast address (a VF's own address
 * must be unicast), -EDESTADDRREQ for 00:00:00:00:00:00 (the scrubbed
 * "no address"). mac is written only on success. */
int vfa_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t b[6];
	bool zero = true;

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -EINVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
		zero &= b[i] == 0;
	}
	if (b[0] & 1)
		return -EADDRNOTAVAIL;
	if (zero)
		return -EDESTADDRREQ;
	memcpy(mac, b, 6);
	return 0;
}

/* The user's fix for a vfa_parse_mac() error r (static text). */
const char *vfa_mac_error(int r)
{
	if (r == -EADDRNOTAVAIL)
		return "a multicast MAC (lowest bit of the first byte set) cannot be a VF's own address: use a unicast one like 02:00:00:00:00:01";
	if (r == -EDESTADDRREQ)
		return "00:00:00:00:00:00 means no address: omit --mac for a random one";
	return "expected six pairs of hex digits split by ':' like 52:54:00:aa:bb:cc";
}

void vfa_mac_str(const uint8_t m[6], char buf[18])
{
	vfa_hex(buf, m, 6, ':');
}

/* "ID" or "ID:QOS"; ID 0..4094 (4095 is reserved: the kernel may take it,
 * we do not), QOS 0..7. */
int vfa_parse_vlan(const char *s, uint16_t *ret_vlan, uint8_t *ret_qos,
		   bool *ret_has_qos)
{
	char id[16];
	const char *colon = strchr(s, ':');
	unsigned long v, q = 0;
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n == 0 || n >= sizeof(id))
		return -EINVAL;
	memcpy(id, s, n);
	id[n] = '\0';
	if (parse_uint(id, 4094, 10, &v) < 0)
		return -ERANGE;
	if (colon && parse_uint(colon + 1, 7, 10, &q) < 0)
		return -EDOM;
	*ret_vlan = (uint16_t)v;
	*ret_qos = (uint8_t)q;
	if (ret_has_qos)
		*ret_has_qos = colon != NULL;
	return 0;
}

struct parse_state {
	const char *buf;		/* the whole file, len bytes, no NUL inside */
	size_t len, off;
	int line;
	struct vfa_config *cfg;
	struct vfa_pool *pool;		/* current [pool NAME] section */
	char section[128];
	bool new_section;		/* a "[...]" line was read since the last key */
	int section_line;
	struct vfa_err *e;
	bool failed;
};

/* fgets() over the buffer, for ini_parse_stream(): at most num - 1 bytes,
 * up to and including a newline. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	const char *p, *nl;
	size_t n;

	if (ps->off >= ps->len || num < 2)
		return NULL;
	p = ps->buf + ps->off;
	n = ps->len - ps->off;
	if (n > (size_t)num - 1)
		n = (size_t)num - 1;
	nl = memchr(p, '\n', n);
	if (nl)
		n = (size_t)(nl - p) + 1;
	memcpy(str, p, n);
	str[n] = '\0';
	ps->off += n;
	ps->line++;
	p = str + strspn(str, " \t");
	if (*p == '[') {
		ps->new_section = true;
		ps->section_line = ps->line;
	}
	return str;
}

#define PERR(...) do { \
	if (!ps->failed) \
		vfa_usage(ps->e, EINVAL, "%s:%d: " FIRST(__VA_ARGS__, x), \
			 ps->cfg->path, ps->line REST(__VA_ARGS__)); \
	ps->failed = true; \
	return 0; \
} while (0)
#define FIRST(a, ...) a
#define REST(a, ...) , ##__VA_ARGS__

static int pool_key(struct parse_state *ps, struct vfa_pool *p,
		    const char *key, const char *val)
{
	unsigned long v;
	bool b;

	if (!strcmp(key, "pf")) {
		/* Several PFs: repeated keys or a list split by spaces/commas. */
		char buf[512], *save, *tok;

		snprintf(buf, sizeof(buf), "%s", val);
		for (tok = strtok_r(buf, " ,\t", &save); tok;
		     tok = strtok_r(NULL, " ,\t", &save)) {
			if (p->n_pf >= VFA_MAX_PFS)
				PERR("pool %s: more than %d PFs", p->name, VFA_MAX_PFS);
			if (strlen(tok) >= VFA_NAME_LEN)
				PERR("pf \"%s\": name too long", tok);
			snprintf(p->pf[p->n_pf], VFA_NAME_LEN, "%s", tok);
			p->pf_line[p->n_pf++] = ps->line;
		}
	} else if (!strcmp(key, "vfs")) {
		if (parse_uint(val, 256, 10, &v) < 0 || v == 0)
			PERR("vfs = %s: expected a number of VFs, 1..256", val);
		p->vfs = (unsigned int)v;
	} else if (!strcmp(key, "vlan")) {
		bool hq;
		uint8_t q;

		if (vfa_parse_vlan(val, &p->vlan, &q, &hq) < 0)
			PERR("vlan = %s: expected 0..4094 (optionally :QOS 0..7)", val);
		if (hq)
			p->qos = q;
	} else if (!strcmp(key, "qos")) {
		if (parse_uint(val, 7, 10, &v) < 0)
			PERR("qos = %s: expected 0..7", val);
		p->qos = (uint8_t)v;
	} else if (!strcmp(key, "spoofchk")) {
		if (vfa_parse_bool(val, &b) < 0)
			PERR("spoofchk = %s: expected on or off", val);
		p->spoofchk = b;
	} else if (!strcmp(key, "trust")) {
		if (vfa_parse_bool(val, &b) < 0)
			PERR("trust = %s: expected on or off", val);
		p->trust = b;
	} else if (!strcmp(key, "keep-owner")) {
		if (vfa_parse_bool(val, &b) < 0)
			PERR("keep-owner = %s: expected yes or no", val);
		p->keep_owner = b;
	} else if (!strcmp(key, "link-state")) {
		if (!strcmp(val, "auto"))
			p->link_state = IFLA_VF_LINK_STATE_AUTO;
		else if (!strcmp(val, "enable"))
			p->link_state = IFLA_VF_LINK_STATE_ENABLE;
		else if (!strcmp(val, "disable"))
			p->link_state = IFLA_VF_LINK_STATE_DISABLE;
		else
			PERR("link-state = %s: expected auto, enable or disable", val);
	} else if (!strcmp(key, "max-rate")) {
		if (parse_uint(val, UINT32_MAX, 10, &v) < 0)
			PERR("max-rate = %s: expected Mbit/s, 0 for none", val);
		p->max_rate = (uint32_t)v;
	} else if (!strcmp(key, "owner")) {
		if (strlen(val) >= VFA_NAME_LEN ||
		    vfio_parse_owner(val, &p->uid, &p->gid) < 0)
			PERR("owner = %s: no such user:group on this host", val);
		if (p->uid == (uid_t)-1 || p->gid == (gid_t)-1)
			PERR("owner = %s: id 4294967295 (-1) means \"no change\" to the kernel, not an owner; name a real user:group", val);
		snprintf(p->owner, sizeof(p->owner), "%s", val);
		p->has_owner = true;
	} else if (!strcmp(key, "mode")) {
		if (parse_uint(val, 0777, 8, &v) < 0)
			PERR("mode = %s: expected octal permissions like 0660", val);
		if (v & 0007)
			PERR("mode = %s: no permission bits for \"other\" allowed (whoever opens a VFIO node drives the VF's DMA): use 0660 with owner = USER:GROUP", val);
		p->mode = (mode_t)v;
	} else {
		PERR("unknown key \"%s\" in [pool %s]", key, p->name);
	}
	return 1;
}

/* [serve]: who may use the socket (root always may), and the watch. */
static int serve_key(struct parse_state *ps, const char *key, const char *val)
{
	struct vfa_config *cfg = ps->cfg;
	char buf[512], *save, *tok;
	bool b;

	if (!strcmp(key, "socket")) {
		if (strlen(val) >= sizeof(cfg->socket) || val[0] != '/')
			PERR("socket = %s: expected an absolute path", val);
		snprintf(cfg->socket, sizeof(cfg->socket), "%s", val);
		return 1;
	}
	if (!strcmp(key, "pf-restore")) {
		if (vfa_parse_bool(val, &b) < 0)
			PERR("pf-restore = %s: expected yes or no", val);
		cfg->pf_restore = b;
		return 1;
	}
	if (strcmp(key, "allow-users") && strcmp(key, "allow-groups"))
		PERR("unknown key \"%s\" in [serve]", key);
	snprintf(buf, sizeof(buf), "%s", val);
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		char spec[160];
		uid_t u;
		gid_t g;

		if (!strcmp(key, "allow-users")) {
			if (vfio_parse_owner(tok, &u, &g) < 0 || u == (uid_t)-1)
				PERR("allow-users: no user \"%s\" on this host", tok);
			if (cfg->n_allow_uid >= VFA_MAX_ALLOW)
				PERR("allow-users: at most %d", VFA_MAX_ALLOW);
			cfg->allow_uid[cfg->n_allow_uid++] = u;
		} else {
			snprintf(spec, sizeof(spec), "root:%s", tok);
			if (vfio_parse_owner(spec, &u, &g) < 0 || g == (gid_t)-1)
				PERR("allow-groups: no group \"%s\" on this host", tok);
			if (cfg->n_allow_gid >= VFA_MAX_ALLOW)
				PERR("allow-groups: at most %d", VFA_MAX_ALLOW);
			cfg->allow_gid[cfg->n_allow_gid++] = g;
		}
	}
	return 1;
}

/* ---- Daemon rules (vfagent serve; checked in agent/authz.c) ----
 * [pool NAME] allow-users, allow-groups: who may alloc from the pool
 * (unset: anyone the daemon serves); allow-vlans: the VLAN IDs a request
 * may ask for, as "100-199, 300" (0 is untagged). [serve] admin-groups:
 * members may run setup and release anyone's lease (root always may);
 * max-connections-per-user: open connections per non-root uid. */
static int rule_ids(struct parse_state *ps, const char *key, const char *val,
		    uint32_t *ids, unsigned int *n)
{
	char buf[512], spec[160], *save, *tok;
	bool users = !strcmp(key, "allow-users");

	snprintf(buf, sizeof(buf), "%s", val);
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		uid_t u;
		gid_t g;

		snprintf(spec, sizeof(spec), users ? "%s" : "root:%s", tok);
		if (vfio_parse_owner(spec, &u, &g) < 0)
			PERR("%s: no %s \"%s\" on this host", key, users ? "user" : "group", tok);
		if (*n >= 16)
			PERR("%s: at most 16", key);
		ids[(*n)++] = users ? u : g;
	}
	return 1;
}

static int rule_vlans(struct parse_state *ps, struct vfa_pool *p, const char *val)
{
	char buf[512], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", val);
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		char *dash = strchr(tok, '-');
		unsigned long lo, hi;

		if (dash)
			*dash = '\0';
		if (parse_uint(tok, 4094, 10, &lo) < 0 ||
		    parse_uint(dash ? dash + 1 : tok, 4094, 10, &hi) < 0 || hi < lo)
			PERR("allow-vlans = %s: expected VLAN IDs 0..4094 or ranges like 100-199", val);
		if (p->n_vlan_ranges >= 16)
			PERR("allow-vlans: at most 16 ranges");
		p->vlan_lo[p->n_vlan_ranges] = (uint16_t)lo;
		p->vlan_hi[p->n_vlan_ranges++] = (uint16_t)hi;
	}
	return 1;
}

/* -1 if key is no rule key, else as handler(). */
static int rule_key(struct parse_state *ps, const char *section, const char *key,
		    const char *val)
{
	struct vfa_pool *p = ps->pool;
	unsigned long v;

	if (p && !strcmp(key, "allow-users"))
		return rule_ids(ps, key, val, p->acl_uid, &p->n_acl_uid);
	if (p && !strcmp(key, "allow-groups"))
		return rule_ids(ps, key, val, p->acl_gid, &p->n_acl_gid);
	if (p && !strcmp(key, "allow-vlans"))
		return rule_vlans(ps, p, val);
	if (p || strcmp(section, "serve"))
		return -1;
	if (!strcmp(key, "admin-groups"))
		return rule_ids(ps, key, val, ps->cfg->admin_gid, &ps->cfg->n_admin_gid);
	if (!strcmp(key, "max-connections-per-user")) {
		if (parse_uint(val, 1000, 10, &v) < 0 || v == 0)
			PERR("max-connections-per-user = %s: expected 1..1000", val);
		ps->cfg->max_conn_per_user = (unsigned int)v;
		return 1;
	}
	return -1;
}

/* ---- What the daemon publishes for the fleet (agent/fleet.c) ----
 * [serve] cdi-dir: where the CDI spec goes; metrics-file: the file for
 * node_exporter's textfile collector. Empty disables either. -1 if key
 * is neither, else as handler(). */
static int fleet_key(struct parse_state *ps, const char *section, const char *key,
		     const char *val)
{
	struct vfa_config *cfg = ps->cfg;
	bool cdi = !strcmp(key, "cdi-dir");
	char *dst = cdi ? cfg->cdi_dir : cfg->metrics_file;

	if (ps->pool || strcmp(section, "serve") || (!cdi && strcmp(key, "metrics-file")))
		return -1;
	if (*val && (val[0] != '/' || strlen(val) >= sizeof(cfg->cdi_dir) - 32))
		PERR("%s = %s: expected an absolute path (or nothing, to disable)", key, val);
	if (!cdi && *val && (strlen(val) < 6 || strcmp(val + strlen(val) - 5, ".prom")))
		PERR("metrics-file = %s: node_exporter's textfile collector reads only *.prom files", val);
	snprintf(dst, sizeof(cfg->cdi_dir), "%s", val);
	if (cdi)
		cfg->cdi_dir_set = true;
	else
		cfg->metrics_file_set = true;
	return 1;
}

static int handler(void *user, const char *section, const char *key,
		   const char *val)
{
	struct parse_state *ps = user;
	struct vfa_config *cfg = ps->cfg;

	if (ps->failed)
		return 0;
	if (ps->new_section || strcmp(section, ps->section)) {
		ps->new_section = false;
		snprintf(ps->section, sizeof(ps->section), "%s", section);
		ps->pool = NULL;
		if (!strncmp(section, "pool ", 5)) {
			const char *name = section + 5;

			if (!*name || strlen(name) >= VFA_NAME_LEN ||
			    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != strlen(name))
				PERR("[%s]: pool names are letters, digits, '-', '_', '.'", section);
			if (vfa_config_pool(cfg, name))
				PERR("[%s]: pool defined twice", section);
			if (cfg->n_pools >= VFA_MAX_POOLS)
				PERR("too many pools (max %d)", VFA_MAX_POOLS);
			ps->pool = &cfg->pools[cfg->n_pools++];
			memset(ps->pool, 0, sizeof(*ps->pool));
			snprintf(ps->pool->name, sizeof(ps->pool->name), "%s", name);
			ps->pool->spoofchk = true;
			ps->pool->link_state = IFLA_VF_LINK_STATE_AUTO;
			ps->pool->mode = 0600;
			ps->pool->line = ps->section_line;
		} else if (strcmp(section, "libvirt") && strcmp(section, "serve")) {
			PERR("unknown section [%s] (expected [pool NAME], [libvirt] or [serve])", section);
		}
	}
	if (!key)		/* section header only (newer inih) */
		return 1;
	{
		int rr = rule_key(ps, section, key, val);	/* daemon rules, above */

		if (rr >= 0)
			return rr;
		rr = fleet_key(ps, section, key, val);	/* CDI, metrics, above */
		if (rr >= 0)
			return rr;
	}
	if (ps->pool)
		return pool_key(ps, ps->pool, key, val);
	if (!strcmp(section, "serve"))
		return serve_key(ps, key, val);
	if (!strcmp(key, "uri")) {
		if (strlen(val) >= sizeof(cfg->libvirt_uri))
			PERR("uri too long");
		snprintf(cfg->libvirt_uri, sizeof(cfg->libvirt_uri), "%s", val);
		return 1;
	}
	PERR("unknown key \"%s\" in [%s]", key, section);
}

struct vfa_pool *vfa_config_pool(struct vfa_config *cfg, const char *name)
{
	for (unsigned int i = 0; i < cfg->n_pools; i++)
		if (!strcmp(cfg->pools[i].name, name))
			return &cfg->pools[i];
	return NULL;
}

static int check_pools(const struct vfa_config *cfg, struct vfa_err *e)
{
	const char *path = cfg->path;

	for (unsigned int i = 0; i < cfg->n_pools; i++) {
		const struct vfa_pool *p = &cfg->pools[i];

		if (p->n_pf == 0)
			return vfa_usage(e, EINVAL, "%s:%d: [pool %s] has no pf", path,
					p->line, p->name);
		if (p->vfs == 0)
			return vfa_usage(e, EINVAL, "%s:%d: [pool %s] has no vfs (how many VFs to create)",
					path, p->line, p->name);
		for (unsigned int j = 0; j < p->n_pf; j++)
			for (unsigned int k = 0; k <= i; k++) {
				const struct vfa_pool *q = &cfg->pools[k];

				for (unsigned int m = 0; m < q->n_pf; m++) {
					if ((k == i && m >= j) || strcmp(q->pf[m], p->pf[j]))
						continue;
					return vfa_usage(e, EINVAL,
						"%s:%d: pf %s is already in [pool %s] (line %d); a PF belongs to one pool",
						path, p->pf_line[j], p->pf[j], q->name, q->pf_line[m]);
				}
			}
	}
	return 0;
}

/**
 * vfa_config_parse() - parse and check a whole config held in memory
 * @buf, @len: the file's bytes (need not be NUL-terminated)
 * @path: the name used in "path:line:" messages
 *
 * Returns 0 with *cfg filled, or -errno with e saying "path:line: what"
 * (exit 2). A NUL byte anywhere or an empty buffer is refused. cfg is
 * the caller's; it is overwritten even on failure.
 */
int vfa_config_parse(const char *buf, size_t len, const char *path,
		     struct vfa_config *cfg, struct vfa_err *e)
{
	struct parse_state ps = { .buf = buf, .len = len, .cfg = cfg, .e = e,
				  .section = "\x01" };
	const char *nul = memchr(buf, '\0', len);
	int r;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	if (len == 0)
		return vfa_usage(e, ENODATA, "%s: empty file: write a config (see vfagent.conf.example) or name another with -c", path);
	if (nul)
		return vfa_usage(e, EINVAL, "%s: NUL byte at offset %zu: not a text config (wrong file given to -c?)",
				 path, (size_t)(nul - buf));
	r = ini_parse_stream(read_line, &ps, handler, &ps);
	if (ps.failed)
		return -EINVAL;
	if (r != 0)
		return vfa_usage(e, EINVAL, "%s:%d: not a valid INI line", path, r);
	return check_pools(cfg, e);
}

#define CONFIG_MAX_BYTES (1024 * 1024)

/* Reads a whole regular file (at most CONFIG_MAX_BYTES) into *ret_buf,
 * which the caller frees. */
static int read_config(const char *path, char **ret_buf, size_t *ret_len,
		       struct vfa_err *e)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return vfa_usage(e, errno, "%s: %s (write one: see vfagent.conf.example)",
				 path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = vfa_fail(e, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vfa_usage(e, S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
			      "%s: not a regular file (%s): -c needs the config file itself",
			      path, S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		r = vfa_usage(e, EFBIG, "%s: %lld bytes: a config is at most %d bytes",
			      path, (long long)st.st_size, CONFIG_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = vfa_fail(e, ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = vfa_fail(e, errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > (size_t)st.st_size) {
			r = vfa_usage(e, EFBIG, "%s: the file grew while being read: try again", path);
			goto out;
		}
	}
	*ret_buf = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

/* Loads and checks a whole config (vfa_config_parse() over the file).
 * Returns 0 or -errno with e set; a path that is not a readable regular
 * file is refused (exit 2). */
int vfa_config_load(const char *path, struct vfa_config *cfg,
		    struct vfa_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	r = read_config(path, &buf, &len, e);
	if (r)
		return r;
	r = vfa_config_parse(buf, len, path, cfg, e);
	free(buf);
	return r;
}
