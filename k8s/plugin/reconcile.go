package plugin

// Allocate does not say which pod asks, so leases are checked against the
// kubelet's pod-resources List: a k8s lease whose VF no pod's container
// holds, for longer than the grace period, goes back to the pool.

import (
	"context"
	"log"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"

	pr "vfagent/k8s/api/podresources/v1"
)

// Reconciler remembers since when each k8s lease has been seen unused.
type Reconciler struct {
	Sock   string
	Daemon *Daemon
	State  *State
	Grace  time.Duration

	mu        sync.Mutex
	resources map[string]string // resource -> pool
	missing   map[string]time.Time
	touched   map[string]time.Time // last Allocate of each VF
	relMu     sync.Mutex           // a release decision and its daemon call
}

// Touch marks pci as just allocated: its grace starts again. It waits for a
// release of pci in flight, so after it returns no release decided before
// can follow; Allocate then asks the daemon for the lease.
func (r *Reconciler) Touch(pci string, now time.Time) {
	r.relMu.Lock()
	defer r.relMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.touched == nil {
		r.touched = map[string]time.Time{}
	}
	r.touched[pci] = now
	delete(r.missing, pci)
}

func (r *Reconciler) add(resource, pool string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.resources == nil {
		r.resources = map[string]string{}
	}
	r.resources[resource] = pool
}

// InUse lists the kubelet's pods and returns "resource\x00id" for every
// device some container holds; an error means nothing may be released.
func InUse(sock string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, sock, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", a)
		}))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	resp, err := pr.NewPodResourcesListerClient(conn).List(ctx, &pr.ListPodResourcesRequest{})
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, p := range resp.PodResources {
		for _, c := range p.Containers {
			for _, d := range c.Devices {
				for _, id := range d.DeviceIds {
					used[d.ResourceName+"\x00"+id] = true
				}
			}
		}
	}
	return used, nil
}

// Run does one pass at time now.
func (r *Reconciler) Run(now time.Time) {
	if !r.State.Connected() {
		return
	}
	used, err := InUse(r.Sock)
	if err != nil {
		log.Printf("pod-resources List at %s: %v; releasing nothing", r.Sock, err)
		return
	}
	r.mu.Lock()
	res := map[string]string{}
	for k, v := range r.resources {
		res[k] = v
	}
	r.mu.Unlock()
	seen := map[string]bool{}
	for resource, pool := range res {
		holder := "k8s:" + resource
		for _, v := range r.State.VFs(pool) {
			if !v.Leased || v.Holder != holder {
				continue
			}
			seen[v.PCI] = true
			if used[resource+"\x00"+v.PCI] {
				r.forget(v.PCI)
				continue
			}
			r.release(v.PCI, resource, now)
		}
	}
	r.mu.Lock()
	for pci := range r.missing {
		if !seen[pci] {
			delete(r.missing, pci)
		}
	}
	r.mu.Unlock()
}

// release gives pci back if it has been unused for the grace period since
// it was first seen unused and since its last Allocate.
func (r *Reconciler) release(pci, resource string, now time.Time) {
	r.relMu.Lock()
	defer r.relMu.Unlock()
	since := r.since(pci, now)
	r.mu.Lock()
	if t, ok := r.touched[pci]; ok && t.After(since) {
		since = t
	}
	r.mu.Unlock()
	if now.Sub(since) < r.Grace {
		return
	}
	if err := r.Daemon.Release(pci); err != nil {
		log.Printf("releasing %s (%s, held by no pod): %v", pci, resource, err)
		return
	}
	log.Printf("released %s: %s lease held by no pod for %v", pci, resource, r.Grace)
	r.forget(pci)
}

func (r *Reconciler) since(pci string, now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.missing[pci]
	if !ok {
		r.missing[pci] = now
		return now
	}
	return t
}

func (r *Reconciler) forget(pci string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.missing, pci)
	delete(r.touched, pci)
}
