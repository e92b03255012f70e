// fakedaemon: a stand-in for `vfagent serve` speaking protocol v1
// (.protocol-v1.md: hello, alloc with pci/holder, release, watch) over a
// Unix socket, from a JSON list of pools.  Test-only ops, all starting with
// '_', let a test script change the world: _pf {pool,pf,up}, _vf_remove {pci},
// _vf_add {vf}, _overflow (drop every watcher as the daemon does past its
// output cap).  No root, no hardware.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sync"
)

type lease struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Pool   string `json:"pool"`
	PCI    string `json:"pci"`
	Domain string `json:"domain"`
	Holder string `json:"holder"`
	Group  *int   `json:"iommu_group"`
	Node   string `json:"vfio_node"`
}

type vf struct {
	Pool   string `json:"pool"`
	PF     string `json:"pf"`
	PCI    string `json:"pci"`
	VF     int    `json:"vf"`
	Group  *int   `json:"iommu_group"`
	Numa   int    `json:"numa_node"`
	Driver string `json:"driver"`
	Health string `json:"health"`
	Lease  *lease `json:"lease"`
}

type pf struct {
	PF      string `json:"pf"`
	PCI     string `json:"pci"`
	Up      bool   `json:"up"`
	Present bool   `json:"present"`
}

type pool struct {
	Pool string `json:"pool"`
	PFs  []*pf  `json:"pfs"`
	VFs  []*vf  `json:"vfs"`
}

type watcher struct {
	c    net.Conn
	done bool
}

var (
	mu       sync.Mutex
	pools    []*pool
	seq      int64
	watchers []*watcher
	nlease   int
)

func findVF(pci string) (*pool, *vf) {
	for _, p := range pools {
		for _, v := range p.VFs {
			if v.PCI == pci {
				return p, v
			}
		}
	}
	return nil, nil
}

// emit sends one event to every watcher; caller holds mu.
func emit(ev map[string]interface{}) {
	seq++
	ev["seq"] = seq
	b, _ := json.Marshal(ev)
	for _, w := range watchers {
		if !w.done {
			if _, err := w.c.Write(append(b, '\n')); err != nil {
				w.done = true
			}
		}
	}
}

func reply(ok bool, exit int, res interface{}, errno, msg string) map[string]interface{} {
	r := map[string]interface{}{"v": 1, "ok": ok, "exit": exit}
	if ok {
		r["result"] = res
	} else {
		r["errno"], r["error"] = errno, msg
	}
	return r
}

