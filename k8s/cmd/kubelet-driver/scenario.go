package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	dp "vfagent/k8s/api/deviceplugin/v1beta1"
	pr "vfagent/k8s/api/podresources/v1"
	"vfagent/k8s/plugin"
)

// world is the driver's own view of the daemon, from its own watch stream.
type world struct {
	st *plugin.State
	d  *plugin.Daemon
}

func (w *world) healthyFree(pool string) []plugin.VF {
	var out []plugin.VF
	for _, v := range w.st.VFs(pool) {
		if v.DaemonHealthy && !v.Leased {
			out = append(out, v)
		}
	}
	return out
}

func (w *world) holderOf(pci string) (string, bool) {
	v, ok := w.st.Get(pci)
	return v.Holder, ok && v.Leased
}

func ctx() context.Context {
	// One call each; the timer ends the context after its deadline.
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	time.AfterFunc(21*time.Second, cancel)
	return c
}

func devMap(ds []*dp.Device) map[string]*dp.Device {
	m := map[string]*dp.Device{}
	for _, d := range ds {
		m[d.ID] = d
	}
	return m
}

func scenario(o *opts) {
	w := &world{st: plugin.NewState(), d: &plugin.Daemon{Path: o.daemon}}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			_ = w.d.Watch(stop, w.st.Apply)
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	if !waitFor(o.timeout, w.st.Connected) {
		fail("daemon_watch", "no snapshot from %s", o.daemon)
		return
	}
	pods, err := startPodRes(o.podres)
	if !check("podres_server", err, "pod-resources server on "+o.podres) {
		return
	}
	got := make(chan *dp.RegisterRequest, 64)
	reg, err := startRegistrar(filepath.Join(o.dir, "kubelet.sock"), got)
	if !check("registration_server", err, "kubelet.sock served") {
		return
	}
	regs, err := waitRegs(o, got)
	if !check("register", err, fmt.Sprintf("%d resources registered (v1beta1, preferred allocation on)", len(regs))) {
		return
	}
	pool := o.pools[0]
	res := o.prefix + "/" + pool
	conn, err := dial(filepath.Join(o.dir, regs[res].Endpoint))
	if !check("dial_plugin", err, "dialled "+regs[res].Endpoint) {
		return
	}
	c := dp.NewDevicePluginClient(conn)
	op, err := c.GetDevicePluginOptions(ctx(), &dp.Empty{})
	if err == nil && (!op.GetPreferredAllocationAvailable || op.PreStartRequired) {
		err = fmt.Errorf("options %v", op)
	}
	check("options", err, "GetDevicePluginOptions: preferred allocation, no pre-start")
	l, err := openLAW(c)
	if !check("law_open", err, "ListAndWatch stream open") {
		return
	}
	stepInitial(o, w, l, pool)
	ids := stepPreferred(o, w, c, pool)
	// The kubelet lists a pod's devices right after admission.
	if len(ids) == 2 {
		pods.set([]*pr.PodResources{pod("vm-pod", res, ids)}, false)
	}
	stepAllocate(o, w, c, l, res, ids)
	stepForeign(o, w, c, l, pool, res)
	stepPF(o, w, l)
	stepVFRemove(o, w, l, pool)
	stepReconcile(o, w, pods, res, ids)
	stepOverflow(o, w, l, pool)
	l.cancel()
	conn.Close()
	stepBench(o, w, pool, res, regs[res].Endpoint)
	stepSocketRemoved(o, got, regs[res].Endpoint, res)
	stepRestart(o, reg, got)
}

func stepInitial(o *opts, w *world, l *law, pool string) {
	want := w.st.VFs(pool)
	_, _, err := l.until(o.timeout, func(ds []*dp.Device) bool {
		m := devMap(ds)
		if len(m) != len(want) {
			return false
		}
		for _, v := range want {
			d := m[v.PCI]
			if d == nil || d.Health != w.st.Health(v, "k8s:"+o.prefix+"/"+pool) {
				return false
			}
			if v.Numa >= 0 && (len(d.GetTopology().GetNodes()) != 1 ||
				d.Topology.Nodes[0].ID != int64(v.Numa)) {
				return false
			}
		}
		return true
	})
	check("law_initial", err, fmt.Sprintf("%d VFs of %s with health and NUMA node", len(want), pool))
}

