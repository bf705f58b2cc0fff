package tripleo_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tripleo-go/tripleo"
	_ "github.com/tripleo-go/tripleo/drivers/ipmi"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

const crashExit = 77

func crashInput() *orchestrate.Input {
	return &orchestrate.Input{TemplateFile: "overcloud.yaml", Template: groupTemplate,
		Environments: []orchestrate.File{{Name: "env.yaml", Data: groupEnv}},
		Params:       map[string]string{"count": "3"}}
}

// TestCrashHelper is the child process of TestCrashResume: it creates the
// stack and exits abruptly when the Nth node reaches the state named by
// TRIPLEO_CRASH_ON ("deploying:1", "active:2"...).
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv("TRIPLEO_CRASH_DIR")
	if dir == "" {
		t.Skip("only runs as the crash tests' child process")
	}
	c, err := tripleo.Open(t.Context(), dir, crashOptions(os.Getenv("TRIPLEO_CRASH_ON")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e, err := c.Stack(t.Context(), "overcloud")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Create(t.Context(), "overcloud", crashInput()); err != nil {
		t.Fatal(err)
	}
}

// crashOptions returns Cloud options whose provisioner exits the process
// with crashExit when the Nth node reaches the state named by on
// ("deploying:1", "active:2"; a node coming back from wait call-back does
// not count).
func crashOptions(on string) *tripleo.Options {
	state, nth, _ := strings.Cut(on, ":")
	n, _ := strconv.Atoi(nth)
	var mu sync.Mutex
	seen := 0
	return &tripleo.Options{Provision: provision.Options{
		OnTransition: func(node string, tr provision.Transition) {
			mu.Lock()
			defer mu.Unlock()
			if tr.To.String() == state && tr.From != provision.StateWaitCallback {
				if seen++; seen == n {
					os.Exit(crashExit)
				}
			}
		},
	}}
}

// crashChild runs the test helper (a crash tests' child, which reads
// TRIPLEO_CRASH_DIR and TRIPLEO_CRASH_ON, and env) in a child process on
// dir and checks that it crashed at on.
func crashChild(t *testing.T, helper, dir, on string, env ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+helper+"$")
	cmd.Env = append(append(os.Environ(), "GORACE=atexit_sleep_ms=0", "TRIPLEO_CRASH_DIR="+dir, "TRIPLEO_CRASH_ON="+on), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != crashExit {
		t.Fatalf("child did not crash at %s: %v\n%s", on, err, out)
	}
}

// The process creating a stack of 3 bare-metal servers is killed in the
// middle; the next Cloud on the same directory resumes the stack, adopts
// the nodes already claimed (finishing their deployment when it was cut
// short) and completes, with no node claimed twice and the spare machine
// never touched. The machines' BMCs live in this process and are driven
// over IPMI by both.
func TestCrashResume(t *testing.T) {
	for _, on := range []string{"deploying:1", "deploying:3", "active:1", "active:3"} {
		t.Run(on, func(t *testing.T) {
			ctx := t.Context()
			dc, err := sim.Start(4, &sim.Options{DiskSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			defer dc.Close()
			dir := t.TempDir()
			c, err := tripleo.Open(ctx, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range dc.Machines() {
				name := fmt.Sprintf("node-%d", i)
				if _, err := c.Provisioner().Enroll(ctx, &provision.Node{Name: name, BMCAddress: m.IPMIURL(), Credentials: m.Credentials(),
					Properties: map[string]string{"capabilities": "profile:compute"}}); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Provisioner().Provide(ctx, name); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}

			crashChild(t, "TestCrashHelper", dir, on)

			c, err = tripleo.Open(ctx, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			e, err := c.Stack(ctx, "overcloud")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.(*orchestrate.Embedded).Resumed(ctx); err != nil {
				t.Fatalf("resume: %v", err)
			}
			info, err := e.Show(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.State() != "CREATE_COMPLETE" {
				t.Fatalf("after resume: %s (%s)", info.State(), info.Reason)
			}
			claims := checkClaims(t, c, dc, 3)
			nodes, err := c.Inventory().List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range nodes {
				if n.Properties[tripleo.PropClaim] != "" {
					continue
				}
				for _, call := range dc.Machine(i).Calls() {
					if strings.HasPrefix(call, "boot pxe") {
						t.Errorf("spare %s was deployed (%v)", n.Name, dc.Machine(i).Calls())
						break
					}
				}
			}
			// The stack's servers are the claimed nodes.
			outs, err := e.Outputs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range outs["nodes"].([]any) {
				found := false
				for _, n := range claims {
					found = found || n == v
				}
				if !found {
					t.Errorf("server on %v, which holds no claim", v)
				}
			}
		})
	}
}
