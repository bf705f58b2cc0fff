package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	yml := `
name: overcloud-full
version: "17.1"
source_date_epoch: 1700000000
seed: abc
layout:
  disk_size: 1GiB
  esp_size: 128MiB
  partitions:
    - name: state
      size: 64MiB
      type: var
      filesystem: ext4
      keep: true
outputs: {qcow2: true, tar: true}
elements: [base, node-agent]
state_paths: [var/lib/myapp]
`
	s, err := ParseSpec([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	if s.Layout.DiskSize != 1<<30 || s.Layout.Partitions[0].Size != 64*MiB || !s.Outputs.Qcow2 || s.Elements[1] != "node-agent" {
		t.Errorf("parsed %+v", s)
	}
	js := `{"name":"x","layout":{"disk_size":268435456,"esp_size":"64MiB"}}`
	s, err = ParseSpec([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if s.Layout.DiskSize != 256*MiB || s.Layout.ESPSize != 64*MiB {
		t.Errorf("JSON parsed %+v", s.Layout)
	}
}

func TestParseSpecErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ in, field string }{
		{`version: 1`, "name"},
		{`name: x` + "\n" + `colour: red`, "colour"},
		{`name: x` + "\n" + `layout: {disk_size: lots}`, "layout.disk_size"},
		{`name: x` + "\n" + `layout: {esp_size: 1MiB}`, "layout.esp_size"},
		{`name: x` + "\n" + `layout: {root_fs: btrfs}`, "layout.root_fs"},
		{`name: x` + "\n" + `layout: {partitions: [{name: a, size: 1MiB}, {name: a, size: 1MiB}]}`, "layout.partitions[1].name"},
		{`name: x` + "\n" + `layout: {partitions: [{name: a, size: 1MiB, type: nope}]}`, "layout.partitions[0].type"},
		{`name: x` + "\n" + `layout: {disk_size: 64MiB, esp_size: 60MiB}`, "layout.disk_size"},
		{`name: x` + "\n" + `source_date_epoch: soon`, "source_date_epoch"},
		{`name: x` + "\n" + `elements: base`, "elements"},
		{`name: x` + "\n" + `outputs: {qcow2: maybe}`, "outputs.qcow2"},
	} {
		_, err := ParseSpec([]byte(c.in))
		var se *SpecError
		if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%q: error %v is not a *SpecError wrapping ErrInvalidSpec", c.in, err)
			continue
		}
		if se.Field != c.field {
			t.Errorf("%q: field %q, want %q (%v)", c.in, se.Field, c.field, err)
		}
	}
}

func TestLoadSpecNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte("name: x\nlayout:\n  align: big\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSpec(p)
	if err == nil || !strings.Contains(err.Error(), p+": line 3: layout.align:") {
		t.Errorf("error %v does not name file, line and field", err)
	}
}

func FuzzParseSpec(f *testing.F) {
	f.Add([]byte("name: a\nlayout: {disk_size: 1GiB, partitions: [{name: s, size: 1MiB}]}\n"))
	f.Add([]byte(`{"name":"b","outputs":{"qcow2":true}}`))
	f.Add([]byte("name: [\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSpec(b)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SpecError", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("parsed spec does not validate: %v", err)
		}
		if _, err := s.plan(); err != nil {
			t.Fatalf("valid spec has no plan: %v", err)
		}
	})
}