// stepPreferred checks the choice against what is possible; it returns it.
func stepPreferred(o *opts, w *world, c dp.DevicePluginClient, pool string) []string {
	free := w.healthyFree(pool)
	if len(free) < 2 {
		skip("preferred", "pool %s has %d free healthy VFs; need 2", pool, len(free))
		return nil
	}
	var last []string
	for _, p := range o.pools {
		pol := o.policies[p]
		pfree := w.healthyFree(p)
		if len(pfree) < 2 {
			continue
		}
		var pav []string
		pk := map[string]plugin.VF{}
		for _, v := range pfree {
			pav = append(pav, v.PCI)
			pk[v.PCI] = v
		}
		// The kubelet passes the available devices in no particular order.
		sort.Sort(sort.Reverse(sort.StringSlice(pav)))
		conn, err := dial(filepath.Join(o.dir, "vfagent-"+p+".sock"))
		if err != nil {
			fail("preferred_"+p, "%v", err)
			continue
		}
		r, err := dp.NewDevicePluginClient(conn).GetPreferredAllocation(ctx(), &dp.PreferredAllocationRequest{
			ContainerRequests: []*dp.ContainerPreferredAllocationRequest{{
				AvailableDeviceIDs: pav, AllocationSize: 2}}})
		conn.Close()
		if err != nil {
			fail("preferred_"+p, "%v", err)
			continue
		}
		got := r.ContainerResponses[0].DeviceIDs
		if err = judge(pk, got, 2, pol); err != nil {
			fail("preferred_"+p, "%s chose %v: %v", pol, got, err)
		} else {
			pass("preferred_"+p, "%s chose %v", pol, got)
		}
		if p == pool {
			last = got
		}
		// must_include: the choice follows the VF that must be in it.
		for i := len(pfree) - 1; i >= 0; i-- {
			v := pfree[i]
			if v.Numa < 0 {
				continue
			}
			mc, err := dial(filepath.Join(o.dir, "vfagent-"+p+".sock"))
			if err != nil {
				fail("preferred_must_"+p, "%v", err)
				break
			}
			r, err = dp.NewDevicePluginClient(mc).GetPreferredAllocation(ctx(), &dp.PreferredAllocationRequest{
				ContainerRequests: []*dp.ContainerPreferredAllocationRequest{{
					AvailableDeviceIDs: pav, MustIncludeDeviceIDs: []string{v.PCI}, AllocationSize: 2}}})
			mc.Close()
			if err == nil {
				g := r.ContainerResponses[0].DeviceIDs
				err = judge(pk, g, 2, pol)
				if err == nil && (len(g) != 2 || g[0] != v.PCI) {
					err = fmt.Errorf("%v lacks %s first", g, v.PCI)
				}
			}
			check("preferred_must_"+p, err, "must_include "+v.PCI+" honoured on its NUMA node")
			break
		}
	}
	return last
}

// judge: one NUMA node when some node could hold it; pack on one PF when one
// PF could; spread over as many PFs as the chosen node offers.
func judge(known map[string]plugin.VF, got []string, size int, pol plugin.Policy) error {
	if len(got) != size {
		return fmt.Errorf("%d devices, want %d", len(got), size)
	}
	numa := map[int]int{}
	pfs := map[string]int{}
	for _, v := range known {
		numa[v.Numa]++
	}
	gn := map[int]bool{}
	gp := map[string]bool{}
	for _, id := range got {
		v, ok := known[id]
		if !ok {
			return fmt.Errorf("%s was not offered", id)
		}
		gn[v.Numa] = true
		gp[v.PF] = true
	}
	fits := false
	for _, n := range numa {
		fits = fits || n >= size
	}
	if fits && len(gn) != 1 {
		return fmt.Errorf("spans NUMA nodes %v though one node had room", gn)
	}
	var node int
	for n := range gn {
		node = n
	}
	for _, v := range known {
		if v.Numa == node {
			pfs[v.PF]++
		}
	}
	switch pol {
	case plugin.Pack:
		one := false
		for _, n := range pfs {
			one = one || n >= size
		}
		if one && len(gp) != 1 {
			return fmt.Errorf("spans PFs %v though one PF had room", gp)
		}
	case plugin.Spread:
		want := len(pfs)
		if want > size {
			want = size
		}
		if len(gp) != want {
			return fmt.Errorf("uses %d PFs, want %d", len(gp), want)
		}
	}
	return nil
}

