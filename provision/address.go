package provision

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// BMCAddress is a parsed BMC address, driver[+transport]://host[:port][/path]
// with optional query parameters for driver settings (for example
// ipmi://10.0.0.5:623?cipher=3). It never holds credentials.
type BMCAddress struct {
	// Driver is the part of the scheme before "+", e.g. "ipmi", "redfish".
	Driver string
	// Transport is the part after "+", e.g. "lan", "https"; empty if none.
	Transport string
	// Host is a host name or IP address (IPv6 without brackets).
	Host string
	// Port is the port, 0 when the address names none (driver default).
	Port int
	// Path is the URL path, "" or starting with "/".
	Path string
	// Query holds driver settings; nil when there are none.
	Query url.Values
}

// Scheme returns driver or driver+transport, the key drivers register.
func (a BMCAddress) Scheme() string {
	if a.Transport == "" {
		return a.Driver
	}
	return a.Driver + "+" + a.Transport
}

// HostPort returns host:port with the given default port when Port is 0.
func (a BMCAddress) HostPort(defaultPort int) string {
	p := a.Port
	if p == 0 {
		p = defaultPort
	}
	return net.JoinHostPort(a.Host, strconv.Itoa(p))
}

// String returns the address in canonical form; ParseBMCAddress(a.String())
// returns a again.
func (a BMCAddress) String() string {
	u := url.URL{Scheme: a.Scheme(), Host: a.Host, Path: a.Path}
	if strings.Contains(a.Host, ":") {
		u.Host = "[" + a.Host + "]"
	}
	if a.Port != 0 {
		u.Host = net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	}
	if len(a.Query) > 0 {
		u.RawQuery = a.Query.Encode()
	}
	return u.String()
}

// AddressError reports a BMC address that does not parse.
type AddressError struct {
	// Address is the input, or a prefix of it for very long inputs.
	Address string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *AddressError) Error() string {
	return fmt.Sprintf("provision: BMC address %q: %s", e.Address, e.Reason)
}

// Unwrap returns ErrInvalidAddress.
func (e *AddressError) Unwrap() error { return ErrInvalidAddress }

// ParseBMCAddress parses driver[+transport]://host[:port][/path][?query].
// Scheme and host are lower-cased; user information (credentials) in the
// address is refused, so that secrets never travel in URLs or logs.
func ParseBMCAddress(s string) (BMCAddress, error) {
	shown := s
	if len(shown) > 200 {
		shown = shown[:200] + "..."
	}
	fail := func(format string, args ...any) (BMCAddress, error) {
		return BMCAddress{}, &AddressError{Address: shown, Reason: fmt.Sprintf(format, args...)}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return fail("want driver[+transport]://host[:port][/path]")
	}
	scheme = strings.ToLower(scheme)
	driver, transport, hasPlus := strings.Cut(scheme, "+")
	if !validSchemePart(driver) || (hasPlus && !validSchemePart(transport)) {
		return fail("invalid scheme %q (want letters, digits, '-' or '.', e.g. ipmi or redfish+https)", scheme)
	}
	if rest == "" {
		return fail("missing host")
	}
	if strings.ContainsAny(rest, " \t\r\n\x00#") || strings.ContainsRune(rest, 0x7f) {
		return fail("contains a space, control character or fragment")
	}
	u, err := url.Parse("x://" + rest)
	if err != nil {
		return fail("%v", unwrapURLError(err))
	}
	if u.User != nil {
		return fail("credentials must not be in the address; pass them as Credentials")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return fail("missing host")
	}
	if strings.Contains(host, ":") && !strings.HasPrefix(u.Host, "[") {
		return fail("IPv6 host must be in brackets")
	}
	if strings.Contains(host, "%") {
		return fail("zone identifiers are not supported")
	}
	for _, r := range host {
		if !(r == '.' || r == '-' || r == ':' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return fail("invalid character %q in host", r)
		}
	}
	port := 0
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fail("port %q out of range 1-65535", p)
		}
		port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return fail("empty port")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fail("query: %v", err)
	}
	if len(q) == 0 {
		q = nil
	}
	if u.Opaque != "" || u.RawPath != "" && u.RawPath != u.EscapedPath() {
		return fail("invalid path")
	}
	if u.Path != "" && !strings.HasPrefix(u.Path, "/") {
		return fail("invalid path")
	}
	a := BMCAddress{Driver: driver, Transport: transport, Host: host, Port: port, Path: u.Path, Query: q}
	return a, nil
}

func validSchemePart(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
