#!/bin/sh
# Install everything the build, the tests and the SR-IOV lab need on a
# Debian 12/13 machine, as root.  Idempotent: a second run changes nothing
# and says so.  The guest kernel is unpacked into a cache, never installed.
set -eu
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

CACHE=${VFAGENT_LAB_CACHE:-/var/tmp/vfagent-lab}
export DEBIAN_FRONTEND=noninteractive

# Packages from the distribution's main suite.
BASE="build-essential pkg-config libmnl-dev libpci-dev pciutils iproute2
busybox-static cpio kmod libinih-dev libjson-c-dev gnuplot-nox clang
procps util-linux jq libclang-rt-dev debhelper lintian"
# The Kubernetes device plugin (k8s/): Go and gRPC from Debian, yamllint.
# protobuf 1.5 (APIv2-backed) replaces 1.3, which grpc's codec cannot use
# with protoc-gen-go APIv2 messages.
BASE="$BASE golang-go golang-google-grpc-dev golang-google-protobuf-dev
golang-github-golang-protobuf-1-5-dev golang-golang-x-sys-dev protoc-gen-go-grpc
protobuf-compiler yamllint python3-yaml"
# Packages that must be new enough: QEMU >= 8 (igb model), libvirt >= 10
# (bookworm's 9.0 passes -no-acpi, which QEMU 10 rejects).
NEWER="qemu-system-x86 libvirt-daemon-system libvirt-dev libvirt-clients"
# The consumers of what vfagent serve publishes: node_exporter and promtool
# (package prometheus, ~19 MB) for the metrics file, podman (4.3: resolves
# CDI devices of spec version <= 0.5.0) for the CDI spec. Installed with
# their services kept stopped.
FLEET="prometheus-node-exporter prometheus podman curl"

log() { echo "deps: $*"; }
die() { echo "deps: $*" >&2; exit 1; }

missing_pkgs() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed' || echo "$p"
	done
}

qemu_has_igb() {
	command -v qemu-system-x86_64 >/dev/null 2>&1 &&
		qemu-system-x86_64 -device help 2>/dev/null | grep -q '"igb"'
}

libvirt_new_enough() {
	v=$(dpkg-query -W -f='${Version}' libvirt-daemon-system 2>/dev/null) || return 1
	dpkg --compare-versions "$v" ge 10
}

kernel_ready() {
	[ -f "$CACHE/kernel/ready" ]
}

need_base=$(missing_pkgs $BASE)
need_newer=$(missing_pkgs $NEWER)
need_fleet=$(missing_pkgs $FLEET)
if [ -z "$need_base" ] && [ -z "$need_newer" ] && [ -z "$need_fleet" ] && qemu_has_igb &&
	libvirt_new_enough && kernel_ready; then
	log "everything is already installed; nothing to do"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "must run as root to install: $need_base $need_newer $need_fleet"
. /etc/os-release

updated=0
apt_update() { [ $updated = 1 ] || { apt-get update -q >/dev/null; updated=1; }; }

if [ -n "$need_base" ]; then
	apt_update
	log "installing $(echo $need_base)"
	apt-get install -y -q --no-install-recommends $need_base >/dev/null
fi

if [ -n "$need_fleet" ]; then
	apt_update
	log "installing $(echo $need_fleet) (services not started)"
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	apt-get install -y -q --no-install-recommends $need_fleet >/dev/null
	rm -f /usr/sbin/policy-rc.d
	trap - EXIT
fi

if [ -n "$need_newer" ] || ! qemu_has_igb || ! libvirt_new_enough; then
	apt_update
	target=""
	cand=$(apt-cache policy qemu-system-x86 | sed -n 's/ *Candidate: //p')
	cand=${cand#*:}
	if dpkg --compare-versions "${cand:-0}" lt 8; then
		[ "${VERSION_CODENAME:-}" = bookworm ] ||
			die "qemu-system-x86 $cand has no igb model and no known suite has a newer one"
		src=/etc/apt/sources.list.d/vfagent-backports.sources
		if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
			log "adding the bookworm-backports suite ($src)"
			mirror=$(grep -hs '^URIs:.*debian$' /etc/apt/sources.list.d/*.sources | head -n1 | awk '{print $2}')
			mirror=${mirror:-http://deb.debian.org/debian}
			cat >"$src" <<SRC
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		fi
		updated=0
		apt_update
		target="-t bookworm-backports"
	fi
	log "installing $(echo $NEWER) ${target}"
	# No services are started at install: policy-rc.d answers "denied".
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	apt-get install -y -q --no-install-recommends $target $NEWER \
		qemu-block-extra- >/dev/null
	rm -f /usr/sbin/policy-rc.d
	trap - EXIT
	qemu_has_igb || die "QEMU still has no igb device model"
	libvirt_new_enough || die "libvirt is still older than 10"
fi

if ! kernel_ready; then
	apt_update
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1)
	[ -n "$pkg" ] || die "cannot find the package linux-image-amd64 depends on"
	log "fetching the guest kernel $pkg into $CACHE (not installed)"
	rm -rf "$CACHE/kernel" "$CACHE/dl"
	mkdir -p "$CACHE/dl"
	(cd "$CACHE/dl" && apt-get download -q "$pkg" 2>&1 | grep -v '_apt' || true)
	deb=$(ls "$CACHE"/dl/*.deb 2>/dev/null | head -n1)
	[ -n "$deb" ] || die "apt-get download $pkg failed"
	dpkg-deb -x "$deb" "$CACHE/kernel"
	kver=$(ls "$CACHE/kernel/lib/modules" | head -n1)
	depmod -b "$CACHE/kernel" "$kver"
	rm -rf "$CACHE/dl"
	echo "$kver" >"$CACHE/kernel/ready"
	log "guest kernel $kver ready"
fi
log "done"
