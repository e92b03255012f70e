package plugin

// One device-plugin gRPC server per pool: its socket, its registration with
// the kubelet, and the DevicePlugin service.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	dp "vfagent/k8s/api/deviceplugin/v1beta1"
)

// Server serves one pool as one extended resource.
type Server struct {
	dp.UnimplementedDevicePluginServer
	Pool, Resource string
	Policy         Policy
	Dir            string // the kubelet's device-plugins directory
	State          *State
	Daemon         *Daemon
	Rec            *Reconciler // nil: no reconcile

	mu   sync.Mutex
	grpc *grpc.Server
	stop chan struct{}
}

// Holder is the lease holder string this server's leases carry.
func (s *Server) Holder() string { return "k8s:" + s.Resource }

// Endpoint is the socket's name inside Dir.
func (s *Server) Endpoint() string {
	return "vfagent-" + strings.NewReplacer("/", "_").Replace(s.Pool) + ".sock"
}

func (s *Server) sockPath() string { return filepath.Join(s.Dir, s.Endpoint()) }

// Start (re)creates the socket and serves on it.
func (s *Server) Start() error {
	s.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.sockPath()
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("removing the stale socket %s: %w", p, err)
	}
	l, err := net.Listen("unix", p)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", p, err)
	}
	s.grpc = grpc.NewServer()
	s.stop = make(chan struct{})
	dp.RegisterDevicePluginServer(s.grpc, s)
	go func(g *grpc.Server) { _ = g.Serve(l) }(s.grpc)
	return nil
}

// Stop ends the server and its ListAndWatch streams; the socket stays.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grpc == nil {
		return
	}
	close(s.stop)
	s.grpc.Stop()
	s.grpc = nil
}

// SocketGone says whether the socket file went away behind our back.
func (s *Server) SocketGone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grpc == nil {
		return false
	}
	_, err := os.Stat(s.sockPath())
	return os.IsNotExist(err)
}

// Register tells the kubelet at kubeletSock about this resource.
func (s *Server) Register(kubeletSock string) error {
	if _, err := os.Stat(kubeletSock); err != nil {
		return fmt.Errorf("the kubelet is not there: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, kubeletSock, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", a)
		}))
	if err != nil {
		return fmt.Errorf("connecting to the kubelet at %s: %w", kubeletSock, err)
	}
	defer conn.Close()
	_, err = dp.NewRegistrationClient(conn).Register(ctx, &dp.RegisterRequest{
		Version: "v1beta1", Endpoint: s.Endpoint(), ResourceName: s.Resource,
		Options: s.options()})
	if err != nil {
		return fmt.Errorf("registering %s with the kubelet: %w", s.Resource, err)
	}
	return nil
}

func (s *Server) options() *dp.DevicePluginOptions {
	return &dp.DevicePluginOptions{GetPreferredAllocationAvailable: true}
}

// GetDevicePluginOptions: no PreStartContainer, GetPreferredAllocation yes.
func (s *Server) GetDevicePluginOptions(context.Context, *dp.Empty) (*dp.DevicePluginOptions, error) {
	return s.options(), nil
}

func (s *Server) devices() []*dp.Device {
	var out []*dp.Device
	conn := s.State.Connected()
	for _, v := range s.State.VFs(s.Pool) {
		d := &dp.Device{ID: v.PCI, Health: s.State.Health(v, s.Holder())}
		if !conn {
			d.Health = Unhealthy
		}
		if v.Numa >= 0 {
			d.Topology = &dp.TopologyInfo{Nodes: []*dp.NUMANode{{ID: int64(v.Numa)}}}
		}
		out = append(out, d)
	}
	return out
}

func sameDevices(a, b []*dp.Device) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].Health != b[i].Health ||
			a[i].GetTopology().String() != b[i].GetTopology().String() {
			return false
		}
	}
	return true
}

// ListAndWatch sends the pool's VFs, then a new list on every change.
func (s *Server) ListAndWatch(_ *dp.Empty, st dp.DevicePlugin_ListAndWatchServer) error {
	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	var last []*dp.Device
	first := true
	for {
		ch := s.State.Changed()
		devs := s.devices()
		if first || !sameDevices(devs, last) {
			if err := st.Send(&dp.ListAndWatchResponse{Devices: devs}); err != nil {
				return err
			}
			last, first = devs, false
		}
		select {
		case <-ch:
		case <-stop:
			return nil
		case <-st.Context().Done():
			return nil
		}
	}
}

