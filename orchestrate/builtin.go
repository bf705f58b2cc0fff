package orchestrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

// Built-in type names.
const (
	TypeNone          = "OS::Heat::None"
	TypeValue         = "OS::Heat::Value"
	TypeRandomString  = "OS::Heat::RandomString"
	TypeTestResource  = "OS::Heat::TestResource"
	TypeResourceGroup = "OS::Heat::ResourceGroup"
)

func registerBuiltins(t *Types) {
	t.m[TypeNone] = noneType{}
	t.m[TypeValue] = valueType{}
	t.m[TypeRandomString] = randomStringType{}
	t.m[TypeTestResource] = testResourceType{}
	t.m[TypeResourceGroup] = groupType{}
	registerSoftware(t)
}

// keyID derives a stable physical id from an idempotency key.
func keyID(key string) string {
	h := sha256.Sum256([]byte(key))
	b := hex.EncodeToString(h[:16])
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}

// noneType is OS::Heat::None: accepts any properties and does nothing.
type noneType struct{}

func (noneType) Schema() *Schema { return &Schema{AnyProperties: true} }
func (noneType) Create(_ context.Context, r *Request) (*State, error) {
	return &State{PhysicalID: keyID(r.Key)}, nil
}
func (noneType) Update(_ context.Context, r *Request) (*State, error) { return r.Prior, nil }
func (noneType) Delete(context.Context, *Request) error               { return nil }
func (noneType) Check(_ context.Context, r *Request) (*State, error) {
	return &State{PhysicalID: keyID(r.Key)}, nil
}

// valueType is OS::Heat::Value: exposes its value property as attribute
// "value", converted to its type property.
type valueType struct{}

func (valueType) Schema() *Schema {
	return &Schema{
		Properties: map[string]*Property{
			"value": {Type: TypeAny, Required: true, UpdateAllowed: true},
			"type": {Type: TypeString, UpdateAllowed: true, AllowedValues: []any{
				"string", "number", "comma_delimited_list", "json", "boolean"}},
		},
		Attributes: map[string]string{"value": "the value"},
	}
}

func (v valueType) state(r *Request) (*State, error) {
	val := r.Properties["value"]
	if t, ok := r.Properties["type"].(string); ok {
		p := &hot.Parameter{Name: "value", Type: hot.ParamType(t)}
		cv, err := p.Convert(val)
		if err != nil {
			return nil, fmt.Errorf("%w: value: %v", ErrInvalid, err)
		}
		val = cv
	}
	return &State{PhysicalID: keyID(r.Key), Attributes: map[string]any{"value": val}}, nil
}
func (v valueType) Create(_ context.Context, r *Request) (*State, error) { return v.state(r) }
func (v valueType) Update(_ context.Context, r *Request) (*State, error) { return v.state(r) }
func (valueType) Delete(context.Context, *Request) error                 { return nil }
func (v valueType) Check(_ context.Context, r *Request) (*State, error)  { return v.state(r) }

// randomStringType is OS::Heat::RandomString. The string is derived from
// the idempotency key, so Create and Check agree after a crash.
type randomStringType struct{}

var charClasses = map[string]string{
	"lettersdigits": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"letters":       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"lowercase":     "abcdefghijklmnopqrstuvwxyz",
	"uppercase":     "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
	"digits":        "0123456789",
	"hexdigits":     "0123456789abcdef",
	"octdigits":     "01234567",
}

func (randomStringType) Schema() *Schema {
	return &Schema{
		Properties: map[string]*Property{
			"length":              {Type: TypeInteger, Default: int64(32), Min: ptr(0), Max: ptr(512)},
			"sequence":            {Type: TypeString, AllowedValues: []any{"lettersdigits", "letters", "lowercase", "uppercase", "digits", "hexdigits", "octdigits"}},
			"salt":                {Type: TypeString},
			"character_classes":   {Type: TypeList},
			"character_sequences": {Type: TypeList},
		},
		Attributes: map[string]string{"value": "the random string"},
	}
}

