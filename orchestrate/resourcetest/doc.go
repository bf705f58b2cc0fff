// Package resourcetest is the conformance suite for orchestrate resource
// plug-ins (orchestrate.ResourceType). A plug-in's author calls Run from a
// test with a working instance and valid properties; the built-in types
// and the simulated server run it too. It checks that Create is
// idempotent on the engine's key, that Check finds what Create made (and
// reports orchestrate.ErrNotFound otherwise), that Delete is idempotent,
// that an in-place Update keeps the physical id, that concurrent calls
// on different keys are safe, and, for a plug-in that is an
// orchestrate.Snapshotter, that Snapshot is idempotent and may follow
// Delete (the capability case skips otherwise).
package resourcetest
