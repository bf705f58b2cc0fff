// Package heat connects tripleo to a real OpenStack Heat through
// github.com/gophercloud/gophercloud/v2 (v2.15.0).
//
// # Node side: collecting and signalling
//
// [Collector] is os-collect-config's "heat" collector, a
// refresh.Collector: it reads a server resource's metadata (GET
// /stacks/{name}/{id}/resources/{server}/metadata), where Heat puts the
// server's software deployments and the os-collect-config settings, and
// explodes it into deployments with refresh.Explode. [NewCollector] takes
// a gophercloud client; [NewCollectorFromSettings] authenticates as the
// stack user with the [Settings] Heat writes into the metadata
// (os-collect-config.heat: auth_url, user_id, password, project_id,
// stack_id, resource_name), as the original does with Keystone.
//
// [Signaler] is the refresh.Signaler of the HEAT_SIGNAL transport: POST
// /stacks/{deploy_stack_id}/resources/{deploy_resource_name}/signal with
// heat-config-notify's body (deploy_stdout, deploy_stderr,
// deploy_status_code and the outputs), which completes the
// SoftwareDeployment, or fails it when the status code is not zero.
// gophercloud has no call for resource signals, so it is a raw request
// through the client. Deployments with another transport get
// refresh.ErrNoTransport, so it chains with refresh.HTTPSignaler (the
// signed-URL transports). Without SignalerOptions.Client each deployment's
// own deploy_auth_url, deploy_user_id, deploy_password and
// deploy_project_id authenticate against Keystone.
//
// [NoAuthClient] is the client for a Heat without Keystone (the noauth
// paste pipeline); [KeystoneClient] authenticates and finds the
// orchestration endpoint in the catalogue.
//
// Passwords (Settings.Password, deploy_password) never appear in logs or
// errors: Settings prints them as [REDACTED], and error texts are scrubbed.
//
// # Not yet here
//
// The orchestrate.Engine on Heat's API (create, update, preview, delete,
// events, outputs, stack actions) is the next step, once that interface
// settles.
//
// # Tests
//
// The tests start a standalone Heat (Debian's heat-all: API and legacy
// engine in one process, noauth, in-process messaging, sqlite, on
// 127.0.0.1 and a free port) with .ci/openstack/heat.sh in TestMain, or
// use the one named by TRIPLEO_HEAT_URL; without Heat installed they skip,
// or fail when TRIPLEO_REQUIRE_PEERS=1. They run refresh/collectortest
// against the metadata of a DeployedServer (the metadata set is the
// config of a structured deployment to it), and complete and fail a
// software deployment with our Signaler after reading it through our
// Collector.
package heat
