package ipmi_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/ipmi"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/internal/ipmisimtest"
	"github.com/tripleo-go/tripleo/provision"
	"github.com/tripleo-go/tripleo/provision/powertest"
)

func opener(address string) func(context.Context, provision.Credentials, *slog.Logger) (provision.PowerDriver, error) {
	return func(ctx context.Context, c provision.Credentials, l *slog.Logger) (provision.PowerDriver, error) {
		d, _, err := provision.OpenDriver(ctx, address, c, l)
		return d, err
	}
}

// nowhere is a loopback port where no BMC listens.
func nowhere(t *testing.T, scheme string) string {
	u := scheme + "://127.0.0.1:" + itoa(freeUDPPort(t))
	if scheme == "ipmi" {
		u += "?timeout=200ms&retries=0"
	}
	return u
}

// patient gives lanplus addresses generous packet timeouts, so that a
// loaded CI machine does not turn a slow answer into a failure.
func patient(u string) string {
	if strings.HasPrefix(u, "ipmi://") {
		return u + "?timeout=2s&retries=2"
	}
	return u
}

func itoa(n int) string { return strconv.Itoa(n) }

var quick = provision.BMCOptions{PollInterval: 20 * time.Millisecond, MaxPollInterval: 200 * time.Millisecond, PowerTimeout: 20 * time.Second}

func TestConformanceIPMISimLanplus(t *testing.T) {
	s := ipmisimtest.Start(t, nil)
	powertest.RunConformanceTests(t, powertest.Config{
		Open:                       opener(patient(s.URL("ipmi"))),
		OpenUnreachable:            opener(nowhere(t, "ipmi")),
		Credentials:                provision.NewCredentials(ipmisimtest.DefaultUser, ipmisimtest.DefaultPassword),
		BMC:                        quick,
		BootPersistenceNotReported: true,
	})
}

func TestConformanceIPMISimLan(t *testing.T) {
	s := ipmisimtest.Start(t, nil)
	powertest.RunConformanceTests(t, powertest.Config{
		Open:                       opener(s.URL("ipmi+lan")),
		OpenUnreachable:            opener(nowhere(t, "ipmi+lan")),
		Credentials:                provision.NewCredentials(ipmisimtest.DefaultUser, ipmisimtest.DefaultPassword),
		BMC:                        quick,
		BootPersistenceNotReported: true,
	})
}

