package orchestrate

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func readParams(t *testing.T, path string) (map[string]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out, true
}

// TestEngineCorpus runs each template of testdata/engine through create,
// an update (when NAME.update.params exists) and delete, one resource at a
// time, and compares the event sequence, resources and outputs of each
// step with NAME.golden.json.
func TestEngineCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/engine/*.yaml")
	for _, f := range files {
		base := strings.TrimSuffix(f, ".yaml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			h := newHarness(t)
			e := h.open(&Options{Parallelism: 1, Loader: hot.FSLoader{FS: os.DirFS("testdata/engine")}})
			tmpl, _ := os.ReadFile(f)
			env, _ := os.ReadFile("testdata/sim.env.yaml")
			mk := func(p map[string]string) *Input {
				return &Input{TemplateFile: filepath.Base(f), Template: string(tmpl), Params: p,
					Environments: []File{{Name: "sim.env.yaml", Data: string(env)}}}
			}
			var steps []any
			step := func(name string, err error) {
				st := map[string]any{"step": name, "events": h.states()}
				h.mu.Lock()
				h.events = nil
				h.mu.Unlock()
				if err != nil {
					st["error"] = err.Error()
					if !strings.HasPrefix(filepath.Base(base), "failure") {
						t.Errorf("%s failed: %v", name, err)
					}
				}
				if info, err := e.Show(t.Context()); err == nil {
					var rs []string
					for _, r := range info.Resources {
						rs = append(rs, r.Name+" "+r.Type+" "+string(r.Action)+"_"+string(r.Status))
					}
					st["stack"], st["resources"] = info.State(), rs
				}
				out, oerr := e.Outputs(t.Context())
				st["outputs"] = out
				if oerr != nil {
					st["output_errors"] = oerr.Error()
				}
				steps = append(steps, st)
			}
			p, _ := readParams(t, base+".params")
			step("create", e.Create(t.Context(), "corpus", mk(p)))
			if up, ok := readParams(t, base+".update.params"); ok {
				step("update", e.Update(t.Context(), mk(up)))
			}
			step("delete", e.Delete(t.Context()))
			got, err := json.MarshalIndent(steps, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			// Random values and ids differ per run.
			got = scrub(got, h)
			golden := base + ".golden.json"
			if *update {
				os.WriteFile(golden, append(got, '\n'), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
				t.Errorf("differs from %s:\n%s", golden, got)
			}
		})
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// scrub replaces the stack-specific random parts (addresses derived from
// keys that contain the random stack id, random strings) with stable
// placeholders.
func scrub(b []byte, h *harness) []byte {
	var v any
	json.Unmarshal(b, &v)
	var walk func(any) any
	walk = func(x any) any {
		switch y := x.(type) {
		case string:
			if uuidRE.MatchString(y) {
				return "UUID"
			}
			if strings.HasPrefix(y, "192.0.2.") {
				return "192.0.2.X"
			}
			if strings.Contains(y, "192.0.2.") {
				return "ADDRESSES"
			}
			return y
		case []any:
			for i := range y {
				y[i] = walk(y[i])
			}
		case map[string]any:
			for k := range y {
				if k == "secret_len" {
					y[k] = "RANDOM"
					continue
				}
				y[k] = walk(y[k])
			}
		}
		return x
	}
	out, _ := json.MarshalIndent(walk(v), "", "  ")
	return out
}
