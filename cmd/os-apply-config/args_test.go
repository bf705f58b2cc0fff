package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/argparse"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

// argsOracle parses each JSON argv line with os-apply-config's own
// parse_opts (Python argparse) and prints the options or the exit status
// and output as one JSON line.
const argsOracle = `
import contextlib, io, json, sys
sys.argv[0] = 'os-apply-config'
from os_apply_config import apply_config
for line in sys.stdin:
    argv = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    res = {}
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            o = apply_config.parse_opts(['os-apply-config'] + argv)
        res['opts'] = vars(o)
    except SystemExit as e:
        res['exit'] = e.code
    res['stdout'], res['stderr'] = out.getvalue(), err.getvalue()
    print(json.dumps(res))
`

type oracleArgs struct {
	Opts   map[string]any `json:"opts"`
	Exit   *int           `json:"exit"`
	Stdout string         `json:"stdout"`
	Stderr string         `json:"stderr"`
}

var argTokens = []string{"-t", "tdir", "-o", "odir", "-m", "a", "b", "--metadata", "--fallback-metadata",
	"-v", "--validate", "--print-templates", "-s", "--subhash", "--key", "--type", "--key-default",
	"--boolean-key", "--os-config-files", "--temp", "--ke", "--v", "--", "-", "-1", "-2.5", "-vt", "-tX",
	"--key=", "--key=a=b", "-v=1", "--bogus", "x y", "-m=c", "--fall", "--out=o", "-vvt", "-xyz",
	"--print", "--os", "--type=int", "--key-d=z", "--val", "-sfoo", "--sub=a.b", "--meta", "''"}

// TestArgsMatchArgparse compares our command-line parsing with
// os-apply-config's own argparse parser on thousands of random command
// lines, in one Python process.
func TestArgsMatchArgparse(t *testing.T) {
	real := peertest.Look(t, "os-apply-config")[0]
	py := "/usr/bin/python3"
	if b, err := os.ReadFile(real); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if p := strings.TrimSpace(strings.TrimPrefix(line, "#!")); p != "" {
			py = p
		}
	}
	r := rand.New(rand.NewPCG(7, 11))
	var argvs [][]string
	var in bytes.Buffer
	for range 3000 {
		argv := make([]string, r.IntN(7))
		for i := range argv {
			argv[i] = argTokens[r.IntN(len(argTokens))]
		}
		argvs = append(argvs, argv)
		b, _ := json.Marshal(argv)
		in.Write(append(b, '\n'))
	}
	const tdefault = "/templates/default"
	cmd := exec.CommandContext(t.Context(), py, "-c", argsOracle)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "OS_CONFIG_APPLIER_TEMPLATES=" + tdefault, "COLUMNS=80"}
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	getenv := func(k string) (string, bool) {
		if k == "OS_CONFIG_APPLIER_TEMPLATES" {
			return tdefault, true
		}
		return "", false
	}
	t.Setenv("COLUMNS", "80")
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	bad := 0
	for i := 0; sc.Scan(); i++ {
		var want oracleArgs
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		argv := argvs[i]
		o, err := parseArgs(append([]string{"os-apply-config"}, argv...), tdefault, getenv)
		got := describeArgs(o, err)
		if w := describeOracle(want); got != w {
			bad++
			if bad <= 10 {
				t.Errorf("argv %q:\nargparse: %s\nours:     %s", argv, w, got)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d command lines parse differently", bad, len(argvs))
	}
}

func describeOracle(w oracleArgs) string {
	if w.Exit != nil {
		return fmt.Sprintf("exit %d stdout %q stderr %q", *w.Exit, w.Stdout, w.Stderr)
	}
	o := w.Opts
	str := func(k string) string {
		if o[k] == nil {
			return "<nil>"
		}
		return fmt.Sprint(o[k])
	}
	list := func(k string) string {
		l, _ := o[k].([]any)
		s := make([]string, len(l))
		for i, x := range l {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("t=%s o=%s m=[%s] fb=[%s] v=%v p=%v s=%s key=%s type=%s kd=%s bk=%s ocf=%s",
		str("templates"), str("output"), list("metadata"), list("fallback_metadata"), o["validate"], o["print_templates"],
		str("subhash"), str("key"), str("type"), str("key_default"), str("boolean_key"), str("os_config_files"))
}

func describeArgs(o *opts, err error) string {
	var ex *argparse.Exit
	if errors.As(err, &ex) {
		return fmt.Sprintf("exit %d stdout %q stderr %q", ex.Code, ex.Stdout, ex.Stderr)
	}
	if err != nil {
		return "error " + err.Error()
	}
	opt := func(s string, set bool) string {
		if !set {
			return "<nil>"
		}
		return s
	}
	fb := o.fallback
	if slices.Equal(fb, nil) {
		fb = []string{}
	}
	return fmt.Sprintf("t=%s o=%s m=[%s] fb=[%s] v=%v p=%v s=%s key=%s type=%s kd=%s bk=%s ocf=%s",
		o.templates, o.output, strings.Join(o.metadata, ","), strings.Join(fb, ","), o.validate, o.printTemplates,
		opt(o.subhash, o.subhashSet), opt(o.key, o.keySet), o.typ, opt(o.keyDefault, o.keyDefaultSet),
		opt(o.booleanKey, o.booleanKeySet), o.osConfigFiles)
}
