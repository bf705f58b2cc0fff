package refresh_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/refresh"
)

// tree builds a phase tree under a temp dir. Scripts append their phase
// and name to $LOG and dump their environment to $OUT/<phase>-<name>.env.
type tree struct {
	t        *testing.T
	base     string
	extraEnv []string // added to both implementations' environment
}

func newTree(t *testing.T) *tree {
	t.Helper()
	return &tree{t: t, base: t.TempDir()}
}

func (tr *tree) write(rel, body string, mode os.FileMode) string {
	tr.t.Helper()
	p := filepath.Join(tr.base, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		tr.t.Fatal(err)
	}
	return p
}

// script writes an executable that records itself and exits with code.
func (tr *tree) script(phase, name string, code int) {
	tr.write(phase+".d/"+name, "#!/bin/bash\n"+
		"echo \""+phase+"/"+name+"\" >> \"$LOG\"\n"+
		"env -0 | sort -z | tr '\\0' '\\n' > \"$OUT/"+phase+"-"+name+".env\"\n"+
		"exit "+strconv.Itoa(code)+"\n", 0o755)
}

// testEnv is a small, fixed environment for both implementations.
func testEnv(tr *tree, log, out string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=/root",
		"LANG=C.UTF-8",
		"LOG=" + log,
		"OUT=" + out,
		"OS_REFRESH_CONFIG_BASE_DIR=" + tr.base,
		"OS_CONFIG_FILES=/a.json:/b.json",
	}, tr.extraEnv...)
}

type outcome struct {
	log  string
	envs map[string]string
	code int
}

func collectOutcome(t *testing.T, log, out string, code int) outcome {
	t.Helper()
	o := outcome{code: code, envs: map[string]string{}}
	b, _ := os.ReadFile(log)
	o.log = string(b)
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		o.envs[e.Name()] = string(b)
	}
	return o
}

// runReal runs Debian's os-refresh-config over the tree.
func runReal(t *testing.T, tr *tree, extra ...string) outcome {
	t.Helper()
	orc := peertest.Look(t, "os-refresh-config", "dib-run-parts")[0]
	dir, log, out := scratch(t, tr)
	cmd := exec.CommandContext(t.Context(), orc, append([]string{"--lockfile", filepath.Join(dir, "lock")}, extra...)...)
	cmd.Env = testEnv(tr, log, out)
	cmd.Dir = tr.base
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	t.Logf("real os-refresh-config: exit %d\n%s", code, stderr.String())
	return collectOutcome(t, log, out, code)
}

// runOurs runs the library over the tree with the same environment and
// working directory, mapping the result to os-refresh-config's exit codes.
func runOurs(t *testing.T, tr *tree) (outcome, *refresh.Report, error) {
	t.Helper()
	dir, log, out := scratch(t, tr)
	env := testEnv(tr, log, out)
	wd, _ := os.Getwd()
	// The scripts inherit the working directory of the runner's process;
	// the real tool is run from the tree too.
	if err := os.Chdir(tr.base); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	r := refresh.NewPhaseRunner(tr.base, &refresh.PhaseOptions{
		Env:      env,
		LockFile: filepath.Join(dir, "lock"),
		Logger:   testLogger(t),
	})
	rep, err := r.Run(t.Context())
	code := 0
	if err != nil {
		code = 1
	}
	return collectOutcome(t, log, out, code), rep, err
}

// scratch empties and returns the log file and env dump dir both
// implementations write to (the same paths, so the environments compare).
func scratch(t *testing.T, tr *tree) (dir, log, out string) {
	t.Helper()
	dir = filepath.Join(tr.base, "..", filepath.Base(tr.base)+".scratch")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, "log"), out
}

