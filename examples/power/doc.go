// Command power is the reference tool for one BMC: it reads or switches a
// machine's power and sets its boot device through any registered driver
// (IPMI 2.0, IPMI 1.5 and Redfish here), and prints the resulting state.
//
//	go run ./examples/power -bmc ipmi://127.0.0.1:9623 -username admin -password-file F status
//	go run ./examples/power -bmc redfish+http://127.0.0.1:8000/redfish/v1/Systems/m0 -username admin -password-file F status
//	go run ./examples/power -bmc ipmi://127.0.0.1:9623 -username admin -password-file F on|off|soft-off|cycle|reset
//	go run ./examples/power -bmc ipmi://127.0.0.1:9623 -username admin -password-file F bootdev pxe|disk|cdrom|bios [persistent]
//
// Power actions are verified: the tool returns once the BMC reports the
// target state. The last line of standard output is the result
// ("power: on", "boot device: pxe (next boot only)"); progress goes to
// standard error. The exit status is 0 on success, 1 on failure and 2 on
// a usage error. These flags are stable: other tools call this one.
package main
