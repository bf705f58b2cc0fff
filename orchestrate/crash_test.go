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
	if os.Getenv("ORCHESTRATE_CRASH_OP") == "create" {
		err = e.Create(t.Context(), "crash", in)
	} else {
		err = e.Update(t.Context(), in)
	}
	if err != nil {
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
	defer e.Close()
	if _, rerr := e.Resumed(t.Context()); rerr != nil {
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

// recordsOf counts the records an uninterrupted run of op appends.
func recordsOf(t *testing.T, setup func(dir string), op, tmpl string) uint64 {
	dir := t.TempDir()
	if setup != nil {
		setup(dir)
	}
	if runCrashChild(t, dir, op, tmpl, 0) {
		t.Fatal("crashed without a crash point")
	}
	j, err := openJournal(filepath.Join(dir, "stack.state"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	return j.seq
}

func TestCrashDuringCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns one process per journal record")
	}
	tmpl := twenty("img-1", "small", 0)
	total := recordsOf(t, nil, "create", tmpl)
	if total < 42 {
		t.Fatalf("only %d records for 20 resources", total)
	}
	for at := uint64(1); at < total; at++ {
		dir := t.TempDir()
		if !runCrashChild(t, dir, "create", tmpl, at) {
			t.Fatalf("record %d: the child did not crash", at)
		}
		if at == 1 {
			// Killed before the operation's begin record: nothing to
			// resume, the stack does not exist yet.
			continue
		}
		reopenAndCheck(t, dir, "CREATE_COMPLETE", 20)
		if t.Failed() {
			t.Fatalf("crash after record %d of %d", at, total)
		}
	}
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
	setup := func(dir string) {
		if runCrashChild(t, dir, "create", base, 0) {
			t.Fatal("setup crashed")
		}
	}
	total := recordsOf(t, setup, "update", next)
	first := recordsOf(t, nil, "create", base)
	for at := first + 1; at < total; at++ {
		dir := t.TempDir()
		setup(dir)
		if !runCrashChild(t, dir, "update", next, at) {
			t.Fatalf("record %d: the child did not crash", at)
		}
		reopenAndCheck(t, dir, "UPDATE_COMPLETE", 24)
		if t.Failed() {
			t.Fatalf("crash after record %d of %d", at, total)
		}
	}
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
	dir0 := t.TempDir()
	if runCrashChildFiles(t, dir0, "create", tmpl, member, 0) {
		t.Fatal("crashed without a crash point")
	}
	j, err := openJournal(filepath.Join(dir0, "stack.state"))
	if err != nil {
		t.Fatal(err)
	}
	total := j.seq
	j.close()
	// group + 3 members × (parent + a + b + c) = 13 resources, 6 servers.
	for at := uint64(2); at < total; at++ {
		dir := t.TempDir()
		if !runCrashChildFiles(t, dir, "create", tmpl, member, at) {
			t.Fatalf("record %d: the child did not crash", at)
		}
		reopenAndCheckN(t, dir, "CREATE_COMPLETE", 6, 13, 6)
		if t.Failed() {
			t.Fatalf("crash after record %d of %d", at, total)
		}
	}
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
