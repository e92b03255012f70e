#!/bin/sh
# Boot the SR-IOV lab guest (QEMU q35 + VT-d + igb 82576) and run SCRIPT in
# it as root, with the host's userland and this tree visible read-only and
# the results folder ($VFAGENT_LAB_OUT) writable.  Exits with the script's
# status; 125 if the guest never reported one.  See ../../README.md.
set -eu
usage() {
	cat <<USAGE
usage: tests/lab/run.sh [--kvm] [--systemd [--prep FILE]] [--timeout SEC] [--log FILE]
                        [--out DIR] [--pfs N] SCRIPT [ARG...]
  --kvm          use KVM instead of TCG (only on hosts with real KVM)
  --systemd      boot systemd as PID 1 on the overlay; SCRIPT runs from
                 lab.service once multi-user.target is reached; /tmp is a
                 fresh tmpfs (the --out folder stays visible at its path)
  --prep FILE    (with --systemd) shell script run as root in a chroot of
                 the overlay before systemd starts (install units, a .deb)
  --timeout SEC  give up after SEC seconds (default 1800)
  --log FILE     keep the console log there (default OUT/console.log)
  --out DIR      writable results folder, same path in the guest
                 (default: a new /tmp/vfagent-lab.XXXXXX, printed)
  --pfs N        N igb PFs (1-4, default 1): eth0 at 00:02.0, the others
                 each behind its own pcie-root-port (01:00.0, 02:00.0, ...;
                 on pcie.0 their VF addresses would collide), 7 VFs each
SCRIPT runs with the current directory as its working directory.
USAGE
}
CACHE=${VFAGENT_LAB_CACHE:-/var/tmp/vfagent-lab}
accel=tcg timeout=1800 log= out=${VFAGENT_LAB_OUT:-} systemd=0 prep= pfs=1
while [ $# -gt 0 ]; do
	case $1 in
	--kvm) accel=kvm ;;
	--systemd) systemd=1 ;;
	--prep) prep=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
	--timeout) timeout=$2; shift ;;
	--log) log=$2; shift ;;
	--out) out=$2; shift ;;
	--pfs) pfs=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 1 ] || { usage >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
case $pfs in 1|2|3|4) ;; *) echo "lab: --pfs takes 1 to 4, not '$pfs'" >&2; exit 2 ;; esac
fail() { echo "lab: $*" >&2; exit 125; }

[ -f "$CACHE/kernel/ready" ] || fail "no guest kernel in $CACHE (run: make deps)"
kver=$(cat "$CACHE/kernel/ready")
vmlinuz=$CACHE/kernel/boot/vmlinuz-$kver
moddir=$CACHE/kernel/lib/modules/$kver
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (run: make deps)"
[ -e "$(command -v busybox)" ] || fail "busybox missing (run: make deps)"

# The initramfs: static busybox, the drivers, our init.  Its name carries a
# hash of the init and the module list, so trees with different inits share
# the cache without rebuilding each other's.
mods="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p overlay dca i2c-algo-bit igb igbvf irqbypass
vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci"
sum=$({ cat "$here/init"; echo $mods; } | sha256sum | cut -c1-12)
initrd=$CACHE/initrd-$kver-$sum.cpio.gz
if [ ! -f "$initrd" ]; then
	bb=$(command -v busybox)
	file -L "$bb" 2>/dev/null | grep -q dynamic && bb=/bin/busybox
	tmp=$(mktemp -d)
	mkdir -p "$tmp/bin" "$tmp/modules" "$tmp/proc" "$tmp/sys" "$tmp/dev"
	cp "$bb" "$tmp/bin/busybox"
	cp "$here/init" "$tmp/init"
	chmod 755 "$tmp/init"
	for m in $mods; do
		f=$(find "$moddir/kernel" -name "$m.ko*" | head -n1)
		[ -n "$f" ] || fail "module $m not found in $moddir"
		cp "$f" "$tmp/modules/$m.ko"
	done
	(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.new.$$"
	mv "$initrd.new.$$" "$initrd"
	rm -rf "$tmp"
fi

if [ -z "$out" ]; then
	out=$(mktemp -d /tmp/vfagent-lab.XXXXXX)
	echo "lab: results in $out"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=${log:-$out/console.log}

# The command file the guest runs: same working directory, same script.
cmd=$out/.cmd
{
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	echo "export HOME=/root VFAGENT_LAB=1 VFAGENT_LAB_OUT='$out' LANG=C.UTF-8"
	echo "cd '$(pwd)' || exit 126"
	if [ -f "$1" ] && [ ! -x "$1" ]; then printf 'exec /bin/sh'; else printf exec; fi
	for a in "$@"; do printf " '%s'" "$(printf %s "$a" | sed "s/'/'\\\\''/g")"; done
	echo
} >"$cmd"

extra=
if [ $systemd = 1 ]; then
	[ -x /lib/systemd/systemd ] || fail "--systemd: /lib/systemd/systemd missing on the host"
	extra="vfagent_systemd=1"
	[ -n "$prep" ] && extra="$extra vfagent_prep=$prep"
fi
# PFs 2..N: each on its own root port (LAB.md, "Several PFs").
morepfs=
i=1
while [ $i -lt "$pfs" ]; do
	morepfs="$morepfs -device pcie-root-port,id=rp$i,chassis=$i,slot=$i -device igb,netdev=n$i,bus=rp$i -netdev user,id=n$i,restrict=on"
	i=$((i + 1))
done
cpu=max
[ "$accel" = kvm ] && cpu=host
set +e
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
	-machine q35,accel=$accel -cpu $cpu -m 2048 -smp 2 \
	-device intel-iommu,intremap=on,caching-mode=on \
	-device igb,netdev=n0 -netdev user,id=n0,restrict=on $morepfs \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
	-virtfs local,path="$out",mount_tag=labout,security_model=none \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 intel_iommu=on iommu=pt quiet panic=-1 vfagent_cmd=$cmd vfagent_out=$out vfagent_modules=$moddir $extra" \
	-nographic -no-reboot </dev/null 2>&1 | tr -d '\r' | tee "$log" |
	grep -v 'VFAGENT-LAB-EXIT='
set -e
rc=$(sh "$here/exit_of.sh" "$log")
[ -n "$rc" ] || fail "the guest reported no exit status (console log: $log)"
exit "$rc"
