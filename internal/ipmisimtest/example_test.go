package ipmisimtest_test

import (
	"fmt"
	"testing"

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
	if err := ipmisimtest.Ping(t.Context(), s.Addr()); err != nil {
		t.Fatal(err)
	}
	s.SetPower(true)
	if s.File("power") != "1" {
		t.Fatalf("power file %q", s.File("power"))
	}
	s.Kill()
	if err := ipmisimtest.Ping(t.Context(), s.Addr()); err == nil {
		t.Fatal("a killed BMC answered")
	}
	s.Start()
	if err := ipmisimtest.Ping(t.Context(), s.Addr()); err != nil {
		t.Fatal(err)
	}
}
