package ironic_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/drivers/ironic"
	"github.com/tripleo-go/tripleo/provision"
)

func TestBMCHardware(t *testing.T) {
	creds := provision.NewCredentials("admin", "pw")
	for _, tc := range []struct {
		addr   string
		driver string
		info   map[string]any
		err    error
	}{
		{"ipmi://10.0.0.5", "ipmi", map[string]any{"ipmi_address": "10.0.0.5", "ipmi_protocol_version": "2.0", "ipmi_cipher_suite": 3, "ipmi_username": "admin", "ipmi_password": "pw"}, nil},
		{"ipmi://127.0.0.1:6230?cipher=17", "ipmi", map[string]any{"ipmi_address": "127.0.0.1", "ipmi_port": 6230, "ipmi_protocol_version": "2.0", "ipmi_cipher_suite": 17, "ipmi_username": "admin", "ipmi_password": "pw"}, nil},
		{"ipmi+lan://bmc:623", "ipmi", map[string]any{"ipmi_address": "bmc", "ipmi_port": 623, "ipmi_protocol_version": "1.5", "ipmi_username": "admin", "ipmi_password": "pw"}, nil},
		{"redfish://bmc/redfish/v1/Systems/1", "redfish", map[string]any{"redfish_address": "https://bmc:443", "redfish_system_id": "/redfish/v1/Systems/1", "redfish_username": "admin", "redfish_password": "pw"}, nil},
		{"redfish+https://bmc:8443?insecure=true&auth=session", "redfish", map[string]any{"redfish_address": "https://bmc:8443", "redfish_verify_ca": false, "redfish_auth_type": "session", "redfish_username": "admin", "redfish_password": "pw"}, nil},
		{"redfish+http://127.0.0.1:8000/redfish/v1/Systems/m1", "redfish", map[string]any{"redfish_address": "http://127.0.0.1:8000", "redfish_system_id": "/redfish/v1/Systems/m1", "redfish_username": "admin", "redfish_password": "pw"}, nil},
		{"fake://x", "fake-hardware", map[string]any{}, nil},
		{"ipmi://h?cipher=x", "", nil, provision.ErrInvalidAddress},
		{"redfish://h?auth=digest", "", nil, provision.ErrInvalidAddress},
		{"sim://127.0.0.1:1", "", nil, provision.ErrUnsupported},
		{"not a url", "", nil, provision.ErrInvalidAddress},
	} {
		d, info, err := ironic.BMCHardware(tc.addr, creds)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: err %v, want %v", tc.addr, err, tc.err)
			}
			continue
		}
		if err != nil || d != tc.driver || !maps.Equal(info, tc.info) {
			t.Errorf("%s: %q %v %v, want %q %v", tc.addr, d, info, err, tc.driver, tc.info)
		}
	}
}

// FuzzBMCHardware: any address either translates or fails with an error
// that does not contain the password.
func FuzzBMCHardware(f *testing.F) {
	for _, s := range []string{"ipmi://10.0.0.5:623?cipher=3", "ipmi+lan://h", "redfish+https://h:1/redfish/v1/Systems/1?insecure=true", "redfish+http://[::1]:80/x?auth=basic", "fake://x", "sim://h"} {
		f.Add(s)
	}
	const pw = "fuzz-secret-pw"
	f.Fuzz(func(t *testing.T, addr string) {
		d, info, err := ironic.BMCHardware(addr, provision.NewCredentials("u", pw))
		if err != nil {
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("password in error %v", err)
			}
			return
		}
		if d == "" {
			t.Fatalf("%q: no hardware type", addr)
		}
		if d != "fake-hardware" && fmt.Sprint(info[d+"_password"]) != pw {
			t.Fatalf("%q: password not in driver_info %v", addr, maps.Keys(info))
		}
	})
}
