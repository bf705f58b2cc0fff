//lint:file-ignore ST1005 Heat's exact constraint messages, which users grep for

package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ConstraintFunc checks a parameter value named by a custom_constraint; a
// non-nil error (its text is the reason shown) rejects the value. It is
// called with the converted value: a string for string parameters, each
// item of a comma_delimited_list, a number, a boolean or JSON data.
type ConstraintFunc func(ctx context.Context, value any) error

// RegisterConstraint adds or replaces the checker of custom_constraint
// name (Heat's heat.constraints plug-ins), e.g. "nova.flavor" backed by a
// cloud.
func (t *Types) RegisterConstraint(name string, fn ConstraintFunc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.constraints == nil {
		t.constraints = map[string]ConstraintFunc{}
	}
	t.constraints[name] = fn
}

// Constraint returns the checker of custom_constraint name.
func (t *Types) Constraint(name string) (ConstraintFunc, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	fn, ok := t.constraints[name]
	return fn, ok
}

// ConstraintNames returns the registered custom_constraint names, sorted.
func (t *Types) ConstraintNames() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.constraints))
	for k := range t.constraints {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookupConstraint adapts the registry to hot.CustomConstraints.
func (t *Types) lookupConstraint(name string) (func(context.Context, any) error, bool) {
	fn, ok := t.Constraint(name)
	return fn, ok
}

// registerConstraints registers Heat's constraints that need no cloud
// (heat.engine.constraint.common_constraints).
func registerConstraints(t *Types) {
	for name, fn := range map[string]ConstraintFunc{
		"ip_addr":         str(checkIP),
		"net_cidr":        str(checkCIDR),
		"mac_addr":        str(checkMAC),
		"iso_8601":        str(checkISO8601),
		"expiration":      str(checkExpiration),
		"timezone":        str(checkTimezone),
		"cron_expression": str(checkCron),
		"dns_name":        str(checkDNSName),
		"dns_domain":      str(checkDNSDomain),
		"rel_dns_name":    str(checkRelDNSName),
		"test_constr":     checkTestDelay,
	} {
		t.RegisterConstraint(name, fn)
	}
}

// str makes a string check a ConstraintFunc: other values fail, as in
// Heat.
func str(check func(string) error) ConstraintFunc {
	return func(ctx context.Context, v any) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("a string is needed, got %T", v)
		}
		return check(s)
	}
}

func checkIP(s string) error {
	// IPv4 needs all four parts (Heat refuses "1.2.3"), no zone.
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4() && strings.Count(s, ".") != 3 {
		return errors.New("Invalid IP address")
	}
	return nil
}

func checkCIDR(s string) error {
	if len(strings.Fields(s)) > 1 || strings.TrimSpace(s) != s {
		return fmt.Errorf("Invalid net cidr '%s' contains whitespace", s)
	}
	ip, bits, cut := strings.Cut(s, "/")
	if err := checkIP(ip); err != nil {
		return fmt.Errorf("Invalid net cidr invalid IPNetwork %s", s)
	}
	if !cut {
		return nil
	}
	n, err := strconv.Atoi(bits)
	max := 32
	if strings.Contains(ip, ":") {
		max = 128
	}
	if err != nil || n < 0 || n > max || bits != strconv.Itoa(n) {
		return fmt.Errorf("Invalid net cidr invalid IPNetwork %s", s)
	}
	return nil
}

var bareMAC = regexp.MustCompile(`^[0-9A-Fa-f]{12}$`)

func checkMAC(s string) error {
	if bareMAC.MatchString(s) {
		return nil
	}
	if hw, err := net.ParseMAC(s); err == nil && len(hw) == 6 {
		return nil
	}
	return errors.New("Invalid MAC address.")
}

// iso8601Layouts are the forms of ISO 8601 that Heat's parser (the
// iso8601 library) accepts and templates use.
var iso8601Layouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999",
	"20060102T150405Z07:00", "20060102T150405Z0700", "20060102T150405", "2006-01-02", "20060102",
}

func parseISO8601(s string) (time.Time, error) {
	for _, l := range iso8601Layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("Unable to parse date string '%s'", s)
}

func checkISO8601(s string) error {
	_, err := parseISO8601(s)
	return err
}

// now is the clock of the expiration constraint (tests replace it).
var now = time.Now

func checkExpiration(s string) error {
	if s == "" {
		return nil
	}
	t, err := parseISO8601(strings.TrimSpace(s))
	if err == nil && !t.After(now()) {
		err = errors.New("Expiration time is out of date.")
	}
	if err != nil {
		return fmt.Errorf("Expiration %s is invalid: %v", s, err)
	}
	return nil
}

func checkTimezone(s string) error {
	if s == "" {
		return nil
	}
	if s == "Local" || strings.ContainsAny(s, "\\\x00") || strings.HasPrefix(s, "/") || strings.Contains(s, "..") {
		return fmt.Errorf("Invalid timezone: '%s'", s)
	}
	if _, err := time.LoadLocation(s); err != nil {
		return fmt.Errorf("Invalid timezone: '%s'", s)
	}
	return nil
}

