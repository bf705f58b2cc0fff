package tripleo_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

// toyScript is the image's configure phase: it writes into $ROOT (the
// rendered config, copied) and into the persistent volume (a run counter
// and the first image version it saw), and leaves a "daemon" running.
const toyScript = `#!/bin/sh
set -eu
mkdir -p "$ROOT/var/lib/toy"
cp "$ROOT/etc/toy/toy.conf" "$ROOT/var/lib/toy/applied.conf"
n=$(cat "$VOLUME/runs" 2>/dev/null || echo 0)
echo $((n+1)) > "$VOLUME/runs"
[ -f "$VOLUME/first-image" ] || cp "$ROOT/etc/image-version" "$VOLUME/first-image"
sleep 300 </dev/null >/dev/null 2>&1 &
echo $! > "$ROOT/var/lib/toy/daemon.pid"
echo "toy configured on $TRIPLEO_MACHINE"
`

// toyImage builds the golden image of version v (a template and a phase
// script) into the Cloud's store, tagged toy:v.
func toyImage(t testing.TB, c *tripleo.Cloud, v string) *image.Artifact {
	t.Helper()
	spec := &image.Spec{Name: "toy", Version: v, SourceDateEpoch: 1700000000,
		Layout: image.Layout{DiskSize: 56 * image.MiB, ESPSize: 40 * image.MiB}}
	tree := image.NewTree(
		image.Entry{Path: "etc/image-version", Mode: 0o644, Data: []byte(v + "\n")},
		image.Entry{Path: "usr/libexec/os-apply-config/templates/etc/toy/toy.conf", Mode: 0o644,
			Data: []byte("host = {{toy.host}}\ngreeting = {{toy.greeting}}\nimage = " + v + "\n")},
		image.Entry{Path: "usr/libexec/os-refresh-config/configure.d/50-toy", Mode: 0o755, Data: []byte(toyScript)},
		image.Entry{Path: "var/lib/toy", Mode: fs.ModeDir | 0o755},
	)
	a, err := c.Images().Build(t.Context(), spec, tree, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Images().Tag("toy:"+v, a.Digest); err != nil {
		t.Fatal(err)
	}
	return a
}

const bootTemplate = `heat_template_version: queens
parameters:
  image: {type: string}
resources:
  server:
    type: OS::TripleO::ComputeServer
    properties: {name: compute-0, flavor: compute, image: {get_param: image}}
  config:
    type: OS::Heat::StructuredConfig
    properties:
      group: os-apply-config
      config:
        toy: {host: {get_input: host}, greeting: {get_input: greeting}}
  dep:
    type: OS::Heat::StructuredDeployment
    properties:
      config: {get_resource: config}
      server: {get_resource: server}
      input_values: {host: {get_attr: [server, name]}, greeting: hello}
`

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A simulated machine deployed by the Cloud boots its image: the node
// agent reads the server's metadata from the Cloud, renders the image's
// template with the deployment's inputs, runs its phase script (which
// writes into $ROOT and the persistent volume), and signals, so the stack
// completes with no agent started by the test. Redeploying a second image
// (an update of the image property) extracts the new root and keeps the
// volume.
func TestSimMachinesBoot(t *testing.T) {
	peertest.Look(t, "mkfs.ext4")
	var dc *sim.Datacenter
	c, dc, _ := newCloud(t, 1, &tripleo.Options{
		ImageWriter: func(path string) provision.DeployStep { return dc.DeployStep(path) },
	})
	dc.SetBooter(c.Booter())
	toyImage(t, c, "v1")
	toyImage(t, c, "v2")
	m := dc.Machine(0)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute) // a hang guard
	defer cancel()
	e, err := c.Stack(ctx, "overcloud")
	if err != nil {
		t.Fatal(err)
	}
	in := &orchestrate.Input{TemplateFile: "overcloud.yaml", Template: bootTemplate,
		Environments: []orchestrate.File{{Name: "env.yaml", Data: groupEnv}},
		Params:       map[string]string{"image": "toy:v1"}}
	if err := e.Create(ctx, "overcloud", in); err != nil {
		t.Fatalf("create: %v (machine: %+v)", err, m.BootStatus())
	}
	if info, err := e.Show(ctx); err != nil || info.State() != "CREATE_COMPLETE" {
		t.Fatalf("stack: %+v, %v", info, err)
	}
	if st := m.BootStatus(); st.State != sim.BootStateRunning {
		t.Errorf("machine boot status %+v, want running", st)
	}
	root := filepath.Join(m.Dir(), tripleo.BootRootDir)
	volume := filepath.Join(m.Dir(), tripleo.BootVolumeDir)
	want := "host = compute-0\ngreeting = hello\nimage = v1\n"
	if got := readFile(t, filepath.Join(root, "etc/toy/toy.conf")); got != want {
		t.Errorf("rendered toy.conf = %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(root, "var/lib/toy/applied.conf")); got != want {
		t.Errorf("the phase script's copy = %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(volume, "first-image")); got != "v1\n" {
		t.Errorf("volume first-image = %q", got)
	}
	if got := readFile(t, filepath.Join(root, tripleo.VolumeMount, "first-image")); got != "v1\n" {
		t.Errorf("the volume inside the root: %q", got)
	}
	runs := readFile(t, filepath.Join(volume, "runs"))
	daemon := readFile(t, filepath.Join(root, "var/lib/toy/daemon.pid"))

	// Redeploy the second image.
	in.Params = map[string]string{"image": "toy:v2"}
	if err := e.Update(ctx, in); err != nil {
		t.Fatalf("update: %v (machine: %+v)", err, m.BootStatus())
	}
	if info, err := e.Show(ctx); err != nil || info.State() != "UPDATE_COMPLETE" {
		t.Fatalf("stack: %+v, %v", info, err)
	}
	if got := readFile(t, filepath.Join(root, "etc/image-version")); got != "v2\n" {
		t.Errorf("root holds image %q after the redeploy, want v2", got)
	}
	want = strings.Replace(want, "v1", "v2", 1)
	if got := readFile(t, filepath.Join(root, "var/lib/toy/applied.conf")); got != want {
		t.Errorf("after the redeploy, the phase script's copy = %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(volume, "first-image")); got != "v1\n" {
		t.Errorf("the volume lost its file across the redeploy: first-image = %q", got)
	}
	if got := readFile(t, filepath.Join(volume, "runs")); got <= runs {
		t.Errorf("runs %q after the redeploy, %q before", got, runs)
	}
	if alive(daemon) {
		t.Errorf("the process the v1 phase script left (pid %s) outlived the power-off of the redeploy", daemon)
	}
	daemon = readFile(t, filepath.Join(root, "var/lib/toy/daemon.pid"))
	if !alive(daemon) {
		t.Errorf("the v2 script's process (pid %s) is not running", daemon)
	}
	st := c.Booter().Stats()
	if st.Extractions != 2 || st.Failures != 0 {
		t.Errorf("booter stats %+v, want 2 extractions and no failure", st)
	}
	t.Logf("%d boots, %d roots extracted in %v (%v each)", st.Boots, st.Extractions, st.ExtractTime, st.ExtractTime/time.Duration(max(st.Extractions, 1)))

	// Closing the Cloud stops the agent.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// (the machine records the end of the boot just after the agent
	// returned)
	for deadline := time.Now().Add(30 * time.Second); m.BootStatus().State == sim.BootStateRunning; {
		if time.Now().After(deadline) {
			t.Fatal("machine still running its agent after Cloud.Close")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if alive(daemon) {
		t.Errorf("the process the v2 phase script left (pid %s) outlived Cloud.Close", daemon)
	}
}

// alive reports whether the process pid (as a script wrote it) runs (a
// zombie does not count).
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + strings.TrimSpace(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// BenchmarkBootRoot is what each boot of a new image costs a simulated
// machine: extracting the toy image's root from its disk.
func BenchmarkBootRoot(b *testing.B) {
	peertest.Look(b, "mkfs.ext4")
	c, _, _ := newCloud(b, 1, nil)
	a := toyImage(b, c, "v1")
	b.Run("ExtractRoot", func(b *testing.B) {
		dst := filepath.Join(b.TempDir(), "root")
		for b.Loop() {
			if _, err := image.ExtractRoot(b.Context(), a.Path(a.Raw), dst, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The peer: debugfs rdump of the root partition (what a booter
	// shelling out to e2fsprogs would do).
	b.Run("debugfs-rdump", func(b *testing.B) {
		debugfs := peertest.Look(b, "debugfs")[0]
		dev := fmt.Sprintf("%s?offset=%d", a.Path(a.Raw), a.Manifest.Disk.Partitions[1].Start)
		for b.Loop() {
			dst := b.TempDir()
			if out, err := exec.CommandContext(b.Context(), debugfs, "-R", "rdump / "+dst, dev).CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
}

// Without a config drive a machine boots its root but runs no agent; a
// reboot of the same disk keeps the root as it was (what the node wrote
// survives), a rewritten disk gets a fresh root; a closed NodeBooter
// boots nothing.
func TestNodeBooterReboot(t *testing.T) {
	peertest.Look(t, "mkfs.ext4")
	c, _, _ := newCloud(t, 1, nil)
	a := toyImage(t, c, "v1")
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.img")
	idle := make(chan struct{}, 1)
	b := tripleo.NewNodeBooter(&tripleo.BootOptions{Logger: slog.New(slog.NewTextHandler(signalWriter{
		"booted without a config drive": idle}, nil))})
	boot := func() {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- b.Boot(ctx, "m0", disk, dir) }()
		select {
		case <-idle:
		case err := <-done:
			t.Fatalf("Boot returned early: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Boot: %v", err)
		}
	}
	if err := os.WriteFile(disk, []byte(readFile(t, a.Path(a.Raw))), 0o644); err != nil {
		t.Fatal(err)
	}
	boot()
	root := filepath.Join(dir, tripleo.BootRootDir)
	if got := readFile(t, filepath.Join(root, "etc/image-version")); got != "v1\n" {
		t.Fatalf("root: image-version %q", got)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/written-by-node"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	boot()
	if _, err := os.Stat(filepath.Join(root, "etc/written-by-node")); err != nil {
		t.Errorf("a reboot of the same disk lost the root's changes: %v", err)
	}
	// rewrite the disk (a deploy): a fresh root
	now := time.Now().Add(time.Second)
	if err := os.Chtimes(disk, now, now); err != nil {
		t.Fatal(err)
	}
	boot()
	if _, err := os.Stat(filepath.Join(root, "etc/written-by-node")); err == nil {
		t.Error("a rewritten disk booted the old root")
	}
	if st := b.Stats(); st.Boots != 3 || st.Extractions != 2 || st.Failures != 0 {
		t.Errorf("stats %+v, want 3 boots, 2 extractions", st)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Boot(t.Context(), "m0", disk, dir); !errors.Is(err, tripleo.ErrClosed) {
		t.Errorf("Boot after Close: %v, want ErrClosed", err)
	}
}

// signalWriter sends on the channel of the first key a log line holds.
type signalWriter map[string]chan struct{}

func (w signalWriter) Write(p []byte) (int, error) {
	for k, ch := range w {
		if strings.Contains(string(p), k) {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
	return len(p), nil
}
