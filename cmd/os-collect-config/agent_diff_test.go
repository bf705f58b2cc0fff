package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// The --agent mode against the real trio as TripleO chains it:
// os-collect-config --command os-refresh-config, whose configure.d runs
// os-apply-config. Same metadata (a request source with deployments),
// same templates, same recording script: the rendered files, what the
// script saw, the cache and the exit status must be the same.
func TestAgentModeDifferential(t *testing.T) {
	t.Parallel()
	bins := peertest.Look(t, "os-collect-config", "os-refresh-config", "os-apply-config", "dib-run-parts")
	occ, oac := bins[0], bins[2]
	root := t.TempDir()
	srv := &metaServer{status: 200}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	out, cache, log := filepath.Join(root, "out"), filepath.Join(root, "cache"), filepath.Join(root, "log")
	mk := func(rel, body string, mode os.FileMode) { writeFile(t, root, rel, body, mode) }
	mk("templates/etc/motd", "host {{hostname}}\n{{#services}}service {{name}} on {{port}}\n{{/services}}", 0o644)
	mk("templates/etc/dep.conf", "k={{k}}\n", 0o644)
	mk("templates/etc/dep.conf.oac", "mode: 0600\n", 0o644)
	record := "#!/bin/sh\n{ cat " + out + "/etc/motd " + out + "/etc/dep.conf; echo \"$OS_CONFIG_FILES\"; } >> " + log + "\n"
	// The real chain renders in its first configure script, as TripleO's
	// 20-os-apply-config does; the agent renders before the phases.
	mk("real/configure.d/20-os-apply-config", "#!/bin/sh\nexec "+oac+" -t "+filepath.Join(root, "templates")+" -o "+out+"\n", 0o755)
	mk("real/configure.d/50-record", record, 0o755)
	mk("ours/configure.d/50-record", record, 0o755)

	metadata := func(host string, port int) string {
		return fmt.Sprintf(`{"hostname": %q, "services": [{"name": "api", "port": %d}, {"name": "db", "port": 3306}],
		 "deployments": [{"name": "dep1", "group": "os-apply-config", "config": {"k": "v-%s"}}]}`, host, port, host)
	}
	steps := []struct {
		md   string
		fail bool
	}{{metadata("n0", 8000), false}, {metadata("n0", 8000), false}, {metadata("n1", 8001), true}, {metadata("n1", 8001), false}}

	common := []string{"--config-file", "/dev/null", "--one-time", "--cachedir", cache,
		"--backup-cachedir", filepath.Join(root, "backup"), "--request-metadata-url", hs.URL + "/md"}
	snapshot := func(code int) string {
		var lines []string
		for _, dir := range []string{out, cache} {
			_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				fi, _ := d.Info()
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(root, p)
				lines = append(lines, fmt.Sprintf("%s %v\n%s", rel, fi.Mode().Perm(), b))
				return nil
			})
		}
		sort.Strings(lines)
		b, _ := os.ReadFile(log)
		return fmt.Sprintf("exit %d\n%s\nlog:\n%s", code, strings.Join(lines, "\n"), b)
	}
	reset := func() {
		for _, p := range []string{out, cache, log, filepath.Join(root, "backup"), filepath.Join(root, "fail")} {
			_ = os.RemoveAll(p)
		}
	}
	failScript := func(on bool, phases string) {
		p := filepath.Join(root, phases, "configure.d", "60-fail")
		if on {
			mk(filepath.Join(phases, "configure.d", "60-fail"), "#!/bin/sh\nexit 5\n", 0o755)
		} else {
			_ = os.Remove(p)
		}
	}

	var real, ours []string
	reset()
	for _, s := range steps {
		srv.set(200, s.md, false)
		failScript(s.fail, "real")
		cmd := exec.CommandContext(t.Context(), occ, append(common, "--command", "os-refresh-config --lockfile "+filepath.Join(root, "lock"), "request")...)
		cmd.Env = append(os.Environ(), "OS_REFRESH_CONFIG_BASE_DIR="+filepath.Join(root, "real"), noProxy)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		code := exitCode(t, cmd.Run())
		real = append(real, snapshot(code))
	}
	reset()
	for _, s := range steps {
		srv.set(200, s.md, false)
		failScript(s.fail, "ours")
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append(common, "--agent", "--agent-templates", filepath.Join(root, "templates"),
			"--agent-output", out, "--agent-phases-dir", filepath.Join(root, "ours"),
			"--agent-lockfile", filepath.Join(root, "lock"), "request"), &stdout, &stderr)
		// os-collect-config exits with os-refresh-config's status, which is
		// 1 for any phase failure; the agent says 1 too.
		ours = append(ours, snapshot(code))
	}
	for i := range steps {
		if real[i] != ours[i] {
			t.Errorf("step %d differs:\nreal:\n%s\nours:\n%s", i, real[i], ours[i])
		}
	}
}
