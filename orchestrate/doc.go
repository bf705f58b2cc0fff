// Package orchestrate is an embedded, Heat-compatible stack engine: it
// deploys a HOT template (package hot) as one flat graph of resources,
// updates it by diffing, rolls back, deletes it, and survives crashes.
//
// # State and crashes
//
// The embedded engine (Embedded, from Open) owns one stack whose state lives in one file, a write-ahead
// journal (see store.go): the intent to call a resource plug-in is fsynced
// before the call and its outcome after it (concurrent calls share an
// fsync). A process killed at any point resumes on the next Open, which
// calls the plug-in's Check for every resource whose call may or may not
// have happened and adopts what exists, so each resource is created
// exactly once per idempotency key (Request.Key). A lease (a lock file
// beside the state) refuses a second engine, naming the holder; a second
// operation in the same engine gets ErrLocked.
//
// # Events
//
// Every stack and resource event goes to Options.Events as it happens and
// to an append-only history file beside the state (STATE.events, written
// but not fsynced per event, so it survives the process and a reopen).
// Events lists it with Heat's filters (resource, marker, limit); event IDs
// are decimal numbers that keep increasing across reopens. The history is
// bounded like Heat's max_events_per_stack: the newest Options.MaxEvents
// (default 1000) are kept, and the file is rewritten once it holds twice
// as many. A new stack in the same state file starts an empty history.
//
// # Resources
//
// Resources are plug-ins (ResourceType) registered in Types by type name;
// the resourcetest package is their conformance suite. Built in:
// OS::Heat::None, Value, RandomString, TestResource, SoftwareConfig,
// StructuredConfig, MultipartMime, DeployedServer, WaitConditionHandle, and
// SimCloud's Sim::Server for tests. The engine itself expands
// OS::Heat::ResourceGroup (count, index_var, removal_policies with names
// never reused, batch_create and rolling_update with Heat's batch
// arithmetic, Batches), ResourceChain, SoftwareDeploymentGroup and
// StructuredDeploymentGroup into members of the same graph, and flattens
// template resources (a type mapped to a template file) into it too.
//
// # Custom constraints
//
// A parameter's custom_constraint is checked before an operation is
// recorded (and by Plan, and for nested stacks), with the checker
// registered in Types under its name (Types.RegisterConstraint: a
// ConstraintFunc given the context and the value, a comma_delimited_list
// item by item). NewTypes ships Heat's constraints that need no cloud:
// ip_addr, net_cidr, mac_addr, iso_8601, expiration, timezone,
// cron_expression, dns_name, dns_domain, rel_dns_name and test_constr.
// A constraint with no registered checker (nova.flavor, glance.image...
// unless a program registers them) fails validation, as in Heat when the
// plug-in is missing: `parameters.NAME: invalid: "VALUE" does not validate
// nova.flavor (constraint not found)`.
//
// # Operations
//
// Plan shows create, update, replace, delete or no-op per resource and
// Apply refuses a plan whose state has changed. Like Heat's preview-update
// with show_nested, it descends into template resources (nested stacks)
// and group members: each keeps its own line and the nested resources
// follow under their flat names ("role/server", "group/0/server"); a
// resource whose properties depend on resources that change is listed as
// update, without its nested resources; a new one still lists its nested
// resources as created (its group members only when the count is known). The walk starts each
// resource as soon as its dependencies complete, with bounded parallelism
// and no polling; after a failure it finishes what is in flight and starts
// nothing new, then (unless Options.DisableRollback) rolls back to the last
// template that completed. A changed update_allowed property updates in
// place; any other change replaces, creating before deleting unless the
// type's Schema says DeleteFirst. Stack and resource states and Events use
// Heat's ACTION_STATUS vocabulary.
//
// Embedded is a StackActioner: CheckStack runs Heat's CHECK action (each
// resource's plug-in Check, dependencies first, CHECK_COMPLETE or
// CHECK_FAILED per resource and for the stack), and CancelUpdate cancels
// an update running in the same engine and rolls it back (Heat's
// cancel_update: "Operation cancelled", then ROLLBACK_COMPLETE), or
// returns ErrNoUpdate.
//
// Embedded is a ResourceMarker: MarkUnhealthy is Heat's `openstack stack
// resource mark unhealthy`. The resource (and, for a group or a template
// resource, everything under it) goes CHECK_FAILED with the reason, in the
// journal and with a CHECK_FAILED event, the stack's state unchanged; the
// next update, even with the same input, replaces it and nothing else.
//
// Update (and Plan on an existing stack) with an Input that names no
// template is Heat's PATCH update (`openstack stack update --existing`):
// the deployed template, environments and files are kept, the Input's
// environments are merged after them, its files added and its parameters
// merged into the deployed ones (Patched). Its ClearParams drop deployed
// parameters back to their defaults first (Heat's clear_parameters,
// `--clear-parameter`); an Input with a template and ClearParams is
// ErrInvalid.
//
// # Software deployments and signals
//
// A SoftwareDeployment puts its derived config in its server's metadata
// document ("deployments" plus "os-collect-config", Heat's shape), which
// Options.Metadata publishes at /{server token} (refresh.MetadataServer
// fits), and stays IN_PROGRESS until the node agent signals
// {Options.SignalURL}/{deployment token}, served by SignalHandler. Wait
// condition handles are signalled the same way, or with Embedded.Signal.
// A deployment whose actions include DELETE is run once more when it is
// deleted (deploy_action DELETE in the server's metadata) and is gone only
// after its signal, as in Heat; without DELETE it just leaves the
// metadata.
//
// # Registry hooks
//
// An environment's resource_registry may set hooks on resources
// (`resources: {server: {hooks: [pre-create, pre-update]}}`; a nested
// stack's resources under their parent's name, as in Heat: `group: {"*":
// {deploy: {hooks: pre-update}}}`). Before it is created, updated (or
// replaced) or deleted, and after, such a resource pauses with Heat's
// event "CREATE paused until Hook pre-create is cleared" until
// Embedded.ClearHook, or Signal with {"unset_hook": "pre-create"}, clears
// it ("Hook pre-create is cleared"); PausedAt lists the paused resources.
// All six hooks apply to the resources of plug-in types and to software
// deployments; groups, chains, template resources and deployment groups
// pause at pre-create and pre-update (before their members), and wait
// conditions pass through. A pending hook is durable: an operation
// resumed after a crash waits for it again.
//
// # Deletion policies
//
// deletion_policy Retain forgets the resource without deleting it.
// Snapshot calls the plug-in's Snapshot (the optional Snapshotter
// interface) before Delete; as in Heat, a template that names Snapshot on
// a type whose plug-in cannot snapshot (and on groups, template resources
// and the other types the engine runs itself) fails validation with
// `"Snapshot" deletion policy not supported`. SimCloud's servers snapshot.
package orchestrate
