/* agent/: policy. Config, pools, leases, the operations behind the CLI,
 * and the libvirt handoff. The only layer that decides, prints (main.c)
 * or reads configuration. Prefix vfa_. */
#ifndef VFAGENT_AGENT_H
#define VFAGENT_AGENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define VFA_MAX_POOLS 32
#define VFA_MAX_PFS 8		/* per pool */
#define VFA_NAME_LEN 64
#define VFA_ERR_LEN 1024

/* One line for the user: what failed and how to fix it. */
struct vfa_err {
	char msg[VFA_ERR_LEN];
	int exit;		/* exit status to report; 0 means 1 */
};
enum {
	VFA_EXIT_FAIL = 1,	/* failed, nothing half-done */
	VFA_EXIT_USAGE = 2,	/* bad arguments or config */
	VFA_EXIT_EXHAUSTED = 3,	/* no free VF in the pool */
	VFA_EXIT_PENDING = 4,	/* a detach is pending in the guest */
	VFA_EXIT_DENIED = 5,	/* permission denied (daemon rules) */
};
int vfa_fail(struct vfa_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, for errors in what the user asked or configured (exit 2). */
int vfa_usage(struct vfa_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct vfa_pool {
	char name[VFA_NAME_LEN];
	char pf[VFA_MAX_PFS][VFA_NAME_LEN];	/* netdev name or PCI address */
	int pf_line[VFA_MAX_PFS];
	unsigned int n_pf;
	unsigned int vfs;		/* VFs to create per PF */
	uint16_t vlan;
	uint8_t qos;
	bool spoofchk, trust;
	uint32_t link_state;		/* IFLA_VF_LINK_STATE_* */
	uint32_t max_rate;		/* Mbit/s, 0 = none */
	bool has_owner;
	uid_t uid;
	gid_t gid;
	char owner[VFA_NAME_LEN];
	mode_t mode;
	bool keep_owner;		/* free VFs keep owner/mode */
	int line;
	/* Daemon rules (serve_priv.h): who may alloc, which VLANs. */
	uid_t acl_uid[16];
	unsigned int n_acl_uid;
	gid_t acl_gid[16];
	unsigned int n_acl_gid;
	uint16_t vlan_lo[16], vlan_hi[16];	/* allow-vlans ranges */
	unsigned int n_vlan_ranges;
};

#define VFA_MAX_ALLOW 16
struct vfa_config {
	char path[256];
	char libvirt_uri[256];		/* "" = libvirt's default */
	/* [serve] */
	char socket[256];		/* "" = STATE_DIR/vfagent.sock */
	uid_t allow_uid[VFA_MAX_ALLOW];
	unsigned int n_allow_uid;
	gid_t allow_gid[VFA_MAX_ALLOW];
	unsigned int n_allow_gid;
	bool pf_restore;		/* bring a PF that went down back up */
	gid_t admin_gid[VFA_MAX_ALLOW];	/* [serve] admin-groups */
	unsigned int n_admin_gid;
	unsigned int max_conn_per_user;	/* 0 = the default (serve.c) */
	/* [serve] cdi-dir, metrics-file (fleet.c: defaults when not set) */
	char cdi_dir[256], metrics_file[256];
	bool cdi_dir_set, metrics_file_set;
	unsigned int n_pools;
	struct vfa_pool pools[VFA_MAX_POOLS];
};

/* config.c: loads path into cfg. On error e says "file:line: what". */
int vfa_config_load(const char *path, struct vfa_config *cfg, struct vfa_err *e);
int vfa_config_parse(const char *buf, size_t len, const char *path,
		     struct vfa_config *cfg, struct vfa_err *e);
struct vfa_pool *vfa_config_pool(struct vfa_config *cfg, const char *name);

/* Parsing of user input shared by config and CLI. */
int vfa_parse_mac(const char *s, uint8_t mac[6]);
#define VFA_PCI_LEN 16	/* "dddd:bb:dd.f" + NUL, room to spare */
int vfa_parse_pci(const char *s, char ret[VFA_PCI_LEN]);	/* proto.c */
const char *vfa_mac_error(int r);
int vfa_parse_vlan(const char *s, uint16_t *ret_vlan, uint8_t *ret_qos,
		   bool *ret_has_qos);
int vfa_parse_bool(const char *s, bool *ret);
void vfa_mac_str(const uint8_t mac[6], char buf[18]);
void vfa_hex(char *out, const uint8_t *b, size_t n, char sep);

/* lease.c, journal.c: the state dir. Leases live in one append-only
 * journal (STATE_DIR/journal), one fdatasync'd record per save or drop,
 * which each vfa_state folds in memory and reads on from where it stopped
 * (so load and list see other processes' writes). A lock
 * file guards VF selection; locks/<pci> is held while a VF's lease is
 * being changed, so a crashed holder is told from a live one. */
struct vfa_state;

#define VFA_DOMAIN_LEN 256	/* longer domain names are refused, not cut */
#define VFA_UUID_LEN 37		/* VIR_UUID_STRING_BUFLEN */
#define VFA_HOLDER_LEN 65	/* printable ASCII, no spaces, <= 64 bytes */
bool vfa_holder_ok(const char *s);

/* A lease's state: an enum in the code, its name (the table in lease.c)
 * in the journal and the JSON. */
enum vfa_lease_state {
	VFA_LS_UNKNOWN = -1,
	VFA_LS_ALLOCATING,	/* journaled, hardware being set up */
	VFA_LS_READY,		/* the VF is the holder's */
	VFA_LS_DETACHING,	/* a detach is pending in the guest */
	VFA_LS_RELEASING,	/* being scrubbed back to the pool */
	VFA_LS_FENCED,		/* holder unknown (a damaged lease file): never
				 * free until an admin releases it */
};
struct vfa_lease {
	char id[17];
	enum vfa_lease_state state;
	char pool[VFA_NAME_LEN];
	char pf[VFA_NAME_LEN];		/* netdev */
	char pf_pci[16];
	unsigned int vf;
	char pci[16];
	int group;
	char mac[18];
	uint16_t vlan;
	uint8_t qos;
	char domain[VFA_DOMAIN_LEN];	/* name at alloc time, for display */
	char uuid[VFA_UUID_LEN];	/* what identifies the domain; "" in old journals */
	bool attached;
	bool persistent;		/* in the domain's config: kept across stops */
	char holder[VFA_HOLDER_LEN];	/* who holds it, e.g. "k8s:vfagent.io/net1"; "" none */
	long long pid;
	long long created;
	uid_t owner;			/* who allocated it through the daemon; VFA_NO_OWNER none */
};
#define VFA_NO_OWNER ((uid_t)-1)	/* --direct, adopted, or before owners: root's */

enum vfa_lease_state vfa_lease_state(const struct vfa_lease *l);
void vfa_lease_set_state(struct vfa_lease *l, enum vfa_lease_state s);
const char *vfa_lease_state_str(enum vfa_lease_state s);

int vfa_state_open(const char *dir, struct vfa_state **ret, struct vfa_err *e);
void vfa_state_close(struct vfa_state *st);	/* accepts NULL; drops locks */
int vfa_state_lock(struct vfa_state *st, struct vfa_err *e);
void vfa_state_unlock(struct vfa_state *st);
int vfa_state_trylock(struct vfa_state *st);	/* 0, -EWOULDBLOCK if held elsewhere */
void vfa_state_defer_compaction(struct vfa_state *st);
int vfa_state_compact(struct vfa_state *st, struct vfa_err *e);	/* 1, 0 or -errno */
/* The agent's state lock, tried (the daemon's loop never waits) and kept
 * for the operation that follows (its vfa_begin takes no other); unlock
 * accepts it not held. */
struct vfa_agent;
int vfa_agent_trylock(struct vfa_agent *c);
void vfa_agent_unlock(struct vfa_agent *c);
/* The leases as the agent's own journal fold has them (*ret the
 * caller's): 0 or -errno. */
int vfa_agent_leases(struct vfa_agent *c, struct vfa_lease **ret, size_t *ret_n);
/* The daemon compacts the journal between requests, not inside one. */
void vfa_agent_defer_compaction(struct vfa_agent *c);
int vfa_agent_compact(struct vfa_agent *c, struct vfa_err *e);
pid_t vfa_self_pid(void);	/* self.c: getpid() asked once per process */
/* Locks locks/<pci>; returns an fd to close, -EWOULDBLOCK if held. */
int vfa_vf_lock(struct vfa_state *st, const char *pci, bool wait);
int vfa_vf_lock_open(struct vfa_state *st, const char *pci);
int vfa_vf_flock(int fd, bool wait);
int vfa_lease_load(struct vfa_state *st, const char *pci, struct vfa_lease *ret);
int vfa_lease_save(struct vfa_state *st, const struct vfa_lease *l,
		   struct vfa_err *e);
int vfa_lease_drop(struct vfa_state *st, const char *pci, struct vfa_err *e);
/* All leases; *ret is malloc'd, caller frees. Damaged journal records
 * are reported through bad (may be NULL) and skipped. */
int vfa_lease_list(struct vfa_state *st, struct vfa_lease **ret, size_t *ret_n,
		   json_object *bad);
unsigned int vfa_lease_damaged(const struct vfa_state *st);
/* Why a lease is fenced (doctor, reconcile's note). */
#define VFA_FENCE_WHY "a record of its lease could not be read (a damaged journal record, or a damaged lease file from before the journal, kept as leases/<pci>.json.damaged in the state dir), so a VM may hold it"
#define VFA_DAMAGED_FIX "the leases they changed may be out of date: run vfagent status (its reconcile checks every lease against the kernel and libvirt) and keep a copy of the journal for a bug report; the next compaction drops them"
int vfa_lease_parse(const char *buf, size_t len, struct vfa_lease *ret);
json_object *vfa_lease_json(const struct vfa_lease *l);
size_t vfa_lease_text(const struct vfa_lease *l, char *buf, size_t len);	/* lease_text.c */
int vfa_json_plain(json_object *v, int flags, char **buf, size_t *len, size_t *cap);	/* json_plain.c */
#define VFA_JSON_QUOTE_MAX(n) (6 * (n) + 2)	/* vfa_json_quote's most bytes */
#define VFA_JSON_INT_MAX 20			/* "-9223372036854775808" */
size_t vfa_json_quote(char *out, const char *s, size_t n, bool slash);
size_t vfa_json_int(char *out, int64_t v);

/* virt.c: the libvirt handoff. Built without libvirt (LIBVIRT=0) every
 * call returns -ENOTSUP saying so. A domain is named by its UUID (uuid);
 * name is for messages only, and the lookup key when uuid is "" (leases
 * journaled before UUIDs were). */
struct vfa_virt;
enum { VFA_LIVE = 1, VFA_PERSISTENT = 2 };
int vfa_virt_open(const char *uri, struct vfa_virt **ret, struct vfa_err *e);
void vfa_virt_close(struct vfa_virt *v);	/* accepts NULL */
/* By name, or by UUID when no domain has that name (as virsh): -ENOENT if
 * unknown; *ret_running and ret_uuid set on success. */
int vfa_virt_domain(struct vfa_virt *v, const char *name, bool *ret_running,
		    char ret_uuid[VFA_UUID_LEN], struct vfa_err *e);
/* By UUID: -ENOENT if gone; *ret_running and the current name (renames). */
int vfa_virt_domain_uuid(struct vfa_virt *v, const char *uuid, bool *ret_running,
			 char ret_name[VFA_DOMAIN_LEN], struct vfa_err *e);
/* Attaches pci as <hostdev managed='no'> with VFA_LIVE / VFA_PERSISTENT. */
int vfa_virt_attach(struct vfa_virt *v, const char *uuid, const char *name,
		    const char *pci, unsigned int flags, struct vfa_err *e);
/* Detaches (from the saved config too when persistent); 0 once the device
 * is gone from the domain, -EINPROGRESS if the guest has not yet released
 * it (QEMU still holds the VF). */
int vfa_virt_detach(struct vfa_virt *v, const char *uuid, const char *name,
		    const char *pci, bool persistent, struct vfa_err *e);
/* Does the running domain still hold pci (live XML)? false if the domain
 * is gone or stopped. */
int vfa_virt_holds(struct vfa_virt *v, const char *uuid, const char *name,
		   const char *pci, bool *ret, struct vfa_err *e);
/* Every defined domain (running or not) and each host PCI function its
 * saved config (in_config) or live XML names; cb returns 0 to go on. */
typedef int (*vfa_virt_dev_cb)(const char *uuid, const char *name,
			       const char *pci, const char *mac, bool in_config,
			       void *ud);
int vfa_virt_hostdevs(struct vfa_virt *v, vfa_virt_dev_cb cb, void *ud,
		      struct vfa_err *e);

/* persist.c: the journal of leases that outlive a reboot, and the
 * once-per-boot rebuild marker of the runtime journal. */
#define VFA_PERSIST_DIR "/var/lib/vfagent"
int vfa_persist_open(const char *dir, bool create, struct vfa_state **ret,
		     struct vfa_err *e);
bool vfa_rebuild_needed(const char *state_dir);
int vfa_rebuild_done(const char *state_dir);

/* domxml.c: the host PCI functions a domain XML names (pure parser). */
struct vfa_hostdev {
	char pci[16];			/* dddd:bb:dd.f */
	char mac[18];			/* <interface type='hostdev'> only, else "" */
};
int vfa_domxml_hostdevs(const char *xml, struct vfa_hostdev *ret, size_t max,
			size_t *ret_n);

/* Domain events (daemon): the domain name (NULL for VFA_VIRT_CLOSED). */
enum { VFA_DOM_STOPPED, VFA_DOM_UNDEFINED, VFA_DOM_DEVICE_REMOVED, VFA_VIRT_CLOSED };
typedef void (*vfa_virt_event_cb)(const char *domain, int what, void *ud);
int vfa_virt_watch(struct vfa_virt *v, vfa_virt_event_cb cb, void *ud,
		   struct vfa_err *e);
bool vfa_virt_alive(const struct vfa_virt *v);

/* Options of one command. */
struct vfa_opts {
	const char *config;
	const char *state_dir;
	const char *sys_root;		/* tests: fake trees */
	const char *dev_root;
	const char *pool;
	const char *pf;			/* list filter */
	const char *pci, *lease, *domain;
	bool has_mac, has_vlan;
	uint8_t mac[6];
	uint16_t vlan;
	uint8_t qos;
	bool live, persistent;
	int node_timeout_ms;
	bool help;
	const char *persist_dir;	/* leases that outlive a reboot; "" = none */
	const char *socket;		/* daemon socket; default STATE_DIR/vfagent.sock */
	bool direct;			/* never use the daemon */
	/* doctor: more roots for tests (NULL: /proc, /etc, /run, /lib/modules,
	 * SYS/module/apparmor/parameters/enabled) */
	const char *proc_root, *etc_root, *run_root, *modules_root, *apparmor_param;
	unsigned int ports_add;		/* ports --add N */
	const char *holder;		/* alloc: journaled; release: every lease it holds */
	bool by_peer;			/* the daemon: peer_uid asked (never from a request) */
	uid_t peer_uid;			/* alloc: journaled as the lease's owner */
	/* release --domain through the daemon: the UUID it authorized the
	 * release for ("" libvirt knew none), used as is; NULL: look it up */
	const char *domain_uuid;
};

/* agent.c (open, reload), setup.c, alloc.c, release.c, report.c, sharing
 * agent_priv.h: a long-lived handle (the CLI opens one per command, the
 * daemon one for its life). Each operation returns 0 or -errno; on success *ret
 * is a JSON document the caller owns (json_object_put); on failure e says
 * why. vfa_release returns -EINPROGRESS (with *ret) when a detach is
 * pending in the guest. */
struct vfa_agent;
int vfa_agent_open(const struct vfa_opts *o, struct vfa_agent **ret,
		   struct vfa_err *e);
void vfa_agent_close(struct vfa_agent *a);
int vfa_agent_reload(struct vfa_agent *a, struct vfa_err *e);
const struct vfa_config *vfa_agent_config(const struct vfa_agent *a);
int vfa_setup(struct vfa_agent *a, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e);
int vfa_list(struct vfa_agent *a, const struct vfa_opts *o, json_object **ret,
	     struct vfa_err *e);
int vfa_alloc(struct vfa_agent *a, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e);
int vfa_release(struct vfa_agent *a, const struct vfa_opts *o, json_object **ret,
		struct vfa_err *e);
int vfa_status(struct vfa_agent *a, const struct vfa_opts *o, json_object **ret,
	       struct vfa_err *e);
/* Daemon hooks: reconcile now (domains: also release the VFs of domains
 * that stopped or vanished); the libvirt connection (opened on demand) and
 * its loss; a look at every pool PF, reporting changes since the last look
 * (and bringing a downed PF back up when restore). *ret_notes: strings. */
int vfa_reconcile(struct vfa_agent *a, bool domains, json_object **ret_notes,
		  struct vfa_err *e);
struct vfa_virt *vfa_agent_virt(struct vfa_agent *a, struct vfa_err *e);
void vfa_agent_virt_lost(struct vfa_agent *a);
int vfa_check_pfs(struct vfa_agent *a, bool restore, json_object **ret_notes,
		  struct vfa_err *e);
int vfa_watch_state(struct vfa_agent *a, json_object **ret, struct vfa_err *e);
const unsigned int *vfa_agent_repairs(const struct vfa_agent *a);

/* watch.c: the events (doc/PROTOCOL.md) that turn one vfa_watch_state()
 * into the next, appended to events; *seq counts them. */
void vfa_watch_diff(json_object *old, json_object *cur, unsigned long long *seq,
		    json_object *events);
json_object *vfa_watch_snapshot(json_object *state, unsigned long long seq);

/* proto.c: requests and replies as JSON (CLI direct path and daemon). */
json_object *vfa_req_json(const char *op, const struct vfa_opts *o);
int vfa_req_parse(json_object *req, const char **ret_op, struct vfa_opts *o,
		  struct vfa_err *e);
int vfa_req_check(const char *op, const struct vfa_opts *o, struct vfa_err *e);
#define VFA_REQ_MAX (64 * 1024)	/* bytes in a request line */
#define VFA_PROTO_V 1		/* the protocol version spoken (doc/PROTOCOL.md) */
#define VFA_ID_MAX 64		/* bytes in a request's "id" */
int vfa_req_line_id(const char *line, size_t len, json_object **ret_req,
		    const char **ret_op, struct vfa_opts *o, json_object **ret_id,
		    struct vfa_err *e);
json_object *vfa_hello_json(void);
int vfa_req_frame(const char *buf, size_t len, size_t *ret_len);
int vfa_req_line(const char *line, size_t len, json_object **ret_req,
		 const char **ret_op, struct vfa_opts *o, struct vfa_err *e);
int vfa_dispatch(struct vfa_agent *a, const char *op, const struct vfa_opts *o,
		 json_object **ret, struct vfa_err *e);
json_object *vfa_reply_json(int r, json_object *res, const struct vfa_err *e);

/* client.c: one request to a running daemon. -ENOENT/-ECONNREFUSED if
 * none answers at path (the caller then works directly). */
int vfa_client_call(const char *path, json_object *req, json_object **ret_reply,
		    struct vfa_err *e);

/* render.c: the CLI's text form of a command's result (res of the reply),
 * printed on f from typed views of it. */
void vfa_render_text(FILE *f, const char *cmd, json_object *res);

/* serve.c: the daemon; returns when told to stop. */
int vfa_serve(const struct vfa_opts *o, struct vfa_err *e);

/* virt.c: the domain's XML (live, or the saved config with secrets;
 * *ret_xml malloc'd) and redefining the saved config. */
int vfa_virt_xml(struct vfa_virt *v, const char *name, bool inactive,
		 char **ret_xml, struct vfa_err *e);
int vfa_virt_define(struct vfa_virt *v, const char *xml, struct vfa_err *e);

/* ports.c: hot-plug slots. -ENOSPC (with the fix) if the running domain
 * has no free slot; `vfagent ports DOMAIN [--add N]`. */
int vfa_slots_require(struct vfa_virt *v, const char *domain, struct vfa_err *e);
int vfa_ports(const struct vfa_config *cfg, const char *domain, unsigned int add,
	      json_object **ret, struct vfa_err *e);
int vfa_ports_main(const struct vfa_opts *o, bool json);

/* doctor.c: checks the host; prints text or JSON; returns the exit code
 * (0 nothing found, 1 problems found). */
int vfa_doctor_main(const struct vfa_opts *o, bool json);

#endif
