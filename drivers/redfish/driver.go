package redfish

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/tripleo-go/tripleo/provision"
)

func init() {
	provision.Register("redfish", openRegistered)
	provision.Register("redfish+https", openRegistered)
	provision.Register("redfish+http", openRegistered)
}

// AuthMethod selects how the driver authenticates.
type AuthMethod int

// Authentication methods.
const (
	// AuthAuto uses a session when the service root links one, basic
	// authentication otherwise.
	AuthAuto AuthMethod = iota
	// AuthSession always logs in to a session (X-Auth-Token).
	AuthSession
	// AuthBasic sends the credentials with every request.
	AuthBasic
)

// Options tune [Open]. nil or zero fields mean the documented defaults;
// the address's query parameters are applied first, then non-zero fields
// here.
type Options struct {
	// Logger receives debug lines and the warnings about relaxed TLS; nil
	// discards.
	Logger *slog.Logger
	// InsecureSkipVerify turns TLS certificate verification off (query
	// insecure=true). It is logged at warn level.
	InsecureSkipVerify bool
	// RootCAs verifies the BMC's certificate instead of the system's roots
	// (query ca=PATH, a PEM bundle). It is logged at warn level.
	RootCAs *x509.CertPool
	// Auth selects the authentication (query auth=session|basic).
	Auth AuthMethod
	// Timeout bounds each HTTP request (query timeout=D). Zero means 10s.
	Timeout time.Duration
	// Retries is how many more times a request that failed transiently
	// (5xx, no answer, malformed body) is sent (query retries=N). Zero
	// means 2; negative means none.
	Retries int
	// BootMode is the mode SetBootDevice requests (query
	// boot_mode=uefi|legacy). Zero leaves the system's mode unchanged.
	BootMode BootMode
}

type settings struct {
	log      *slog.Logger
	tls      *tls.Config
	auth     AuthMethod
	timeout  time.Duration
	retries  int
	bootMode BootMode
}

func parseSettings(a provision.BMCAddress, o *Options, log *slog.Logger) (settings, error) {
	s := settings{log: log, timeout: 10 * time.Second, retries: 2}
	bad := func(k, v, want string) error {
		return fmt.Errorf("redfish: %s: %w: query parameter %s=%q (want %s)", a, provision.ErrInvalidAddress, k, v, want)
	}
	insecure := false
	var caPath string
	var roots *x509.CertPool
	for k, vs := range a.Query {
		v := vs[len(vs)-1]
		switch k {
		case "insecure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return s, bad(k, v, "true or false")
			}
			insecure = b
		case "ca":
			data, err := os.ReadFile(v)
			if err != nil {
				return s, fmt.Errorf("redfish: %s: %w: query parameter ca: %w", a, provision.ErrInvalidAddress, err)
			}
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(data) {
				return s, fmt.Errorf("redfish: %s: %w: query parameter ca: %s holds no PEM certificate", a, provision.ErrInvalidAddress, v)
			}
			caPath = v
		case "auth":
			switch v {
			case "session":
				s.auth = AuthSession
			case "basic":
				s.auth = AuthBasic
			default:
				return s, bad(k, v, "session or basic")
			}
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return s, bad(k, v, "a duration such as 10s")
			}
			s.timeout = d
		case "retries":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 10 {
				return s, bad(k, v, "0-10")
			}
			s.retries = n
		case "boot_mode":
			switch strings.ToLower(v) {
			case "uefi":
				s.bootMode = BootModeUEFI
			case "legacy", "bios":
				s.bootMode = BootModeLegacy
			default:
				return s, bad(k, v, "uefi or legacy")
			}
		default:
			return s, fmt.Errorf("redfish: %s: %w: unknown query parameter %q (known: insecure, ca, auth, timeout, retries, boot_mode)", a, provision.ErrInvalidAddress, k)
		}
	}
	if o != nil {
		insecure = insecure || o.InsecureSkipVerify
		if o.RootCAs != nil {
			roots, caPath = o.RootCAs, "(Options.RootCAs)"
		}
		if o.Auth != AuthAuto {
			s.auth = o.Auth
		}
		if o.Timeout > 0 {
			s.timeout = o.Timeout
		}
		if o.Retries != 0 {
			s.retries = max(o.Retries, 0)
		}
		if o.BootMode != BootModeUnchanged {
			s.bootMode = o.BootMode
		}
	}
	if a.Transport != "http" {
		s.tls = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, InsecureSkipVerify: insecure}
		if insecure {
			log.Warn("TLS certificate verification is disabled for this BMC (insecure=true): anyone on the path can impersonate it")
		} else if roots != nil {
			log.Warn("BMC certificate verified against a private CA bundle instead of the system roots", "ca", caPath)
		}
	} else if insecure || roots != nil {
		return s, fmt.Errorf("redfish: %s: %w: insecure and ca apply to https only", a, provision.ErrInvalidAddress)
	}
	return s, nil
}

