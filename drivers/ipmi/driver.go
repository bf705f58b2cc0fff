package ipmi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

func init() {
	provision.Register("ipmi", openLanplus)
	provision.Register("ipmi+lan", openLan)
}

// DefaultPort is the IPMI-over-LAN UDP port.
const DefaultPort = 623

// DefaultCipherSuite is the RMCP+ cipher suite used when the address names
// none: 3 (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128), which every BMC
// implements and OpenIPMI's ipmi_sim negotiates at once (see bmc.md: suite
// negotiation against ipmi_sim costs seconds, and ipmi_sim lacks suite 17).
const DefaultCipherSuite = 3

// settings are the address's query parameters.
type settings struct {
	cipher  int
	timeout time.Duration
	retries int
}

func parseSettings(a provision.BMCAddress, lanplus bool) (settings, error) {
	s := settings{cipher: DefaultCipherSuite, timeout: time.Second, retries: 1}
	if a.Path != "" && a.Path != "/" {
		return s, fmt.Errorf("ipmi: %s: %w: IPMI addresses have no path", a, provision.ErrInvalidAddress)
	}
	for k, vs := range a.Query {
		v := vs[len(vs)-1]
		switch k {
		case "cipher":
			n, err := strconv.Atoi(v)
			if !lanplus || err != nil || !(n >= 0 && n <= 3 || n == 17) {
				return s, fmt.Errorf("ipmi: %s: %w: query parameter cipher=%q (want 0, 1, 2, 3 or 17, with ipmi:// only)", a, provision.ErrInvalidAddress, v)
			}
			s.cipher = n
		case "timeout":
			d, err := time.ParseDuration(v)
			if !lanplus || err != nil || d <= 0 {
				return s, fmt.Errorf("ipmi: %s: %w: query parameter timeout=%q (want a duration such as 1s, with ipmi:// only)", a, provision.ErrInvalidAddress, v)
			}
			s.timeout = d
		case "retries":
			n, err := strconv.Atoi(v)
			if !lanplus || err != nil || n < 0 || n > 10 {
				return s, fmt.Errorf("ipmi: %s: %w: query parameter retries=%q (want 0-10, with ipmi:// only)", a, provision.ErrInvalidAddress, v)
			}
			s.retries = n
		default:
			return s, fmt.Errorf("ipmi: %s: %w: unknown query parameter %q (known: cipher, timeout, retries)", a, provision.ErrInvalidAddress, k)
		}
	}
	return s, nil
}

// session is one protocol library's IPMI session. Calls are serialised by
// the driver; a session is never used concurrently.
type session interface {
	powerOn(ctx context.Context) (bool, error)
	control(ctx context.Context, code byte) error
	setBootFlags(ctx context.Context, selector byte, persistent bool) error
	bootFlags(ctx context.Context) (selector byte, persistent bool, err error)
	close(ctx context.Context) error
}

// chassis control codes (IPMI 2.0 table 28-4).
var controlCodes = map[provision.PowerAction]byte{
	provision.PowerActionOff:     0x00,
	provision.PowerActionOn:      0x01,
	provision.PowerActionCycle:   0x02,
	provision.PowerActionReset:   0x03,
	provision.PowerActionSoftOff: 0x05,
}

// boot device selectors (IPMI 2.0 table 28-14, parameter 5, data 2 bits
// 5:2, given here unshifted).
var bootSelectors = map[provision.BootDevice]byte{
	provision.BootNone:  0x0,
	provision.BootPXE:   0x1,
	provision.BootDisk:  0x2,
	provision.BootCDROM: 0x5,
	provision.BootBIOS:  0x6,
}

func deviceOf(sel byte) provision.BootDevice {
	switch sel {
	case 0x1:
		return provision.BootPXE
	case 0x2, 0x3, 0xb:
		return provision.BootDisk
	case 0x5, 0x8:
		return provision.BootCDROM
	case 0x6:
		return provision.BootBIOS
	}
	return provision.BootNone
}

// driver implements provision.PowerDriver and BootDeviceDriver over a
// session opened lazily and reopened after a transport failure.
type driver struct {
	addr  string // for errors: never holds credentials
	dial  func(ctx context.Context) (session, error)
	probe func(ctx context.Context) bool // BMC answers an RMCP ping
	log   *slog.Logger

	slot chan struct{} // one call at a time; waiting honours ctx

	mu     sync.Mutex // guards s and closed
	s      session
	closed bool
}

func newDriver(addr string, log *slog.Logger, dial func(ctx context.Context) (session, error), probe func(ctx context.Context) bool) *driver {
	return &driver{addr: addr, dial: dial, probe: probe, log: log, slot: make(chan struct{}, 1)}
}

