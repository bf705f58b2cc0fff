package orchestrate

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// Sentinel errors callers branch on.
var (
	// ErrNotFound: no such stack, resource, type or output; a plug-in's
	// Check returns it when nothing exists for the key.
	ErrNotFound = errors.New("not found")
	// ErrLocked: another operation holds the stack's lease.
	ErrLocked = errors.New("stack is locked")
	// ErrStalePlan: the state changed since the plan was made.
	ErrStalePlan = errors.New("plan is stale: the stack changed since it was planned")
	// ErrExists: Create on a stack that already exists.
	ErrExists = errors.New("stack already exists")
	// ErrReplace is returned by a plug-in's Update when the change needs a
	// new resource (Heat's UpdateReplace).
	ErrReplace = errors.New("update requires replacement")
	// ErrInvalid: properties do not match the type's schema.
	ErrInvalid = errors.New("invalid")
	// ErrFailed: the stack operation failed (see the stack's reason).
	ErrFailed = errors.New("stack operation failed")
)

// Request is what the engine passes to a plug-in for one resource.
type Request struct {
	// Key identifies this physical resource across retries, crashes and
	// resumes: a plug-in makes Create idempotent on it (a second Create
	// with the same key returns the same resource) and finds the resource
	// by it in Check.
	Key        string
	Stack      string // stack name
	StackID    string
	Name       string // the resource's path in the flat graph ("web", "group/0")
	Type       string // the plug-in type name
	Properties map[string]any
	Metadata   any
	// Prior is the recorded state (Update, Delete, Check); nil on Create.
	Prior *State
	// PriorProperties are the properties of the recorded state (Update).
	PriorProperties map[string]any
	// SignalURL is where signals reach this engine (Options.SignalURL),
	// for types that hand out signal endpoints; "" when not served.
	SignalURL string
}

// State is what a plug-in returns about a resource; the engine stores it
// durably and hands it back in Request.Prior.
type State struct {
	PhysicalID string         `json:"physical_id,omitempty"`
	RefID      any            `json:"ref_id,omitempty"` // get_resource value; PhysicalID when nil
	Attributes map[string]any `json:"attributes,omitempty"`
	Data       map[string]any `json:"data,omitempty"` // plug-in private
}

// ResourceType is a resource plug-in. Every method must honour ctx and be
// safe for concurrent use on different keys.
type ResourceType interface {
	// Schema describes the properties and attributes.
	Schema() *Schema
	// Create makes the resource; idempotent on req.Key.
	Create(ctx context.Context, req *Request) (*State, error)
	// Update changes the resource in place to req.Properties, or returns
	// ErrReplace when it cannot.
	Update(ctx context.Context, req *Request) (*State, error)
	// Delete removes the resource; deleting what is gone succeeds.
	Delete(ctx context.Context, req *Request) error
	// Check returns the resource for req.Key, or ErrNotFound. The engine
	// calls it after a crash to adopt what was created.
	Check(ctx context.Context, req *Request) (*State, error)
}

// Snapshotter is implemented by plug-ins that support the Snapshot
// deletion policy (Heat's handle_snapshot_delete: a server kept as an
// image, a volume as a backup). When a resource whose deletion_policy is
// Snapshot is deleted (with its stack, by a scale-in or after a
// replacement), the engine calls Snapshot and then Delete. Snapshot must
// be idempotent on req.Key: after a crash between the two calls it is
// called again. A template naming the Snapshot policy on a type whose
// plug-in is no Snapshotter fails validation, as in Heat:
// `"Snapshot" deletion policy not supported`.
type Snapshotter interface {
	// Snapshot keeps a copy of the resource req.Key names (req.Prior
	// holds its state); a resource that is gone is not an error.
	Snapshot(ctx context.Context, req *Request) error
}

// Schema describes a type's properties and attributes.
type Schema struct {
	Properties map[string]*Property
	Attributes map[string]string // name → description
	// AnyProperties accepts properties that are not declared.
	AnyProperties bool
	// DeleteFirst replaces by deleting the old resource before creating
	// the new one (bare metal that cannot be double-booked).
	DeleteFirst bool
}

// PropertyType is the type of a property.
type PropertyType string

// Property types.
const (
	TypeString  PropertyType = "string"
	TypeInteger PropertyType = "integer"
	TypeNumber  PropertyType = "number"
	TypeBoolean PropertyType = "boolean"
	TypeList    PropertyType = "list"
	TypeMap     PropertyType = "map"
	TypeAny     PropertyType = "any"
)

// Property is one property's schema.
type Property struct {
	Type          PropertyType
	Description   string
	Required      bool
	Default       any
	UpdateAllowed bool // a change updates in place; otherwise it replaces
	Immutable     bool // a change is an error
	AllowedValues []any
	Min, Max      *float64 // number range, or string/list length
}

