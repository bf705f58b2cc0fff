package provision

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Redacted is what a secret prints as.
const Redacted = "[REDACTED]"

// Credentials are the user name and password a BMC is reached with. They
// are never part of a BMC address, and print as [REDACTED] under every fmt
// verb, in slog records and in JSON, so they cannot leak into logs or
// errors by accident. Only [Credentials.Password] returns the secret.
type Credentials struct {
	username string
	password string
}

// NewCredentials returns credentials for username and password.
func NewCredentials(username, password string) Credentials {
	return Credentials{username: username, password: password}
}

// Username returns the user name.
func (c Credentials) Username() string { return c.username }

// Password returns the secret. Hand it to a protocol library only.
func (c Credentials) Password() string { return c.password }

// IsZero reports whether both user name and password are empty.
func (c Credentials) IsZero() bool { return c.username == "" && c.password == "" }

// String returns [REDACTED].
func (c Credentials) String() string { return Redacted }

// GoString returns [REDACTED], for %#v.
func (c Credentials) GoString() string { return Redacted }

// Format implements fmt.Formatter: every verb prints [REDACTED].
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON writes "[REDACTED]": Credentials never serialise their secret.
// Inventories that must store the password do so explicitly.
func (c Credentials) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// ReadPasswordFile returns the password on the first line of a file (a
// trailing CR is dropped), the convention of the -password-file flags of
// the examples and of ipmitool's -f. The error names the file, never its
// content; an empty first line is an error.
func ReadPasswordFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("password file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	if line = strings.TrimSuffix(line, "\r"); line == "" {
		return "", fmt.Errorf("password file %s: first line is empty", path)
	}
	return line, nil
}
