/* Runs inside a container of the CDI test (static: the image holds only
 * busybox and this). Through the VFIO uAPI:
 *   vfio_tool device GROUP PCI   open /dev/vfio/vfio and /dev/vfio/GROUP,
 *                                put the group in a type1 container and get
 *                                PCI's device fd; exit 0 and "ok ..." if so
 *   vfio_tool open PATH          exit 0 and "denied ..." if PATH cannot be
 *                                opened read-write, 1 if it can
 *   vfio_tool mknod PATH MAJ MIN exit 0 and "denied ..." if a node made
 *                                there cannot be opened (device cgroup), 1 if
 *                                it can */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int device(const char *group, const char *pci)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_device_info di = { .argsz = sizeof(di) };
	char path[64];
	int c, g, d;

	c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (c < 0) {
		printf("fail open /dev/vfio/vfio: %s\n", strerror(errno));
		return 1;
	}
	if (ioctl(c, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		printf("fail VFIO API version or no type1v2 IOMMU\n");
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	g = open(path, O_RDWR | O_CLOEXEC);
	if (g < 0) {
		printf("fail open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (ioctl(g, VFIO_GROUP_GET_STATUS, &gs) < 0 || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		printf("fail group %s not viable\n", group);
		return 1;
	}
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0 ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf("fail group %s into a type1v2 container: %s\n", group, strerror(errno));
		return 1;
	}
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, pci);
	if (d < 0) {
		printf("fail VFIO_GROUP_GET_DEVICE_FD %s: %s\n", pci, strerror(errno));
		return 1;
	}
	if (ioctl(d, VFIO_DEVICE_GET_INFO, &di) < 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI)) {
		printf("fail VFIO_DEVICE_GET_INFO %s\n", pci);
		return 1;
	}
	printf("ok device fd %d of %s: pci, %u regions, %u irqs\n", d, pci, di.num_regions,
	       di.num_irqs);
	return 0;
}

static int try_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		printf("opened %s\n", path);
		close(fd);
		return 1;
	}
	printf("denied %s: %s\n", path, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "device"))
		return device(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "open"))
		return try_open(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "mknod")) {
		dev_t dv = makedev((unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));

		if (mknod(argv[2], S_IFCHR | 0600, dv) < 0) {
			printf("denied mknod %s: %s\n", argv[2], strerror(errno));
			return 0;
		}
		return try_open(argv[2]);
	}
	fprintf(stderr, "usage: vfio_tool device GROUP PCI | open PATH | mknod PATH MAJ MIN\n");
	return 2;
}