func handle(req map[string]interface{}, c net.Conn) (map[string]interface{}, bool) {
	mu.Lock()
	defer mu.Unlock()
	op, _ := req["op"].(string)
	str := func(k string) string { s, _ := req[k].(string); return s }
	switch op {
	case "hello":
		if *v0 {
			return reply(false, 2, nil, "EINVAL", "unknown op hello"), false
		}
		return reply(true, 0, map[string]interface{}{"v": 1, "version": "fake",
			"ops": []string{"hello", "alloc", "release", "watch"}}, "", ""), false
	case "alloc":
		p, v := findVF(str("pci"))
		if p == nil || p.Pool != str("pool") {
			return reply(false, 1, nil, "ENODEV", "no such VF in pool"), false
		}
		if v.Lease != nil {
			return reply(false, 3, nil, "EBUSY", "VF "+v.PCI+" is leased"), false
		}
		nlease++
		l := &lease{ID: fmt.Sprintf("L%d", nlease), State: "ready", Pool: p.Pool,
			PCI: v.PCI, Holder: str("holder"), Group: v.Group}
		if v.Group != nil {
			l.Node = fmt.Sprintf("/dev/vfio/%d", *v.Group)
		}
		v.Lease = l
		emit(map[string]interface{}{"event": "lease", "change": "added", "lease": l})
		return reply(true, 0, l, "", ""), false
	case "release":
		_, v := findVF(str("pci"))
		if v == nil || v.Lease == nil {
			return reply(false, 1, nil, "ENOENT", "no lease on "+str("pci")), false
		}
		l := v.Lease
		v.Lease = nil
		emit(map[string]interface{}{"event": "lease", "change": "removed", "lease": l})
		return reply(true, 0, l, "", ""), false
	case "watch":
		// The snapshot carries the current seq; events go on from seq+1.
		r := reply(true, 0, map[string]interface{}{"seq": seq}, "", "")
		b, _ := json.Marshal(r)
		c.Write(append(b, '\n'))
		s, _ := json.Marshal(map[string]interface{}{"event": "snapshot", "seq": seq, "pools": pools})
		c.Write(append(s, '\n'))
		watchers = append(watchers, &watcher{c: c})
		return nil, true
	case "_pf":
		up, _ := req["up"].(bool)
		for _, p := range pools {
			if p.Pool != str("pool") {
				continue
			}
			for _, f := range p.PFs {
				if f.PF == str("pf") {
					f.Up = up
					emit(map[string]interface{}{"event": "pf", "pool": p.Pool, "pf": f.PF,
						"pci": f.PCI, "up": up, "present": f.Present})
				}
			}
			for _, v := range p.VFs {
				if v.PF == str("pf") {
					v.Health = map[bool]string{true: "healthy", false: "unhealthy"}[up]
					emit(map[string]interface{}{"event": "vf", "vf": v})
				}
			}
		}
		return reply(true, 0, nil, "", ""), false
	case "_vf_remove":
		for _, p := range pools {
			for i, v := range p.VFs {
				if v.PCI == str("pci") {
					p.VFs = append(p.VFs[:i], p.VFs[i+1:]...)
					emit(map[string]interface{}{"event": "vf-removed", "pool": p.Pool, "pci": v.PCI})
					return reply(true, 0, nil, "", ""), false
				}
			}
		}
		return reply(false, 1, nil, "ENOENT", "no such VF"), false
	case "_vf_add":
		b, _ := json.Marshal(req["vf"])
		var v vf
		if json.Unmarshal(b, &v) != nil {
			return reply(false, 2, nil, "EINVAL", "bad vf"), false
		}
		for _, p := range pools {
			if p.Pool == v.Pool {
				p.VFs = append(p.VFs, &v)
				emit(map[string]interface{}{"event": "vf", "vf": &v})
				return reply(true, 0, nil, "", ""), false
			}
		}
		return reply(false, 1, nil, "ENOENT", "no such pool"), false
	case "_overflow":
		b, _ := json.Marshal(map[string]interface{}{"event": "overflow"})
		for _, w := range watchers {
			w.c.Write(append(b, '\n'))
			w.c.Close()
			w.done = true
		}
		return reply(true, 0, nil, "", ""), false
	}
	return reply(false, 2, nil, "EINVAL", "unknown op "+op), false
}

func serve(c net.Conn) {
	r := bufio.NewReaderSize(c, 64*1024+1)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			c.Close()
			return
		}
		var req map[string]interface{}
		if json.Unmarshal(line, &req) != nil {
			b, _ := json.Marshal(reply(false, 2, nil, "EINVAL", "not JSON"))
			c.Write(append(b, '\n'))
			continue
		}
		rep, isWatch := handle(req, c)
		if isWatch {
			return // the connection now belongs to the event stream
		}
		b, _ := json.Marshal(rep)
		c.Write(append(b, '\n'))
	}
}

var v0 = flag.Bool("v0", false, "answer hello as today's daemon does (unknown op)")

func main() {
	sock := flag.String("sock", "", "socket path")
	state := flag.String("state", "", "JSON list of pools")
	flag.Parse()
	b, err := os.ReadFile(*state)
	if err != nil {
		log.Fatal(err)
	}
	if err = json.Unmarshal(b, &pools); err != nil {
		log.Fatalf("%s: %v", *state, err)
	}
	os.Remove(*sock)
	l, err := net.Listen("unix", *sock)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c)
	}
}
