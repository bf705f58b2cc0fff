package ironic

import "github.com/tripleo-go/tripleo/provision"

// BMCHardware exposes bmcHardware to the tests: the hardware type and
// driver_info a BMC address becomes.
func BMCHardware(address string, creds provision.Credentials) (string, map[string]any, error) {
	hw, err := bmcHardware(address, creds)
	return hw.driver, hw.info, err
}