func stepAllocate(o *opts, w *world, c dp.DevicePluginClient, l *law, res string, ids []string) {
	if len(ids) != 2 {
		skip("allocate", "no preferred pair to allocate")
		return
	}
	r, err := c.Allocate(ctx(), &dp.AllocateRequest{ContainerRequests: []*dp.ContainerAllocateRequest{{DevicesIds: ids}}})
	if err == nil {
		err = judgeAlloc(w, r, res, ids)
	}
	if !check("allocate", err, fmt.Sprintf("%v: vfio nodes rw, CDI names, PCIDEVICE/_INFO/PCI_RESOURCE env", ids)) {
		return
	}
	ok := waitFor(o.timeout, func() bool {
		for _, id := range ids {
			if h, leased := w.holderOf(id); !leased || h != "k8s:"+res {
				return false
			}
		}
		return true
	})
	if ok {
		pass("allocate_lease", "daemon holds leases on %v for k8s:%s", ids, res)
	} else {
		fail("allocate_lease", "daemon shows no k8s:%s lease on %v", res, ids)
	}
	// Allocate again (the kubelet does after it restarts): same answer.
	_, err = c.Allocate(ctx(), &dp.AllocateRequest{ContainerRequests: []*dp.ContainerAllocateRequest{{DevicesIds: ids}}})
	check("allocate_again", err, "a second Allocate of our own leases succeeds")
	_, _, err = l.until(o.timeout, func(ds []*dp.Device) bool {
		m := devMap(ds)
		return m[ids[0]] != nil && m[ids[0]].Health == plugin.Healthy
	})
	check("law_own_lease_healthy", err, "our leased VFs stay Healthy for the kubelet")
}

func judgeAlloc(w *world, r *dp.AllocateResponse, res string, ids []string) error {
	if len(r.ContainerResponses) != 1 {
		return fmt.Errorf("%d container responses", len(r.ContainerResponses))
	}
	cr := r.ContainerResponses[0]
	specs := map[string]string{}
	for _, d := range cr.Devices {
		if d.HostPath != d.ContainerPath {
			return fmt.Errorf("device %s mapped to %s", d.HostPath, d.ContainerPath)
		}
		specs[d.HostPath] = d.Permissions
	}
	if specs["/dev/vfio/vfio"] != "rw" {
		return fmt.Errorf("no /dev/vfio/vfio rw in %v", specs)
	}
	sorted := append([]string{}, ids...)
	sort.Strings(sorted)
	cdi := map[string]bool{}
	for _, d := range cr.CdiDevices {
		cdi[d.Name] = true
	}
	for _, id := range ids {
		v, _ := w.st.Get(id)
		n := fmt.Sprintf("/dev/vfio/%d", v.Group)
		if specs[n] != "rw" {
			return fmt.Errorf("no %s rw for %s in %v", n, id, specs)
		}
		if !cdi["vfagent.io/vf="+id] {
			return fmt.Errorf("no CDI device vfagent.io/vf=%s in %v", id, cdi)
		}
	}
	name := strings.NewReplacer("/", "_", ".", "_").Replace(strings.ToUpper(res))
	list := strings.Join(sorted, ",")
	for _, k := range []string{"PCIDEVICE_" + name, "PCI_RESOURCE_" + name} {
		if cr.Envs[k] != list {
			return fmt.Errorf("%s=%q, want %q", k, cr.Envs[k], list)
		}
	}
	var info map[string]map[string]map[string]string
	if err := json.Unmarshal([]byte(cr.Envs["PCIDEVICE_"+name+"_INFO"]), &info); err != nil {
		return fmt.Errorf("PCIDEVICE_%s_INFO: %v", name, err)
	}
	for _, id := range ids {
		v, _ := w.st.Get(id)
		e := info[id]
		if e["generic"]["deviceID"] != id || e["vfio"]["mount"] != "/dev/vfio/vfio" ||
			e["vfio"]["dev-mount"] != fmt.Sprintf("/dev/vfio/%d", v.Group) {
			return fmt.Errorf("PCIDEVICE_%s_INFO[%s] = %v", name, id, e)
		}
	}
	return nil
}