// systemPath returns the system the address names, "" when it names
// none (the single system is then found).
func systemPath(a provision.BMCAddress) (string, error) {
	p := strings.TrimSuffix(a.Path, "/")
	switch {
	case p == "" || p == "/redfish/v1":
		return "", nil
	case strings.HasPrefix(p, "/redfish/v1/Systems/") && !strings.Contains(p[len("/redfish/v1/Systems/"):], "/"):
		return p, nil
	}
	return "", fmt.Errorf("redfish: %s: %w: path %q (want none, /redfish/v1 or /redfish/v1/Systems/ID)", a, provision.ErrInvalidAddress, a.Path)
}

func openRegistered(ctx context.Context, addr provision.BMCAddress, creds provision.Credentials, opts provision.DriverOptions) (provision.PowerDriver, error) {
	return open(ctx, addr, creds, &Options{Logger: opts.Logger})
}

// Open opens the Redfish BMC at address (redfish://, redfish+https:// or
// redfish+http://), logs in and probes an authenticated resource, so that
// a wrong password fails here with an error wrapping provision.ErrAuth.
// Most callers use provision.OpenBMC instead, which calls Open through the
// registry; Open is for callers that need Options.
func Open(ctx context.Context, address string, creds provision.Credentials, opts *Options) (*Driver, error) {
	a, err := provision.ParseBMCAddress(address)
	if err != nil {
		return nil, err
	}
	if a.Driver != "redfish" || (a.Transport != "" && a.Transport != "https" && a.Transport != "http") {
		return nil, fmt.Errorf("redfish: %s: %w: scheme %s (want redfish, redfish+https or redfish+http)", a, provision.ErrInvalidAddress, a.Scheme())
	}
	return open(ctx, a, creds, opts)
}

func open(ctx context.Context, a provision.BMCAddress, creds provision.Credentials, opts *Options) (*Driver, error) {
	log := slog.New(slog.DiscardHandler)
	if opts != nil && opts.Logger != nil {
		log = opts.Logger
	}
	s, err := parseSettings(a, opts, log)
	if err != nil {
		return nil, err
	}
	sys, err := systemPath(a)
	if err != nil {
		return nil, err
	}
	scheme, port := "https", 443
	if a.Transport == "http" {
		scheme, port = "http", 80
		log.Debug("plain HTTP: the BMC credentials travel unencrypted")
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       s.tls,
		TLSHandshakeTimeout:   s.timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       time.Minute,
		ExpectContinueTimeout: time.Second,
	}
	d := &Driver{
		addr: a.String(), base: scheme + "://" + a.HostPort(port), sysPath: sys, creds: creds,
		o: s, log: log, hc: &http.Client{Transport: tr, CheckRedirect: noRedirect}, slot: make(chan struct{}, 1),
	}
	err = d.do(ctx, "open", func(ctx context.Context, c *gofish.APIClient) error {
		if d.client == nil {
			if err := d.login(ctx); err != nil {
				return err
			}
			c = d.client.WithContext(ctx)
		}
		if d.sysPath == "" {
			p, err := d.findSystem(c)
			if err != nil {
				return err
			}
			d.sysPath = p
		}
		// The probe: an authenticated resource (the service root is
		// anonymous, so logging in with basic auth proves nothing).
		_, _, err := d.get(c, d.sysPath)
		err = statusError(err)
		var se *StatusError
		if errors.As(err, &se) && se.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: no system at %s", provision.ErrInvalidAddress, d.sysPath)
		}
		return err
	})
	if err != nil {
		d.Close()
		return nil, err
	}
	log.Debug("Redfish BMC open", "system", d.sysPath, "session", d.session != "")
	return d, nil
}

