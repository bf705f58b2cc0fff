// Command custom-driver shows a third-party power driver in use: importing
// package plug registers the plug:// scheme, and from then on provision
// opens it like a built-in driver (verified power actions, an Inventory,
// a Provisioner). The driver's own test runs the public conformance suite,
// provision/powertest, as every built-in driver does:
//
//	go test ./examples/custom-driver/...
//	go run ./examples/custom-driver
package main
