package hot

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// corpusCase runs one template of testdata/corpus through Parse, the
// environment and Instantiate, and renders what a reader checks: the graph
// edges, a valid order, the registry-resolved types, the properties as far
// as they are known before any resource exists, and the outputs.
func corpusCase(t *testing.T, file string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	base := strings.TrimSuffix(file, ".yaml")
	name := filepath.Base(base)
	tmpl, err := Parse(name+".yaml", data)
	if err != nil {
		out["error"] = err.Error()
		return out
	}
	env := NewEnvironment()
	if b, err := os.ReadFile(base + ".env.yaml"); err == nil {
		env, err = ParseEnvironment(name+".env.yaml", b)
		if err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(base + ".params"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env.Parameters[k] = v
			}
		}
	}
	st, err := Instantiate(tmpl, Options{StackName: "teststack", StackID: "id-1", Env: env})
	if err != nil {
		out["error"] = err.Error()
		return out
	}
	g := st.Graph()
	out["edges"] = g.Edges()
	order, err := g.Order()
	if err != nil {
		t.Fatal(err)
	}
	out["order"] = order
	res := map[string]any{}
	for _, d := range st.Resources {
		typ, err := env.Registry.Resolve(d.Name, d.Type)
		if err != nil {
			t.Fatal(err)
		}
		res[d.Name] = map[string]any{"type": typ, "properties": d.Properties}
	}
	out["resources"] = res
	outs := map[string]any{}
	for _, o := range st.Outputs {
		outs[o.Name] = o.Value
	}
	out["outputs"] = outs
	out["conditions"] = st.Conditions
	return out
}

func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/*.yaml")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".env.yaml") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			got, err := json.MarshalIndent(corpusCase(t, f), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
				t.Errorf("%s differs from the golden file:\n%s", f, got)
			}
		})
	}
	if n == 0 {
		t.Fatal("empty corpus")
	}
}
