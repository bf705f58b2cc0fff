package heat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tripleo-go/tripleo/refresh"
)

// SignalerOptions configure a [Signaler]; nil or zero fields mean
// defaults.
type SignalerOptions struct {
	// Client, when set, sends every signal (a Heat without Keystone, or a
	// client the caller authenticated); otherwise each deployment's own
	// deploy_auth_url, deploy_user_id, deploy_password and
	// deploy_project_id authenticate against Keystone, as
	// heat-config-notify does.
	Client *gophercloud.ServiceClient
	// Logger receives a line per signal; nil discards. Deployment inputs
	// (which hold the password) are never logged.
	Logger *slog.Logger
}

// Signaler is the refresh.Signaler of Heat's HEAT_SIGNAL transport: the
// deployment's result goes to POST
// /stacks/{deploy_stack_id}/resources/{deploy_resource_name}/signal, which
// completes (or, with a non-zero deploy_status_code, fails) the
// SoftwareDeployment. Deployments with another transport get
// refresh.ErrNoTransport, so it chains with refresh.HTTPSignaler.
type Signaler struct {
	opts SignalerOptions
}

// NewSignaler returns a Heat resource signaler.
func NewSignaler(opts *SignalerOptions) *Signaler {
	s := &Signaler{}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Signal sends sig for d.
func (s *Signaler) Signal(ctx context.Context, d refresh.Deployment, sig refresh.Signal) error {
	if t, _ := d.Input("deploy_signal_transport"); t != "HEAT_SIGNAL" {
		return refresh.ErrNoTransport
	}
	who := d.ID
	if who == "" {
		who = d.Name
	}
	stack, _ := d.Input("deploy_stack_id")
	resource, _ := d.Input("deploy_resource_name")
	if stack == "" || resource == "" {
		return &refresh.SignalError{Deployment: who, Err: fmt.Errorf("%w: HEAT_SIGNAL without deploy_stack_id or deploy_resource_name", refresh.ErrNoTransport)}
	}
	password, _ := d.Input("deploy_password")
	c := s.opts.Client
	if c == nil {
		authURL, _ := d.Input("deploy_auth_url")
		user, _ := d.Input("deploy_user_id")
		project, _ := d.Input("deploy_project_id")
		region, _ := d.Input("deploy_region_name")
		var err error
		c, err = KeystoneClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: authURL, UserID: user, Password: password, TenantID: project}, gophercloud.EndpointOpts{Region: region})
		if err != nil {
			return &refresh.SignalError{Deployment: who, URL: authURL, Err: errors.New(scrub(err.Error(), password))}
		}
	}
	url := resourceURL(c, stack, resource, "signal")
	s.opts.Logger.Debug("Signaling to "+url+" via POST", "deployment", who)
	resp, err := c.Request(ctx, http.MethodPost, url, &gophercloud.RequestOpts{
		RawBody: strings.NewReader(string(sig.Body(0))), OkCodes: []int{200},
		MoreHeaders: map[string]string{"Content-Type": "application/json"},
	})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if err != nil {
		var code gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &code) {
			status = code.Actual
			err = fmt.Errorf("HTTP %d: %s", code.Actual, heatMessage(code.Body))
		}
		return &refresh.SignalError{Deployment: who, URL: url, Status: status, Err: errors.New(scrub(err.Error(), password))}
	}
	s.opts.Logger.Info(fmt.Sprintf("Signaled deployment %s: %d", who, status), "deployment", who)
	return nil
}

// heatMessage extracts the message of a Heat error body.
func heatMessage(body []byte) string {
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return strings.TrimSpace(string(body))
}

// scrub removes secret from s.
func scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}
