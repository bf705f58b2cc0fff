package orchestrate

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// twenty returns a template of 20 simulated servers, some in chains and
// some independent; image and flavor are applied to the first n servers.
func twenty(image, flavor string, n int) string {
	var b strings.Builder
	b.WriteString("heat_template_version: 2018-08-31\nresources:\n")
	for i := 0; i < 20; i++ {
		img, fl := "img-1", "small"
		if i < n {
			img, fl = image, flavor
		}
		fmt.Fprintf(&b, "  s%02d:\n    type: Sim::Server\n    properties: {image: %s, flavor: %s}\n", i, img, fl)
		if i%4 != 0 {
			fmt.Fprintf(&b, "    depends_on: s%02d\n", i-1)
		}
	}
	return b.String()
}

const crashExit = 77

// TestCrashHelper is the child process of the crash tests: it runs one
// operation and exits abruptly right after journal record CRASH_AT.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv("ORCHESTRATE_CRASH_DIR")
	if dir == "" {
		t.Skip("only runs as the crash tests' child process")
	}
	at, _ := strconv.ParseUint(os.Getenv("ORCHESTRATE_CRASH_AT"), 10, 64)
	cloud, err := NewSimCloud(filepath.Join(dir, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	types := NewTypes()
	types.Register(TypeSimServer, cloud.Type())
	opts := &Options{Types: types, Parallelism: 4,
		afterRecord: func(seq uint64) {
			if seq == at {
				// The simulated cloud handles each request atomically:
				// die between requests, as a killed client would.
				cloud.mu.Lock()
				os.Exit(crashExit)
			}
		}}
	if os.Getenv("ORCHESTRATE_CRASH_ON_PAUSE") != "" {
		// Die as soon as a resource pauses at a registry hook.
		opts.Events = func(ev Event) {
			if strings.Contains(ev.StatusReason, "paused until Hook") {
				cloud.mu.Lock()
				os.Exit(crashExit)
			}
		}
	}
	if os.Getenv("ORCHESTRATE_CRASH_ON_PUBLISH") != "" {
		// Die as soon as a server's metadata is published, while the
		// deployment waits for its signal.
		opts.Metadata = exitPublisher{}
	}
	e, err := Open(t.Context(), filepath.Join(dir, "stack.state"), opts)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := os.Getenv("ORCHESTRATE_CRASH_TEMPLATE")
	in := &Input{TemplateFile: "twenty.yaml", Template: tmpl}
	if m := os.Getenv("ORCHESTRATE_CRASH_MEMBER"); m != "" {
		in.Files = map[string]string{"member.yaml": m}
	}
	if env := os.Getenv("ORCHESTRATE_CRASH_ENV"); env != "" {
		in.Environments = []File{{Name: "env.yaml", Data: env}}
	}
	switch os.Getenv("ORCHESTRATE_CRASH_OP") {
	case "create":
		err = e.Create(t.Context(), "crash", in)
	case "delete":
		err = e.Delete(t.Context())
	case "check":
		err = e.CheckStack(t.Context())
	default:
		err = e.Update(t.Context(), in)
	}
	if err != nil && !(os.Getenv("ORCHESTRATE_CRASH_FAILS") != "" && errors.Is(err, ErrFailed)) {
		t.Fatal(err)
	}
}

func runCrashChild(t *testing.T, dir, op, tmpl string, at uint64) (crashed bool) {
	t.Helper()
	return runCrashChildFiles(t, dir, op, tmpl, "", at)
}

type exitPublisher struct{}

func (exitPublisher) SetJSON(string, []byte) error { os.Exit(crashExit); return nil }
func (exitPublisher) Delete(string)                {}

func runCrashChildFiles(t *testing.T, dir, op, tmpl, member string, at uint64, env ...string) (crashed bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashHelper$")
	// GORACE: the race detector otherwise sleeps a second at each exit.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0", "ORCHESTRATE_CRASH_DIR="+dir, "ORCHESTRATE_CRASH_OP="+op,
		"ORCHESTRATE_CRASH_TEMPLATE="+tmpl, "ORCHESTRATE_CRASH_MEMBER="+member, fmt.Sprintf("ORCHESTRATE_CRASH_AT=%d", at))
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == crashExit {
		return true
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return false
}

// reopen opens the state after a crash (which resumes the operation) and
// checks the invariants: the stack completed, 20 servers exist, and the
// plug-in's Create was called exactly once per idempotency key.
func reopenAndCheck(t *testing.T, dir, wantState string, wantKeys int) {
	t.Helper()
	reopenAndCheckN(t, dir, wantState, wantKeys, 20, 20)
}

func reopenAndCheckN(t *testing.T, dir, wantState string, wantKeys, wantResources, wantServers int) {
	t.Helper()
	reopenAndCheckFails(t, dir, wantState, wantKeys, wantResources, wantServers, false)
}

// reopenCrashed opens the state and the simulated cloud a crashed child
// left in dir (which resumes its operation).
func reopenCrashed(t *testing.T, dir string) (*Embedded, *SimCloud) {
	t.Helper()
	cloud, err := NewSimCloud(filepath.Join(dir, "cloud"))
	if err != nil {
		t.Fatal(err)
	}
	types := NewTypes()
	types.Register(TypeSimServer, cloud.Type())
	e, err := Open(t.Context(), filepath.Join(dir, "stack.state"), &Options{Types: types})
	if err != nil {
		t.Fatal(err)
	}
	return e, cloud
}

// reopenAndCheckFails is reopenAndCheckN for an operation that fails and
// rolls back: the resumed operation may end with ErrFailed when failing.
func reopenAndCheckFails(t *testing.T, dir, wantState string, wantKeys, wantResources, wantServers int, failing bool) {
	t.Helper()
	e, cloud := reopenCrashed(t, dir)
	defer e.Close()
	if _, rerr := e.Resumed(t.Context()); rerr != nil && !(failing && errors.Is(rerr, ErrFailed)) {
		t.Fatalf("resume failed: %v", rerr)
	}
	info, err := e.Show(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State() != wantState || len(info.Resources) != wantResources {
		t.Fatalf("after resume: %s (%s), %d resources", info.State(), info.Reason, len(info.Resources))
	}
	calls, err := cloud.CreateCalls()
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range calls {
		if n != 1 {
			t.Errorf("Create called %d times for %s", n, k)
		}
	}
	if len(calls) != wantKeys || cloud.Servers() != wantServers {
		t.Errorf("%d keys created, %d servers exist", len(calls), cloud.Servers())
	}
}

func TestCrashDuringCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	c := crashCase{op: "create", tmpl: twenty("img-1", "small", 0)}
	c.run(t, func(t *testing.T, dir string, at uint64) {
		if at == 1 {
			// Killed at the operation's first record: the snapshot
			// before the begin record.
			return
		}
		reopenAndCheck(t, dir, "CREATE_COMPLETE", 20)
	})
}

func TestCrashDuringUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	base := twenty("img-1", "small", 0)
	// The first 4 servers get a new image (replace: 4 more keys), the
	// next ones only a new flavor (in place).
	next := twenty("img-2", "large", 4)
	next = strings.Replace(next, "{image: img-1, flavor: small}", "{image: img-1, flavor: large}", 4)
	c := crashCase{base: base, op: "update", tmpl: next}
	c.run(t, func(t *testing.T, dir string, _ uint64) {
		reopenAndCheck(t, dir, "UPDATE_COMPLETE", 24)
	})
}

