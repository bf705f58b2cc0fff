// Command apply-config shows package config doing what os-apply-config
// does on every TripleO node: it renders a node's metadata into
// configuration files through a tree of templates, then, when the metadata
// changes, applies again and reports only the files that changed (what
// refresh uses to restart only the services concerned).
//
// It needs nothing installed but Go:
//
//	go run ./examples/apply-config
//
// The templates (built in, under templates/) are written to a temporary
// directory, rendered into another one (the node's "/"), and both are
// removed at the end.
package main
