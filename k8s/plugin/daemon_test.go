package plugin

import (
	"net"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// A daemon that hangs up at once, again and again (it restarts): each
// Watch attempt must leave no goroutine behind.
func TestWatchReconnectLeaksNothing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	d := &Daemon{Path: sock}
	stop := make(chan struct{})
	defer close(stop)
	_ = d.Watch(stop, func(*Event) {})
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		if d.Watch(stop, func(*Event) {}) == nil {
			t.Fatal("Watch returned nil")
		}
	}
	time.Sleep(100 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+10 {
		t.Fatalf("goroutines %d -> %d after 100 failed watches", before, after)
	}
}