func compareOutcomes(t *testing.T, real, ours outcome) {
	t.Helper()
	if real.log != ours.log {
		t.Errorf("scripts run differ:\nreal:\n%s\nours:\n%s", real.log, ours.log)
	}
	if real.code != ours.code {
		t.Errorf("exit code: real %d, ours %d", real.code, ours.code)
	}
	var names []string
	for k := range real.envs {
		names = append(names, k)
	}
	for k := range ours.envs {
		if _, ok := real.envs[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, n := range slices.Compact(names) {
		if real.envs[n] != ours.envs[n] {
			t.Errorf("environment seen by %s differs:\nreal:\n%s\nours:\n%s", n, real.envs[n], ours.envs[n])
		}
	}
}

// orderNames exercises dib-run-parts' sort -n ordering and file selection.
var orderNames = []string{"9-b", "10-a", "abc", "1-a", "1_a", "00-x", "010", "10", "-5x", "1A", "1a", "1-b", "1_b", "Z", "2"}

func TestPhasesDifferential(t *testing.T) {
	tr := newTree(t)
	for _, n := range orderNames {
		tr.script("configure", n, 0)
	}
	tr.script("pre-configure", "50-pre", 0)
	tr.script("post-configure", "50-post", 0)
	tr.script("migration", "50-migrate", 0)
	// Skipped: a dot in the name, not executable, a subdirectory, a
	// broken symlink, a backup file.
	tr.script("configure", "skip.sh", 0)
	tr.write("configure.d/noexec", "#!/bin/sh\necho noexec >> \"$LOG\"\n", 0o644)
	tr.script("configure", "sub/30-inner", 0)
	if err := os.Symlink("missing", filepath.Join(tr.base, "configure.d", "40-broken")); err != nil {
		t.Fatal(err)
	}
	tr.script("configure", "5-x~", 0)
	// Run: a symlink to an executable, a script without "#!".
	tr.write("elsewhere/target", "#!/bin/sh\necho configure/45-link >> \"$LOG\"\n", 0o755)
	if err := os.Symlink(filepath.Join(tr.base, "elsewhere/target"), filepath.Join(tr.base, "configure.d", "45-link")); err != nil {
		t.Fatal(err)
	}
	tr.write("configure.d/46-noshebang", "echo configure/46-noshebang >> \"$LOG\"\n", 0o755)
	// environment.d: exported variables reach the scripts, others do not;
	// files are sourced in byte order, dotfiles and names with dots too.
	tr.write("environment.d/10-first", "export ORDER=first\nexport EXPORTED=yes\nLOCALVAR=no\n", 0o644)
	tr.write("environment.d/2.second", "export ORDER=\"$ORDER,second\"\n", 0o644)
	tr.write("environment.d/.dot", "export DOT=1\n", 0o644)
	tr.write("environment.d/bad~name", "export BAD=1\n", 0o644)
	tr.write("environment.d/20-func", "f() { echo hi; }\nexport -f f\n", 0o644)

	real := runReal(t, tr)
	ours, rep, err := runOurs(t, tr)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	compareOutcomes(t, real, ours)
	if len(rep.Scripts) == 0 || rep.Scripts[0].Phase != "pre-configure" {
		t.Errorf("report: %+v", rep.Scripts)
	}
	if !strings.Contains(ours.envs["configure-10.env"], "ORDER=first,second") {
		t.Errorf("environment.d not sourced in order:\n%s", ours.envs["configure-10.env"])
	}
}

// Without environment.d the scripts' environment is computed without bash;
// it must still be bash's, quirky inherited values included.
func TestPhasesNoEnvironmentDifferential(t *testing.T) {
	for _, extra := range [][]string{
		nil,
		{"SHLVL=abc", "PWD=/nonexistent", "A-B=1"},
		{"SHLVL=998"},
		{"SHLVL=999"},
		{"SHLVL=0"},
		{"SHLVL=-4", "PWD=."},
		{"BASH_FUNC_f%%=() { echo hi; }"},
	} {
		t.Run(strings.Join(extra, ","), func(t *testing.T) {
			tr := newTree(t)
			tr.script("configure", "10-env", 0)
			tr.script("post-configure", "10-env", 0)
			tr.extraEnv = extra
			real := runReal(t, tr)
			ours, _, err := runOurs(t, tr)
			if err != nil {
				t.Fatal(err)
			}
			compareOutcomes(t, real, ours)
		})
	}
}

func TestPhaseFailureDifferential(t *testing.T) {
	tr := newTree(t)
	tr.script("pre-configure", "10-ok", 0)
	tr.script("configure", "10-ok", 0)
	tr.script("configure", "20-fails", 3)
	tr.script("configure", "30-never", 0)
	tr.script("post-configure", "10-never", 0)
	tr.script("error", "10-handler", 0)
	tr.script("error", "20-handler-fails", 5)
	tr.script("error", "30-handler-after", 0)

	real := runReal(t, tr)
	ours, rep, err := runOurs(t, tr)
	compareOutcomes(t, real, ours)
	var pe *refresh.PhaseError
	if !errors.As(err, &pe) || pe.Phase != "configure" || pe.Script != "20-fails" || pe.ExitCode != 3 {
		t.Fatalf("err = %#v, want PhaseError{configure, 20-fails, 3}", err)
	}
	if len(rep.ErrorHandlers) != 2 {
		t.Errorf("error handlers run: %+v", rep.ErrorHandlers)
	}
}

// The exit status of a failed phase is dib-run-parts' own (the script's
// status, 128+N for a signal, bash's status for a failing environment.d
// file).
func TestRunPartsExitCodesDifferential(t *testing.T) {
	drp := peertest.Look(t, "dib-run-parts")[0]
	cases := []struct {
		name  string
		setup func(tr *tree)
	}{
		{"exit-7", func(tr *tree) { tr.script("configure", "10-x", 7) }},
		{"signal", func(tr *tree) {
			tr.write("configure.d/10-kill", "#!/bin/bash\nkill -TERM $$\n", 0o755)
		}},
		{"env-unset-var", func(tr *tree) {
			tr.write("environment.d/10-bad", "export X=$UNSET_VARIABLE\n", 0o644)
			tr.script("configure", "10-x", 0)
		}},
		{"env-false", func(tr *tree) {
			tr.write("environment.d/10-bad", "false\n", 0o644)
			tr.script("configure", "10-x", 0)
		}},
		{"not-a-dir", func(tr *tree) { tr.write("configure.d", "file", 0o644) }},
		{"bad-exec", func(tr *tree) {
			tr.write("configure.d/10-bin", "\x7fELF\x00\x00garbage", 0o755)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTree(t)
			c.setup(tr)
			dir := filepath.Join(tr.base, "configure.d")
			cmd := exec.CommandContext(t.Context(), drp, dir)
			cmd.Env = testEnv(tr, filepath.Join(t.TempDir(), "log"), t.TempDir())
			out, err := cmd.CombinedOutput()
			want := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				want = ee.ExitCode()
			}
			r := refresh.NewPhaseRunner(tr.base, &refresh.PhaseOptions{Env: cmd.Env, Logger: testLogger(t)})
			_, err = r.RunPhase(t.Context(), "configure")
			got := 0
			var pe *refresh.PhaseError
			if errors.As(err, &pe) {
				got = pe.ExitCode
			} else if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("exit status: dib-run-parts %d, ours %d (%v)\ndib-run-parts said:\n%s", want, got, err, out)
			}
		})
	}
}