// TestCrashDuringNestedGroupCreate kills the engine at each record of the
// create of a group of template resources (nested stacks in the flat graph).
func TestCrashDuringNestedGroupCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	member := `heat_template_version: rocky
parameters:
  index: {type: number}
resources:
  a: {type: Sim::Server, properties: {image: img, name: {list_join: [-, [a, {get_param: index}]]}}}
  b: {type: Sim::Server, depends_on: a, properties: {image: img}}
  c: {type: OS::Heat::Value, properties: {value: {get_attr: [b, first_address]}}}
outputs:
  address: {value: {get_attr: [c, value]}}
`
	tmpl := `heat_template_version: rocky
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: 3
      resource_def: {type: member.yaml, properties: {index: "%index%"}}
`
	// group + 3 members × (parent + a + b + c) = 13 resources, 6 servers.
	c := crashCase{op: "create", tmpl: tmpl, member: member}
	c.run(t, func(t *testing.T, dir string, at uint64) {
		if at > 1 {
			reopenAndCheckN(t, dir, "CREATE_COMPLETE", 6, 13, 6)
		}
	})
}

// TestCrashWhileDeploymentWaits kills the engine while a software
// deployment waits for its server's signal: on reopen the metadata is
// published again, the signal is accepted while the resumed create runs,
// and the stack completes with the signalled outputs.
func TestCrashWhileDeploymentWaits(t *testing.T) {
	dir := t.TempDir()
	if !runCrashChildFiles(t, dir, "create", deployTemplate, "", 0, "ORCHESTRATE_CRASH_ON_PUBLISH=1") {
		t.Fatal("the child did not crash at publication")
	}
	pub := &docs{}
	e, err := Open(t.Context(), filepath.Join(dir, "stack.state"), &Options{Metadata: pub})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, doc, err := pub.only()
	if err != nil || len(doc["deployments"].([]any)) != 1 {
		t.Fatalf("metadata not republished on open: %v %v", doc, err)
	}
	if err := e.Signal(t.Context(), "dep", map[string]any{"deploy_stdout": "hello bar", "deploy_status_code": 0, "result": "hello bar"}); err != nil {
		t.Fatal(err)
	}
	if resumed, err := e.Resumed(t.Context()); !resumed || err != nil {
		t.Fatalf("resume: %v %v", resumed, err)
	}
	info, _ := e.Show(t.Context())
	out, _ := e.Outputs(t.Context())
	if info.State() != "CREATE_COMPLETE" || out["result"] != "hello bar" {
		t.Errorf("after resume: %s %v", info.State(), out)
	}
}

// crashCase is an operation to kill at each of its journal records:
// after a create of base (when not ""), op runs tmpl (with member.yaml and
// the extra environment variables env).
type crashCase struct {
	base, op, tmpl, member string
	env                    []string
}