// Validate applies defaults and checks props against the schema.
func (s *Schema) Validate(props map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(props))
	var unknown []string
	for k, v := range props {
		if s.Properties[k] == nil && !s.AnyProperties {
			unknown = append(unknown, k)
			continue
		}
		out[k] = v
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%w: unknown property %s", ErrInvalid, strings.Join(unknown, ", "))
	}
	names := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p := s.Properties[k]
		v, ok := out[k]
		if !ok || v == nil {
			if p.Default != nil {
				out[k] = hot.Clone(p.Default)
				continue
			}
			if p.Required {
				return nil, fmt.Errorf("%w: property %s is required", ErrInvalid, k)
			}
			continue
		}
		cv, err := p.check(v)
		if err != nil {
			return nil, fmt.Errorf("%w: property %s: %v", ErrInvalid, k, err)
		}
		out[k] = cv
	}
	return out, nil
}

func (p *Property) check(v any) (any, error) {
	switch p.Type {
	case TypeString:
		switch x := v.(type) {
		case string:
		case int64, float64, bool:
			v = hot.PyStr(x)
		default:
			return nil, fmt.Errorf("value must be a string, got %T", v)
		}
	case TypeInteger, TypeNumber:
		switch x := v.(type) {
		case int64:
		case float64:
			if p.Type == TypeInteger {
				if x != float64(int64(x)) {
					return nil, fmt.Errorf("value %v is not an integer", x)
				}
				v = int64(x)
			}
		case string:
			var n int64
			if _, err := fmt.Sscan(x, &n); err == nil && fmt.Sprint(n) == strings.TrimSpace(x) {
				v = n
			} else {
				var f float64
				if _, err := fmt.Sscan(x, &f); err != nil || p.Type == TypeInteger {
					return nil, fmt.Errorf("value %q is not a number", x)
				}
				v = f
			}
		default:
			return nil, fmt.Errorf("value must be a number, got %T", v)
		}
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
		case string:
			switch strings.ToLower(x) {
			case "true", "yes", "on", "1", "t", "y":
				v = true
			case "false", "no", "off", "0", "f", "n":
				v = false
			default:
				return nil, fmt.Errorf("value %q is not a boolean", x)
			}
		default:
			return nil, fmt.Errorf("value must be a boolean, got %T", v)
		}
	case TypeList:
		if s, ok := v.(string); ok {
			parts := []any{}
			if s != "" {
				for _, e := range strings.Split(s, ",") {
					parts = append(parts, e)
				}
			}
			v = parts
		}
		if _, ok := v.([]any); !ok {
			return nil, fmt.Errorf("value must be a list, got %T", v)
		}
	case TypeMap:
		if _, ok := v.(map[string]any); !ok {
			return nil, fmt.Errorf("value must be a map, got %T", v)
		}
	}
	if len(p.AllowedValues) > 0 {
		found := false
		for _, a := range p.AllowedValues {
			if hot.Equal(a, v) {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("%s is not an allowed value", hot.PyStr(v))
		}
	}
	if p.Min != nil || p.Max != nil {
		var n float64
		switch x := v.(type) {
		case int64:
			n = float64(x)
		case float64:
			n = x
		case string:
			n = float64(len([]rune(x)))
		case []any:
			n = float64(len(x))
		}
		if p.Min != nil && n < *p.Min || p.Max != nil && n > *p.Max {
			return nil, fmt.Errorf("%s is out of range", hot.PyStr(v))
		}
	}
	return v, nil
}

// Types is a registry of resource plug-ins by type name, and of the
// checkers of parameters' custom_constraint entries by constraint name.
type Types struct {
	mu          sync.RWMutex
	m           map[string]ResourceType
	constraints map[string]ConstraintFunc
}

// NewTypes returns a registry holding the built-in types and the built-in
// constraints (those of Heat's that need no cloud: ip_addr, net_cidr,
// mac_addr, iso_8601, expiration, timezone, cron_expression, dns_name,
// dns_domain, rel_dns_name, test_constr).
func NewTypes() *Types {
	t := &Types{m: map[string]ResourceType{}}
	registerBuiltins(t)
	registerConstraints(t)
	return t
}

// Register adds or replaces a type.
func (t *Types) Register(name string, rt ResourceType) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[name] = rt
}

// Lookup returns the plug-in for name.
func (t *Types) Lookup(name string) (ResourceType, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if rt, ok := t.m[name]; ok {
		return rt, nil
	}
	return nil, fmt.Errorf("%w: resource type %q (registered: %s)", ErrNotFound, name, strings.Join(t.namesLocked(), ", "))
}

// Names returns the registered type names, sorted.
func (t *Types) Names() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.namesLocked()
}

func (t *Types) namesLocked() []string {
	out := make([]string, 0, len(t.m))
	for k := range t.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ptr(f float64) *float64 { return &f }
