package redfish

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
)

var update = flag.Bool("update", false, "rewrite testdata/responses from the emulator")

// responses are the emulator resources kept under testdata/responses,
// with the parser each one goes through.
var responses = []struct {
	file, path string
	parse      func([]byte) error
}{
	{"root.json", "/redfish/v1/", func(b []byte) error { _, err := parseRoot(b); return err }},
	{"systems.json", "/redfish/v1/Systems", func(b []byte) error { _, err := parseCollection(b); return err }},
	{"system.json", "/redfish/v1/Systems/m0", func(b []byte) error { _, err := parseSystem(b); return err }},
	{"processor.json", "/redfish/v1/Systems/m0/Processors/CPU0", func(b []byte) error { _, err := parseProcessor(b); return err }},
	{"nic.json", "/redfish/v1/Systems/m0/EthernetInterfaces/NIC0", func(b []byte) error { _, err := parseNIC(b); return err }},
	{"simple_storage.json", "/redfish/v1/Systems/m0/SimpleStorage/0", func(b []byte) error { _, err := parseSimpleStorage(b); return err }},
	{"storage.json", "/redfish/v1/Systems/m0/Storage/1", func(b []byte) error { _, err := parseStorage(b); return err }},
	{"drive.json", "/redfish/v1/Systems/m0/Storage/1/Drives/disk0", func(b []byte) error { _, err := parseDrive(b); return err }},
	{"manager.json", "/redfish/v1/Managers/m0", func(b []byte) error { _, err := parseManager(b); return err }},
	{"virtual_media.json", "/redfish/v1/Managers/m0/VirtualMedia/Cd", func(b []byte) error { _, err := parseMedia(b); return err }},
	{"virtual_media_inserted.json", "inserted", func(b []byte) error { _, err := parseMedia(b); return err }},
	{"error.json", "/redfish/v1/Systems/m0/Nothing", func(b []byte) error {
		if id, _ := parseError(b); id == "" {
			return malformed("error body without id", nil)
		}
		return nil
	}},
}

var uuidRE = regexp.MustCompile(`"UUID":"[0-9a-f-]+"`)