func TestConformanceSimulatedBMC(t *testing.T) {
	dc, err := sim.Start(1, &sim.Options{Password: "sim-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	m := dc.Machine(0)
	for _, scheme := range []string{"ipmi", "ipmi+lan"} {
		t.Run(scheme, func(t *testing.T) {
			powertest.RunConformanceTests(t, powertest.Config{
				Open:            opener(patient(scheme + "://" + m.IPMIAddr())),
				OpenUnreachable: opener(nowhere(t, scheme)),
				Credentials:     m.Credentials(),
				BMC:             quick,
			})
		})
	}
}

// TestIPMISimCallLog checks what reached ipmi_sim's chassis hook.
func TestIPMISimCallLog(t *testing.T) {
	ctx := t.Context()
	s := ipmisimtest.Start(t, nil)
	for _, scheme := range []string{"ipmi", "ipmi+lan"} {
		s.SetPower(false)
		s.ResetCalls()
		b, err := provision.OpenBMC(ctx, patient(s.URL(scheme)), provision.NewCredentials(ipmisimtest.DefaultUser, ipmisimtest.DefaultPassword), &quick)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []provision.PowerAction{provision.PowerActionOn, provision.PowerActionOn, provision.PowerActionCycle, provision.PowerActionOff} {
			if st, err := b.Power(ctx, a); err != nil || st != a.Target() {
				t.Fatalf("%s: Power(%s) = %v, %v", scheme, a, st, err)
			}
		}
		if err := b.SetBootDevice(ctx, provision.BootPXE, false); err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if err := b.SetBootDevice(ctx, provision.BootDisk, true); err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		b.Close()
		// on (once: the second is idempotent), cycle = off then on by
		// ipmi_sim itself, off; disk reaches the hook as "default".
		want := []string{"set power 1", "set power 0", "set power 1", "set power 0", "set boot pxe", "set boot default"}
		if got := s.Calls(); !slices.Equal(got, want) {
			t.Errorf("%s: chassis hook calls %q\nwant %q", scheme, got, want)
		}
	}
}

func TestWrongPasswordIPMISim(t *testing.T) {
	s := ipmisimtest.Start(t, nil)
	for _, scheme := range []string{"ipmi", "ipmi+lan"} {
		s.ResetCalls()
		b, err := provision.OpenBMC(t.Context(), s.URL(scheme), provision.NewCredentials(ipmisimtest.DefaultUser, "not-it-42"), &quick)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Power(t.Context(), provision.PowerActionOn)
		b.Close()
		if !errors.Is(err, provision.ErrAuth) || strings.Contains(err.Error(), "not-it-42") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: wrong password: %v", scheme, err)
		}
		if calls := s.Calls(); len(calls) != 0 {
			t.Errorf("%s: wrong password reached the chassis: %v", scheme, calls)
		}
	}
}

// TestBMCKilledMidOperation kills ipmi_sim while it is executing a power
// command, then starts it again: the driver reports the BMC unreachable
// (without hanging) and recovers with a new session.
func TestBMCKilledMidOperation(t *testing.T) {
	ctx := t.Context()
	s := ipmisimtest.Start(t, nil)
	for _, scheme := range []string{"ipmi", "ipmi+lan"} {
		s.SetPower(false)
		u := s.URL(scheme)
		if scheme == "ipmi" {
			u += "?timeout=300ms&retries=1"
		}
		b, err := provision.OpenBMC(ctx, u, provision.NewCredentials(ipmisimtest.DefaultUser, ipmisimtest.DefaultPassword),
			&provision.BMCOptions{Retries: -1, CommandTimeout: 3 * time.Second, PollInterval: 20 * time.Millisecond, PowerTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.PowerState(ctx); err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		s.WriteFile("slow", "3")
		s.ResetCalls()
		done := make(chan error, 1)
		go func() { _, err := b.Power(ctx, provision.PowerActionOn); done <- err }()
		for !slices.Contains(s.Calls(), "set power 1") {
			time.Sleep(20 * time.Millisecond)
		}
		s.Kill()
		err = <-done
		if !errors.Is(err, provision.ErrUnreachable) {
			t.Errorf("%s: power on with the BMC killed: %v, want ErrUnreachable", scheme, err)
		}
		s.RemoveFile("slow")
		s.Start()
		st, err := b.Power(ctx, provision.PowerActionOn)
		if err != nil || st != provision.PowerOn {
			t.Errorf("%s: after the BMC came back: %v, %v", scheme, st, err)
		}
		b.Close()
	}
}

func TestUnknownQueryParameter(t *testing.T) {
	_, _, err := provision.OpenDriver(t.Context(), "ipmi://127.0.0.1?cypher=3", provision.Credentials{}, nil)
	if !errors.Is(err, provision.ErrInvalidAddress) || !strings.Contains(err.Error(), "cypher") {
		t.Errorf("err = %v", err)
	}
	_, _, err = provision.OpenDriver(t.Context(), "ipmi+lan://127.0.0.1?cipher=3", provision.Credentials{}, nil)
	if !errors.Is(err, provision.ErrInvalidAddress) {
		t.Errorf("cipher on ipmi+lan: %v", err)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// The ipmi+lan driver probes a BMC with an RMCP/ASF presence ping first:
// ipmi_sim answers it, a port with nothing behind it does not.
func TestASFPing(t *testing.T) {
	s := ipmisimtest.Start(t, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if !ipmi.Ping(ctx, s.Addr()) {
		t.Error("no pong from ipmi_sim")
	}
	short, cancel2 := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel2()
	if ipmi.Ping(short, "127.0.0.1:"+itoa(freeUDPPort(t))) {
		t.Error("a pong from nowhere")
	}
}
