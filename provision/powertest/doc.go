// Package powertest is the conformance suite every power driver runs, the
// built-in ones (drivers/ipmi, drivers/sim) and third parties' alike, in
// the manner of gocloud.dev's drivertest: a driver's own test calls
// [RunConformanceTests] with a [Config] that opens the driver against a
// real or simulated BMC.
//
// It checks: power state read; idempotent actions (on when on, off when
// off); read-back after each action through [provision.BMC]'s verified
// power; boot device set and read back (when the driver implements
// [provision.BootDeviceDriver]; skipped otherwise); context cancellation
// (before a call, and while a call waits on a silent BMC);
// concurrent use (run it under -race); error classification (wrong
// password → ErrAuth, no BMC → ErrUnreachable, invalid action →
// ErrUnsupported); that no log line or error holds the password; and
// Close (later calls fail with ErrClosed, Close again is harmless).
package powertest
