// Package enginetest is the conformance suite of orchestrate.Engine: the
// same cases, with the same expected results, run on any engine — the
// embedded one (orchestrate.Open) and drivers/heat on a real OpenStack
// Heat — and on a third party's.
//
// [Run] takes a [Harness]: New makes an engine bound to no stack yet, and
// each case creates its own uniquely named stack, checks it, and deletes
// it. The cases use only resource types Heat ships (OS::Heat::TestResource,
// RandomString, Value, None, ResourceGroup, WaitCondition and its handle,
// SoftwareConfig and SoftwareDeployment on a DeployedServer), so they run
// unchanged on Heat:
//
//   - create with parameters (named n and y, which YAML 1.1 reads as
//     booleans) and outputs, a conditional output being null;
//   - events in Heat's ACTION_STATUS vocabulary and a valid order, with
//     marker, limit and resource filters;
//   - plan and apply, and a stale plan refused;
//   - update in place versus replacement (physical ids kept or changed);
//   - PATCH update (no template: parameters merged into the deployed
//     ones), and one that clears deployed parameters back to their
//     defaults (ClearParams, Heat's clear_parameters);
//   - ResourceGroup scale-out (old members untouched) and scale-in
//     (highest indices removed first);
//   - rolling update (rolling_update max_batch_size on a group; batches
//     in Heat's order, highest index first, checked from the events);
//   - automatic rollback of a failing update (TestResource with fail);
//   - delete, and the errors callers branch on (ErrNotFound, ErrExists);
//   - signals to a wait condition handle and to a software deployment;
//   - Heat's stack actions check and cancel_update (ErrNoUpdate with no
//     update running), when the engine implements
//     orchestrate.StackActioner (skipped otherwise);
//   - marking a group member unhealthy (CHECK_FAILED with the reason, the
//     stack unchanged) and updating with the same input, which replaces
//     that member alone, when the engine implements
//     orchestrate.ResourceMarker (skipped otherwise).
//
// Where an engine legitimately differs from Heat, Harness.Quirks says so
// and the case adapts; a case an engine cannot pass yet (a missing
// feature) is named in Harness.Skip with the reason.
package enginetest
