package heat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
)

// maxMetadataBytes bounds the metadata document read from Heat.
const maxMetadataBytes = 64 << 20

// CollectorOptions configure a [Collector]; nil or zero fields mean
// defaults.
type CollectorOptions struct {
	// DeploymentKeys are exploded (nil: refresh.DefaultDeploymentKeys).
	DeploymentKeys []string
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
}

// Collector is os-collect-config's "heat" collector: it reads one
// resource's metadata (the server's: its deployments and the
// os-collect-config settings) from Heat's API and explodes it into
// deployments, as refresh's collectors do. It implements
// refresh.Collector (conformance: refresh/collectortest).
type Collector struct {
	c        *gophercloud.ServiceClient
	stack    string
	resource string
	opts     CollectorOptions
}

// NewCollector returns a collector reading the metadata of resource in
// stack ("name/id", as Heat's os-collect-config settings give stack_id)
// through c. A nil client or empty names make Collect report
// refresh.ErrNotConfigured.
func NewCollector(c *gophercloud.ServiceClient, stack, resource string, opts *CollectorOptions) *Collector {
	h := &Collector{c: c, stack: stack, resource: resource}
	if opts != nil {
		h.opts = *opts
	}
	if h.opts.Logger == nil {
		h.opts.Logger = slog.New(slog.DiscardHandler)
	}
	h.opts.DeploymentKeys = slices.Clone(h.opts.DeploymentKeys)
	return h
}

// Settings are the os-collect-config "heat" settings Heat writes into a
// server's metadata (os-collect-config.heat): where and as whom to poll.
type Settings struct {
	AuthURL      string // auth_url: Keystone
	UserID       string // user_id: the stack user
	Password     string // password: the stack user's
	ProjectID    string // project_id
	StackID      string // stack_id: "name/id"
	ResourceName string // resource_name: the server resource
	RegionName   string // region_name, "" for any
}

// LogValue hides the password.
func (s Settings) LogValue() slog.Value {
	return slog.GroupValue(slog.String("auth_url", s.AuthURL), slog.String("user_id", s.UserID), slog.String("stack_id", s.StackID), slog.String("resource_name", s.ResourceName))
}

// Format prints the settings as LogValue does, for every verb.
func (s Settings) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "heat.Settings{auth_url=%s user_id=%s password=[REDACTED] stack_id=%s resource_name=%s}", s.AuthURL, s.UserID, s.StackID, s.ResourceName)
}

// SettingsFrom reads the "heat" settings out of a metadata document's
// os-collect-config key; ok is false when they are absent or incomplete.
func SettingsFrom(md *config.Object) (s Settings, ok bool) {
	occ, _ := md.Get("os-collect-config")
	o, _ := occ.(*config.Object)
	hv, _ := o.Get("heat")
	h, _ := hv.(*config.Object)
	str := func(k string) string {
		v, _ := h.Get(k)
		if v == nil {
			return ""
		}
		return config.PyStr(v)
	}
	s = Settings{AuthURL: str("auth_url"), UserID: str("user_id"), Password: str("password"), ProjectID: str("project_id"), StackID: str("stack_id"), ResourceName: str("resource_name"), RegionName: str("region_name")}
	return s, s.AuthURL != "" && s.UserID != "" && s.Password != "" && s.ProjectID != "" && s.StackID != "" && s.ResourceName != ""
}

// NewCollectorFromSettings authenticates as the stack user against
// Keystone, as os-collect-config's heat collector does, and returns a
// collector for the settings' stack and resource.
func NewCollectorFromSettings(ctx context.Context, s Settings, opts *CollectorOptions) (*Collector, error) {
	c, err := KeystoneClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: s.AuthURL, UserID: s.UserID, Password: s.Password, TenantID: s.ProjectID}, gophercloud.EndpointOpts{Region: s.RegionName})
	if err != nil {
		return nil, &refresh.SourceError{Collector: "heat", Err: errors.New(scrub(err.Error(), s.Password))}
	}
	return NewCollector(c, s.StackID, s.ResourceName, opts), nil
}

// Name returns "heat".
func (h *Collector) Name() string { return "heat" }

// Collect reads the resource's metadata. Any failure (transport, HTTP
// status, a body that is not {"metadata": {...}}) matches
// refresh.ErrUnavailable.
func (h *Collector) Collect(ctx context.Context) ([]refresh.Output, error) {
	if h.c == nil || h.stack == "" || h.resource == "" {
		h.opts.Logger.Info("No heat stack or resource configured.")
		return nil, &refresh.SourceError{Collector: "heat", Err: refresh.ErrNotConfigured}
	}
	url := resourceURL(h.c, h.stack, h.resource, "metadata")
	resp, err := h.c.Request(ctx, http.MethodGet, url, &gophercloud.RequestOpts{KeepResponseBody: true, OkCodes: []int{200}, MoreHeaders: map[string]string{"Accept": "application/json"}})
	if err != nil {
		return nil, h.fail(fmt.Errorf("GET %s: %w", url, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return nil, h.fail(fmt.Errorf("GET %s: reading body: %w", url, err))
	}
	if len(body) > maxMetadataBytes {
		return nil, h.fail(fmt.Errorf("GET %s: metadata larger than %d bytes", url, maxMetadataBytes))
	}
	v, err := config.DecodeJSON(body)
	if err != nil {
		return nil, h.fail(fmt.Errorf("GET %s: %w", url, err))
	}
	doc, _ := v.(*config.Object)
	md, _ := doc.Get("metadata")
	if _, ok := md.(*config.Object); !ok {
		return nil, h.fail(fmt.Errorf("GET %s: no metadata object in the answer", url))
	}
	return refresh.Explode("heat", md, h.opts.DeploymentKeys, h.opts.Logger), nil
}

func (h *Collector) fail(err error) error {
	h.opts.Logger.Warn(err.Error())
	return &refresh.SourceError{Collector: "heat", Err: err}
}
