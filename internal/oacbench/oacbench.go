package oacbench

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Scenario names a generated input set.
type Scenario string

// The scenarios.
const (
	BigMeta Scenario = "big-meta-200"
	Small   Scenario = "small-1000"
)

// Scenarios lists every scenario, in the order reports show them.
var Scenarios = []Scenario{BigMeta, Small}

// KeyLookup is the --key benchmarked on BigMeta's metadata, with its type.
const (
	KeyLookup     = "services.svc123.db.host"
	KeyLookupType = "netaddress"
)

// Input is a generated scenario on disk.
type Input struct {
	// Metadata is the path of the metadata JSON file.
	Metadata string
	// Templates is the root of the templates tree.
	Templates string
	// Files is the number of templates.
	Files int
}

// Generate writes scenario s under dir (dir/metadata.json and
// dir/templates) and returns where. The output is the same byte for byte
// on every call.
func Generate(dir string, s Scenario) (*Input, error) {
	in := &Input{Metadata: filepath.Join(dir, "metadata.json"), Templates: filepath.Join(dir, "templates")}
	var md []byte
	var files map[string]string
	switch s {
	case BigMeta:
		md, files = bigMeta()
	case Small:
		md, files = small()
	default:
		return nil, fmt.Errorf("oacbench: unknown scenario %q", s)
	}
	if err := os.MkdirAll(in.Templates, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(in.Metadata, md, 0o644); err != nil {
		return nil, err
	}
	for name, body := range files {
		p := filepath.Join(in.Templates, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	in.Files = len(files)
	return in, nil
}

// blob is a deterministic 64-character hex string.
func blob(i int) string {
	sum := sha256.Sum256([]byte("blob-" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

func bigMeta() ([]byte, map[string]string) {
	const services, hosts, target = 200, 500, 1_000_000
	var b strings.Builder
	b.WriteString(`{"cluster": {"name": "overcloud", "domain": "example.com", "vip": "192.0.2.10"}, "services": {`)
	for i := range services {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"svc%03d": {"name": "svc%03d", "port": %d, "workers": %d, "debug": %t, `+
			`"db": {"host": "10.1.%d.%d", "port": 3306, "user": "svc%03d", "password": "%s"}, "endpoints": [`,
			i, i, 8000+i, 1+i%8, i%7 == 0, i/250, i%250+1, i, blob(i)[:16])
		for e := range 5 {
			if e > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, `"https://svc%03d-%d.example.com:%d/v%d"`, i, e, 8000+i, e+1)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`}, "hosts": [`)
	for h := range hosts {
		if h > 0 {
			b.WriteString(", ")
		}
		roles := `"compute"`
		if h%3 == 0 {
			roles = `"compute", "storage"`
		}
		if h%10 == 0 {
			roles = `"controller", "network", "storage"`
		}
		fmt.Fprintf(&b, `{"name": "host%03d", "ip": "10.2.%d.%d", "roles": [%s], "enabled": %t}`,
			h, h/250, h%250+1, roles, h%11 != 0)
	}
	b.WriteString(`], "blobs": {`)
	// Pad with opaque entries up to about 1 MB, as real metadata carries
	// certificates and keys that no template of this set uses.
	for i := 0; b.Len() < target-100; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"b%05d": "%s"`, i, blob(i))
	}
	b.WriteString("}}\n")

	files := make(map[string]string, services)
	for i := range services {
		svc := fmt.Sprintf("svc%03d", i)
		files[fmt.Sprintf("etc/%s/%s.conf", svc, svc)] = fmt.Sprintf(`# {{services.%[1]s.name}} on {{cluster.name}}.{{cluster.domain}}
[DEFAULT]
vip = {{cluster.vip}}
{{#services.%[1]s}}
bind_port = {{port}}
workers = {{workers}}
{{^debug}}
debug = false
{{/debug}}

[database]
connection = mysql://{{db.user}}:{{db.password}}@{{db.host}}:{{db.port}}/{{name}}

[endpoints]
{{#endpoints}}
endpoint = {{.}}
{{/endpoints}}
{{/services.%[1]s}}

[hosts]
{{#hosts}}
{{name}} = {{ip}}{{#roles}} {{.}}{{/roles}}{{^enabled}} disabled{{/enabled}}
{{/hosts}}
`, svc)
	}
	return []byte(b.String()), files
}

func small() ([]byte, map[string]string) {
	var b strings.Builder
	b.WriteString(`{"node": {"name": "overcloud-compute-0", "ip": "192.0.2.21", "role": "compute"}, "ntp": ["0.pool.ntp.org", "1.pool.ntp.org", "2.pool.ntp.org"], "dns": {"domain": "example.com", "servers": ["192.0.2.1", "192.0.2.2"]}, "keys": {`)
	for i := 0; b.Len() < 1900; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"k%02d": "%s"`, i, blob(i)[:40])
	}
	b.WriteString("}, \"maintenance\": false}\n")
	files := make(map[string]string, 1000)
	for i := range 1000 {
		files[fmt.Sprintf("etc/dir%02d/file%04d.conf", i%20, i)] = fmt.Sprintf(`# file %04d for {{node.name}} ({{node.role}})
address = {{node.ip}}
ntp ={{#ntp}} {{.}}{{/ntp}}
{{^maintenance}}active = true{{/maintenance}}
`, i)
	}
	return []byte(b.String()), files
}