// noRedirect refuses redirects: they would carry the credentials (basic
// authentication) to wherever the BMC points.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Driver is an open Redfish BMC, one ComputerSystem. It implements
// [provision.PowerDriver], [provision.BootDeviceDriver],
// [provision.VirtualMediaDriver], [provision.InventoryDriver] and
// [provision.Aser]. Calls are serialised (BMCs serve few requests at a
// time; gofish itself defaults to one), which also keeps a retried
// request right behind the one that failed.
type Driver struct {
	addr    string // canonical address, for errors (never credentials)
	base    string // scheme://host:port
	sysPath string
	creds   provision.Credentials
	o       settings
	log     *slog.Logger
	hc      *http.Client

	slot chan struct{} // one call at a time

	// guarded by slot
	client  *gofish.APIClient
	session string // session resource path, "" with basic auth
	vmPath  string // cached virtual media device

	mu     sync.Mutex
	closed bool
}

// StatusError is an HTTP error status from the BMC, with the Redfish
// message it carried.
type StatusError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// MessageID is the Redfish message id (e.g. Base.1.8.GeneralError).
	MessageID string
	// Message is the BMC's message, cut to 300 bytes.
	Message string
}

// Error implements error.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.MessageID != "" {
		s += " " + e.MessageID
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// statusError turns a gofish error into a *StatusError when it is one.
func statusError(err error) error {
	var ge *schemas.Error
	if !errors.As(err, &ge) || ge.HTTPReturnedStatusCode == 0 {
		return err
	}
	se := &StatusError{StatusCode: ge.HTTPReturnedStatusCode, MessageID: ge.Code, Message: ge.Message}
	if len(se.Message) > 300 {
		se.Message = se.Message[:300] + "..."
	}
	se.Message = strings.Join(strings.Fields(se.Message), " ")
	return se
}

// kind classifies an error for retrying.
type kind int

const (
	permanent kind = iota
	transient
	authFailed
)

func classify(err error) kind {
	var se *StatusError
	if errors.As(err, &se) {
		switch se.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return authFailed
		case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
			http.StatusGatewayTimeout, http.StatusRequestTimeout, http.StatusTooManyRequests:
			return transient
		}
		return permanent
	}
	var ue *x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) {
		return permanent
	}
	var ne net.Error
	var se2 *json.SyntaxError
	switch {
	case errors.Is(err, errMalformed), errors.As(err, &ne), errors.As(err, &se2),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, context.DeadlineExceeded):
		return transient
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "EOF", "timeout"} {
		if strings.Contains(msg, s) {
			return transient
		}
	}
	return permanent
}

