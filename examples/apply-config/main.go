package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tripleo-go/tripleo/config"
)

//go:embed templates
var templates embed.FS

// metadataV1 is what the cloud first delivers to the node, as
// os-collect-config would write it.
const metadataV1 = `{
  "node": {"name": "overcloud-compute-0", "ip": "192.0.2.21"},
  "domain": "example.com",
  "hosts": [
    {"name": "overcloud-controller-0", "ip": "192.0.2.10"},
    {"name": "overcloud-compute-0", "ip": "192.0.2.21"}
  ],
  "ntp": {"servers": []},
  "db": {"host": "192.0.2.10", "password": "s3cret"},
  "debug": false,
  "maintenance": null
}`

// metadataV2 changes the NTP servers and puts the node in maintenance; the
// rest is the same.
const metadataV2 = `{
  "ntp": {"servers": ["0.pool.example.com", "1.pool.example.com"]},
  "maintenance": "kernel upgrade, back at 14:00 UTC"
}`

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "apply-config:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	work, err := os.MkdirTemp("", "apply-config-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	tdir, root := filepath.Join(work, "templates"), filepath.Join(work, "root")

	n, err := writeTemplates(tdir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "== templates: %d files (plus their .oac control files)\n", n)

	md := config.NewObject()
	v1, err := decode(metadataV1)
	if err != nil {
		return err
	}
	config.Merge(md, v1)
	fmt.Fprintln(w, "== apply metadata v1 (node overcloud-compute-0, no NTP servers, not in maintenance)")
	if err := apply(ctx, w, md, tdir, root); err != nil {
		return err
	}
	if err := show(w, root, "etc/chrony/chrony.conf"); err != nil {
		return err
	}

	v2, err := decode(metadataV2)
	if err != nil {
		return err
	}
	config.Merge(md, v2) // as a later metadata source would: deep merge
	fmt.Fprintln(w, "== apply metadata v2 (two NTP servers, maintenance message)")
	if err := apply(ctx, w, md, tdir, root); err != nil {
		return err
	}
	if err := show(w, root, "etc/chrony/chrony.conf"); err != nil {
		return err
	}
	if err := show(w, root, "etc/motd.d/maintenance"); err != nil {
		return err
	}

	fmt.Fprintln(w, "== apply metadata v2 again")
	if err := apply(ctx, w, md, tdir, root); err != nil {
		return err
	}
	fmt.Fprintln(w, "== done: only the files whose content changed were reported (and rewritten)")
	return nil
}

// writeTemplates copies the built-in templates tree to dir and returns the
// number of templates (control files not counted).
func writeTemplates(dir string) (int, error) {
	n := 0
	err := fs.WalkDir(templates, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimPrefix(p, "templates/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if !strings.HasSuffix(p, config.ControlSuffix) {
			n++
		}
		return os.WriteFile(dst, b, 0o644)
	})
	return n, err
}

func decode(s string) (*config.Object, error) {
	v, err := config.DecodeJSON([]byte(s))
	if err != nil {
		return nil, err
	}
	obj, ok := v.(*config.Object)
	if !ok {
		return nil, fmt.Errorf("metadata is not a JSON object")
	}
	return obj, nil
}

// apply renders the tree into root and prints the change set.
func apply(ctx context.Context, w io.Writer, md *config.Object, tdir, root string) error {
	res, err := config.Apply(ctx, md, &config.ApplyOptions{TemplatesDir: tdir, OutputDir: root})
	if err != nil {
		return err
	}
	for _, c := range res.Changes {
		rel, _ := filepath.Rel(root, c.Path)
		mode := ""
		if st, err := os.Stat(c.Path); err == nil {
			mode = fmt.Sprintf(" (mode %04o)", st.Mode().Perm())
		}
		fmt.Fprintf(w, "   %-8s %s%s\n", c.Kind, rel, mode)
	}
	fmt.Fprintf(w, "   %d changed, %d unchanged\n", len(res.Changes), len(res.Unchanged))
	return nil
}

// show prints one output file, indented.
func show(w io.Writer, root, rel string) error {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "   --- %s\n", rel)
	for _, l := range strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n") {
		fmt.Fprintf(w, "   | %s", strings.TrimSuffix(l, "\n")+"\n")
	}
	return nil
}