// stepForeign: a VF leased by someone else is Unhealthy for the kubelet and
// cannot be allocated; a failed Allocate gives back what it took.
func stepForeign(o *opts, w *world, c dp.DevicePluginClient, l *law, pool, res string) {
	free := w.healthyFree(pool)
	if len(free) < 2 {
		skip("foreign_lease", "pool %s has %d free VFs; need 2", pool, len(free))
		return
	}
	// Allocate takes devices in address order: the free one comes first, so
	// the failure on the foreign one must give it back.
	other, fv := free[0].PCI, free[1].PCI
	if _, err := w.d.Alloc(pool, fv, "test:foreign"); err != nil {
		fail("foreign_lease", "taking %s for test:foreign: %v", fv, err)
		return
	}
	defer w.d.Release(fv)
	_, _, err := l.until(o.timeout, func(ds []*dp.Device) bool {
		d := devMap(ds)[fv]
		return d != nil && d.Health == plugin.Unhealthy
	})
	check("law_foreign_unhealthy", err, fv+" leased by test:foreign is Unhealthy for the kubelet")
	_, err = c.Allocate(ctx(), &dp.AllocateRequest{ContainerRequests: []*dp.ContainerAllocateRequest{{DevicesIds: []string{other, fv}}}})
	if err == nil {
		fail("allocate_foreign", "Allocate of %s (leased by test:foreign) succeeded", fv)
		return
	}
	pass("allocate_foreign", "refused: %v", err)
	time.Sleep(300 * time.Millisecond)
	if h, leased := w.holderOf(other); leased {
		fail("allocate_rollback", "%s still leased (%s) after the failed Allocate", other, h)
	} else {
		pass("allocate_rollback", "%s returned after the failed Allocate", other)
	}
}

func pfVFs(w *world, pool, pf string) []string {
	var out []string
	for _, v := range w.st.VFs(pool) {
		if v.PF == pf {
			out = append(out, v.PCI)
		}
	}
	return out
}

func stepPF(o *opts, w *world, l *law) {
	if o.pfPool == "" || (!o.fake && o.pfDown == "") || o.pfPool != o.pools[0] {
		skip("pf_down", "no -pf of the first pool to take down")
		return
	}
	vfs := pfVFs(w, o.pfPool, o.pfName)
	all := func(h string) func([]*dp.Device) bool {
		return func(ds []*dp.Device) bool {
			m := devMap(ds)
			for _, id := range vfs {
				if m[id] == nil || (m[id].Health != h && h == plugin.Unhealthy) {
					return false
				}
			}
			return true
		}
	}
	setPF := func(up bool) error {
		if o.fake {
			_, err := w.d.Call(map[string]interface{}{"op": "_pf", "pool": o.pfPool, "pf": o.pfName, "up": up})
			return err
		}
		if up {
			return shell(o.pfUp)
		}
		return shell(o.pfDown)
	}
	t0 := time.Now()
	if err := setPF(false); err != nil {
		fail("pf_down", "%v", err)
		return
	}
	_, _, err := l.until(o.timeout, all(plugin.Unhealthy))
	dt := time.Since(t0)
	if check("pf_down", err, fmt.Sprintf("%s down: its %d VFs Unhealthy", o.pfName, len(vfs))) {
		fmt.Printf("INFO k8s_pf_down_delay_ms %.1f\n", float64(dt.Microseconds())/1000)
	}
	if err = setPF(true); err != nil {
		fail("pf_up", "%v", err)
		return
	}
	_, _, err = l.until(o.timeout, func(ds []*dp.Device) bool {
		m := devMap(ds)
		for _, id := range vfs {
			v, _ := w.st.Get(id)
			if m[id] == nil || (!v.Leased && m[id].Health != plugin.Healthy) {
				return false
			}
		}
		return true
	})
	check("pf_up", err, o.pfName+" up: its free VFs Healthy again")
}

func stepVFRemove(o *opts, w *world, l *law, pool string) {
	if !o.fake {
		skip("vf_removed", "needs the fake daemon (the lab does not change sriov_numvfs under a running daemon)")
		return
	}
	free := w.healthyFree(pool)
	if len(free) == 0 {
		skip("vf_removed", "no free VF")
		return
	}
	v := free[len(free)-1]
	raw, _ := json.Marshal(map[string]interface{}{"pool": v.Pool, "pf": v.PF, "pci": v.PCI,
		"vf": v.Index, "iommu_group": v.Group, "numa_node": v.Numa, "driver": "vfio-pci",
		"health": "healthy", "lease": nil})
	var back map[string]interface{}
	_ = json.Unmarshal(raw, &back)
	if _, err := w.d.Call(map[string]interface{}{"op": "_vf_remove", "pci": v.PCI}); err != nil {
		fail("vf_removed", "%v", err)
		return
	}
	_, _, err := l.until(o.timeout, func(ds []*dp.Device) bool { return devMap(ds)[v.PCI] == nil })
	check("vf_removed", err, v.PCI+" gone from ListAndWatch")
	if _, err = w.d.Call(map[string]interface{}{"op": "_vf_add", "vf": back}); err != nil {
		fail("vf_added", "%v", err)
		return
	}
	_, _, err = l.until(o.timeout, func(ds []*dp.Device) bool {
		d := devMap(ds)[v.PCI]
		return d != nil && d.Health == plugin.Healthy
	})
	check("vf_added", err, v.PCI+" back in ListAndWatch, Healthy")
}

