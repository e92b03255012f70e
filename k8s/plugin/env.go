package plugin

// What Allocate hands the kubelet: device nodes, CDI names and the
// environment sriov-network-device-plugin's consumers and KubeVirt read.

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CDIKind is the CDI kind of vfagent's VFs; a device's name is its PCI address.
const CDIKind = "vfagent.io/vf"

// EnvNames returns the variable-name suffixes for resource: KubeVirt's rule
// (upper case, '/' and '.' to '_'), and, when it differs, the one
// sriov-network-device-plugin uses (also '-' to '_').
func EnvNames(resource string) []string {
	kv := strings.NewReplacer("/", "_", ".", "_").Replace(strings.ToUpper(resource))
	dp := strings.NewReplacer("-", "_").Replace(kv)
	if dp == kv {
		return []string{kv}
	}
	return []string{kv, dp}
}

// DevInfo is one allocated VF: its address and IOMMU group.
type DevInfo struct {
	PCI   string
	Group int
}

// Envs returns the container environment for devs of resource:
// PCIDEVICE_<R>, PCIDEVICE_<R>_INFO and PCI_RESOURCE_<R>.
func Envs(resource string, devs []DevInfo) (map[string]string, error) {
	ids := make([]string, len(devs))
	info := map[string]map[string]map[string]string{}
	for i, d := range devs {
		ids[i] = d.PCI
		info[d.PCI] = map[string]map[string]string{
			"generic": {"deviceID": d.PCI},
			"vfio": {"mount": "/dev/vfio/vfio",
				"dev-mount": fmt.Sprintf("/dev/vfio/%d", d.Group)},
		}
	}
	js, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	list := strings.Join(ids, ",")
	env := map[string]string{}
	for _, n := range EnvNames(resource) {
		env["PCIDEVICE_"+n] = list
		env["PCIDEVICE_"+n+"_INFO"] = string(js)
		env["PCI_RESOURCE_"+n] = list
	}
	return env, nil
}
