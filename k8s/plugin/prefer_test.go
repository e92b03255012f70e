package plugin

import (
	"reflect"
	"testing"
)

// Two NUMA nodes; node 0 has PF a (3 VFs) and b (2), node 1 has c (3).
func testVFs() map[string]VF {
	m := map[string]VF{}
	add := func(pci, pf string, idx, numa int) {
		m[pci] = VF{Pool: "p", PF: pf, PCI: pci, Index: idx, Numa: numa, DaemonHealthy: true}
	}
	add("a0", "a", 0, 0)
	add("a1", "a", 1, 0)
	add("a2", "a", 2, 0)
	add("b0", "b", 0, 0)
	add("b1", "b", 1, 0)
	add("c0", "c", 0, 1)
	add("c1", "c", 1, 1)
	add("c2", "c", 2, 1)
	return m
}

var all = []string{"c2", "b1", "a2", "c1", "b0", "a1", "c0", "a0"}

func TestPreferPackOnePF(t *testing.T) {
	got := Prefer(testVFs(), all, nil, 2, Pack)
	if !reflect.DeepEqual(got, []string{"a0", "a1"}) {
		t.Fatalf("pack 2: %v", got)
	}
}

func TestPreferPackFillsPFThenNext(t *testing.T) {
	got := Prefer(testVFs(), all, nil, 4, Pack)
	if !reflect.DeepEqual(got, []string{"a0", "a1", "a2", "b0"}) {
		t.Fatalf("pack 4: %v", got)
	}
}

func TestPreferSpreadAcrossPFs(t *testing.T) {
	got := Prefer(testVFs(), all, nil, 2, Spread)
	if !reflect.DeepEqual(got, []string{"a0", "b0"}) {
		t.Fatalf("spread 2: %v", got)
	}
	got = Prefer(testVFs(), all, nil, 4, Spread)
	if !reflect.DeepEqual(got, []string{"a0", "b0", "a1", "b1"}) {
		t.Fatalf("spread 4: %v", got)
	}
}

func TestPreferMustIncludeSetsNUMA(t *testing.T) {
	got := Prefer(testVFs(), all, []string{"c1"}, 2, Pack)
	if !reflect.DeepEqual(got, []string{"c1", "c0"}) {
		t.Fatalf("must c1: %v", got)
	}
}

func TestPreferSpreadAwayFromMustPF(t *testing.T) {
	got := Prefer(testVFs(), all, []string{"a0"}, 2, Spread)
	if !reflect.DeepEqual(got, []string{"a0", "b0"}) {
		t.Fatalf("spread with must a0: %v", got)
	}
}

func TestPreferNodeThatFitsWins(t *testing.T) {
	// Node 0 offers only a0, a1; node 1 all three: size 3 goes to node 1.
	got := Prefer(testVFs(), []string{"a0", "a1", "c0", "c1", "c2"}, nil, 3, Pack)
	if !reflect.DeepEqual(got, []string{"c0", "c1", "c2"}) {
		t.Fatalf("fit: %v", got)
	}
}

func TestPreferUnknownLastAndShort(t *testing.T) {
	got := Prefer(testVFs(), []string{"zz", "a0"}, nil, 3, Pack)
	if !reflect.DeepEqual(got, []string{"a0", "zz"}) {
		t.Fatalf("unknown: %v", got)
	}
}