func stepReconcile(o *opts, w *world, pods *podRes, res string, ids []string) {
	if len(ids) != 2 {
		skip("reconcile", "nothing allocated")
		return
	}
	leased := func() bool {
		for _, id := range ids {
			if h, ok := w.holderOf(id); !ok || h != "k8s:"+res {
				return false
			}
		}
		return true
	}
	pods.set([]*pr.PodResources{pod("vm-pod", res, ids)}, false)
	time.Sleep(4*o.grace + time.Second)
	if leased() {
		pass("reconcile_keep_running", "leases kept while a pod's container holds %v", ids)
	} else {
		fail("reconcile_keep_running", "a lease on %v was released while a pod holds it", ids)
	}
	pods.set(nil, true)
	time.Sleep(4*o.grace + time.Second)
	if leased() {
		pass("reconcile_keep_unknown", "leases kept while pod-resources List fails")
	} else {
		fail("reconcile_keep_unknown", "a lease was released while pod-resources List failed")
	}
	pods.set(nil, false)
	ok := waitFor(o.timeout+4*o.grace, func() bool {
		for _, id := range ids {
			if _, l := w.holderOf(id); l {
				return false
			}
		}
		return true
	})
	if ok {
		pass("reconcile_release", "the deleted pod's VFs %v returned to the pool", ids)
	} else {
		fail("reconcile_release", "leases on %v not released after the pod left", ids)
	}
}

func stepOverflow(o *opts, w *world, l *law, pool string) {
	if !o.fake || o.pfPool == "" {
		skip("watch_resync", "needs the fake daemon and -pf")
		return
	}
	if _, err := w.d.Call(map[string]interface{}{"op": "_overflow"}); err != nil {
		fail("watch_resync", "%v", err)
		return
	}
	// The plugin's stream was dropped: it must reconnect and follow again.
	time.Sleep(1500 * time.Millisecond)
	vfs := pfVFs(w, o.pfPool, o.pfName)
	_, err := w.d.Call(map[string]interface{}{"op": "_pf", "pool": o.pfPool, "pf": o.pfName, "up": false})
	if err == nil {
		_, _, err = l.until(o.timeout, func(ds []*dp.Device) bool {
			m := devMap(ds)
			for _, id := range vfs {
				if m[id] == nil || m[id].Health != plugin.Unhealthy {
					return false
				}
			}
			return true
		})
	}
	check("watch_resync", err, "after an overflow drop the plugin resyncs and follows PF changes")
	_, _ = w.d.Call(map[string]interface{}{"op": "_pf", "pool": o.pfPool, "pf": o.pfName, "up": true})
}

// stepSocketRemoved: the plugin's socket is removed, kubelet.sock stays; the
// plugin must notice, re-create it and register again.
func stepSocketRemoved(o *opts, got chan *dp.RegisterRequest, endpoint, res string) {
	for len(got) > 0 {
		<-got
	}
	p := filepath.Join(o.dir, endpoint)
	if err := os.Remove(p); err != nil {
		fail("socket_removed", "%v", err)
		return
	}
	tm := time.After(o.timeout)
	for {
		select {
		case r := <-got:
			if r.ResourceName != res {
				continue
			}
			if !sockExists(p) {
				fail("socket_removed", "%s registered again but %s is not a socket", res, p)
				return
			}
			pass("socket_removed", "%s re-created its socket and registered again", res)
			return
		case <-tm:
			fail("socket_removed", "%s not registered again in %v after its socket was removed", res, o.timeout)
			return
		}
	}
}

