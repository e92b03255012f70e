#!/bin/sh
# Runs in a chroot of the lab guest's overlay before systemd boots (run.sh
# --systemd --prep): installs vfagent as a user would (the .deb at
# $vfagent_out/vfagent.deb if there is one, else `make install PREFIX=/usr`),
# writes its config, and leaves a libvirt domain marked autostart whose
# persistent config holds a VF as <hostdev managed='no'> (as
# `vfagent alloc --persistent --domain l2boot` leaves it). The VFs do not
# exist yet: vfagent-setup.service creates them at boot, before libvirtd
# starts the domain.
set -eu
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd "$(dirname "$0")/../.."
out=${vfagent_out:-/tmp}
# A guest on a docker host's root would think it is a container.
rm -f /.dockerenv /run/.containerenv
if [ -f "$out/vfagent.deb" ]; then
	echo "s_prep: dpkg -i $out/vfagent.deb"
	dpkg -i "$out/vfagent.deb" >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; exit 1; }
	echo deb >"$out/installed-from"
else
	echo "s_prep: no $out/vfagent.deb; make install PREFIX=/usr"
	make -s install PREFIX=/usr >"$out/install.log" 2>&1 || { cat "$out/install.log"; exit 1; }
	systemctl enable vfagent-setup.service vfagent.service >>"$out/install.log" 2>&1
	echo source >"$out/installed-from"
fi
# The first SR-IOV PF, by PCI address (udev renames eth0 under systemd).
for d in /sys/bus/pci/devices/*/sriov_totalvfs; do pfdir=${d%/sriov_totalvfs}; break; done
pfpci=${pfdir##*/}
cat >/etc/vfagent/vfagent.conf <<CONF
[pool net1]
pf = $pfpci
vfs = 4
owner = libvirt-qemu:kvm
mode = 0660
CONF
# VF 3's address, from the PF's SR-IOV offset and stride.
off=$(cat $pfdir/sriov_offset) stride=$(cat $pfdir/sriov_stride)
dom=$((0x${pfpci%%:*})) rest=${pfpci#*:}; bus=$((0x${rest%%:*})); rest=${rest#*:}
devfn=$(( (0x${rest%.*} << 3 | ${rest#*.}) + off + 3 * stride ))
vfbus=$(( bus + (devfn >> 8) )) devfn=$(( devfn & 255 ))
vfpci=$(printf '%04x:%02x:%02x.%x' $dom $vfbus $((devfn >> 3)) $((devfn & 7)))
echo "$pfpci $vfpci" >"$out/boot-pci"
grep -q '^namespaces' /etc/libvirt/qemu.conf 2>/dev/null ||
	echo 'namespaces = []' >>/etc/libvirt/qemu.conf
mkdir -p /etc/libvirt/qemu/autostart
cat >/etc/libvirt/qemu/l2boot.xml <<XML
<domain type='qemu'>
  <name>l2boot</name>
  <uuid>6c1c8a44-3f0b-4be9-9a43-5e1f0d7a0b01</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <hostdev mode='subsystem' type='pci' managed='no'><driver name='vfio'/><source><address domain='0x$(printf %04x $dom)' bus='0x$(printf %02x $vfbus)' slot='0x$(printf %02x $((devfn >> 3)))' function='0x$((devfn & 7))'/></source></hostdev>
  </devices>
</domain>
XML
ln -sf /etc/libvirt/qemu/l2boot.xml /etc/libvirt/qemu/autostart/l2boot.xml
# The host's admin applied the field report's AppArmor fix (vfagent doctor
# names it; the package does not edit AppArmor policy).
mkdir -p /etc/apparmor.d/local/abstractions
echo '/dev/vfio/* rw,' >>/etc/apparmor.d/local/abstractions/libvirt-qemu
