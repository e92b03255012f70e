package plugin

// The plugin's main loop: follow the daemon, keep one server per pool
// registered with the kubelet, and reconcile leases against pod resources.

import (
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Config is where the plugin runs and what it was asked.
type Config struct {
	DaemonSock   string
	Dir          string // kubelet device-plugins dir (kubelet.sock lives here)
	PodResources string // kubelet pod-resources socket
	Prefix       string // resource prefix, e.g. "vfagent.io"
	Policies     map[string]Policy
	Default      Policy
	Interval     time.Duration // reconcile period
	Grace        time.Duration // a lease must be unseen this long before release
}

// Manager owns the servers; it runs until Stop.
type Manager struct {
	Cfg     Config
	State   *State
	Daemon  *Daemon
	mu      sync.Mutex
	servers map[string]*Server
	stop    chan struct{}
	kick    chan struct{}
	rec     *Reconciler
}

// NewManager returns a manager for cfg; Run starts it.
func NewManager(cfg Config) *Manager {
	m := &Manager{Cfg: cfg, State: NewState(), Daemon: &Daemon{Path: cfg.DaemonSock},
		servers: map[string]*Server{}, stop: make(chan struct{}),
		kick: make(chan struct{}, 1)}
	m.rec = &Reconciler{Sock: cfg.PodResources, Daemon: m.Daemon, State: m.State,
		Grace: cfg.Grace, missing: map[string]time.Time{}}
	return m
}

func (m *Manager) kubeletSock() string { return filepath.Join(m.Cfg.Dir, "kubelet.sock") }

func (m *Manager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Run follows the daemon and serves until Stop; it returns only then.
func (m *Manager) Run() {
	go m.watchDaemon()
	go m.watchDir()
	go m.reconcileLoop()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			m.mu.Lock()
			for _, s := range m.servers {
				if s == nil {
					continue
				}
				s.Stop()
				_ = os.Remove(s.sockPath())
			}
			m.mu.Unlock()
			return
		case <-m.State.Changed():
			m.ensureServers()
		case <-m.kick:
			m.restartAll()
		case <-tick.C:
			m.ensureServers()
			m.checkSockets()
		}
	}
}

// Stop ends Run.
func (m *Manager) Stop() { close(m.stop) }

func (m *Manager) policy(pool string) Policy {
	if p, ok := m.Cfg.Policies[pool]; ok {
		return p
	}
	return m.Cfg.Default
}

// ensureServers starts and registers a server for each new pool.
func (m *Manager) ensureServers() {
	for _, pool := range m.State.Pools() {
		m.mu.Lock()
		_, have := m.servers[pool]
		m.mu.Unlock()
		if have {
			continue
		}
		if err := CheckHolder("k8s:" + m.Cfg.Prefix + "/" + pool); err != nil {
			log.Printf("pool %s not served: %v", pool, err)
			m.mu.Lock()
			m.servers[pool] = nil
			m.mu.Unlock()
			continue
		}
		s := &Server{Pool: pool, Resource: m.Cfg.Prefix + "/" + pool,
			Policy: m.policy(pool), Dir: m.Cfg.Dir, State: m.State, Daemon: m.Daemon,
			Rec: m.rec}
		if err := s.Start(); err != nil {
			log.Printf("%v", err)
			continue
		}
		m.mu.Lock()
		m.servers[pool] = s
		m.mu.Unlock()
		m.rec.add(s.Resource, pool)
		m.register(s)
	}
}

func (m *Manager) register(s *Server) {
	if err := s.Register(m.kubeletSock()); err != nil {
		log.Printf("%v (retried when kubelet.sock is re-created)", err)
		return
	}
	log.Printf("registered %s (endpoint %s, policy %s)", s.Resource, s.Endpoint(), s.Policy)
}

// restartAll registers every server again, re-creating the sockets that are
// gone: the kubelet restarted (it removes the plugins' sockets as it starts).
func (m *Manager) restartAll() {
	m.mu.Lock()
	list := make([]*Server, 0, len(m.servers))
	for _, s := range m.servers {
		if s != nil {
			list = append(list, s)
		}
	}
	m.mu.Unlock()
	for _, s := range list {
		if s.SocketGone() {
			if err := s.Start(); err != nil {
				log.Printf("%v", err)
				continue
			}
		}
		m.register(s)
	}
}

// checkSockets restarts a server whose socket was removed.
func (m *Manager) checkSockets() {
	m.mu.Lock()
	var gone []*Server
	for _, s := range m.servers {
		if s != nil && s.SocketGone() {
			gone = append(gone, s)
		}
	}
	m.mu.Unlock()
	for _, s := range gone {
		log.Printf("%s: socket %s removed; re-creating it", s.Resource, s.sockPath())
		if err := s.Start(); err == nil {
			m.register(s)
		}
	}
}

// watchDaemon keeps a watch stream open, resyncing from a new snapshot
// after any break.
func (m *Manager) watchDaemon() {
	for {
		err := m.Daemon.Watch(m.stop, m.State.Apply)
		m.State.SetDisconnected()
		select {
		case <-m.stop:
			return
		default:
		}
		log.Printf("daemon watch at %s: %v; reconnecting", m.Daemon.Path, err)
		select {
		case <-m.stop:
			return
		case <-time.After(time.Second):
		}
	}
}

// watchDir follows the kubelet's directory: kubelet.sock created means the
// kubelet (re)started.
func (m *Manager) watchDir() {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		log.Printf("inotify: %v; only the periodic socket check remains", err)
		return
	}
	defer unix.Close(fd)
	if _, err = unix.InotifyAddWatch(fd, m.Cfg.Dir,
		unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_DELETE); err != nil {
		log.Printf("inotify on %s: %v; only the periodic socket check remains", m.Cfg.Dir, err)
		return
	}
	buf := make([]byte, 64*1024)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			log.Printf("inotify read: %v", err)
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafePointer(&buf[off]))
			name := cString(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)])
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if name == "kubelet.sock" && ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
				log.Printf("kubelet.sock re-created: registering again")
				m.poke()
			}
		}
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func (m *Manager) reconcileLoop() {
	t := time.NewTicker(m.Cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.rec.Run(time.Now())
		}
	}
}
