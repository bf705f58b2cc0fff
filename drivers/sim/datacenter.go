package sim

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options configure a [Datacenter]. nil or zero fields mean the documented
// defaults.
type Options struct {
	// Dir holds the machines' disk files. Empty means a new temporary
	// directory, removed by Close.
	Dir string
	// DiskSize is each disk file's size in bytes (sparse). Zero means 64 MiB.
	DiskSize int64
	// Host is the loopback address the BMC endpoints bind. Empty means
	// 127.0.0.1; other addresses than loopback ones are refused.
	Host string
	// FirstPort is the UDP port of the first machine's BMC, the next
	// machines taking the following ports. Zero means a free port each.
	FirstPort int
	// Username and Password are every BMC's credentials. Empty means
	// "admin" and "password".
	Username, Password string
	// PowerOnDelay is how long a power-on takes to show (see
	// Machine.SetPowerOnDelay). Zero means at once.
	PowerOnDelay time.Duration
	// PowerOffDelay is how long a power-off takes to show (see
	// Machine.SetPowerOffDelay). Zero means at once.
	PowerOffDelay time.Duration
	// Endpoints selects the BMC endpoints every machine exposes. Zero
	// means EndpointIPMI.
	Endpoints Endpoints
	// EndpointsOf, when set, selects machine i's endpoints instead of
	// Endpoints (a mixed fleet). A zero result means EndpointIPMI.
	EndpointsOf func(i int) Endpoints
	// RedfishListen is the host:port of the Redfish service that serves
	// every machine with EndpointRedfish. Empty means Host with a free
	// port; the host must be a loopback address.
	RedfishListen string
	// MaxMediaSize caps the size of a virtual media image the Redfish
	// endpoint fetches. Zero means 1 GiB.
	MaxMediaSize int64
	// Booter runs the operating system of machines that power on from a
	// disk holding a GPT (see Booter); nil means none (SetBooter sets one
	// later).
	Booter Booter
	// Logger receives a line per machine started, and per boot; nil
	// discards.
	Logger *slog.Logger
}

// Endpoints is a set of BMC protocol endpoints a machine exposes.
type Endpoints int

// Endpoints.
const (
	// EndpointIPMI is an IPMI 2.0/1.5 BMC on its own UDP port.
	EndpointIPMI Endpoints = 1 << iota
	// EndpointRedfish is a system (with its manager and chassis) in the
	// datacenter's Redfish service.
	EndpointRedfish
)

// Datacenter is a set of simulated machines with live BMC endpoints. Close
// stops them.
type Datacenter struct {
	machines []*Machine
	dir      string
	ownDir   bool
	once     sync.Once
	redfish  *RedfishService
	boots    *bootMgr
}

// Start creates n machines (m0 … mN-1), their disk files, and starts their
// BMC endpoints on loopback.
func Start(n int, opts *Options) (*Datacenter, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if ip := net.ParseIP(o.Host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("sim: Options.Host %q: want a loopback address", o.Host)
	}
	if o.Username == "" {
		o.Username = "admin"
	}
	if o.Password == "" {
		o.Password = "password"
	}
	if o.DiskSize <= 0 {
		o.DiskSize = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Datacenter{dir: o.Dir, boots: newBootMgr(o.Booter, o.Logger)}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "tripleo-sim-")
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		d.dir, d.ownDir = dir, true
	} else if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return nil, fmt.Errorf("sim: Options.Dir: %w", err)
	}
	var rf []*Machine
	for i := range n {
		eps := o.Endpoints
		if o.EndpointsOf != nil {
			eps = o.EndpointsOf(i)
		}
		if eps == 0 {
			eps = EndpointIPMI
		}
		m, err := d.newMachine(i, o, eps)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.machines = append(d.machines, m)
		if eps&EndpointRedfish != 0 {
			rf = append(rf, m)
		}
		o.Logger.Debug("machine started", "machine", m.name, "ipmi", m.IPMIAddr())
	}
	if len(rf) > 0 {
		listen := o.RedfishListen
		if listen == "" {
			listen = net.JoinHostPort(o.Host, "0")
		}
		s, err := startRedfish(listen, rf, o.MaxMediaSize, o.Logger)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.redfish = s
		for _, m := range rf {
			o.Logger.Debug("machine Redfish system", "machine", m.name, "url", m.RedfishURL())
		}
	}
	return d, nil
}

// Redfish returns the datacenter's Redfish service, nil when no machine
// has EndpointRedfish.
func (d *Datacenter) Redfish() *RedfishService { return d.redfish }

func (d *Datacenter) newMachine(i int, o Options, eps Endpoints) (*Machine, error) {
	name := fmt.Sprintf("m%d", i)
	sum := sha256.Sum256([]byte(d.dir + "/" + name))
	m := &Machine{
		name:     name,
		uuid:     fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		mac:      fmt.Sprintf("52:54:00:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i)),
		diskPath: filepath.Join(d.dir, name+".img"),
		username: o.Username,
		password: o.Password,
		delay:    o.PowerOnDelay,
		offDelay: o.PowerOffDelay,
		changed:  make(chan struct{}),
		dir:      d.dir,
		home:     filepath.Join(d.dir, name),
		boots:    d.boots,
	}
	if err := os.MkdirAll(m.home, 0o755); err != nil {
		return nil, fmt.Errorf("sim: machine %s: %w", name, err)
	}
	f, err := os.OpenFile(m.diskPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sim: machine %s: disk: %w", name, err)
	}
	err = f.Truncate(o.DiskSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("sim: machine %s: disk: %w", name, err)
	}
	if eps&EndpointIPMI == 0 {
		return m, nil
	}
	port := 0
	if o.FirstPort != 0 {
		port = o.FirstPort + i
	}
	e, err := startIPMI(m, o.Host, port)
	if err != nil {
		return nil, err
	}
	m.ipmi = e
	register(m)
	return m, nil
}

// Machines returns the machines, in order.
func (d *Datacenter) Machines() []*Machine { return append([]*Machine(nil), d.machines...) }

// Machine returns machine i.
func (d *Datacenter) Machine(i int) *Machine { return d.machines[i] }

// Dir returns the directory of the disk files.
func (d *Datacenter) Dir() string { return d.dir }

// Close stops every machine's operating system (see Booter) and BMC
// endpoint, and removes the disk directory if Start created it. It is
// idempotent.
func (d *Datacenter) Close() error {
	var errs []error
	d.once.Do(func() {
		d.boots.close()
		if d.redfish != nil {
			errs = append(errs, d.redfish.close())
		}
		for _, m := range d.machines {
			if m.ipmi == nil {
				continue
			}
			unregister(m)
			errs = append(errs, m.ipmi.close())
		}
		if d.ownDir {
			errs = append(errs, os.RemoveAll(d.dir))
		}
	})
	return errors.Join(errs...)
}