// run makes the state the operation starts from once, runs the operation
// once to count its records, then for each record copies the starting
// state, kills a child after that record and calls check on what it left
// (one parallel subtest per record).
func (c crashCase) run(t *testing.T, check func(t *testing.T, dir string, at uint64)) {
	t.Helper()
	start := t.TempDir()
	if c.base != "" && runCrashChild(t, start, "create", c.base, 0) {
		t.Fatal("setup crashed")
	}
	first := journalSeq(t, start)
	whole := t.TempDir()
	copyDir(t, start, whole)
	if runCrashChildFiles(t, whole, c.op, c.tmpl, c.member, 0, c.env...) {
		t.Fatal("crashed without a crash point")
	}
	total := journalSeq(t, whole)
	if total <= first+1 {
		t.Fatalf("%s appended %d records", c.op, total-first)
	}
	for at := first + 1; at < total; at++ {
		t.Run(fmt.Sprintf("record%d", at), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyDir(t, start, dir)
			if !runCrashChildFiles(t, dir, c.op, c.tmpl, c.member, at, c.env...) {
				t.Fatalf("record %d: the child did not crash", at)
			}
			check(t, dir, at)
		})
	}
}

// journalSeq returns the last record number of the state in dir (0: none).
func journalSeq(t *testing.T, dir string) uint64 {
	t.Helper()
	path := filepath.Join(dir, "stack.state")
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	return j.seq
}

// copyDir copies the files under src (a crashed child's state and cloud)
// into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringRollback kills the engine at each record of an update
// that replaces four servers, then fails and rolls back: every run ends
// ROLLBACK_COMPLETE with the original 20 servers, each key created once.
func TestCrashDuringRollback(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	base := twenty("img-1", "small", 0)
	next := twenty("img-2", "small", 4) + "  boom:\n    type: OS::Heat::TestResource\n    depends_on: s03\n    properties: {fail: true}\n"
	c := crashCase{base: base, op: "update", tmpl: next, env: []string{"ORCHESTRATE_CRASH_FAILS=1"}}
	c.run(t, func(t *testing.T, dir string, _ uint64) {
		reopenAndCheckFails(t, dir, "ROLLBACK_COMPLETE", 24, 20, 20, true)
	})
}

// TestCrashDuringDelete kills the engine at each record of a delete.
func TestCrashDuringDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	base := twenty("img-1", "small", 0)
	c := crashCase{base: base, op: "delete", tmpl: base}
	c.run(t, func(t *testing.T, dir string, _ uint64) {
		reopenAndCheckN(t, dir, "DELETE_COMPLETE", 20, 0, 0)
	})
}

func rollingGroup(image string) string {
	return `heat_template_version: rocky
resources:
  group:
    type: OS::Heat::ResourceGroup
    update_policy: {rolling_update: {max_batch_size: 2, min_in_service: 1}}
    properties:
      count: 6
      resource_def: {type: Sim::Server, properties: {image: ` + image + `, name: node-%index%}}
`
}

// TestCrashDuringRollingUpdate kills the engine at each record of a
// rolling update that replaces the six members of a group, two at a time.
func TestCrashDuringRollingUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	c := crashCase{base: rollingGroup("img-1"), op: "update", tmpl: rollingGroup("img-2")}
	c.run(t, func(t *testing.T, dir string, _ uint64) {
		reopenAndCheckN(t, dir, "UPDATE_COMPLETE", 12, 7, 6)
	})
}

// TestCrashWhilePausedAtHook: a resource paused at a registry hook when
// the engine dies is paused again after reopening; clearing the hook
// completes the resumed create.
func TestCrashWhilePausedAtHook(t *testing.T) {
	dir := t.TempDir()
	env := "resource_registry:\n  resources:\n    s05: {hooks: pre-create}\n"
	if !runCrashChildFiles(t, dir, "create", twenty("img-1", "small", 0), "", 0, "ORCHESTRATE_CRASH_ON_PAUSE=1", "ORCHESTRATE_CRASH_ENV="+env) {
		t.Fatal("the child did not crash at the hook")
	}
	e, cloud := reopenCrashed(t, dir)
	defer e.Close()
	if p := e.PausedAt(); p["s05"] != "pre-create" {
		t.Fatalf("paused at %v after reopening", p)
	}
	if err := e.ClearHook(t.Context(), "s05", "pre-create"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Resumed(t.Context()); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.Show(t.Context()); info.State() != "CREATE_COMPLETE" || cloud.Servers() != 20 {
		t.Errorf("after clearing: %s, %d servers", info.State(), cloud.Servers())
	}
}

// TestCrashDuringCheck kills the engine at each record of a CHECK: the
// resumed check ends CHECK_COMPLETE and creates nothing.
func TestCrashDuringCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	base := twenty("img-1", "small", 0)
	c := crashCase{base: base, op: "check", tmpl: base}
	c.run(t, func(t *testing.T, dir string, _ uint64) {
		reopenAndCheckN(t, dir, "CHECK_COMPLETE", 20, 20, 20)
	})
}