// do runs f with the current client bound to a per-request deadline,
// retrying transient failures and logging in again once when a session
// is refused.
func (d *Driver) do(ctx context.Context, op string, f func(ctx context.Context, c *gofish.APIClient) error) error {
	select {
	case d.slot <- struct{}{}:
	case <-ctx.Done():
		return d.wrap(op, ctx.Err())
	}
	defer func() { <-d.slot }()
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed && op != "close" {
		return fmt.Errorf("redfish %s: %s: %w", d.addr, op, provision.ErrClosed)
	}
	relogged := false
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return d.wrap(op, err)
		}
		actx, cancel := context.WithTimeout(ctx, d.o.timeout)
		var c *gofish.APIClient
		if d.client != nil {
			c = d.client.WithContext(actx)
		}
		err := f(actx, c)
		cancel()
		if err == nil {
			return nil
		}
		err = statusError(err)
		if ctx.Err() != nil {
			return d.wrap(op, fmt.Errorf("%w (%w)", ctx.Err(), err))
		}
		k := classify(err)
		if k == authFailed && d.session != "" && !relogged {
			relogged = true
			d.log.Debug("session refused; logging in again", "op", op, "err", err)
			if lerr := d.login(ctx); lerr != nil {
				return d.wrap(op, statusError(lerr))
			}
			attempt--
			continue
		}
		if k != transient || attempt >= d.o.retries {
			return d.wrap(op, err)
		}
		d.log.Debug("retrying", "op", op, "attempt", attempt+1, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return d.wrap(op, fmt.Errorf("%w (after %w)", ctx.Err(), err))
		case <-t.C:
		}
		wait = min(wait*2, time.Second)
	}
}

// wrap adds the address, operation and sentinel to err.
func (d *Driver) wrap(op string, err error) error {
	var sentinel error
	switch {
	case errors.Is(err, provision.ErrAuth), errors.Is(err, provision.ErrUnreachable),
		errors.Is(err, provision.ErrUnsupported), errors.Is(err, provision.ErrInvalidAddress),
		errors.Is(err, provision.ErrClosed), errors.Is(err, context.Canceled):
	default:
		switch classify(err) {
		case authFailed:
			sentinel = provision.ErrAuth
		case transient:
			sentinel = provision.ErrUnreachable
		default:
			var ue *x509.UnknownAuthorityError
			var ce *tls.CertificateVerificationError
			var he x509.HostnameError
			if errors.As(err, &ue) || errors.As(err, &ce) || errors.As(err, &he) {
				err = fmt.Errorf("%w (TLS verification failed: pass ca=PATH for a private CA, or insecure=true)", err)
			}
		}
	}
	if sentinel != nil {
		if sentinel == provision.ErrAuth {
			return fmt.Errorf("redfish %s: %s: %w: user %q: %w", d.addr, op, sentinel, d.creds.Username(), err)
		}
		return fmt.Errorf("redfish %s: %s: %w: %w", d.addr, op, sentinel, err)
	}
	return fmt.Errorf("redfish %s: %s: %w", d.addr, op, err)
}

func (d *Driver) clientConfig() gofish.ClientConfig {
	return gofish.ClientConfig{
		Endpoint: d.base, HTTPClient: d.hc, NoModifyTransport: true, ReuseConnections: true, MaxConcurrentRequests: 1,
	}
}

// login reads the service root and authenticates: a new session, or
// basic authentication. It replaces d.client.
func (d *Driver) login(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, d.o.timeout)
	defer cancel()
	anon, err := gofish.ConnectContext(cctx, d.clientConfig())
	if err != nil {
		return err
	}
	body, _, err := d.get(anon, "/redfish/v1/")
	if err != nil {
		return err
	}
	root, err := parseRoot(body)
	if err != nil {
		return err
	}
	cfg := d.clientConfig()
	useSession := d.o.auth == AuthSession || (d.o.auth == AuthAuto && root.Sessions != "")
	if useSession {
		path := root.Sessions
		if path == "" {
			path = "/redfish/v1/SessionService/Sessions"
		}
		tok, err := schemas.CreateSession(anon, path, d.creds.Username(), d.creds.Password())
		if err != nil {
			return err
		}
		if tok == nil || tok.Token == "" {
			return malformed("session login answered without an X-Auth-Token", nil)
		}
		if tok.Session != "" {
			if err := checkPath("session Location", tok.Session); err != nil {
				return err
			}
		}
		cfg.Session = &gofish.Session{ID: tok.Session, Token: tok.Token}
		d.session = tok.Session
		if d.session == "" {
			d.session = "(no Location)"
		}
	} else {
		cfg.Username, cfg.Password, cfg.BasicAuth = d.creds.Username(), d.creds.Password(), true
		d.session = ""
	}
	c, err := gofish.ConnectContext(cctx, cfg)
	if err != nil {
		return err
	}
	d.client = c
	d.log.Debug("logged in", "session", useSession)
	return nil
}

