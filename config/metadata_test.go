package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMetadataMergesInOrder(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.json", `{"x": {"keep": 1, "over": "a", "sub": {"a": 1}}, "l": [1, 2], "s": "a", "d": {"k": 1}}`)
	b := writeFile(t, dir, "b.json", `{"x": {"over": "b", "sub": {"b": 2}, "new": true}, "l": [3], "s": {"now": "obj"}, "d": 5, "n": null}`)
	list := writeFile(t, dir, "list.json", `[1, 2]`)
	empty := writeFile(t, dir, "empty.json", `{}`)
	md, err := LoadMetadata([]string{a, filepath.Join(dir, "missing.json"), list, "", b, empty})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"x": {"keep": 1, "over": "b", "sub": {"a": 1, "b": 2}, "new": true}, "l": [3], "s": {"now": "obj"}, "d": 5, "n": null}`
	if got := string(AppendJSON(nil, md)); got != want {
		t.Errorf("merged:\n got %s\nwant %s", got, want)
	}
}

func TestLoadMetadataErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"bad.json": `{"a": `, "zero.json": ``, "latin1.json": "{\"a\": \"caf\xe9\"}"} {
		p := writeFile(t, dir, name, body)
		_, err := LoadMetadata([]string{p})
		var me *MetadataError
		if !errors.As(err, &me) || me.Path != p || !errors.Is(err, ErrMetadata) {
			t.Errorf("%s: err = %v, want a MetadataError naming it", name, err)
		}
	}
	if _, err := LoadMetadata([]string{dir}); err == nil {
		t.Error("a directory as metadata: no error")
	}
}

func TestSourcesPaths(t *testing.T) {
	dir := t.TempDir()
	list := writeFile(t, dir, "os_config_files.json", `["/l1", "/l2"]`)
	notList := writeFile(t, dir, "notlist.json", `{"a": 1}`)
	for _, tc := range []struct {
		name string
		s    Sources
		want []string
		err  bool
	}{
		{"metadata wins", Sources{Metadata: []string{"/m"}, OSConfigFiles: "/e", OSConfigFilesSet: true, OSConfigFilesPath: list, Fallback: []string{"/f"}}, []string{"/f", "/m"}, false},
		{"env even empty", Sources{OSConfigFiles: "", OSConfigFilesSet: true, OSConfigFilesPath: list}, []string{}, false},
		{"env split", Sources{OSConfigFiles: "/a::/b", OSConfigFilesSet: true}, []string{"/a", "/b"}, false},
		{"list file", Sources{OSConfigFilesPath: list}, []string{"/l1", "/l2"}, false},
		{"missing list file", Sources{OSConfigFilesPath: filepath.Join(dir, "none.json")}, []string{}, false},
		{"not a list", Sources{OSConfigFilesPath: notList}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Paths(nil)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			if tc.err {
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestSubhash(t *testing.T) {
	md, err := DecodeJSON([]byte(`{"a": {"b": {"c": 1}, "s": "x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Subhash(md.(*Object), "a.b")
	if err != nil || string(AppendJSON(nil, sub)) != `{"c": 1}` {
		t.Fatalf("Subhash(a.b) = %s, %v", AppendJSON(nil, sub), err)
	}
	for _, k := range []string{"a.s", "a.x", "x", "a.b.c"} {
		if _, err := Subhash(md.(*Object), k); !errors.Is(err, ErrMetadata) {
			t.Errorf("Subhash(%q): err = %v, want ErrMetadata", k, err)
		}
	}
}
