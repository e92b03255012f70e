package plugin

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEnvNames(t *testing.T) {
	if got := EnvNames("vfagent.io/net1"); !reflect.DeepEqual(got, []string{"VFAGENT_IO_NET1"}) {
		t.Fatalf("%v", got)
	}
	// KubeVirt keeps '-'; sriov-network-device-plugin maps it to '_'.
	if got := EnvNames("vfagent.io/net-a"); !reflect.DeepEqual(got, []string{"VFAGENT_IO_NET-A", "VFAGENT_IO_NET_A"}) {
		t.Fatalf("%v", got)
	}
}

func TestEnvs(t *testing.T) {
	env, err := Envs("vfagent.io/net1", []DevInfo{{"0000:00:12.0", 6}, {"0000:00:12.2", 7}})
	if err != nil {
		t.Fatal(err)
	}
	if env["PCIDEVICE_VFAGENT_IO_NET1"] != "0000:00:12.0,0000:00:12.2" ||
		env["PCI_RESOURCE_VFAGENT_IO_NET1"] != "0000:00:12.0,0000:00:12.2" {
		t.Fatalf("%v", env)
	}
	var info map[string]map[string]map[string]string
	if err = json.Unmarshal([]byte(env["PCIDEVICE_VFAGENT_IO_NET1_INFO"]), &info); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"generic": {"deviceID": "0000:00:12.2"},
		"vfio":    {"mount": "/dev/vfio/vfio", "dev-mount": "/dev/vfio/7"},
	}
	if !reflect.DeepEqual(info["0000:00:12.2"], want) {
		t.Fatalf("%v", info)
	}
}

func TestCheckHolder(t *testing.T) {
	if CheckHolder("k8s:vfagent.io/net1") != nil {
		t.Fatal("valid holder refused")
	}
	long := "k8s:" + string(make([]byte, 61))
	for _, h := range []string{"", "k8s:a b", long} {
		if CheckHolder(h) == nil {
			t.Fatalf("holder %q accepted", h)
		}
	}
}
