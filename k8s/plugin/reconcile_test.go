package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	pr "vfagent/k8s/api/podresources/v1"
)

type emptyPods struct {
	pr.UnimplementedPodResourcesListerServer
}

func (emptyPods) List(context.Context, *pr.ListPodResourcesRequest) (*pr.ListPodResourcesResponse, error) {
	return &pr.ListPodResourcesResponse{}, nil
}

// releases records the daemon's release requests; every request succeeds.
func fakeReleaseDaemon(t *testing.T, sock string) (*[]string, *sync.Mutex) {
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var got []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadBytes('\n')
			var req map[string]interface{}
			_ = json.Unmarshal(line, &req)
			mu.Lock()
			got = append(got, req["op"].(string)+" "+req["pci"].(string))
			mu.Unlock()
			c.Write([]byte(`{"v":1,"ok":true,"exit":0,"result":{}}` + "\n"))
			c.Close()
		}
	}()
	return &got, &mu
}

// A VF the kubelet hands to a new pod (Allocate) just before its old
// lease's grace runs out must not be released under the new pod.
func TestReconcileAllocateRestartsGrace(t *testing.T) {
	dir := t.TempDir()
	prs := filepath.Join(dir, "pr.sock")
	l, err := net.Listen("unix", prs)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	pr.RegisterPodResourcesListerServer(g, emptyPods{})
	go g.Serve(l)
	defer g.Stop()
	rel, mu := fakeReleaseDaemon(t, filepath.Join(dir, "d.sock"))

	st := NewState()
	st.Apply(&Event{Event: "snapshot", Pools: []PoolInfo{{Pool: "p", VFs: []*VFInfo{{
		Pool: "p", PF: "e0", PCI: "x0", Health: "healthy",
		Lease: &Lease{PCI: "x0", Holder: "k8s:vfagent.io/p"}}}}}})
	r := &Reconciler{Sock: prs, Daemon: &Daemon{Path: filepath.Join(dir, "d.sock")},
		State: st, Grace: time.Minute, missing: map[string]time.Time{}}
	r.add("vfagent.io/p", "p")
	t0 := time.Now()
	r.Run(t0)                             // first seen unused
	r.Touch("x0", t0.Add(59*time.Second)) // Allocate for a new pod
	r.Run(t0.Add(61 * time.Second))       // old grace over, new one not
	mu.Lock()
	n := len(*rel)
	mu.Unlock()
	if n != 0 {
		t.Fatalf("released %v one second after an Allocate", *rel)
	}
	r.Run(t0.Add(125 * time.Second))
	mu.Lock()
	defer mu.Unlock()
	if len(*rel) != 1 || (*rel)[0] != "release x0" {
		t.Fatalf("after the new grace: %v", *rel)
	}
}
