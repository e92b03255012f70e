/* Kernel uevents recorded in the lab (tests/unit/test_uevent.c): guest
 * 6.1.0-56-amd64, igb VF 0000:00:12.0 in IOMMU group 6 bound to vfio-pci
 * (driver_override + drivers_probe) then unbound, 2026-11-26. The bytes
 * as a NETLINK_KOBJECT_UEVENT socket received them (group 1). */
static const struct msg REC_NODE_ADD = MSG(
	"add@/devices/virtual/vfio/6\0"
	"ACTION=add\0"
	"DEVPATH=/devices/virtual/vfio/6\0"
	"SUBSYSTEM=vfio\0"
	"MAJOR=246\0"
	"MINOR=0\0"
	"DEVNAME=vfio/6\0"
	"SEQNUM=692\0");
static const struct msg REC_BIND = MSG(
	"bind@/devices/pci0000:00/0000:00:12.0\0"
	"ACTION=bind\0"
	"DEVPATH=/devices/pci0000:00/0000:00:12.0\0"
	"SUBSYSTEM=pci\0"
	"DRIVER=vfio-pci\0"
	"PCI_CLASS=20000\0"
	"PCI_ID=8086:10CA\0"
	"PCI_SUBSYS_ID=1AF4:1100\0"
	"PCI_SLOT_NAME=0000:00:12.0\0"
	"MODALIAS=pci:v00008086d000010CAsv00001AF4sd00001100bc02sc00i00\0"
	"SEQNUM=694\0");
static const struct msg REC_NODE_REMOVE = MSG(
	"remove@/devices/virtual/vfio/6\0"
	"ACTION=remove\0"
	"DEVPATH=/devices/virtual/vfio/6\0"
	"SUBSYSTEM=vfio\0"
	"MAJOR=246\0"
	"MINOR=0\0"
	"DEVNAME=vfio/6\0"
	"SEQNUM=696\0");
static const struct msg REC_UNBIND = MSG(
	"unbind@/devices/pci0000:00/0000:00:12.0\0"
	"ACTION=unbind\0"
	"DEVPATH=/devices/pci0000:00/0000:00:12.0\0"
	"SUBSYSTEM=pci\0"
	"PCI_CLASS=20000\0"
	"PCI_ID=8086:10CA\0"
	"PCI_SUBSYS_ID=1AF4:1100\0"
	"PCI_SLOT_NAME=0000:00:12.0\0"
	"SEQNUM=697\0");
static const struct msg REC_PCI_REMOVE = MSG(
	"remove@/devices/pci0000:00/0000:00:12.0\0"
	"ACTION=remove\0"
	"DEVPATH=/devices/pci0000:00/0000:00:12.0\0"
	"SUBSYSTEM=pci\0"
	"PCI_CLASS=20000\0"
	"PCI_ID=8086:10CA\0"
	"PCI_SUBSYS_ID=1AF4:1100\0"
	"PCI_SLOT_NAME=0000:00:12.0\0"
	"MODALIAS=pci:v00008086d000010CAsv00001AF4sd00001100bc02sc00i00\0"
	"SEQNUM=705\0");
static const struct msg REC_VFIO_DEV_ADD = MSG(
	"add@/devices/pci0000:00/0000:00:12.0/vfio-dev/vfio0\0"
	"ACTION=add\0"
	"DEVPATH=/devices/pci0000:00/0000:00:12.0/vfio-dev/vfio0\0"
	"SUBSYSTEM=vfio-dev\0"
	"SEQNUM=693\0");