func TestLockInteropWithRealTool(t *testing.T) {
	orc := peertest.Look(t, "os-refresh-config", "dib-run-parts")[0]
	tr := newTree(t)
	tr.script("configure", "10-x", 0)
	lock := filepath.Join(t.TempDir(), "orc.lock")
	unlock, err := refresh.Lock(lock)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), orc, "--lockfile", lock)
	cmd.Env = testEnv(tr, filepath.Join(t.TempDir(), "log"), t.TempDir())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 11 {
		t.Fatalf("real os-refresh-config with our lock held: %v\n%s", err, out)
	}
	r := refresh.NewPhaseRunner(tr.base, &refresh.PhaseOptions{LockFile: lock, Env: cmd.Env})
	if _, err := r.Run(t.Context()); !errors.Is(err, refresh.ErrLocked) {
		t.Fatalf("second run with the lock held: %v, want ErrLocked", err)
	}
	unlock()
	if b, _ := os.ReadFile(lock); len(b) != 0 {
		t.Errorf("lock file not truncated on unlock: %q", b)
	}
	if _, err := r.Run(t.Context()); err != nil {
		t.Fatalf("run after unlock: %v", err)
	}
}

// A hung script is killed at the timeout together with the processes it
// started; error.d still runs.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	tr := newTree(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	tr.write("configure.d/10-hang", "#!/bin/bash\nsleep 1000 &\necho $! > "+pidFile+"\nsleep 1000\n", 0o755)
	tr.script("error", "10-handler", 0)
	log, out := filepath.Join(t.TempDir(), "log"), t.TempDir()
	started := make(chan struct{}, 1)
	r := refresh.NewPhaseRunner(tr.base, &refresh.PhaseOptions{
		Env:     testEnv(tr, log, out),
		Timeout: 2 * time.Second,
		Logger:  testLogger(t),
		OnEvent: func(e refresh.Event) {
			if e.Kind == refresh.ScriptStarted && e.Run.Script == "10-hang" {
				started <- struct{}{}
			}
		},
	})
	_, err := r.Run(t.Context())
	select {
	case <-started:
	default:
		t.Fatalf("10-hang never started: %v", err)
	}
	var pe *refresh.PhaseError
	if !errors.As(err, &pe) || !errors.Is(err, refresh.ErrTimeout) || pe.Script != "10-hang" || pe.ExitCode != 128+int(syscall.SIGKILL) {
		t.Fatalf("err = %v, want a PhaseError for 10-hang wrapping ErrTimeout, exit 137", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if alive(pid) {
		t.Errorf("child %d of the hung script survived the timeout", pid)
	}
	if logb, _ := os.ReadFile(log); !strings.Contains(string(logb), "error/10-handler") {
		t.Errorf("error.d did not run after the timeout; log: %q", logb)
	}
}

// alive reports whether pid exists and is not a zombie (a zombie is dead,
// waiting for a parent that may never reap it in a container).
func alive(pid int) bool {
	for range 200 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		_, rest, _ := strings.Cut(string(b), ") ")
		if strings.HasPrefix(rest, "Z") || strings.HasPrefix(rest, "X") {
			return false
		}
		time.Sleep(10 * time.Millisecond) // SIGKILL delivery is asynchronous
	}
	return true
}

// PhaseOptions.Dir is the scripts' working directory: a machine's scripts
// can use paths relative to its root.
func TestPhaseRunnerDir(t *testing.T) {
	tr := newTree(t)
	root := t.TempDir()
	tr.write("configure.d/10-pwd", "#!/bin/sh\npwd > pwd.txt\n", 0o755)
	r := refresh.NewPhaseRunner(tr.base, &refresh.PhaseOptions{Dir: root, Logger: testLogger(t)})
	if _, err := r.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "pwd.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != root {
		t.Errorf("pwd = %q, want %q", got, root)
	}
}
