package powertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

// Config describes the driver under test.
type Config struct {
	// Open opens the driver for the machine under test with creds,
	// logging to logger. Required.
	Open func(ctx context.Context, creds provision.Credentials, logger *slog.Logger) (provision.PowerDriver, error)
	// Credentials are the ones the BMC accepts. Required, with a password
	// of at least 6 characters (the suite searches logs for it).
	Credentials provision.Credentials
	// OpenUnreachable opens the driver for an address where no BMC
	// answers; nil skips that case.
	OpenUnreachable func(ctx context.Context, creds provision.Credentials, logger *slog.Logger) (provision.PowerDriver, error)
	// BMC tunes the verified power actions (poll interval, power timeout);
	// zero fields take provision's defaults.
	BMC provision.BMCOptions
	// Actions lists the actions to check; nil means on, off, cycle, reset,
	// soft-off. Leave out those a BMC cannot do.
	Actions []provision.PowerAction
	// BootDevices lists the devices to set and read back; nil means pxe,
	// disk, cdrom, bios.
	BootDevices []provision.BootDevice
	// BootPersistenceNotReported is set for BMCs that accept the
	// persistent flag but do not report it back (OpenIPMI's ipmi_sim):
	// then only the device is checked on read-back.
	BootPersistenceNotReported bool
	// Timeout bounds each case. Zero means 60s.
	Timeout time.Duration
	// UnreachableTimeout is the deadline given to a call to the unreachable
	// BMC. Zero means 2s.
	UnreachableTimeout time.Duration
}

// RunConformanceTests runs the suite as subtests of t.
func RunConformanceTests(t *testing.T, c Config) {
	t.Helper()
	if c.Open == nil || len(c.Credentials.Password()) < 6 {
		t.Fatal("powertest: Config.Open and Credentials (password of 6+ characters) are required")
	}
	if c.Actions == nil {
		c.Actions = []provision.PowerAction{provision.PowerActionOn, provision.PowerActionOff, provision.PowerActionCycle, provision.PowerActionReset, provision.PowerActionSoftOff}
	}
	if c.BootDevices == nil {
		c.BootDevices = []provision.BootDevice{provision.BootPXE, provision.BootDisk, provision.BootCDROM, provision.BootBIOS}
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.UnreachableTimeout <= 0 {
		c.UnreachableTimeout = 2 * time.Second
	}
	h := &harness{c: c}
	t.Run("PowerState", h.testPowerState)
	t.Run("Idempotent", h.testIdempotent)
	t.Run("ReadBackAfterEachAction", h.testReadBack)
	t.Run("BootDevice", h.testBootDevice)
	t.Run("ContextCancelled", h.testCancel)
	t.Run("Concurrent", h.testConcurrent)
	t.Run("WrongPassword", h.testWrongPassword)
	t.Run("Unreachable", h.testUnreachable)
	t.Run("CancelWhileWaiting", h.testCancelWhileWaiting)
	t.Run("InvalidAction", h.testInvalidAction)
	t.Run("Close", h.testClose)
	t.Run("NoSecretInLogsOrErrors", h.testNoSecret)
}

type harness struct {
	c Config

	mu     sync.Mutex
	logs   bytes.Buffer // every log line of every case
	errors []string     // every error seen
}

func (h *harness) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.logs.Write(p)
}