// GetPreferredAllocation picks per container by Prefer with the pool's policy.
func (s *Server) GetPreferredAllocation(_ context.Context, r *dp.PreferredAllocationRequest) (*dp.PreferredAllocationResponse, error) {
	known := map[string]VF{}
	for _, v := range s.State.VFs(s.Pool) {
		known[v.PCI] = v
	}
	resp := &dp.PreferredAllocationResponse{}
	for _, c := range r.ContainerRequests {
		ids := Prefer(known, c.AvailableDeviceIDs, c.MustIncludeDeviceIDs,
			int(c.AllocationSize), s.Policy)
		resp.ContainerResponses = append(resp.ContainerResponses,
			&dp.ContainerPreferredAllocationResponse{DeviceIDs: ids})
	}
	return resp, nil
}

// lease takes (or finds already ours) the lease on pci.
func (s *Server) lease(pci string) (DevInfo, bool, error) {
	v, ok := s.State.Get(pci)
	if !ok || v.Pool != s.Pool {
		return DevInfo{}, false, fmt.Errorf("%s is not a VF of pool %s", pci, s.Pool)
	}
	if s.Rec != nil {
		s.Rec.Touch(pci, time.Now())
	}
	// Always ask the daemon: our picture may lag a release just made.
	l, err := s.Daemon.Alloc(s.Pool, pci, s.Holder())
	var de *DaemonError
	if errors.As(err, &de) && de.Exit == 3 {
		if v, ok = s.State.Get(pci); ok && v.Leased && v.Holder == s.Holder() {
			// Ours already: the kubelet allocates again after it restarts,
			// or gives a freed device to the next pod before reconcile.
			return DevInfo{PCI: pci, Group: v.Group}, false, nil
		}
	}
	if err != nil {
		return DevInfo{}, false, err
	}
	g := v.Group
	if l.IommuGroup != nil {
		g = *l.IommuGroup
	}
	if g < 0 {
		_ = s.Daemon.Release(pci)
		return DevInfo{}, false, fmt.Errorf("%s has no IOMMU group", pci)
	}
	return DevInfo{PCI: pci, Group: g}, true, nil
}

// Allocate leases each requested VF for this resource and says how to hand
// it to the container; on any failure it returns the leases it took.
func (s *Server) Allocate(_ context.Context, r *dp.AllocateRequest) (*dp.AllocateResponse, error) {
	resp := &dp.AllocateResponse{}
	var taken []string
	fail := func(err error) (*dp.AllocateResponse, error) {
		for _, p := range taken {
			if e := s.Daemon.Release(p); e != nil {
				log.Printf("allocate rollback: releasing %s: %v", p, e)
			}
		}
		return nil, err
	}
	for _, c := range r.ContainerRequests {
		ids := append([]string{}, c.DevicesIds...)
		sort.Strings(ids)
		cr := &dp.ContainerAllocateResponse{Devices: []*dp.DeviceSpec{{
			ContainerPath: "/dev/vfio/vfio", HostPath: "/dev/vfio/vfio", Permissions: "rw"}}}
		var devs []DevInfo
		for _, id := range ids {
			d, fresh, err := s.lease(id)
			if err != nil {
				return fail(fmt.Errorf("allocating %s for %s: %w", id, s.Resource, err))
			}
			if fresh {
				taken = append(taken, id)
			}
			devs = append(devs, d)
			n := fmt.Sprintf("/dev/vfio/%d", d.Group)
			cr.Devices = append(cr.Devices, &dp.DeviceSpec{ContainerPath: n, HostPath: n, Permissions: "rw"})
			cr.CdiDevices = append(cr.CdiDevices, &dp.CDIDevice{Name: CDIKind + "=" + id})
		}
		env, err := Envs(s.Resource, devs)
		if err != nil {
			return fail(err)
		}
		cr.Envs = env
		resp.ContainerResponses = append(resp.ContainerResponses, cr)
	}
	log.Printf("%s: allocated %v", s.Resource, taken)
	return resp, nil
}

// PreStartContainer is not requested (pre_start_required is false).
func (s *Server) PreStartContainer(context.Context, *dp.PreStartContainerRequest) (*dp.PreStartContainerResponse, error) {
	return &dp.PreStartContainerResponse{}, nil
}
