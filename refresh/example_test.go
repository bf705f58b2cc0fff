package refresh_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tripleo-go/tripleo/refresh"
)

// Run a phase tree as os-refresh-config would, and look at what ran.
func ExamplePhaseRunner() {
	base, _ := os.MkdirTemp("", "phases")
	defer os.RemoveAll(base)
	for _, s := range []string{"configure.d/20-restart", "configure.d/10-render", "post-configure.d/99-done"} {
		p := filepath.Join(base, s)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		_ = os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	}
	r := refresh.NewPhaseRunner(base, nil)
	rep, err := r.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range rep.Scripts {
		fmt.Println(s.Phase, s.Script, s.ExitCode)
	}
	// Output:
	// configure 10-render 0
	// configure 20-restart 0
	// post-configure 99-done 0
}

// One os-collect-config round over a local metadata directory: the cache
// gets name.json files, and the round says what changed.
func ExampleCollectOnce() {
	dir, _ := os.MkdirTemp("", "collect")
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "local-data")
	_ = os.MkdirAll(data, 0o755)
	_ = os.WriteFile(filepath.Join(data, "10-site.json"), []byte(`{"ntp": "pool.ntp.org"}`), 0o644)
	cache := refresh.NewCache(filepath.Join(dir, "cache"), nil)
	local := refresh.NewLocal([]string{data}, nil)

	r, _ := refresh.CollectOnce(context.Background(), []refresh.Collector{local}, cache, nil)
	fmt.Println("changed:", r.Changed)
	_ = r.Commit(cache) // the command succeeded
	r, _ = refresh.CollectOnce(context.Background(), []refresh.Collector{local}, cache, nil)
	fmt.Println("changed:", r.Changed)
	fmt.Println(filepath.Base(r.Paths[0]))
	// Output:
	// changed: [10-site.json]
	// changed: []
	// 10-site.json.json
}
