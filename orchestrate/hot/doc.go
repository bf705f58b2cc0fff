// Package hot reads Heat Orchestration Templates (HOT) and Heat
// environments, the template language of OpenStack Heat that TripleO's
// templates are written in.
//
// Parse decodes a template (JSON, or YAML in Heat's YAML 1.1 dialect: yes
// and no are booleans, y and n and dates stay strings) and validates it
// against its heat_template_version (2013-05-23 to 2021-04-16, or a release
// name such as "queens"): a function newer than the declared version is an
// error, as are unknown sections and keys, references to undeclared
// parameters, resources or conditions, and dependency cycles, which are
// all reported with their paths (*CycleError). Errors are *Error values
// naming the file, line and path (resources.NAME.properties.PROP).
//
// ParseEnvironment and Merge read environments (parameters,
// parameter_defaults, resource_registry with globs and per-resource
// scoping); Registry.Resolve maps a resource type through them.
//
// Instantiate binds parameter values to a template: it converts and checks
// them against their constraints, evaluates the conditions, drops disabled
// resources, and resolves every function that needs no resource (get_param,
// if, get_file, str_replace of parameters...). What needs a resource
// (get_resource, get_attr) stays as a call, evaluated later by Eval with a
// Resolver that knows the created resources. custom_constraint entries
// are left to the engine, which knows the checkers and has a context:
// Stack.CheckCustom runs them through a CustomConstraints lookup and, as
// Heat does, fails a constraint that has no checker ("constraint not
// found").
package hot