// TestResponsesGolden compares the emulator's JSON with the files the
// fuzz target starts from, and checks that the driver parses each.
// go test -run TestResponsesGolden -update rewrites them.
func TestResponsesGolden(t *testing.T) {
	dc, err := sim.Start(1, &sim.Options{Endpoints: sim.EndpointRedfish})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	m := dc.Machine(0)
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("iso")) }))
	defer img.Close()
	get := func(path string) []byte {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, dc.Redfish().URL()+path, nil)
		req.SetBasicAuth("admin", "password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	for _, r := range responses {
		path := r.path
		if path == "inserted" {
			if err := m.InsertMedia(t.Context(), img.URL+"/boot.iso", 0); err != nil {
				t.Fatal(err)
			}
			path = "/redfish/v1/Managers/m0/VirtualMedia/Cd"
		}
		body := get(path)
		body = uuidRE.ReplaceAll(body, []byte(`"UUID":"00000000-0000-0000-0000-000000000000"`))
		body = bytes.ReplaceAll(body, []byte(m.UUID()[:8]), []byte("00000000"))
		body = bytes.ReplaceAll(body, []byte(img.URL), []byte("http://127.0.0.1:8080"))
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, body, "", "  "); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		pretty.WriteByte('\n')
		file := filepath.Join("testdata", "responses", r.file)
		if *update {
			os.MkdirAll(filepath.Dir(file), 0o755)
			if err := os.WriteFile(file, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if !bytes.Equal(pretty.Bytes(), want) {
			t.Errorf("%s differs from %s (run with -update if the change is meant):\n%s", path, file, pretty.Bytes())
		}
		if err := r.parse(want); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

func TestParseRefusesForeignLinks(t *testing.T) {
	for _, p := range []string{"http://evil.example/x", "//evil.example/x", "relative", "/a b", "/x?y"} {
		body := `{"@odata.id":"/redfish/v1/Systems/1","PowerState":"On","Links":{"ManagedBy":[{"@odata.id":"` + p + `"}]}}`
		if _, err := parseSystem([]byte(body)); err == nil {
			t.Errorf("link %q accepted", p)
		}
	}
	if _, err := parseSystem([]byte(`{"@odata.id":"/s","PowerState":"Sideways"}`)); err == nil {
		t.Error("unknown PowerState accepted")
	}
	doc, err := parseSystem([]byte(`{"@odata.id":"/s","PowerState":"PoweringOn","Boot":{"BootSourceOverrideTarget":"Cd","BootSourceOverrideEnabled":"Continuous","BootSourceOverrideMode":"Legacy"}}`))
	if err != nil || doc.Power != provision.PowerOff || !doc.Transition || doc.Boot != (BootOverride{Device: provision.BootCDROM, Persistent: true, Mode: BootModeLegacy}) {
		t.Errorf("parseSystem = %+v, %v", doc, err)
	}
}

// FuzzParse feeds mutated Redfish responses (seeded with the emulator's
// JSON) to every parser of the driver: none may panic, and what they
// accept must hold local paths and defined values.
func FuzzParse(f *testing.F) {
	for _, r := range responses {
		if b, err := os.ReadFile(filepath.Join("testdata", "responses", r.file)); err == nil {
			f.Add(b)
		}
	}
	local := func(t *testing.T, what, p string) {
		if p != "" && (!strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "://")) {
			t.Fatalf("%s %q accepted", what, p)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := parseRoot(b); err == nil {
			local(t, "Systems", r.Systems)
			local(t, "Sessions", r.Sessions)
		}
		if c, err := parseCollection(b); err == nil {
			for _, m := range c.Members {
				local(t, "member", m)
			}
			local(t, "next", c.Next)
		}
		if s, err := parseSystem(b); err == nil {
			if s.Power != provision.PowerOn && s.Power != provision.PowerOff {
				t.Fatalf("power %v", s.Power)
			}
			for _, p := range append([]string{s.Path, s.ResetTarget, s.ResetInfo, s.Processors, s.NICs, s.SimpleStorage, s.Storage, s.VirtualMedia}, s.ManagedBy...) {
				local(t, "system link", p)
			}
			if _, err := s.Boot.Device.MarshalText(); err != nil {
				t.Fatal(err)
			}
			if s.CPUs < 0 || s.MemoryMiB < 0 {
				t.Fatalf("negative counts %d %d", s.CPUs, s.MemoryMiB)
			}
			for _, a := range []provision.PowerAction{provision.PowerActionOn, provision.PowerActionCycle} {
				_, _ = resetType(a, s.ResetTypes)
			}
		}
		if m, err := parseManager(b); err == nil {
			local(t, "VirtualMedia", m.VirtualMedia)
		}
		if v, err := parseMedia(b); err == nil {
			local(t, "media", v.Path)
			_ = v.isCD()
		}
		if p, err := parseProcessor(b); err == nil && p.Threads < 0 {
			t.Fatalf("threads %d", p.Threads)
		}
		if mac, err := parseNIC(b); err == nil && mac != "" {
			if _, err := net.ParseMAC(mac); err != nil {
				t.Fatalf("MAC %q", mac)
			}
		}
		if sizes, err := parseSimpleStorage(b); err == nil {
			for _, n := range sizes {
				if n <= 0 {
					t.Fatalf("size %d", n)
				}
			}
		}
		if drives, err := parseStorage(b); err == nil {
			for _, p := range drives {
				local(t, "drive", p)
			}
		}
		if n, err := parseDrive(b); err == nil && n < 0 {
			t.Fatalf("drive size %d", n)
		}
		_, _ = parseActionInfo(b, "ResetType")
		_, _ = parseError(b)
	})
}
