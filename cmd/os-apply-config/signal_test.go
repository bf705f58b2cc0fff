package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMStopsExecutableTemplate: SIGTERM while an executable template
// runs cancels the run: the template's process is killed, nothing is
// written and the command exits 1 with an error. (The original died
// leaving the script running.)
func TestSIGTERMStopsExecutableTemplate(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "templates")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "pid")
	script := "#!/bin/sh\necho $$ > " + pidFile + "\nexec sleep 300\n"
	if err := os.WriteFile(filepath.Join(tdir, "slow"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tdir, "plain"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), ourBinary, "--fallback-metadata", "-t", tdir, "-o", filepath.Join(dir, "out"))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "OS_CONFIG_FILES="}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the template to be running (no timing assertion: the test
	// context bounds the wait).
	var pid int
	for pid == 0 {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		select {
		case <-t.Context().Done():
			t.Fatal("the template never started")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "[ERROR]") {
		t.Errorf("no error logged:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("output written despite the cancel: %v", err)
	}
	// The script's process is gone (reaped by the command before it
	// exited, so it cannot even be a zombie of ours).
	if err := syscall.Kill(pid, 0); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the template's process %d is still alive", pid)
	}
}
