# A /dev/vfio node handed to the VM user and back by a root without
# CAP_FOWNER (the unit's bounding set may lack it): vfio_node_chown must
# need CAP_CHOWN only. Before, the chmod after the chown (to the VM user)
# and the chmod before it (back to root, an alloc's rollback) were made on
# a node another uid owned and failed with EPERM, leaving the VF leased.
# A character device under a temporary /dev root, driven by pv_tool.
. tests/lab/lib.sh
T="$PWD/tests/lab/pv_tool"
d=$(mktemp -d /tmp/vfagent-nodechown.XXXXXX)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/dev/vfio"
if ! mknod "$d/dev/vfio/9" c 1 3 2>/dev/null; then
	skip "node.chown_without_fowner: cannot mknod under /tmp"
	exit 0
fi
command -v capsh >/dev/null || { skip "node.chown_without_fowner: no capsh (libcap2-bin)"; exit 0; }
[ -x "$T" ] || { skip "node.chown_without_fowner: $T not built (make all)"; exit 0; }
chown 0:0 "$d/dev/vfio/9"; chmod 0600 "$d/dev/vfio/9"
nofowner() { PV_DEV="$d/dev" capsh --drop=cap_fowner -- -c "$*"; }
# The control: without CAP_FOWNER root cannot chmod a node it does not own.
chown 65534:65534 "$d/dev/vfio/9"
out=$(capsh --drop=cap_fowner -- -c "chmod 0640 $d/dev/vfio/9" 2>&1); rc=$?
check node.no_fowner_control "chmod of another uid's node without CAP_FOWNER gave rc=$rc ($out)" [ $rc != 0 ]
chown 0:0 "$d/dev/vfio/9"; chmod 0600 "$d/dev/vfio/9"

out=$(nofowner "$T chown 9 65534:65534 0660" 2>&1); rc=$?
st=$(stat -c '%u:%g %a' "$d/dev/vfio/9")
check node.chown_to_user_without_fowner "rc=$rc ($out), node now $st" [ $rc = 0 -a "$st" = "65534:65534 660" ]
chown 65534:65534 "$d/dev/vfio/9"; chmod 0660 "$d/dev/vfio/9"
out=$(nofowner "$T chown 9 0:0 0600" 2>&1); rc=$?
st=$(stat -c '%u:%g %a' "$d/dev/vfio/9")
check node.chown_back_without_fowner "rc=$rc ($out), node now $st" [ $rc = 0 -a "$st" = "0:0 600" ]
# A pool that keeps the node root's with a group (0640 root:65534).
chown 0:0 "$d/dev/vfio/9"; chmod 0600 "$d/dev/vfio/9"
out=$(nofowner "$T chown 9 0:65534 0640" 2>&1); rc=$?
st=$(stat -c '%u:%g %a' "$d/dev/vfio/9")
check node.chown_group_without_fowner "rc=$rc ($out), node now $st" [ $rc = 0 -a "$st" = "0:65534 640" ]
