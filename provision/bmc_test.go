package provision_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

func TestPowerVerifiedAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.delay = 3 * time.Second
		b := provision.NewBMC(f, "fake://m0", &provision.BMCOptions{PowerTimeout: 10 * time.Second})
		start := time.Now()
		s, err := b.Power(t.Context(), provision.PowerActionOn)
		if err != nil || s != provision.PowerOn {
			t.Fatalf("Power(on) = %v, %v", s, err)
		}
		if el := time.Since(start); el < 3*time.Second {
			t.Errorf("returned after %v, before the BMC reported on (3s)", el)
		}
	})
}

func TestPowerNotReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.ignore = true
		b := provision.NewBMC(f, "fake://m0", &provision.BMCOptions{PowerTimeout: 5 * time.Second})
		_, err := b.Power(t.Context(), provision.PowerActionOn)
		var pe *provision.PowerNotReachedError
		if !errors.As(err, &pe) || !errors.Is(err, provision.ErrPowerNotReached) {
			t.Fatalf("err = %v, want PowerNotReachedError", err)
		}
		if pe.Want != provision.PowerOn || pe.Last != provision.PowerOff || pe.Polls < 3 {
			t.Errorf("got %+v", pe)
		}
	})
}

func TestPowerIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		b := provision.NewBMC(f, "fake://m0", nil)
		for range 3 {
			if _, err := b.Power(t.Context(), provision.PowerActionOn); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if _, err := b.Power(t.Context(), provision.PowerActionOff); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := f.cmds(), []string{"on", "off"}; !slices.Equal(got, want) {
			t.Errorf("commands sent = %v, want %v", got, want)
		}
		// Cycle of a machine that is off powers it on.
		if s, err := b.Power(t.Context(), provision.PowerActionCycle); err != nil || s != provision.PowerOn {
			t.Fatalf("cycle from off = %v, %v", s, err)
		}
		if got := f.cmds(); got[len(got)-1] != "on" {
			t.Errorf("cycle from off sent %v, want on", got)
		}
	})
}

func TestRetriesOnlyUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.failNext = []error{provision.ErrUnreachable, provision.ErrUnreachable}
		b := provision.NewBMC(f, "fake://m0", &provision.BMCOptions{Retries: 2})
		if _, err := b.PowerState(t.Context()); err != nil {
			t.Fatalf("two unreachable then success: %v", err)
		}
		f.failNext = []error{fmt.Errorf("rakp: %w", provision.ErrAuth), nil}
		_, err := b.PowerState(t.Context())
		if !errors.Is(err, provision.ErrAuth) {
			t.Fatalf("err = %v, want ErrAuth", err)
		}
		var oe *provision.OpError
		if !errors.As(err, &oe) || oe.Op != "power status" || oe.Address != "fake://m0" {
			t.Errorf("err = %#v", err)
		}
		f.failNext = []error{provision.ErrUnreachable, provision.ErrUnreachable, provision.ErrUnreachable}
		if _, err := b.PowerState(t.Context()); !errors.Is(err, provision.ErrUnreachable) {
			t.Fatalf("err = %v, want ErrUnreachable after retries", err)
		}
	})
}

func TestMinInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := provision.NewBMC(newFake(), "fake://m0", &provision.BMCOptions{MinInterval: time.Second})
		start := time.Now()
		for range 4 {
			if _, err := b.PowerState(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(start); el != 3*time.Second {
			t.Errorf("4 commands took %v, want 3s with a 1s minimum interval", el)
		}
	})
}

func TestBootDeviceAndUnsupported(t *testing.T) {
	f := newFake()
	b := provision.NewBMC(f, "fake://m0", nil)
	if err := b.SetBootDevice(t.Context(), provision.BootPXE, true); err != nil {
		t.Fatal(err)
	}
	if d, p, err := b.BootDevice(t.Context()); err != nil || d != provision.BootPXE || !p {
		t.Errorf("BootDevice = %v %v %v", d, p, err)
	}
	if err := b.InsertMedia(t.Context(), "http://127.0.0.1/x.iso"); !errors.Is(err, provision.ErrUnsupported) {
		t.Errorf("InsertMedia on a driver without virtual media: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PowerState(t.Context()); !errors.Is(err, provision.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.ignore = true
		b := provision.NewBMC(f, "fake://m0", nil)
		ctx, cancel := contextWithCancelAfter(t, 2*time.Second)
		defer cancel()
		_, err := b.Power(ctx, provision.PowerActionOn)
		if !errors.Is(err, ctxCanceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}
