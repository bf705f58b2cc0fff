package ironic

import (
	"fmt"
	"strconv"

	"github.com/tripleo-go/tripleo/provision"
)

// hardware is what a BMC address becomes in Ironic: a hardware type and the
// driver_info that reaches the BMC.
type hardware struct {
	driver string
	info   map[string]any
}

// bmcHardware translates a BMC address and its credentials into Ironic's
// hardware type and driver_info:
//
//	ipmi://h[:p][?cipher=N]      ipmi, ipmi_address, ipmi_port, ipmi_protocol_version 2.0,
//	                             ipmi_cipher_suite (default 3), ipmi_username, ipmi_password
//	ipmi+lan://h[:p]             the same with ipmi_protocol_version 1.5
//	redfish[+https]://h[:p]/sys  redfish, redfish_address https://h[:p], redfish_system_id /sys,
//	                             redfish_verify_ca (false with insecure=true, the path with ca=PATH)
//	redfish+http://h[:p]/sys     the same over plain HTTP
//	fake://anything              fake-hardware (Ironic's test hardware type), no driver_info
func bmcHardware(address string, creds provision.Credentials) (hardware, error) {
	a, err := provision.ParseBMCAddress(address)
	if err != nil {
		return hardware{}, err
	}
	info := map[string]any{}
	switch a.Scheme() {
	case "fake":
		return hardware{driver: "fake-hardware", info: info}, nil
	case "ipmi", "ipmi+lan", "ipmi+lanplus":
		info["ipmi_address"] = a.Host
		if a.Port != 0 {
			info["ipmi_port"] = a.Port
		}
		if a.Transport == "lan" {
			info["ipmi_protocol_version"] = "1.5"
		} else {
			info["ipmi_protocol_version"] = "2.0"
			cipher := 3
			if c := a.Query.Get("cipher"); c != "" {
				n, err := strconv.Atoi(c)
				if err != nil || n < 0 || n > 17 {
					return hardware{}, fmt.Errorf("%w: %s: query parameter cipher: %q (want 0-17)", provision.ErrInvalidAddress, a, c)
				}
				cipher = n
			}
			info["ipmi_cipher_suite"] = cipher
		}
		if creds.Username() != "" {
			info["ipmi_username"] = creds.Username()
		}
		if creds.Password() != "" {
			info["ipmi_password"] = creds.Password()
		}
		return hardware{driver: "ipmi", info: info}, nil
	case "redfish", "redfish+https", "redfish+http":
		scheme, port := "https", 443
		if a.Transport == "http" {
			scheme, port = "http", 80
		}
		info["redfish_address"] = scheme + "://" + a.HostPort(port)
		if a.Path != "" && a.Path != "/redfish/v1" && a.Path != "/redfish/v1/" {
			info["redfish_system_id"] = a.Path
		}
		if scheme == "https" {
			switch {
			case a.Query.Get("insecure") == "true":
				info["redfish_verify_ca"] = false
			case a.Query.Get("ca") != "":
				info["redfish_verify_ca"] = a.Query.Get("ca")
			}
		}
		switch auth := a.Query.Get("auth"); auth {
		case "":
		case "session", "basic":
			info["redfish_auth_type"] = auth
		default:
			return hardware{}, fmt.Errorf("%w: %s: query parameter auth: %q (want session or basic)", provision.ErrInvalidAddress, a, auth)
		}
		if creds.Username() != "" {
			info["redfish_username"] = creds.Username()
		}
		if creds.Password() != "" {
			info["redfish_password"] = creds.Password()
		}
		return hardware{driver: "redfish", info: info}, nil
	}
	return hardware{}, fmt.Errorf("%w: %s: scheme %s has no Ironic hardware type (want ipmi, ipmi+lan, redfish, redfish+https, redfish+http or fake)", provision.ErrUnsupported, a, a.Scheme())
}
