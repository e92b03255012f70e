"""The DaemonSet has what the plugin and daemon need; the KubeVirt example
names the resource the plugin serves.  Prints one result line per check."""
import sys
import yaml

ds_file, kv_file = sys.argv[1], sys.argv[2]


def result(ok, name, why):
    print(("PASS " if ok else "FAIL ") + "k8s_manifest_" + name + ": " + why)


docs = {d["kind"]: d for d in yaml.safe_load_all(open(ds_file))}
spec = docs["DaemonSet"]["spec"]["template"]["spec"]
paths = {v["hostPath"]["path"] for v in spec["volumes"] if "hostPath" in v}
need = {"/dev/vfio", "/sys", "/var/lib/kubelet/device-plugins",
        "/var/lib/kubelet/pod-resources", "/run/vfagent"}
result(need <= paths, "daemonset_paths", "host paths %s" % sorted(need - paths or need))
result(spec.get("hostNetwork") is True, "daemonset_hostnetwork", "hostNetwork for rtnetlink")
cmd = [c for c in spec["containers"] if c["name"] == "device-plugin"][0]["command"]
result("/run/vfagent/vfagent.sock" in cmd, "daemonset_socket",
       "plugin follows the daemon's socket")
kv = {d["kind"]: d for d in yaml.safe_load_all(open(kv_file))}
hd = kv["KubeVirt"]["spec"]["configuration"]["permittedHostDevices"]["pciHostDevices"][0]
vmi = kv["VirtualMachineInstance"]["spec"]
ok = (hd.get("externalResourceProvider") is True and
      hd["resourceName"] == vmi["domain"]["devices"]["hostDevices"][0]["deviceName"] and
      any("sriov" in i for i in vmi["domain"]["devices"]["interfaces"]) and
      kv["NetworkAttachmentDefinition"]["metadata"]["annotations"]
      ["k8s.v1.cni.cncf.io/resourceName"] == hd["resourceName"])
result(ok, "kubevirt", "externalResourceProvider, hostDevices and SR-IOV interface on one resource")
