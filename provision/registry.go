package provision

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
)

// OpenFunc opens a driver for the BMC at addr. It checks the address (and
// may contact the BMC); errors wrap ErrAuth, ErrUnreachable,
// ErrInvalidAddress or ErrUnsupported as they apply.
type OpenFunc func(ctx context.Context, addr BMCAddress, creds Credentials, opts DriverOptions) (PowerDriver, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{}
)

// Register makes a driver available under a scheme ("ipmi", "ipmi+lan",
// "redfish+https"...). Drivers call it from init. It panics when the scheme
// is invalid, open is nil or the scheme is already registered: those are
// programming errors found at start-up.
func Register(scheme string, open OpenFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if open == nil {
		panic("provision: Register " + scheme + " with nil OpenFunc")
	}
	a, err := ParseBMCAddress(scheme + "://x")
	if err != nil || a.Scheme() != scheme {
		panic(fmt.Sprintf("provision: Register: invalid scheme %q", scheme))
	}
	if _, dup := registry[scheme]; dup {
		panic("provision: Register called twice for scheme " + scheme)
	}
	registry[scheme] = open
}

// Schemes returns the registered schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	s := make([]string, 0, len(registry))
	for k := range registry {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// OpenDriver parses address and opens the driver registered for its scheme.
// An unknown scheme returns an *UnknownSchemeError listing the registered
// ones. Most callers want [OpenBMC], which wraps the driver.
func OpenDriver(ctx context.Context, address string, creds Credentials, logger *slog.Logger) (PowerDriver, BMCAddress, error) {
	addr, err := ParseBMCAddress(address)
	if err != nil {
		return nil, BMCAddress{}, err
	}
	registryMu.RLock()
	open := registry[addr.Scheme()]
	registryMu.RUnlock()
	if open == nil {
		return nil, addr, &UnknownSchemeError{Scheme: addr.Scheme(), Registered: Schemes()}
	}
	if logger == nil {
		logger = discardLogger()
	}
	d, err := open(ctx, addr, creds, DriverOptions{Logger: logger.With("bmc", addr.String())})
	if err != nil {
		return nil, addr, err
	}
	return d, addr, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