// get fetches path and returns its body (at most maxBody bytes) and ETag.
func (d *Driver) get(c *gofish.APIClient, path string) ([]byte, string, error) {
	resp, err := c.Get(path)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, "", err
	}
	if len(body) > maxBody {
		return nil, "", malformed(fmt.Sprintf("%s: body larger than %d bytes", path, maxBody), nil)
	}
	return body, resp.Header.Get("ETag"), nil
}

// members lists a collection, following next links (at most 64 pages).
func (d *Driver) members(c *gofish.APIClient, path string) ([]string, error) {
	var all []string
	seen := map[string]bool{}
	for page := 0; path != ""; page++ {
		if seen[path] || page >= 64 {
			return nil, malformed(path+": collection pages loop or never end", nil)
		}
		seen[path] = true
		body, _, err := d.get(c, path)
		if err != nil {
			return nil, err
		}
		col, err := parseCollection(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		all = append(all, col.Members...)
		path = col.Next
	}
	return all, nil
}

// findSystem returns the service's single system.
func (d *Driver) findSystem(c *gofish.APIClient) (string, error) {
	body, _, err := d.get(c, "/redfish/v1/")
	if err != nil {
		return "", err
	}
	root, err := parseRoot(body)
	if err != nil {
		return "", err
	}
	ms, err := d.members(c, root.Systems)
	if err != nil {
		return "", err
	}
	switch len(ms) {
	case 1:
		return ms[0], nil
	case 0:
		return "", fmt.Errorf("%w: the service lists no system", provision.ErrInvalidAddress)
	}
	if len(ms) > 8 {
		ms = append(ms[:8], "...")
	}
	return "", fmt.Errorf("%w: the service lists %d systems (%s); name one in the address path", provision.ErrInvalidAddress, len(ms), strings.Join(ms, ", "))
}

// system fetches and parses the system, and returns gofish's object for
// it bound to c (for its actions).
func (d *Driver) system(c *gofish.APIClient) (*systemDoc, *schemas.ComputerSystem, error) {
	body, etag, err := d.get(c, d.sysPath)
	if err != nil {
		return nil, nil, err
	}
	doc, err := parseSystem(body)
	if err != nil {
		return nil, nil, err
	}
	var sys schemas.ComputerSystem
	if err := json.Unmarshal(body, &sys); err != nil {
		return nil, nil, malformed("ComputerSystem", err)
	}
	sys.SetClient(c)
	if etag != "" {
		sys.SetETag(etag)
	}
	return doc, &sys, nil
}

// As sets a **gofish.APIClient target to a copy of the driver's
// authenticated client, bound to context.Background (use its WithContext
// for deadlines; its requests are not serialised with the driver's own).
func (d *Driver) As(target any) bool {
	p, ok := target.(**gofish.APIClient)
	if !ok {
		return false
	}
	d.slot <- struct{}{}
	defer func() { <-d.slot }()
	if d.client == nil {
		return false
	}
	*p = d.client.WithContext(context.Background())
	return true
}

// SystemPath returns the path of the driver's ComputerSystem.
func (d *Driver) SystemPath() string { return d.sysPath }

// Close logs out of the session (when there is one) and releases idle
// connections. Later calls fail with ErrClosed; Close again does nothing.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.slot <- struct{}{}
	defer func() { <-d.slot }()
	if d.client != nil && d.session != "" && d.session[0] == '/' {
		ctx, cancel := context.WithTimeout(context.Background(), min(d.o.timeout, 5*time.Second))
		if err := schemas.DeleteSession(d.client.WithContext(ctx), d.session); err != nil {
			d.log.Debug("logging out", "err", statusError(err))
		} else {
			d.log.Debug("logged out")
		}
		cancel()
	}
	d.client = nil
	d.hc.CloseIdleConnections()
	return nil
}