func (h *harness) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(h, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (h *harness) seen(err error) {
	if err == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errors = append(h.errors, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
}

func (h *harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), h.c.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (h *harness) open(t *testing.T, creds provision.Credentials) provision.PowerDriver {
	t.Helper()
	d, err := h.c.Open(h.ctx(t), creds, h.logger())
	h.seen(err)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func (h *harness) bmc(t *testing.T, d provision.PowerDriver) *provision.BMC {
	o := h.c.BMC
	o.Logger = h.logger()
	return provision.NewBMC(d, "under-test", &o)
}

func (h *harness) testPowerState(t *testing.T) {
	d := h.open(t, h.c.Credentials)
	s, err := d.PowerState(h.ctx(t))
	h.seen(err)
	if err != nil {
		t.Fatalf("PowerState: %v", err)
	}
	if s != provision.PowerOn && s != provision.PowerOff {
		t.Fatalf("PowerState = %v, want on or off", s)
	}
}

func (h *harness) testIdempotent(t *testing.T) {
	ctx := h.ctx(t)
	d := h.open(t, h.c.Credentials)
	b := h.bmc(t, d)
	for _, a := range []provision.PowerAction{provision.PowerActionOn, provision.PowerActionOff} {
		if _, err := b.Power(ctx, a); err != nil {
			h.seen(err)
			t.Fatalf("Power(%s): %v", a, err)
		}
		// The driver itself must accept the same action again...
		if err := d.SetPower(ctx, a); err != nil {
			h.seen(err)
			t.Errorf("driver SetPower(%s) when already %s: %v", a, a.Target(), err)
		}
		// ...and the portable type must report success.
		s, err := b.Power(ctx, a)
		h.seen(err)
		if err != nil || s != a.Target() {
			t.Errorf("Power(%s) again = %v, %v; want %v", a, s, err, a.Target())
		}
	}
}

func (h *harness) testReadBack(t *testing.T) {
	ctx := h.ctx(t)
	d := h.open(t, h.c.Credentials)
	b := h.bmc(t, d)
	if _, err := b.Power(ctx, provision.PowerActionOff); err != nil {
		h.seen(err)
		t.Fatalf("Power(off): %v", err)
	}
	for _, a := range h.c.Actions {
		if a == provision.PowerActionSoftOff || a == provision.PowerActionCycle || a == provision.PowerActionReset {
			// These act on a running machine.
			if _, err := b.Power(ctx, provision.PowerActionOn); err != nil {
				h.seen(err)
				t.Fatalf("Power(on) before %s: %v", a, err)
			}
		}
		s, err := b.Power(ctx, a)
		h.seen(err)
		if err != nil {
			t.Errorf("Power(%s): %v", a, err)
			continue
		}
		if s != a.Target() {
			t.Errorf("Power(%s) returned %s, want %s", a, s, a.Target())
		}
		got, err := d.PowerState(ctx)
		h.seen(err)
		if err != nil || got != a.Target() {
			t.Errorf("after Power(%s) the BMC reports %v, %v; want %s", a, got, err, a.Target())
		}
	}
}

func (h *harness) testBootDevice(t *testing.T) {
	ctx := h.ctx(t)
	d := h.open(t, h.c.Credentials)
	bd, ok := d.(provision.BootDeviceDriver)
	if !ok {
		t.Skip("driver does not implement provision.BootDeviceDriver")
	}
	for _, dev := range h.c.BootDevices {
		for _, persistent := range []bool{false, true} {
			err := bd.SetBootDevice(ctx, dev, persistent)
			h.seen(err)
			if err != nil {
				t.Errorf("SetBootDevice(%s, persistent=%v): %v", dev, persistent, err)
				continue
			}
			got, gotP, err := bd.BootDevice(ctx)
			h.seen(err)
			if err != nil || got != dev || (gotP != persistent && !h.c.BootPersistenceNotReported) {
				t.Errorf("after SetBootDevice(%s, %v): BootDevice = %s, %v, %v", dev, persistent, got, gotP, err)
			}
		}
	}
}

func (h *harness) testCancel(t *testing.T) {
	d := h.open(t, h.c.Credentials)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := d.PowerState(ctx)
	h.seen(err)
	if err == nil {
		t.Error("PowerState with a cancelled context succeeded")
	}
	if err := d.SetPower(ctx, provision.PowerActionOn); err == nil {
		t.Error("SetPower with a cancelled context succeeded")
	}
	// The driver still works afterwards.
	if _, err := d.PowerState(h.ctx(t)); err != nil {
		h.seen(err)
		t.Errorf("PowerState after a cancelled call: %v", err)
	}
}

func (h *harness) testConcurrent(t *testing.T) {
	ctx := h.ctx(t)
	d := h.open(t, h.c.Credentials)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for range 4 {
				if _, err := d.PowerState(ctx); err != nil {
					errs <- err
				}
				if bd, ok := d.(provision.BootDeviceDriver); ok && i%2 == 0 {
					if _, _, err := bd.BootDevice(ctx); err != nil {
						errs <- err
					}
				}
			}
			if i == 0 {
				if err := d.SetPower(ctx, provision.PowerActionOn); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		h.seen(err)
		t.Errorf("concurrent call: %v", err)
	}
}

func (h *harness) testWrongPassword(t *testing.T) {
	ctx := h.ctx(t)
	wrong := provision.NewCredentials(h.c.Credentials.Username(), h.c.Credentials.Password()+"-wrong")
	d, err := h.c.Open(ctx, wrong, h.logger())
	if err == nil {
		defer d.Close()
		_, err = d.PowerState(ctx)
	}
	h.seen(err)
	if !errors.Is(err, provision.ErrAuth) {
		t.Errorf("wrong password: err = %v, want one wrapping provision.ErrAuth", err)
	}
	if err != nil && strings.Contains(err.Error(), wrong.Password()) {
		t.Errorf("error holds the password: %v", err)
	}
}

func (h *harness) testUnreachable(t *testing.T) {
	if h.c.OpenUnreachable == nil {
		t.Skip("Config.OpenUnreachable not set")
	}
	ctx, cancel := context.WithTimeout(h.ctx(t), h.c.UnreachableTimeout)
	defer cancel()
	d, err := h.c.OpenUnreachable(ctx, h.c.Credentials, h.logger())
	if err == nil {
		defer d.Close()
		_, err = d.PowerState(ctx)
	}
	h.seen(err)
	if !errors.Is(err, provision.ErrUnreachable) {
		t.Errorf("unreachable BMC: err = %v, want one wrapping provision.ErrUnreachable", err)
	}
}

// testCancelWhileWaiting cancels a call that waits on a silent BMC: it
// must return promptly with an error wrapping context.Canceled.
func (h *harness) testCancelWhileWaiting(t *testing.T) {
	if h.c.OpenUnreachable == nil {
		t.Skip("Config.OpenUnreachable not set")
	}
	ctx, cancel := context.WithCancel(h.ctx(t))
	defer cancel()
	d, err := h.c.OpenUnreachable(ctx, h.c.Credentials, h.logger())
	if err != nil {
		h.seen(err)
		t.Skipf("OpenUnreachable failed before any call: %v", err)
	}
	defer d.Close()
	stop := time.AfterFunc(50*time.Millisecond, cancel)
	defer stop.Stop()
	_, err = d.PowerState(ctx)
	h.seen(err)
	if !errors.Is(err, context.Canceled) && !errors.Is(err, provision.ErrUnreachable) {
		t.Errorf("cancelled call to a silent BMC: err = %v, want one wrapping context.Canceled (or ErrUnreachable if it gave up first)", err)
	}
}

func (h *harness) testInvalidAction(t *testing.T) {
	d := h.open(t, h.c.Credentials)
	err := d.SetPower(h.ctx(t), provision.PowerAction(99))
	h.seen(err)
	if !errors.Is(err, provision.ErrUnsupported) {
		t.Errorf("SetPower(99): err = %v, want one wrapping provision.ErrUnsupported", err)
	}
}

func (h *harness) testClose(t *testing.T) {
	d, err := h.c.Open(h.ctx(t), h.c.Credentials, h.logger())
	if err != nil {
		h.seen(err)
		t.Fatal(err)
	}
	if _, err := d.PowerState(h.ctx(t)); err != nil {
		h.seen(err)
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	_, err = d.PowerState(h.ctx(t))
	h.seen(err)
	if !errors.Is(err, provision.ErrClosed) {
		t.Errorf("PowerState after Close: err = %v, want one wrapping provision.ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func (h *harness) testNoSecret(t *testing.T) {
	h.mu.Lock()
	defer h.mu.Unlock()
	pw := h.c.Credentials.Password()
	all := h.logs.String() + "\n" + strings.Join(h.errors, "\n")
	if strings.Contains(all, pw) {
		for _, line := range strings.Split(all, "\n") {
			if strings.Contains(line, pw) {
				t.Errorf("password in a log line or error: %s", strings.ReplaceAll(line, pw, "<PASSWORD>"))
			}
		}
	}
	if h.logs.Len() == 0 && len(h.errors) == 0 {
		t.Log("no log line and no error was produced to check")
	}
}
