package ironic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/baremetal/httpbasic"
	"github.com/gophercloud/gophercloud/v2/openstack/baremetal/noauth"

	"github.com/tripleo-go/tripleo/provision"
)

// DefaultMicroversion is the Ironic API microversion requested unless
// Options.Microversion says otherwise: 1.78 (Zed) has everything this
// package uses (node names, inspection, rebuild, boot device, ports by
// node).
const DefaultMicroversion = "1.78"

// Options tune a [Provisioner]. nil or zero fields mean the documented
// defaults.
type Options struct {
	// Logger receives a line per operation and state change; nil discards.
	// No BMC password is ever logged.
	Logger *slog.Logger
	// Microversion is the API microversion sent with every request. Empty
	// means DefaultMicroversion.
	Microversion string
	// PollInterval is the first interval between two reads of a node
	// while waiting for a state; it doubles up to MaxPollInterval. Zero
	// means 250ms.
	PollInterval time.Duration
	// MaxPollInterval caps the interval between reads. Zero means 5s.
	MaxPollInterval time.Duration
	// OperationTimeout bounds one wait for a provision or power state.
	// Zero means 30 minutes.
	OperationTimeout time.Duration
	// HTTPClient sends the requests; nil means a client of its own.
	HTTPClient *http.Client
	// OnTransition, when set, is called with every provision state change
	// the poller observes.
	OnTransition func(node string, from, to provision.ProvisionState)
	// LockRetryTimeout bounds how long a request that Ironic refuses with
	// 409 "node is locked" (its conductor still holds the node for an
	// operation that is finishing, e.g. just after a state change) is
	// retried, backing off from PollInterval; python-ironicclient retries
	// the same answer 5 times, 2 s apart. Zero means 10s; negative means
	// no retry (ErrLocked at once).
	LockRetryTimeout time.Duration
}

var _ provision.Lifecycle = (*Provisioner)(nil)

// Provisioner drives nodes through their lifecycle on a real OpenStack
// Ironic. It implements [provision.Lifecycle] as the embedded
// [provision.Provisioner] does, so a program written against that
// interface moves to Ironic by changing its constructor. It is safe for
// concurrent use; Ironic itself serialises operations on one node (a busy
// node answers 409, returned as provision.ErrLocked).
type Provisioner struct {
	c   *gophercloud.ServiceClient
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	secrets map[string]struct{} // passwords sent to Ironic, scrubbed from errors
	closed  bool
}

// OpenNoAuth connects to an Ironic whose auth_strategy is noauth, at
// endpoint (e.g. http://127.0.0.1:6385/v1), and checks that it answers.
func OpenNoAuth(ctx context.Context, endpoint string, opts *Options) (*Provisioner, error) {
	c, err := noauth.NewBareMetalNoAuth(noauth.EndpointOpts{IronicEndpoint: endpoint})
	if err != nil {
		return nil, fmt.Errorf("ironic: %w", err)
	}
	return open(ctx, c, opts)
}

// OpenHTTPBasic connects to an Ironic whose auth_strategy is http_basic
// with the given user's credentials, and checks that it answers.
func OpenHTTPBasic(ctx context.Context, endpoint string, creds provision.Credentials, opts *Options) (*Provisioner, error) {
	c, err := httpbasic.NewBareMetalHTTPBasic(httpbasic.EndpointOpts{IronicEndpoint: endpoint, IronicUser: creds.Username(), IronicUserPassword: creds.Password()})
	if err != nil {
		return nil, fmt.Errorf("ironic: %w", err)
	}
	p, err := open(ctx, c, opts)
	if p != nil {
		p.addSecret(creds.Password())
	}
	return p, err
}

// OpenKeystone authenticates against Keystone with auth and finds Ironic
// ("baremetal") in the service catalogue through eo, then checks that it
// answers.
func OpenKeystone(ctx context.Context, auth gophercloud.AuthOptions, eo gophercloud.EndpointOpts, opts *Options) (*Provisioner, error) {
	pc, err := openstack.AuthenticatedClient(ctx, auth)
	if err != nil {
		return nil, fmt.Errorf("ironic: keystone: %w", err)
	}
	c, err := openstack.NewBareMetalV1(pc, eo)
	if err != nil {
		return nil, fmt.Errorf("ironic: %w", err)
	}
	return open(ctx, c, opts)
}

// New wraps a service client built by the caller (any authentication
// gophercloud offers). The client's Microversion is set from opts.
func New(c *gophercloud.ServiceClient, opts *Options) *Provisioner {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Microversion == "" {
		o.Microversion = DefaultMicroversion
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.MaxPollInterval <= 0 {
		o.MaxPollInterval = 5 * time.Second
	}
	if o.OperationTimeout <= 0 {
		o.OperationTimeout = 30 * time.Minute
	}
	if o.LockRetryTimeout == 0 {
		o.LockRetryTimeout = 10 * time.Second
	}
	c.Microversion = o.Microversion
	if o.HTTPClient != nil {
		c.HTTPClient = *o.HTTPClient
	}
	return &Provisioner{c: c, o: o, log: o.Logger, secrets: map[string]struct{}{}}
}

func open(ctx context.Context, c *gophercloud.ServiceClient, opts *Options) (*Provisioner, error) {
	p := New(c, opts)
	resp, err := c.Get(ctx, c.ServiceURL("drivers"), nil, &gophercloud.RequestOpts{OkCodes: []int{200}, KeepResponseBody: false})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, p.wrap("open", "", err)
	}
	return p, nil
}

