# nl/ against the host kernel in a throwaway network namespace (root, no
# lab): link up/down through vfnl, PF-style bring-up with no IPv6 address,
# and a VF set on a veth refused with EOPNOTSUPP changing nothing.
. tests/lab/lib.sh
T=$(pwd)/tests/lab/nl_tool
if [ ! -x "$T" ]; then fail "nl.root.tool: $T not built (make)"; exit 0; fi
if ! command -v ip >/dev/null; then skip "nl.root: iproute2 missing"; exit 0; fi
ns=vfnl-test-$$
if ! ip netns add $ns 2>/dev/null; then skip "nl.root: cannot create a network namespace"; exit 0; fi
tmp=$(mktemp -d)
trap 'ip netns del $ns 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
nsx() { ip netns exec $ns "$@"; }
if ! ip -n $ns link add va type veth peer name vb 2>"$tmp/err"; then
	skip "nl.root: no veth: $(cat "$tmp/err")"; exit 0
fi
# Forced on so we can see that IFF_UP alone was changed.
ip -n $ns link set va promisc on

want=$(ip -n $ns -o link show va | sed -n 's/^\([0-9]*\):.*/\1/p')
got=$(nsx "$T" ifindex va 2>&1)
check "nl.root.ifindex" "got '$got', ip says '$want'" [ "$got" = "$want" ]
got=$(nsx "$T" ifindex nosuchdev 2>&1)
check "nl.root.ifindex_enodev" "got '$got'" sh -c "echo '$got' | grep -q '^error ENODEV '"

r=$(nsx "$T" up va 2>&1)
flags=$(ip -n $ns -o link show va)
check "nl.root.up" "$r; $flags" sh -c "[ '$r' = ok ] && echo '$flags' | grep -q '[<,]UP[,>]'"
check "nl.root.up_keeps_other_flags" "$flags" sh -c "echo '$flags' | grep -q 'PROMISC'"
check "nl.root.up_parsed" "$(nsx "$T" get va | head -n1)" sh -c "ip netns exec $ns '$T' get va | grep -q '^link .*name=va .*up=1 '"
r=$(nsx "$T" down va 2>&1)
flags=$(ip -n $ns -o link show va)
check "nl.root.down" "$r; $flags" sh -c "[ '$r' = ok ] && ! echo '$flags' | grep -q '[<,]UP[,>]' && echo '$flags' | grep -q PROMISC"

# A VF setting on a device with no VFs: EOPNOTSUPP, and nothing else moved.
nsx "$T" get va >"$tmp/before"; ip -n $ns -d link show va >"$tmp/ipbefore"
nsx "$T" set va vf 0 mac 02:00:00:00:00:01 vlan 5 spoofchk on trust on >"$tmp/err" 2>&1; rc=$?
nsx "$T" get va >"$tmp/after"; ip -n $ns -d link show va >"$tmp/ipafter"
check "nl.root.vf_eopnotsupp" "rc=$rc: $(cat "$tmp/err")" \
	sh -c "[ $rc = 1 ] && grep -q '^error EOPNOTSUPP kernel=[01] msg=.' '$tmp/err'"
check "nl.root.vf_eopnotsupp_unchanged" "$(diff "$tmp/ipbefore" "$tmp/ipafter" | tr '\n' ' ')" \
	sh -c "cmp -s '$tmp/before' '$tmp/after' && cmp -s '$tmp/ipbefore' '$tmp/ipafter'"
echo "nl.root: the kernel's answer to a VF set on veth: $(cat "$tmp/err")"

# PF bring-up: addrgenmode none first, so no link-local address appears.
# vb is brought up plainly as the control: it must get one (carrier needs
# both ends up, and addrconf acts on carrier).
r=$(nsx "$T" pfup va 2>&1)
r2=$(nsx "$T" up vb 2>&1)
i=0
while [ $i -lt 20 ] && [ -z "$(ip -n $ns -6 addr show dev vb)" ]; do sleep 0.1; i=$((i + 1)); done
a=$(ip -n $ns -6 addr show dev va)
b=$(ip -n $ns -6 addr show dev vb)
check "nl.root.pf_up" "$r; $(ip -n $ns -o link show va)" \
	sh -c "[ '$r' = ok ] && ip -n $ns -o link show va | grep -q '[<,]UP[,>]'"
check "nl.root.pf_up_addrgenmode_none" "$(ip -n $ns -d link show va | grep -o 'addrgenmode [a-z0-9]*')" \
	sh -c "ip -n $ns -d link show va | grep -q 'addrgenmode none'"
if [ -n "$b" ] && [ "$r2" = ok ]; then
	check "nl.root.pf_up_no_ipv6" "va has: $a" [ -z "$a" ]
else
	fail "nl.root.pf_up_no_ipv6: control vb got no IPv6 address either ($r2), cannot tell"
fi

got=$(nsx "$T" findpci 0000:ff:1f.7 2>&1)
check "nl.root.find_pci_enodev" "got '$got'" sh -c "echo '$got' | grep -q '^error ENODEV '"

# The kernel's extended-ack text comes through (vfnl_parse_error, the code
# behind vfnl_errmsg): a SETLINK that fails the attribute policy, with and
# without NETLINK_CAP_ACK.
for m in cap nocap; do
	got=$(nsx "$T" badreq va $m 2>&1)
	check "nl.root.ext_ack_$m" "got '$got'" sh -c "echo '$got' | grep -q '^error E[A-Z]* kernel=1 msg=Attribute failed policy validation'"
done
