package heat

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// NoAuthClient returns a client for a Heat whose API runs the noauth
// paste pipeline (no Keystone), at endpoint, the URL up to and including
// the tenant: http://127.0.0.1:8004/v1/admin.
func NoAuthClient(endpoint string) (*gophercloud.ServiceClient, error) {
	if endpoint == "" {
		return nil, fmt.Errorf("heat: empty endpoint")
	}
	return &gophercloud.ServiceClient{
		ProviderClient: &gophercloud.ProviderClient{},
		Endpoint:       gophercloud.NormalizeURL(endpoint),
		Type:           "orchestration",
	}, nil
}

// KeystoneClient authenticates against Keystone with auth and finds Heat
// ("orchestration") in the service catalogue through eo.
func KeystoneClient(ctx context.Context, auth gophercloud.AuthOptions, eo gophercloud.EndpointOpts) (*gophercloud.ServiceClient, error) {
	pc, err := openstack.AuthenticatedClient(ctx, auth)
	if err != nil {
		return nil, fmt.Errorf("heat: keystone: %w", err)
	}
	c, err := openstack.NewOrchestrationV1(pc, eo)
	if err != nil {
		return nil, fmt.Errorf("heat: %w", err)
	}
	return c, nil
}

// resourceURL is stacks/{stack}/resources/{resource}[/{sub}], stack being
// Heat's "name/id" identifier (each part path-escaped on its own).
func resourceURL(c *gophercloud.ServiceClient, stack, resource string, sub ...string) string {
	parts := []string{"stacks"}
	parts = append(parts, strings.Split(stack, "/")...)
	parts = append(parts, "resources", resource)
	parts = append(parts, sub...)
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return c.ServiceURL(parts...)
}
