package main

// Recorded results of the real os-apply-config, one JSON file per case
// under testdata/diff/golden, written by `go test -update` on a machine
// where it is installed (as root, as in CI). TestDiff compares our binary
// with them where the real tool is missing, so a developer without
// python3-os-apply-config still runs the whole differential suite. With
// the real tool present, every recorded result is checked against a fresh
// run, so the recordings cannot go stale unnoticed.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"unicode/utf8"
)

const goldenDir = "testdata/diff/golden"

// golden is one recorded run of the real tool.
type golden struct {
	// Case is the SHA-256 of the case file it was recorded from: a changed
	// case makes its recording stale.
	Case   string `json:"case"`
	Exit   int    `json:"exit"`
	Stdout string `json:"stdout"`
	// Stderr has its timestamps replaced by [TS].
	Stderr string `json:"stderr"`
	// Tree is the whole case directory after the run. Owner and group
	// -1 stand for whoever ran the tool.
	Tree map[string]goldenEntry `json:"tree"`
}

type goldenEntry struct {
	Kind    string `json:"kind"`
	Mode    uint32 `json:"mode"`
	UID     int64  `json:"uid"`
	GID     int64  `json:"gid"`
	Content string `json:"content,omitempty"`
	// Bytes holds content that is not UTF-8 (base64 in JSON).
	Bytes []byte `json:"bytes,omitempty"`
}

var logTimestamp = regexp.MustCompile(`\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [AP]M\]`)

func (c *diffCase) goldenPath() string { return filepath.Join(goldenDir, c.name+".json") }

// hash is the SHA-256 of the case file.
func (c *diffCase) hash(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/diff", c.name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// recordable reports whether the real tool's result is deterministic and
// needed: a deliberate difference that does not compare trees only needs
// what the case says about us.
func (c *diffCase) recordable() bool { return c.differs == "" || c.oursTree == "same" }

func toGolden(hash string, r result) golden {
	g := golden{Case: hash, Exit: r.exit, Stdout: r.stdout, Stderr: logTimestamp.ReplaceAllString(r.stderr, "[TS]"), Tree: map[string]goldenEntry{}}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	for p, e := range r.tree {
		ge := goldenEntry{Kind: e.kind, Mode: e.mode, UID: int64(e.uid), GID: int64(e.gid), Content: e.content}
		if !utf8.ValidString(e.content) {
			ge.Content, ge.Bytes = "", []byte(e.content)
		}
		if e.uid == uid {
			ge.UID = -1
		}
		if e.gid == gid {
			ge.GID = -1
		}
		g.Tree[p] = ge
	}
	return g
}

func (g golden) result() result {
	r := result{exit: g.Exit, stdout: g.Stdout, stderr: g.Stderr, tree: map[string]entry{}}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	for p, ge := range g.Tree {
		e := entry{kind: ge.Kind, mode: ge.Mode, uid: uint32(ge.UID), gid: uint32(ge.GID), content: ge.Content + string(ge.Bytes)}
		if ge.UID == -1 {
			e.uid = uid
		}
		if ge.GID == -1 {
			e.gid = gid
		}
		r.tree[p] = e
	}
	return r
}

// loadGolden returns the recorded result of the real tool, if there is an
// up-to-date one.
func (c *diffCase) loadGolden(t *testing.T) (result, bool) {
	t.Helper()
	if !c.recordable() {
		return result{}, true // nothing of the real tool's is compared
	}
	b, err := os.ReadFile(c.goldenPath())
	if errors.Is(err, os.ErrNotExist) {
		return result{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("%s: %v", c.goldenPath(), err)
	}
	if g.Case != c.hash(t) {
		return result{}, false
	}
	return g.result(), true
}

// checkGolden, after a run of the real tool, records it (-update) or
// checks that the recording still matches it.
func (c *diffCase) checkGolden(t *testing.T, real result) {
	t.Helper()
	if !c.recordable() {
		return
	}
	g := toGolden(c.hash(t), real)
	if *update {
		b, err := json.MarshalIndent(g, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.goldenPath(), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, ok := c.loadGolden(t)
	if !ok {
		t.Errorf("%s is missing or stale: run go test -update ./cmd/os-apply-config (as root, with os-apply-config installed)", c.goldenPath())
		return
	}
	if os.Geteuid() != 0 {
		return // recorded as root: owners differ
	}
	want := g.result()
	if old.exit != want.exit || old.stdout != want.stdout || !mapsEqualFunc(old.tree, want.tree) {
		t.Errorf("%s no longer matches the real tool: run go test -update ./cmd/os-apply-config", c.goldenPath())
	}
}

func mapsEqualFunc(a, b map[string]entry) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v, ok := b[k]; !ok || v != a[k] {
			return false
		}
	}
	return true
}
