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
// # Engine: orchestrate.Engine on Heat's API
//
// [Open] returns an [Engine], an orchestrate.Engine,
// orchestrate.StackActioner and orchestrate.ResourceMarker bound to one stack on Heat, so code written
// against orchestrate.Engine moves from the embedded engine to a real Heat
// by changing how the value is made. Each call maps onto Heat's v1 API
// (raw requests through the gophercloud client: gophercloud's stacks
// package re-marshals templates through YAML 1.1, which breaks parameters
// named n or y):
//
//   - Create: POST /stacks; Update: PUT /stacks/{name}/{id}, or PATCH (Heat's
//     --existing) when the input has no template, its ClearParams sent as
//     clear_parameters; Delete: DELETE. Each waits
//     with the driver's own poller (EngineOptions.PollInterval) until the
//     stack settles, stops at once on *_FAILED (except the CREATE_FAILED
//     that Heat stores just before it rolls a create back) and reports
//     stack_status_reason, or the first failed resource's reason for a
//     rolled-back stack, in an error matching orchestrate.ErrFailed. The
//     template and each environment are sent as JSON documents decoded by
//     orchestrate/hot, environments as environment_files, files as they are.
//     disable_rollback is sent explicitly (EngineOptions.DisableRollback,
//     default false as in the embedded engine, where Heat's API defaults to
//     true).
//   - Plan: POST /stacks/preview (create) or PUT/PATCH
//     …/preview?show_nested=true (update), mapped to orchestrate.Change;
//     Apply re-reads the stack (status, updated_time, last stack event) and
//     refuses a plan made against another state with orchestrate.ErrStalePlan.
//   - Rollback: Heat has no rollback call outside a failing update, so the
//     driver updates the stack to the template, environment and files it
//     read back from Heat after the last operation that completed (or reads
//     them at the first Rollback of a COMPLETE stack); after a failed create
//     it updates to an empty template. A stack found UPDATE_FAILED by an
//     engine that saw nothing complete is refused (errors.ErrUnsupported):
//     Heat does not expose the template before the failed update. Heat
//     records the rollback as an UPDATE.
//   - Show: the stack and GET …/resources?nested_depth=N; Events: GET
//     …/events?nested_depth=N sorted by creation, marker and limit paged,
//     filtered by resource on our side. Resources of nested stacks (group
//     members, template resources) get the embedded engine's flattened
//     paths ("group/0"); a nested stack's own events are left out.
//   - Outputs: the stack's outputs (null for a false condition; an
//     output_error becomes an error naming the output).
//   - Signal: POST …/resources/{r}/signal (a nested resource is found by its
//     path); CheckStack and CancelUpdate: POST …/actions {check} and
//     {cancel_update}, then wait.
//   - MarkUnhealthy: PATCH …/resources/{r} with {"mark_unhealthy": true,
//     "resource_status_reason": …} (`openstack stack resource mark
//     unhealthy`; a nested resource is marked in its nested stack, found
//     by its path as for Signal); the next update replaces it.
//
// Heat's refusals are [*Error] values (status, Heat's error type and
// message) matching orchestrate's sentinels: ErrNotFound (404), ErrExists
// (StackExists), ErrLocked (other 409s), ErrInvalid (400), ErrSignal
// for a refused signal, and ErrNoUpdate for a cancel_update refused
// because no update runs. Where Heat itself differs from the embedded
// engine, orchestrate/enginetest's Quirks say so: a rollback is recorded
// as an UPDATE, and the resource a replacement supersedes is deleted in
// Heat's backup stack, out of the stack's events.
//
// The client's token and the values of hidden parameters never appear in
// a log line or an error: they are scrubbed from Heat's messages (Heat's
// validation quotes parameter values).
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
// Collector, run orchestrate/enginetest on the Engine, and check that no
// secret leaks from failing calls.
package heat
