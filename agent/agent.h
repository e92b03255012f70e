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

#include "agent/err.h"
#include "agent/json_plain.h"
#include "agent/lease.h"
#include "agent/persist.h"
#include "agent/self.h"

#define VFA_MAX_POOLS 32
#define VFA_MAX_PFS 8		/* per pool */

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
void vfa_mac_str(const uint8_t mac[6], char buf[18]);

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
const char *vfa_agent_unrestored(const struct vfa_agent *a);

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
int vfa_ports_main(const struct vfa_opts *o, bool json);

/* doctor.c: checks the host; prints text or JSON; returns the exit code
 * (0 nothing found, 1 problems found). */
int vfa_doctor_main(const struct vfa_opts *o, bool json);

#endif