func (randomStringType) state(r *Request) (*State, error) {
	n, _ := r.Properties["length"].(int64)
	alphabet := charClasses["lettersdigits"]
	if s, ok := r.Properties["sequence"].(string); ok {
		alphabet = charClasses[s]
	}
	if cl, ok := r.Properties["character_classes"].([]any); ok && len(cl) > 0 {
		alphabet = ""
		for _, c := range cl {
			m, _ := c.(map[string]any)
			cls, _ := m["class"].(string)
			if charClasses[cls] == "" {
				return nil, fmt.Errorf("%w: unknown character class %q", ErrInvalid, cls)
			}
			alphabet += charClasses[cls]
		}
	}
	salt, _ := r.Properties["salt"].(string)
	seed := sha256.Sum256([]byte("RandomString\x00" + r.Key + "\x00" + salt))
	rng := rand.New(rand.NewChaCha8(seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	v := string(b)
	return &State{PhysicalID: keyID(r.Key), RefID: v, Attributes: map[string]any{"value": v}}, nil
}
func (t randomStringType) Create(_ context.Context, r *Request) (*State, error) { return t.state(r) }
func (t randomStringType) Update(_ context.Context, r *Request) (*State, error) {
	return nil, ErrReplace
}
func (randomStringType) Delete(context.Context, *Request) error                { return nil }
func (t randomStringType) Check(_ context.Context, r *Request) (*State, error) { return t.state(r) }

// testResourceType is OS::Heat::TestResource: configurable latency and
// failure, attribute "output" echoing the value property.
type testResourceType struct{}

func (testResourceType) Schema() *Schema {
	return &Schema{
		Properties: map[string]*Property{
			"value":                {Type: TypeString, Default: "test_string", UpdateAllowed: true},
			"update_replace":       {Type: TypeBoolean, Default: false, UpdateAllowed: true},
			"update_replace_value": {Type: TypeString},
			"fail":                 {Type: TypeBoolean, Default: false, UpdateAllowed: true},
			"wait_secs":            {Type: TypeNumber, Default: int64(0), UpdateAllowed: true},
			"action_wait_secs":     {Type: TypeMap, UpdateAllowed: true},
			"client_name":          {Type: TypeString},
			"entity_name":          {Type: TypeString},
			"constraint_prop_secs": {Type: TypeNumber},
			"attr_wait_secs":       {Type: TypeNumber},
		},
		Attributes: map[string]string{"output": "the value property"},
	}
}

func (testResourceType) wait(ctx context.Context, r *Request, action string) error {
	secs, _ := number(r.Properties["wait_secs"])
	if m, ok := r.Properties["action_wait_secs"].(map[string]any); ok {
		if v, ok := number(m[action]); ok {
			secs = v
		}
	}
	if secs <= 0 {
		return nil
	}
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// errTestFailed is Heat's own message for a failing TestResource.
//
//lint:ignore ST1005 Heat's exact text, which users grep for
var errTestFailed = errors.New("Test Resource failed")

func (t testResourceType) Create(ctx context.Context, r *Request) (*State, error) {
	if err := t.wait(ctx, r, "create"); err != nil {
		return nil, err
	}
	if f, _ := r.Properties["fail"].(bool); f {
		return nil, fmt.Errorf("%w %s", errTestFailed, r.Name)
	}
	return &State{PhysicalID: keyID(r.Key), Attributes: map[string]any{"output": r.Properties["value"]}}, nil
}

func (t testResourceType) Update(ctx context.Context, r *Request) (*State, error) {
	if rep, _ := r.Properties["update_replace"].(bool); rep {
		return nil, ErrReplace
	}
	if err := t.wait(ctx, r, "update"); err != nil {
		return nil, err
	}
	if f, _ := r.Properties["fail"].(bool); f {
		return nil, fmt.Errorf("%w %s", errTestFailed, r.Name)
	}
	return &State{PhysicalID: r.Prior.PhysicalID, Attributes: map[string]any{"output": r.Properties["value"]}}, nil
}

func (t testResourceType) Delete(ctx context.Context, r *Request) error {
	return t.wait(ctx, r, "delete")
}

func (t testResourceType) Check(_ context.Context, r *Request) (*State, error) {
	if f, _ := r.Properties["fail"].(bool); f {
		return nil, ErrNotFound
	}
	return &State{PhysicalID: keyID(r.Key), Attributes: map[string]any{"output": r.Properties["value"]}}, nil
}

// groupType marks OS::Heat::ResourceGroup, which the engine expands into
// member resources of the same graph; its methods are not called.
type groupType struct{}

func (groupType) Schema() *Schema {
	return &Schema{Properties: map[string]*Property{
		"count":                 {Type: TypeInteger, Default: int64(1), Min: ptr(0), UpdateAllowed: true},
		"index_var":             {Type: TypeString, Default: "%index%"},
		"resource_def":          {Type: TypeMap, Required: true, UpdateAllowed: true},
		"removal_policies":      {Type: TypeList, Default: []any{}, UpdateAllowed: true},
		"removal_policies_mode": {Type: TypeString, Default: "append", AllowedValues: []any{"append", "update"}, UpdateAllowed: true},
	}, Attributes: map[string]string{"refs": "", "refs_map": "", "removed_rsrc_list": "", "attributes": ""}}
}
func (groupType) Create(_ context.Context, r *Request) (*State, error) {
	return &State{PhysicalID: keyID(r.Key)}, nil
}
func (groupType) Update(_ context.Context, r *Request) (*State, error) { return r.Prior, nil }
func (groupType) Delete(context.Context, *Request) error               { return nil }
func (groupType) Check(_ context.Context, r *Request) (*State, error) {
	return &State{PhysicalID: keyID(r.Key)}, nil
}