// do runs f on the session, opening it first if needed.
func (d *driver) do(ctx context.Context, op string, f func(ctx context.Context, s session) error) error {
	select {
	case d.slot <- struct{}{}:
	case <-ctx.Done():
		return d.classify(ctx, op, ctx.Err(), false)
	}
	defer func() { <-d.slot }()
	d.mu.Lock()
	closed, s := d.closed, d.s
	d.mu.Unlock()
	if closed {
		return fmt.Errorf("ipmi %s: %s: %w", d.addr, op, provision.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return d.classify(ctx, op, err, false)
	}
	if s == nil {
		start := time.Now()
		var err error
		s, err = d.dial(ctx)
		if err != nil {
			return d.classify(ctx, "open session", err, true)
		}
		d.log.Debug("IPMI session open", "took", time.Since(start))
		d.mu.Lock()
		d.s = s
		d.mu.Unlock()
	}
	err := f(ctx, s)
	if err != nil {
		cerr := d.classify(ctx, op, err, false)
		if errors.Is(cerr, provision.ErrUnreachable) || errors.Is(cerr, provision.ErrAuth) || ctx.Err() != nil {
			// The session may be broken (BMC restarted, packets lost):
			// start a new one next time.
			d.mu.Lock()
			d.s = nil
			d.mu.Unlock()
			// Release the socket without waiting on a BMC that may be gone.
			cctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = s.close(cctx)
		}
		return cerr
	}
	return nil
}

// classify wraps err with the provision sentinel it belongs to. opening is
// true when the session setup failed.
func (d *driver) classify(ctx context.Context, op string, err error, opening bool) error {
	if strings.ContainsAny(err.Error(), "\r\n") {
		err = oneLine{err}
	}
	msg := strings.ToLower(err.Error())
	var sentinel error
	var ne net.Error
	switch {
	case errors.Is(err, provision.ErrAuth), errors.Is(err, provision.ErrUnsupported), errors.Is(err, provision.ErrUnreachable):
		return fmt.Errorf("ipmi %s: %s: %w", d.addr, op, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("ipmi %s: %s: %w", d.addr, op, err)
	case strings.Contains(msg, "rakp"), strings.Contains(msg, "unauthorized"), strings.Contains(msg, "invalid user"):
		sentinel = provision.ErrAuth
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout(),
		strings.Contains(msg, "timeout"), strings.Contains(msg, "timed out"),
		strings.Contains(msg, "connection refused"), strings.Contains(msg, "udp exchange"), strings.Contains(msg, "deadline"),
		strings.Contains(msg, "no route"), strings.Contains(msg, "network is unreachable"):
		sentinel = provision.ErrUnreachable
		// An IPMI 1.5 BMC stays silent on a wrong password; if it answers
		// a ping, the silence was a refusal, not an outage.
		if opening && d.probe != nil && ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			alive := d.probe(pctx)
			cancel()
			if alive {
				return fmt.Errorf("ipmi %s: %s: %w: the BMC answers pings but not the session (wrong user name or password?): %v", d.addr, op, provision.ErrAuth, err)
			}
		}
	case isAuthMessage(msg):
		sentinel = provision.ErrAuth
	case isUnsupportedMessage(msg):
		sentinel = provision.ErrUnsupported
	default:
		return fmt.Errorf("ipmi %s: %s: %w", d.addr, op, err)
	}
	return fmt.Errorf("ipmi %s: %s: %w: %w", d.addr, op, sentinel, err)
}

// oneLine prints a multi-line library error (go-ipmi joins per-suite
// errors with newlines) on one line, keeping it for errors.Is and As.
type oneLine struct{ err error }

func (e oneLine) Error() string { return strings.Join(strings.Fields(e.err.Error()), " ") }
func (e oneLine) Unwrap() error { return e.err }

func isAuthMessage(msg string) bool {
	for _, s := range []string{"authentication failed", "authentication code", "password", "insufficient privilege", "privilege level"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func isUnsupportedMessage(msg string) bool {
	for _, s := range []string{"invalid command", "parameter not supported", "out of range", "not supported", "invalid data field", "0xc1", "0xc9", "0xcc"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// PowerState reads Get Chassis Status.
func (d *driver) PowerState(ctx context.Context) (provision.PowerState, error) {
	var on bool
	err := d.do(ctx, "power status", func(ctx context.Context, s session) error {
		var err error
		on, err = s.powerOn(ctx)
		return err
	})
	if err != nil {
		return provision.PowerUnknown, err
	}
	if on {
		return provision.PowerOn, nil
	}
	return provision.PowerOff, nil
}

// SetPower sends Chassis Control.
func (d *driver) SetPower(ctx context.Context, a provision.PowerAction) error {
	code, ok := controlCodes[a]
	if !ok {
		return fmt.Errorf("ipmi %s: power action %d: %w", d.addr, int(a), provision.ErrUnsupported)
	}
	return d.do(ctx, "power "+a.String(), func(ctx context.Context, s session) error { return s.control(ctx, code) })
}

// SetBootDevice sets boot flags (Set System Boot Options, parameter 5).
func (d *driver) SetBootDevice(ctx context.Context, dev provision.BootDevice, persistent bool) error {
	sel, ok := bootSelectors[dev]
	if !ok {
		return fmt.Errorf("ipmi %s: boot device %s: %w", d.addr, dev, provision.ErrUnsupported)
	}
	return d.do(ctx, "set boot device "+dev.String(), func(ctx context.Context, s session) error {
		return s.setBootFlags(ctx, sel, persistent)
	})
}

// BootDevice reads boot flags (Get System Boot Options, parameter 5). As
// Ironic's ipmitool driver does, it reports the device selector and the
// persistence bit whatever the "valid" bit says: BMCs (ipmi_sim among them)
// clear or never set that bit while keeping the selector.
func (d *driver) BootDevice(ctx context.Context) (provision.BootDevice, bool, error) {
	var sel byte
	var persistent bool
	err := d.do(ctx, "get boot device", func(ctx context.Context, s session) error {
		var err error
		sel, persistent, err = s.bootFlags(ctx)
		return err
	})
	return deviceOf(sel), persistent, err
}

// Close ends the session. Later calls fail with ErrClosed.
func (d *driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	// Wait for a call in flight (bounded by its own timeouts).
	d.slot <- struct{}{}
	defer func() { <-d.slot }()
	d.mu.Lock()
	s := d.s
	d.s = nil
	d.mu.Unlock()
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.close(ctx); err != nil {
		d.log.Debug("closing IPMI session", "err", err)
	}
	return nil
}

var (
	_ provision.PowerDriver      = (*driver)(nil)
	_ provision.BootDeviceDriver = (*driver)(nil)
)