// stepRestart does what a kubelet restart does: its sockets go away
// (all of the directory's), kubelet.sock comes back; every resource must
// register again on a fresh socket.
func stepRestart(o *opts, reg *registrar, got chan *dp.RegisterRequest) {
	// First only kubelet.sock is re-created (the plugins' sockets stay):
	// the plugin must notice it by itself and register again.
	reg.g.Stop()
	_ = os.Remove(filepath.Join(o.dir, "kubelet.sock"))
	for len(got) > 0 {
		<-got
	}
	r1, err := startRegistrar(filepath.Join(o.dir, "kubelet.sock"), got)
	if !check("kubelet_sock_recreated", err, "kubelet.sock re-created alone") {
		return
	}
	regs, err := waitRegs(o, got)
	check("reregister_on_kubelet_sock", err, fmt.Sprintf("%d resources registered again", len(regs)))
	reg = r1
	reg.g.Stop()
	ents, _ := os.ReadDir(o.dir)
	for _, e := range ents {
		_ = os.Remove(filepath.Join(o.dir, e.Name()))
	}
	for len(got) > 0 {
		<-got
	}
	time.Sleep(200 * time.Millisecond)
	r2, err := startRegistrar(filepath.Join(o.dir, "kubelet.sock"), got)
	if !check("restart_socket", err, "kubelet.sock re-created") {
		return
	}
	defer r2.g.Stop()
	regs, err = waitRegs(o, got)
	if !check("restart_register", err, fmt.Sprintf("%d resources registered again on new sockets", len(regs))) {
		return
	}
	res := o.prefix + "/" + o.pools[0]
	conn, err := dial(filepath.Join(o.dir, regs[res].Endpoint))
	if err != nil {
		fail("restart_law", "%v", err)
		return
	}
	defer conn.Close()
	l, err := openLAW(dp.NewDevicePluginClient(conn))
	if err == nil {
		_, _, err = l.until(o.timeout, func(ds []*dp.Device) bool { return len(ds) > 0 })
		l.cancel()
	}
	check("restart_law", err, "ListAndWatch on the new socket lists the pool")
}

func pct(d []time.Duration, p float64) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(p * float64(len(d)-1))
	return float64(d[i].Microseconds()) / 1000
}

// stepBench times Allocate through the plugin against the daemon's own
// alloc of the same VF; it prints figures and asserts nothing about them.
func stepBench(o *opts, w *world, pool, res, endpoint string) {
	if o.bench <= 0 {
		return
	}
	free := w.healthyFree(pool)
	if len(free) == 0 {
		skip("bench", "no free VF in %s", pool)
		return
	}
	vf := free[0].PCI
	conn, err := dial(filepath.Join(o.dir, endpoint))
	if err != nil {
		fail("bench", "%v", err)
		return
	}
	defer conn.Close()
	c := dp.NewDevicePluginClient(conn)
	free1 := func() bool { _, l := w.holderOf(vf); return !l }
	var viaPlugin, direct []time.Duration
	for i := 0; i < o.bench; i++ {
		t0 := time.Now()
		_, err = c.Allocate(ctx(), &dp.AllocateRequest{ContainerRequests: []*dp.ContainerAllocateRequest{{DevicesIds: []string{vf}}}})
		dt := time.Since(t0)
		if err != nil {
			fail("bench", "Allocate %s: %v", vf, err)
			return
		}
		viaPlugin = append(viaPlugin, dt)
		waitFor(o.timeout, func() bool { h, l := w.holderOf(vf); return l && h == "k8s:"+res })
		_ = w.d.Release(vf)
		waitFor(o.timeout, free1)
		time.Sleep(20 * time.Millisecond) // the plugin's own stream sees it too
	}
	for i := 0; i < o.bench; i++ {
		t0 := time.Now()
		_, err = w.d.Alloc(pool, vf, "bench:direct")
		dt := time.Since(t0)
		if err != nil {
			fail("bench", "daemon alloc %s: %v", vf, err)
			return
		}
		direct = append(direct, dt)
		_ = w.d.Release(vf)
		waitFor(o.timeout, free1)
	}
	fmt.Printf("INFO k8s_bench_allocate_via_plugin_ms p50 %.2f p99 %.2f n %d\n", pct(viaPlugin, .5), pct(viaPlugin, .99), len(viaPlugin))
	fmt.Printf("INFO k8s_bench_alloc_daemon_ms p50 %.2f p99 %.2f n %d\n", pct(direct, .5), pct(direct, .99), len(direct))
	pass("bench", "%d Allocate calls through the plugin, %d daemon allocs", len(viaPlugin), len(direct))
}
