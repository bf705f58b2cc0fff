package hot

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCustomConstraint(t *testing.T) {
	_, err := Parse("t.yaml", []byte("heat_template_version: rocky\nparameters:\n  a: {type: string, constraints: [{custom_constraint: [x]}]}\n"))
	if err == nil || !strings.Contains(err.Error(), "custom_constraint must name a constraint") {
		t.Errorf("custom_constraint without a name: %v", err)
	}
	tmpl, err := Parse("t.yaml", []byte("heat_template_version: rocky\nparameters:\n  a: {type: comma_delimited_list, default: 'x,y', constraints: [{custom_constraint: c}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Instantiate(tmpl, Options{StackName: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CheckCustom(t.Context(), nil); err == nil || !strings.Contains(err.Error(), `t.yaml:3: parameters.a: invalid: "x" does not validate c (constraint not found)`) {
		t.Errorf("no registry: %v", err)
	}
	var seen []any
	lookup := func(string) (func(context.Context, any) error, bool) {
		return func(_ context.Context, v any) error {
			seen = append(seen, v)
			if v == "y" {
				return errors.New("not y")
			}
			return nil
		}, true
	}
	if err := st.CheckCustom(t.Context(), lookup); err == nil || !strings.Contains(err.Error(), `"y" does not validate c: not y`) || len(seen) != 2 {
		t.Errorf("item by item: %v %v", err, seen)
	}
}
