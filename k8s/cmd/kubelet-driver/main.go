// kubelet-driver plays the kubelet against vfagent-k8s: it registers the
// plugin, then calls ListAndWatch, GetPreferredAllocation and Allocate,
// restarts its socket, and answers pod-resources List, printing one
// "PASS/FAIL/SKIP name" line per check.
//
//	kubelet-driver hello -daemon SOCK      exit 0: protocol v1; 3: refused
//	kubelet-driver run -dir D -podres S -daemon SOCK -pools net1,net2 ...
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"

	dp "vfagent/k8s/api/deviceplugin/v1beta1"
	"vfagent/k8s/plugin"
)

var failed int

func pass(name, f string, a ...interface{}) {
	fmt.Printf("PASS k8s_%s: %s\n", name, fmt.Sprintf(f, a...))
}
func fail(name, f string, a ...interface{}) {
	failed++
	fmt.Printf("FAIL k8s_%s: %s\n", name, fmt.Sprintf(f, a...))
}
func skip(name, f string, a ...interface{}) {
	fmt.Printf("SKIP k8s_%s: %s\n", name, fmt.Sprintf(f, a...))
}

func check(name string, err error, okMsg string) bool {
	if err != nil {
		fail(name, "%v", err)
		return false
	}
	pass(name, "%s", okMsg)
	return true
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kubelet-driver hello|run [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "hello":
		fs := flag.NewFlagSet("hello", flag.ExitOnError)
		sock := fs.String("daemon", "", "daemon socket")
		_ = fs.Parse(os.Args[2:])
		ops, err := (&plugin.Daemon{Path: *sock}).Hello()
		if err != nil {
			fmt.Printf("hello refused: %v\n", err)
			os.Exit(3)
		}
		for _, o := range ops {
			if o == "watch" {
				fmt.Printf("protocol v1: %v\n", ops)
				os.Exit(0)
			}
		}
		fmt.Printf("hello ok but no watch op: %v\n", ops)
		os.Exit(3)
	case "run":
		os.Exit(run(os.Args[2:]))
	}
	fmt.Fprintln(os.Stderr, "usage: kubelet-driver hello|run [flags]")
	os.Exit(2)
}

type opts struct {
	dir, podres, daemon, prefix string
	pools                       []string
	policies                    map[string]plugin.Policy
	fake                        bool
	pfPool, pfName              string
	pfDown, pfUp                string
	grace                       time.Duration
	timeout                     time.Duration
	bench                       int
}

func run(args []string) int {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o opts
	fs.StringVar(&o.dir, "dir", "", "device-plugins dir (kubelet.sock is made here)")
	fs.StringVar(&o.podres, "podres", "", "pod-resources socket to serve")
	fs.StringVar(&o.daemon, "daemon", "", "vfagent daemon socket (for the driver's own watch)")
	fs.StringVar(&o.prefix, "prefix", "vfagent.io", "resource prefix the plugin uses")
	pools := fs.String("pools", "", "pools the plugin must register, comma-separated")
	pol := fs.String("policy", "", "the plugin's -policy (pool=pack|spread,...)")
	fs.BoolVar(&o.fake, "fake", false, "the daemon is tests/fakedaemon: drive PFs/VFs through its test ops")
	pf := fs.String("pf", "", "pool/pf to take down and up")
	fs.StringVar(&o.pfDown, "pf-down-cmd", "", "shell command taking the PF down (real daemon)")
	fs.StringVar(&o.pfUp, "pf-up-cmd", "", "shell command bringing the PF up (real daemon)")
	fs.DurationVar(&o.grace, "grace", time.Second, "the plugin's -grace")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "longest wait for any one event")
	fs.IntVar(&o.bench, "bench", 0, "also time N Allocate calls through the plugin and N daemon allocs")
	_ = fs.Parse(args)
	o.pools = strings.Split(*pools, ",")
	o.policies = map[string]plugin.Policy{}
	for _, kv := range strings.Split(*pol, ",") {
		if i := strings.IndexByte(kv, '='); i > 0 {
			o.policies[kv[:i]], _ = plugin.ParsePolicy(kv[i+1:])
		}
	}
	if i := strings.IndexByte(*pf, '/'); i > 0 {
		o.pfPool, o.pfName = (*pf)[:i], (*pf)[i+1:]
	}
	if o.dir == "" || o.podres == "" || o.daemon == "" || *pools == "" {
		fmt.Fprintln(os.Stderr, "kubelet-driver run: -dir, -podres, -daemon and -pools are required")
		return 2
	}
	scenario(&o)
	if failed > 0 {
		return 1
	}
	return 0
}

func dial(path string) (*grpc.ClientConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return grpc.DialContext(ctx, path, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", a)
		}))
}

// law follows one ListAndWatch stream; lists arrive on ch.
type law struct {
	ch     chan []*dp.Device
	last   []*dp.Device
	seen   bool
	cancel func()
}

func openLAW(c dp.DevicePluginClient) (*law, error) {
	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.ListAndWatch(ctx, &dp.Empty{})
	if err != nil {
		cancel()
		return nil, err
	}
	l := &law{ch: make(chan []*dp.Device, 100), cancel: cancel}
	go func() {
		for {
			r, err := st.Recv()
			if err != nil {
				close(l.ch)
				return
			}
			l.ch <- r.Devices
		}
	}()
	return l, nil
}

// until waits until the latest list satisfies ok; it returns the list and
// the wait.
func (l *law) until(to time.Duration, ok func([]*dp.Device) bool) ([]*dp.Device, time.Duration, error) {
	t0 := time.Now()
	tm := time.After(to)
	for len(l.ch) > 0 {
		l.last, l.seen = <-l.ch, true
	}
	if l.seen && l.last != nil && ok(l.last) {
		return l.last, 0, nil
	}
	for {
		select {
		case d, open := <-l.ch:
			if !open {
				return nil, 0, fmt.Errorf("ListAndWatch stream ended")
			}
			l.last, l.seen = d, true
			if ok(d) {
				return d, time.Since(t0), nil
			}
		case <-tm:
			return nil, 0, fmt.Errorf("no matching ListAndWatch update in %v", to)
		}
	}
}

func waitFor(to time.Duration, cond func() bool) bool {
	end := time.Now().Add(to)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

func sockExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// waitRegs collects one Register per pool.
func waitRegs(o *opts, got chan *dp.RegisterRequest) (map[string]*dp.RegisterRequest, error) {
	regs := map[string]*dp.RegisterRequest{}
	tm := time.After(o.timeout)
	for len(regs) < len(o.pools) {
		select {
		case r := <-got:
			regs[r.ResourceName] = r
		case <-tm:
			return regs, fmt.Errorf("registered %d of %d resources in %v", len(regs), len(o.pools), o.timeout)
		}
	}
	for _, p := range o.pools {
		r := regs[o.prefix+"/"+p]
		if r == nil {
			return regs, fmt.Errorf("no Register for %s/%s", o.prefix, p)
		}
		if !r.GetOptions().GetGetPreferredAllocationAvailable() {
			return regs, fmt.Errorf("%s registered without get_preferred_allocation_available", r.ResourceName)
		}
		if !sockExists(filepath.Join(o.dir, r.Endpoint)) {
			return regs, fmt.Errorf("%s: endpoint %s is not a socket in %s", r.ResourceName, r.Endpoint, o.dir)
		}
	}
	return regs, nil
}

func shell(cmd string) error {
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", cmd, err, out)
	}
	return nil
}
