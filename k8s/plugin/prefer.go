package plugin

// GetPreferredAllocation's choice: same NUMA node first, then pack on one PF
// or spread across PFs.

import "sort"

// Policy says how a pool's VFs are picked across its PFs.
type Policy int

const (
	Pack Policy = iota
	Spread
)

var policyNames = [...]string{Pack: "pack", Spread: "spread"}

func (p Policy) String() string { return policyNames[p] }

// ParsePolicy maps "pack"/"spread" to a Policy; ok is false otherwise.
func ParsePolicy(s string) (Policy, bool) {
	for i, n := range policyNames {
		if n == s {
			return Policy(i), true
		}
	}
	return Pack, false
}

// Prefer returns size device ids: all of must, then the best of avail.
// VFs not in known are taken last, in the kubelet's order. The result has
// fewer than size ids only when avail has too few.
func Prefer(known map[string]VF, avail, must []string, size int, pol Policy) []string {
	out := append([]string{}, must...)
	inOut := map[string]bool{}
	for _, id := range must {
		inOut[id] = true
	}
	if len(out) >= size {
		return out[:size]
	}
	var cand, unknown []string
	for _, id := range avail {
		if inOut[id] {
			continue
		}
		inOut[id] = true
		if _, ok := known[id]; ok {
			cand = append(cand, id)
		} else {
			unknown = append(unknown, id)
		}
	}
	// NUMA rank: the node most of must sits on, else the node with the most
	// candidates (ties: lower node); then the others by candidate count.
	numaCount := map[int]int{}
	for _, id := range cand {
		numaCount[known[id].Numa]++
	}
	mustNuma := map[int]int{}
	for _, id := range must {
		if v, ok := known[id]; ok {
			mustNuma[v.Numa]++
		}
	}
	nodes := make([]int, 0, len(numaCount))
	for n := range numaCount {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool {
		a, b := nodes[i], nodes[j]
		if mustNuma[a] != mustNuma[b] {
			return mustNuma[a] > mustNuma[b]
		}
		// A node that can hold the whole request beats a bigger count.
		need := size - len(out)
		fa, fb := numaCount[a] >= need, numaCount[b] >= need
		if fa != fb {
			return fa
		}
		if numaCount[a] != numaCount[b] {
			return numaCount[a] > numaCount[b]
		}
		return a < b
	})
	numaRank := map[int]int{}
	for i, n := range nodes {
		numaRank[n] = i
	}
	// PF rank inside a node: PFs that must already uses first for pack,
	// last for spread; then the PF with more candidates; then by name.
	pfUsed := map[string]int{}
	for _, id := range must {
		if v, ok := known[id]; ok {
			pfUsed[v.PF]++
		}
	}
	pfCount := map[string]int{}
	for _, id := range cand {
		pfCount[known[id].PF]++
	}
	pfLess := func(a, b string) bool {
		if pfUsed[a] != pfUsed[b] {
			if pol == Pack {
				return pfUsed[a] > pfUsed[b]
			}
			return pfUsed[a] < pfUsed[b]
		}
		if pfCount[a] != pfCount[b] {
			return pfCount[a] > pfCount[b]
		}
		return a < b
	}
	// Spread: the k-th candidate of a PF goes in round pfUsed+k, so PFs
	// are filled evenly.
	sort.Slice(cand, func(i, j int) bool {
		return known[cand[i]].Index < known[cand[j]].Index ||
			(known[cand[i]].Index == known[cand[j]].Index && cand[i] < cand[j])
	})
	round := map[string]int{}
	if pol == Spread {
		seen := map[string]int{}
		for _, id := range cand {
			pf := known[id].PF
			round[id] = pfUsed[pf] + seen[pf]
			seen[pf]++
		}
	}
	sort.SliceStable(cand, func(i, j int) bool {
		a, b := known[cand[i]], known[cand[j]]
		if numaRank[a.Numa] != numaRank[b.Numa] {
			return numaRank[a.Numa] < numaRank[b.Numa]
		}
		if round[cand[i]] != round[cand[j]] {
			return round[cand[i]] < round[cand[j]]
		}
		if a.PF != b.PF {
			return pfLess(a.PF, b.PF)
		}
		return false
	})
	for _, id := range append(cand, unknown...) {
		if len(out) == size {
			break
		}
		out = append(out, id)
	}
	return out
}
