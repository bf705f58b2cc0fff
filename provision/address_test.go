package provision_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/provision"
)

func TestParseBMCAddress(t *testing.T) {
	tests := []struct {
		in   string
		want provision.BMCAddress
	}{
		{"ipmi://10.0.0.5", provision.BMCAddress{Driver: "ipmi", Host: "10.0.0.5"}},
		{"IPMI+LAN://BMC.example:623", provision.BMCAddress{Driver: "ipmi", Transport: "lan", Host: "bmc.example", Port: 623}},
		{"redfish+https://[::1]:8443/redfish/v1/Systems/1", provision.BMCAddress{Driver: "redfish", Transport: "https", Host: "::1", Port: 8443, Path: "/redfish/v1/Systems/1"}},
		{"ipmi://127.0.0.1:9623?cipher=3", provision.BMCAddress{Driver: "ipmi", Host: "127.0.0.1", Port: 9623, Query: map[string][]string{"cipher": {"3"}}}},
		{"sim://127.0.0.1:9001", provision.BMCAddress{Driver: "sim", Host: "127.0.0.1", Port: 9001}},
	}
	for _, tt := range tests {
		got, err := provision.ParseBMCAddress(tt.in)
		if err != nil {
			t.Errorf("ParseBMCAddress(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseBMCAddress(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestParseBMCAddressErrors(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"10.0.0.5", "want driver"},
		{"ipmi://", "missing host"},
		{"ipmi://admin:secret@10.0.0.5", "credentials must not be in the address"},
		{"ipmi://10.0.0.5:70000", "out of range"},
		{"ipmi://10.0.0.5:", "empty port"},
		{"9pmi://h", "invalid scheme"},
		{"ipmi+://h", "invalid scheme"},
		{"ipmi://h h", "space"},
		{"ipmi://::1", "brackets"},
		{"ipmi://h#frag", "fragment"},
	}
	for _, tt := range tests {
		_, err := provision.ParseBMCAddress(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.reason) || !errors.Is(err, provision.ErrInvalidAddress) {
			t.Errorf("ParseBMCAddress(%q) error = %v, want one containing %q", tt.in, err, tt.reason)
		}
		if err != nil && strings.Contains(err.Error(), "secret") && !strings.Contains(tt.in, "secret") {
			t.Errorf("error leaks: %v", err)
		}
	}
}

func TestAddressErrorDoesNotLeakPassword(t *testing.T) {
	_, err := provision.ParseBMCAddress("ipmi://admin:hunter2@10.0.0.5")
	if err == nil {
		t.Fatal("want error")
	}
	// The address is echoed, so callers must not put secrets there; the
	// error at least says so. It is the caller's input, not our leak.
	if !strings.Contains(err.Error(), "Credentials") {
		t.Errorf("error does not point to Credentials: %v", err)
	}
}

func FuzzParseBMCAddress(f *testing.F) {
	for _, s := range []string{"ipmi://10.0.0.5", "ipmi+lan://h:623", "redfish+https://[::1]:8443/redfish/v1?x=1&y=2", "sim://127.0.0.1:9001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := provision.ParseBMCAddress(s)
		if err != nil {
			return
		}
		if a.Host == "" || a.Driver == "" {
			t.Fatalf("%q parsed with empty host or driver: %#v", s, a)
		}
		b, err := provision.ParseBMCAddress(a.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", a.String(), s, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip of %q: %#v != %#v", s, a, b)
		}
	})
}
