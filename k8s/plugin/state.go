package plugin

// The plugin's picture of the daemon's pools, kept from the watch stream.

import (
	"sort"
	"sync"
)

// Health values as the kubelet spells them.
const (
	Healthy   = "Healthy"
	Unhealthy = "Unhealthy"
)

// VF is one VF as the plugin sees it.
type VF struct {
	Pool, PF, PCI string
	Index         int
	Group         int // -1: unknown
	Numa          int // -1: unknown
	DaemonHealthy bool
	Holder        string // lease holder; "" with Leased = a non-k8s lease
	Leased        bool
}

// State holds every pool's VFs; Changed() is closed on each change.
type State struct {
	mu        sync.Mutex
	vfs       map[string]*VF // by PCI address
	pools     map[string]bool
	connected bool
	changed   chan struct{}
}

// NewState returns an empty, disconnected state.
func NewState() *State {
	return &State{vfs: map[string]*VF{}, pools: map[string]bool{},
		changed: make(chan struct{})}
}

func (s *State) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change.
func (s *State) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func vfFrom(v *VFInfo) *VF {
	g := -1
	if v.IommuGroup != nil {
		g = *v.IommuGroup
	}
	out := &VF{Pool: v.Pool, PF: v.PF, PCI: v.PCI, Index: v.VF, Group: g,
		Numa: v.NumaNode, DaemonHealthy: v.Health == "healthy"}
	if v.Lease != nil {
		out.Leased, out.Holder = true, v.Lease.Holder
	}
	return out
}

// SetDisconnected marks the daemon unreachable: every VF turns Unhealthy
// until the next snapshot.
func (s *State) SetDisconnected() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected {
		s.connected = false
		s.notify()
	}
}

// Apply folds one watch event into the state.
func (s *State) Apply(ev *Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev.Event {
	case "snapshot":
		s.vfs = map[string]*VF{}
		for _, p := range ev.Pools {
			s.pools[p.Pool] = true
			for _, v := range p.VFs {
				s.vfs[v.PCI] = vfFrom(v)
			}
		}
		s.connected = true
	case "vf":
		if ev.VF == nil {
			return
		}
		s.vfs[ev.VF.PCI] = vfFrom(ev.VF)
		s.pools[ev.VF.Pool] = true
	case "vf-removed":
		delete(s.vfs, ev.PCI)
	case "pf":
		// The daemon sends "vf" events for the health change too; this
		// keeps a PF-down visible even if it does not.
		for _, v := range s.vfs {
			if v.Pool == ev.Pool && v.PF == ev.PF && !ev.Up {
				v.DaemonHealthy = false
			}
		}
	case "lease":
		if ev.Lease == nil {
			return
		}
		if v := s.vfs[ev.Lease.PCI]; v != nil {
			v.Leased = ev.Change != "removed"
			v.Holder = ""
			if v.Leased {
				v.Holder = ev.Lease.Holder
			}
		}
	default:
		return
	}
	s.notify()
}

// Pools returns the pool names seen so far, sorted.
func (s *State) Pools() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.pools))
	for p := range s.pools {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// VFs returns copies of pool's VFs sorted by PCI address ("" = all pools).
func (s *State) VFs(pool string) []VF {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []VF{}
	for _, v := range s.vfs {
		if pool == "" || v.Pool == pool {
			out = append(out, *v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PCI < out[j].PCI })
	return out
}

// Get returns a copy of the VF at pci.
func (s *State) Get(pci string) (VF, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vfs[pci]
	if !ok {
		return VF{}, false
	}
	return *v, true
}

// Connected says whether the state follows a live watch stream.
func (s *State) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Health is the kubelet's view of v for holder: a VF leased to anyone but
// this resource, or unhealthy for the daemon, or followed by no live watch,
// is Unhealthy (the kubelet does not hand it out).
func (s *State) Health(v VF, holder string) string {
	if !v.DaemonHealthy || (v.Leased && v.Holder != holder) {
		return Unhealthy
	}
	return Healthy
}
