package ipmisimtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/ipmi"
	"github.com/tripleo-go/tripleo/internal/ipmisimtest"
)

// Tests start a BMC with Start(t, opts) and point a driver at its URL.
func ExampleSim_URL() {
	s := &ipmisimtest.Sim{Port: 6230}
	fmt.Println(s.URL("ipmi+lan"))
	// Output: ipmi+lan://127.0.0.1:6230
}

func TestStartPing(t *testing.T) {
	s := ipmisimtest.Start(t, nil)
	if !ping(t, s.Addr(), 5*time.Second) {
		t.Fatal("no pong")
	}
	s.SetPower(true)
	if s.File("power") != "1" {
		t.Fatalf("power file %q", s.File("power"))
	}
	s.Kill()
	if ping(t, s.Addr(), 200*time.Millisecond) {
		t.Fatal("a killed BMC answered")
	}
	s.Start()
	if !ping(t, s.Addr(), 5*time.Second) {
		t.Fatal("no pong")
	}
}

// ping reports whether the BMC at addr answers within d: long when it
// should (a loaded machine is slow), short when it should not.
func ping(t *testing.T, addr string, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	return ipmi.Ping(ctx, addr)
}