// As reaches the underlying client: target must be a
// **gophercloud.ServiceClient.
func (p *Provisioner) As(target any) bool {
	if t, ok := target.(**gophercloud.ServiceClient); ok {
		*t = p.c
		return true
	}
	return false
}

// Close marks the Provisioner closed; later calls fail with
// provision.ErrClosed. It holds no connection of its own.
func (p *Provisioner) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func (p *Provisioner) check(op, node string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return &provision.OpError{Op: op, Node: node, Err: provision.ErrClosed}
	}
	return nil
}

func (p *Provisioner) addSecret(s string) {
	if s == "" {
		return
	}
	p.mu.Lock()
	p.secrets[s] = struct{}{}
	p.mu.Unlock()
}

// scrub removes every password this Provisioner has sent from s (an Ironic
// error body may echo what it was sent).
func (p *Provisioner) scrub(s string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for sec := range p.secrets {
		s = strings.ReplaceAll(s, sec, provision.Redacted)
	}
	return s
}

// retryLocked runs req, again while Ironic answers that the node is
// locked, backing off from PollInterval up to MaxPollInterval, for at most
// LockRetryTimeout. The last error is returned unwrapped (callers wrap it).
func (p *Provisioner) retryLocked(ctx context.Context, req func() error) error {
	err := req()
	if p.o.LockRetryTimeout < 0 || !isLocked(err) {
		return err
	}
	deadline := time.Now().Add(p.o.LockRetryTimeout)
	interval := p.o.PollInterval
	for isLocked(err) && time.Until(deadline) > 0 {
		t := time.NewTimer(min(interval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		interval = min(interval*2, p.o.MaxPollInterval)
		err = req()
	}
	return err
}

// isLocked tells whether err is Ironic's 409 for a node whose lock another
// operation holds ("Node … is locked by host …, please retry after the
// current operation is completed.").
func isLocked(err error) bool {
	var code gophercloud.ErrUnexpectedResponseCode
	return errors.As(err, &code) && code.Actual == 409 && strings.Contains(string(code.Body), "locked")
}

// isNotLockedOnRelease tells whether err is Ironic's 400 NodeNotLocked
// ("Node … found not to be locked on release"): the conductor did the
// work of the request, then found that its lock on the node had been
// cleared (every task of a conductor locks with the same tag, its host
// name) or read a stale row of its database when releasing it.
func isNotLockedOnRelease(err error) bool {
	var code gophercloud.ErrUnexpectedResponseCode
	return errors.As(err, &code) && code.Actual == http.StatusBadRequest &&
		strings.Contains(string(code.Body), "not to be locked on release")
}

// apiError is an error from the Ironic API, with the passwords scrubbed
// from its text; errors.Is sees the provision sentinel it maps to.
type apiError struct {
	msg      string
	status   int
	sentinel error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.sentinel }

// StatusCode returns the HTTP status Ironic answered, 0 for a transport
// error.
func (e *apiError) StatusCode() int { return e.status }

// wrap turns a gophercloud error into an *provision.OpError whose cause
// classifies with the provision sentinels (404 → ErrNotFound, 409 →
// ErrExists on create or ErrLocked/ErrInvalidTransition otherwise, 401/403
// → ErrAuth, no answer → ErrUnreachable).
func (p *Provisioner) wrap(op, node string, err error) error {
	if err == nil {
		return nil
	}
	var oe *provision.OpError
	if errors.As(err, &oe) {
		return err
	}
	ae := &apiError{msg: p.scrub(err.Error())}
	var code gophercloud.ErrUnexpectedResponseCode
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrTimeout):
		ae.sentinel = err
		ae.msg = err.Error()
	case errors.As(err, &code):
		ae.status = code.Actual
		ae.msg = p.scrub(fmt.Sprintf("%s %s: HTTP %d: %s", code.Method, code.URL, code.Actual, faultString(code.Body)))
		switch {
		case code.Actual == 404:
			ae.sentinel = provision.ErrNotFound
		case code.Actual == 401 || code.Actual == 403:
			ae.sentinel = provision.ErrAuth
		case code.Actual == 409 && op == "enroll":
			ae.sentinel = provision.ErrExists
		case isLocked(err):
			ae.sentinel = provision.ErrLocked
		case code.Actual == 409 || code.Actual == 400 && strings.Contains(string(code.Body), "while it is in state"):
			ae.sentinel = provision.ErrInvalidTransition
		case code.Actual == 400:
			ae.sentinel = provision.ErrInvalidNode
		case code.Actual >= 500:
			ae.sentinel = provision.ErrUnreachable
		}
	default:
		ae.sentinel = provision.ErrUnreachable
	}
	return &provision.OpError{Op: op, Node: node, Err: ae}
}
