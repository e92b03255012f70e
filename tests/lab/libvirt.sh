# Starts libvirt inside the lab guest and defines the OS-less L2 domain
# "l2" (sourced by lab tests; see ../shared/LAB.md for why each step).
lab_libvirt_start() {
	mkdir -p /var/log/libvirt /var/lib/libvirt/qemu /var/cache/libvirt /run/libvirt
	# The per-VM mount namespace breaks hot-attach inside the chroot.
	grep -q '^namespaces' /etc/libvirt/qemu.conf 2>/dev/null ||
		echo 'namespaces = []' >>/etc/libvirt/qemu.conf
	virtlogd -d || return 1
	libvirtd -d || return 1
	for i in $(seq 1 100); do
		virsh -c qemu:///system version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

lab_l2_define() {
	cat >/tmp/l2.xml <<XML
<domain type='qemu'>
  <name>l2</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <graphics type='vnc' autoport='no' port='-1' listen='127.0.0.1'/>
  </devices>
</domain>
XML
	sed -i '/graphics/d' /tmp/l2.xml
	# Defined once per boot: a second define (a new uuid) is refused.
	virsh -q dominfo l2 >/dev/null 2>&1 || virsh -q define /tmp/l2.xml >/dev/null
}
