package plugin

// Client side of the vfagent daemon protocol, version 1 (one JSON object per
// line each way on the daemon's Unix socket).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// MaxLine is the protocol's line limit (64 KiB) plus room for the newline.
const MaxLine = 64*1024 + 1

// Reply is one daemon reply line.
type Reply struct {
	V      int             `json:"v"`
	OK     bool            `json:"ok"`
	Exit   int             `json:"exit"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Errno  string          `json:"errno"`
}

// DaemonError is a refused request: the daemon's exit code, errno and text.
type DaemonError struct {
	Op, Errno, Msg string
	Exit           int
}

func (e *DaemonError) Error() string {
	return fmt.Sprintf("vfagent %s: %s (%s, exit %d)", e.Op, e.Msg, e.Errno, e.Exit)
}

// Daemon talks to one daemon socket; it holds no connection between calls.
type Daemon struct {
	Path    string
	Timeout time.Duration
}

func (d *Daemon) dial() (net.Conn, error) {
	to := d.Timeout
	if to == 0 {
		to = 10 * time.Second
	}
	return net.DialTimeout("unix", d.Path, to)
}

// Call sends one request and returns the result of an ok reply, a
// *DaemonError for a refused one, or the I/O error.
func (d *Daemon) Call(req map[string]interface{}) (json.RawMessage, error) {
	c, err := d.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	to := d.Timeout
	if to == 0 {
		to = 10 * time.Second
	}
	_ = c.SetDeadline(time.Now().Add(to))
	req["v"] = 1
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err = c.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(c, MaxLine)
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("reading the daemon's reply: %w", err)
	}
	var rep Reply
	if err = json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("daemon reply is not JSON: %w", err)
	}
	if !rep.OK {
		op, _ := req["op"].(string)
		return nil, &DaemonError{Op: op, Errno: rep.Errno, Msg: rep.Error, Exit: rep.Exit}
	}
	return rep.Result, nil
}

// Hello asks for the protocol version and op list; an error means the daemon
// does not speak protocol v1's hello.
func (d *Daemon) Hello() ([]string, error) {
	res, err := d.Call(map[string]interface{}{"op": "hello"})
	if err != nil {
		return nil, err
	}
	var h struct {
		V   int      `json:"v"`
		Ops []string `json:"ops"`
	}
	if err = json.Unmarshal(res, &h); err != nil {
		return nil, err
	}
	return h.Ops, nil
}

// Lease is the part of a lease's JSON the plugin uses.
type Lease struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Pool       string `json:"pool"`
	PCI        string `json:"pci"`
	Holder     string `json:"holder"`
	IommuGroup *int   `json:"iommu_group"`
	VfioNode   string `json:"vfio_node"`
}

// CheckHolder says whether h is a holder the protocol accepts: at most 64
// bytes of printable ASCII, no spaces.
func CheckHolder(h string) error {
	if len(h) == 0 || len(h) > 64 {
		return fmt.Errorf("lease holder %q must be 1..64 bytes (shorten -prefix or the pool name)", h)
	}
	for _, c := range []byte(h) {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("lease holder %q has a space or non-printable byte", h)
		}
	}
	return nil
}

// Alloc leases exactly VF pci of pool for holder.
func (d *Daemon) Alloc(pool, pci, holder string) (*Lease, error) {
	res, err := d.Call(map[string]interface{}{"op": "alloc", "pool": pool,
		"pci": pci, "holder": holder})
	if err != nil {
		return nil, err
	}
	var l Lease
	if err = json.Unmarshal(res, &l); err != nil {
		return nil, fmt.Errorf("alloc result: %w", err)
	}
	return &l, nil
}

// Release returns the VF at pci to its pool.
func (d *Daemon) Release(pci string) error {
	_, err := d.Call(map[string]interface{}{"op": "release", "pci": pci})
	return err
}

// PFInfo, VFInfo and PoolInfo are the watch stream's PF, VF and POOL.
type PFInfo struct {
	PF      string `json:"pf"`
	PCI     string `json:"pci"`
	Up      bool   `json:"up"`
	Present bool   `json:"present"`
}

type VFInfo struct {
	Pool       string `json:"pool"`
	PF         string `json:"pf"`
	PCI        string `json:"pci"`
	VF         int    `json:"vf"`
	IommuGroup *int   `json:"iommu_group"`
	NumaNode   int    `json:"numa_node"`
	Driver     string `json:"driver"`
	Health     string `json:"health"`
	Lease      *Lease `json:"lease"`
}

type PoolInfo struct {
	Pool string    `json:"pool"`
	PFs  []PFInfo  `json:"pfs"`
	VFs  []*VFInfo `json:"vfs"`
}

// Event is one line of the watch stream after the reply.
type Event struct {
	Event  string     `json:"event"`
	Seq    int64      `json:"seq"`
	Pools  []PoolInfo `json:"pools"`
	VF     *VFInfo    `json:"vf"`
	Pool   string     `json:"pool"`
	PCI    string     `json:"pci"`
	PF     string     `json:"pf"`
	Up     bool       `json:"up"`
	Change string     `json:"change"`
	Lease  *Lease     `json:"lease"`
}

// Watch opens a watch stream and calls fn for each event until the stream
// ends or stop is closed; it returns why it ended (never nil).
func (d *Daemon) Watch(stop <-chan struct{}, fn func(*Event)) error {
	c, err := d.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	// Closing the connection ends a blocked read when stop closes; done
	// ends this goroutine with the stream (a reconnecting plugin must not
	// pile them up).
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-stop:
			c.Close()
		case <-done:
		}
	}()
	if _, err = c.Write([]byte(`{"op":"watch","v":1}` + "\n")); err != nil {
		return err
	}
	r := bufio.NewReaderSize(c, MaxLine)
	line, err := r.ReadSlice('\n')
	if err != nil {
		return fmt.Errorf("watch reply: %w", err)
	}
	var rep Reply
	if err = json.Unmarshal(line, &rep); err != nil {
		return fmt.Errorf("watch reply is not JSON: %w", err)
	}
	if !rep.OK {
		return &DaemonError{Op: "watch", Errno: rep.Errno, Msg: rep.Error, Exit: rep.Exit}
	}
	var last int64 = -1
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("watch stream: %w", err)
		}
		var ev Event
		if err = json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("watch event is not JSON: %w", err)
		}
		if ev.Event == "overflow" {
			return fmt.Errorf("watch stream overflowed; resyncing")
		}
		if last >= 0 && ev.Seq != last+1 {
			return fmt.Errorf("watch stream skipped from seq %d to %d; resyncing", last, ev.Seq)
		}
		last = ev.Seq
		fn(&ev)
	}
}
