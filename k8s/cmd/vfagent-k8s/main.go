// vfagent-k8s: the Kubernetes device plugin for vfagent's pools.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"vfagent/k8s/plugin"
)

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "vfagent-k8s: %s\n", msg)
	os.Exit(2)
}

func main() {
	cfg := plugin.Config{Policies: map[string]plugin.Policy{}}
	flag.StringVar(&cfg.DaemonSock, "daemon", "/run/vfagent/vfagent.sock", "vfagent daemon socket")
	flag.StringVar(&cfg.Dir, "kubelet-dir", "/var/lib/kubelet/device-plugins", "kubelet device-plugins directory")
	flag.StringVar(&cfg.PodResources, "pod-resources", "/var/lib/kubelet/pod-resources/kubelet.sock", "kubelet pod-resources socket")
	flag.StringVar(&cfg.Prefix, "prefix", "vfagent.io", "resource name prefix")
	pol := flag.String("policy", "", "per-pool policy, e.g. net1=spread,net2=pack")
	def := flag.String("default-policy", "pack", "policy of pools not in -policy: pack or spread")
	flag.DurationVar(&cfg.Interval, "reconcile-interval", 30*time.Second, "how often to List pod resources")
	flag.DurationVar(&cfg.Grace, "grace", 2*time.Minute, "how long a k8s lease may be held by no pod before release")
	flag.Parse()
	if flag.NArg() != 0 {
		usage("unexpected argument " + flag.Arg(0))
	}
	var ok bool
	if cfg.Default, ok = plugin.ParsePolicy(*def); !ok {
		usage("-default-policy must be pack or spread, not " + *def)
	}
	for _, kv := range strings.Split(*pol, ",") {
		if kv == "" {
			continue
		}
		i := strings.IndexByte(kv, '=')
		if i <= 0 {
			usage("-policy wants pool=pack|spread, not " + kv)
		}
		p, ok := plugin.ParsePolicy(kv[i+1:])
		if !ok {
			usage("-policy wants pool=pack|spread, not " + kv)
		}
		cfg.Policies[kv[:i]] = p
	}
	if err := plugin.CheckHolder("k8s:" + cfg.Prefix + "/p"); err != nil || strings.Contains(cfg.Prefix, "/") {
		usage("-prefix " + cfg.Prefix + " cannot name a resource: a DNS name such as vfagent.io")
	}
	if cfg.Interval <= 0 || cfg.Grace < 0 {
		usage("-reconcile-interval must be > 0 and -grace >= 0")
	}
	if st, err := os.Stat(cfg.Dir); err != nil || !st.IsDir() {
		log.Printf("vfagent-k8s: %s is not a directory: mount the kubelet's device-plugins directory there", cfg.Dir)
		os.Exit(1)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	m := plugin.NewManager(cfg)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; m.Stop() }()
	m.Run()
}
