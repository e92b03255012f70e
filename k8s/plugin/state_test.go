package plugin

import (
	"encoding/json"
	"testing"
)

func ev(t *testing.T, s string) *Event {
	var e Event
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func TestStateHealth(t *testing.T) {
	s := NewState()
	s.Apply(ev(t, `{"event":"snapshot","seq":1,"pools":[{"pool":"p","pfs":[],"vfs":[
	 {"pool":"p","pf":"e0","pci":"x0","vf":0,"iommu_group":3,"numa_node":1,"health":"healthy","lease":null},
	 {"pool":"p","pf":"e0","pci":"x1","vf":1,"iommu_group":4,"numa_node":1,"health":"healthy",
	  "lease":{"id":"l","pci":"x1","holder":"k8s:r"}},
	 {"pool":"p","pf":"e1","pci":"x2","vf":0,"iommu_group":null,"numa_node":-1,"health":"healthy",
	  "lease":{"id":"m","pci":"x2","domain":"vm1"}}]}]}`))
	h := func(pci string) string { v, _ := s.Get(pci); return s.Health(v, "k8s:r") }
	if h("x0") != Healthy || h("x1") != Healthy || h("x2") != Unhealthy {
		t.Fatalf("health %s %s %s", h("x0"), h("x1"), h("x2"))
	}
	if v, _ := s.Get("x2"); v.Group != -1 || v.Numa != -1 {
		t.Fatalf("x2 %+v", v)
	}
	s.Apply(ev(t, `{"event":"pf","seq":2,"pool":"p","pf":"e0","up":false}`))
	if h("x0") != Unhealthy || h("x1") != Unhealthy {
		t.Fatal("PF down left VFs healthy")
	}
	s.Apply(ev(t, `{"event":"vf","seq":3,"vf":{"pool":"p","pf":"e0","pci":"x0","vf":0,"iommu_group":3,"numa_node":1,"health":"healthy","lease":null}}`))
	if h("x0") != Healthy {
		t.Fatal("vf event did not restore health")
	}
	s.Apply(ev(t, `{"event":"lease","seq":4,"change":"removed","lease":{"pci":"x2"}}`))
	if h("x2") != Healthy {
		t.Fatal("lease removal not seen")
	}
	s.Apply(ev(t, `{"event":"vf-removed","seq":5,"pool":"p","pci":"x1"}`))
	if _, ok := s.Get("x1"); ok || len(s.VFs("p")) != 2 {
		t.Fatal("vf-removed not applied")
	}
}