// cronFields are the fields of a cron expression: range and names.
var cronFields = []struct {
	name     string
	min, max int
	names    []string
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
	{"second", 0, 59, nil},
}

// checkCron accepts what croniter does for Heat: five fields (minute hour
// day-of-month month day-of-week) and an optional sixth (seconds); each a
// comma list of *, N, N-M, with /STEP, month and weekday names, L for the
// last day of the month, ? in the day fields; or an @yearly-style alias.
func checkCron(s string) error {
	if s == "" {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
		return nil
	}
	fields := strings.Fields(s)
	if len(fields) < 5 || len(fields) > 6 {
		return fmt.Errorf("Invalid CRON expression: Exactly 5 or 6 columns has to be specified for iterator expression.")
	}
	for i, f := range fields {
		if err := cronField(f, i); err != nil {
			return fmt.Errorf("Invalid CRON expression: [%s] is not acceptable: %v", s, err)
		}
	}
	return nil
}

func cronField(f string, i int) error {
	spec := cronFields[i]
	value := func(v string) (int, error) {
		for k, n := range spec.names {
			if strings.EqualFold(v, n) {
				return k + spec.min, nil
			}
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < spec.min || n > spec.max {
			return 0, fmt.Errorf("%s %q out of range", spec.name, v)
		}
		return n, nil
	}
	for _, item := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			if n, err := strconv.Atoi(step); err != nil || n < 1 {
				return fmt.Errorf("bad step %q", step)
			}
		}
		switch {
		case rng == "*":
			continue
		case rng == "?" && (i == 2 || i == 4):
			continue
		case rng == "L" && i == 2:
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := value(lo)
		if err != nil {
			return err
		}
		if isRange {
			b, err := value(hi)
			if err != nil {
				return err
			}
			if b < a {
				return fmt.Errorf("bad range %q", rng)
			}
		}
	}
	return nil
}

// FQDN limits of Heat's netutils.
const (
	fqdnMaxLen     = 255
	dnsLabelMaxLen = 63
)

var (
	dnsLabel   = regexp.MustCompile(`^[A-Za-z0-9-]{1,63}$`)
	allNumeric = regexp.MustCompile(`^[0-9]+$`)
)

func checkDNSName(s string) error {
	if err := dnsFormat(s); err != nil {
		return fmt.Errorf("'%s' not in valid format. Reason: %v", s, err)
	}
	return nil
}

func dnsFormat(s string) error {
	if s == "" {
		return nil
	}
	trimmed := strings.TrimSuffix(s, ".")
	if len(trimmed) > fqdnMaxLen {
		return fmt.Errorf("'%s' exceeds the %d character FQDN limit", trimmed, fqdnMaxLen)
	}
	names := strings.Split(trimmed, ".")
	for _, n := range names {
		if n == "" {
			return errors.New("Encountered an empty component.")
		}
		if strings.HasPrefix(n, "-") || strings.HasSuffix(n, "-") {
			return fmt.Errorf("Name '%s' must not start or end with a hyphen.", n)
		}
		if !dnsLabel.MatchString(n) {
			return fmt.Errorf("Name '%s' must be 1-%d characters long, each of which can only be alphanumeric or a hyphen.", n, dnsLabelMaxLen)
		}
	}
	if len(names) > 1 && allNumeric.MatchString(names[len(names)-1]) {
		return fmt.Errorf("TLD '%s' must not be all numeric", names[len(names)-1])
	}
	return nil
}

func checkDNSDomain(s string) error {
	if s == "" {
		return nil
	}
	if err := checkDNSName(s); err != nil {
		return err
	}
	if !strings.HasSuffix(s, ".") {
		return fmt.Errorf("'%s' must end with '.'.", s)
	}
	return nil
}

func checkRelDNSName(s string) error {
	if s == "" {
		return nil
	}
	if strings.HasSuffix(s, ".") {
		return fmt.Errorf("'%s' is a FQDN. It should be a relative domain name.", s)
	}
	if len(s) > fqdnMaxLen-3 {
		return fmt.Errorf("'%s' contains '%d' characters. Adding a domain name will cause it to exceed the maximum length of a FQDN of '%d'.", s, len(s), fqdnMaxLen)
	}
	return checkDNSName(s)
}

// checkTestDelay is Heat's test_constr: it waits value seconds (a test
// of slow constraint checks) and accepts any value.
func checkTestDelay(ctx context.Context, v any) error {
	var secs float64
	switch x := v.(type) {
	case string:
		secs, _ = strconv.ParseFloat(x, 64)
	default:
		secs, _ = number(v)
	}
	return sleepCtx(ctx, time.Duration(secs*float64(time.Second)))
}
