// Package orchestrate is an embedded, Heat-compatible stack engine: it
// deploys a HOT template (package hot) as a graph of resources, updates it
// by diffing, deletes it, and survives crashes.
//
// An Engine owns one stack whose state lives in one file, a write-ahead
// journal (see store.go): the intent to call a resource plug-in is fsynced
// before the call and its outcome after it, so a process killed at any
// point resumes on the next Open, adopting what was created (Check) and
// creating the rest, each resource exactly once per idempotency key. A
// lease (a lock file beside the state) refuses a second engine, naming the
// holder.
//
// Resources are plug-ins (ResourceType) registered in Types by type name;
// the built-ins are OS::Heat::None, Value, RandomString, TestResource and
// ResourceGroup (expanded into members of the same graph, with Heat's
// batch_create arithmetic, removal_policies and attribute forms), and
// SimCloud provides a simulated server type for tests and examples. The
// resourcetest package is the conformance suite for plug-in authors.
//
// The walk starts each resource as soon as its dependencies complete, with
// bounded parallelism and no polling; after a failure it finishes what is
// in flight and starts nothing new. Stack and resource states and events
// use Heat's ACTION_STATUS vocabulary.
package orchestrate
