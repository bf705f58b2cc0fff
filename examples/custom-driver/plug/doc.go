// Package plug is an example third-party power driver: a "smart plug"
// whose state lives in a JSON file, addressed as
// plug://localhost/path/to/plug.json. It shows what a driver outside this
// repository does: implement provision.PowerDriver, classify errors with
// provision's sentinels, register a scheme in init, and run the
// provision/powertest conformance suite in its own tests (plug_test.go).
//
// The file holds {"password": "...", "on": true}. A missing file is an
// unplugged device (ErrUnreachable), another password ErrAuth.
package plug
