package sim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	_ "github.com/tripleo-go/tripleo/drivers/ipmi"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/provision"
)

// imageServer serves content at /boot.iso on loopback, counting fetches.
func imageServer(t *testing.T, content []byte) (url string, fetches func() int) {
	t.Helper()
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/boot.iso", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write(content)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/boot.iso", func() int { return int(n.Load()) }
}

func gofishConnect(t *testing.T, dc *sim.Datacenter, password string, basic bool) (*gofish.APIClient, error) {
	t.Helper()
	c, err := gofish.ConnectContext(t.Context(), gofish.ClientConfig{
		Endpoint: dc.Redfish().URL(), Username: "admin", Password: password, BasicAuth: basic, ReuseConnections: true,
	})
	if err == nil {
		t.Cleanup(c.Logout)
	}
	return c, err
}

// TestRedfishWithGofish drives the emulator with gofish, an independent
// Redfish client: list systems, read power, reset, set boot, insert and
// eject virtual media; the IPMI endpoint of the same machine sees the
// same power state.
func TestRedfishWithGofish(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 2, &sim.Options{Endpoints: sim.EndpointIPMI | sim.EndpointRedfish, Password: "gofish-pw"})
	m := dc.Machine(1)
	c, err := gofishConnect(t, dc, "gofish-pw", false)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Redfish().Sessions() != 1 {
		t.Errorf("sessions = %d after a session login", dc.Redfish().Sessions())
	}
	systems, err := c.Service.Systems()
	if err != nil || len(systems) != 2 {
		t.Fatalf("Systems = %d, %v", len(systems), err)
	}
	sys, err := schemas.GetComputerSystem(c, m.RedfishSystemPath())
	if err != nil {
		t.Fatal(err)
	}
	if sys.PowerState != schemas.OffPowerState || sys.UUID != m.UUID() || sys.ODataEtag == "" {
		t.Fatalf("system: power %s, uuid %s, etag %q", sys.PowerState, sys.UUID, sys.ODataEtag)
	}
	types, _ := sys.GetSupportedResetTypes()
	if !slices.Contains(types, schemas.PowerCycleResetType) {
		t.Errorf("allowable reset types %v", types)
	}
	if _, err := sys.Reset(schemas.OnResetType); err != nil {
		t.Fatal(err)
	}
	if m.PowerState() != provision.PowerOn {
		t.Fatalf("machine is %s after Reset(On)", m.PowerState())
	}
	// The IPMI endpoint of the same machine shares the power state.
	b, err := provision.OpenBMC(ctx, m.IPMIURL(), m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if s, err := b.PowerState(ctx); err != nil || s != provision.PowerOn {
		t.Errorf("IPMI sees %v, %v after a Redfish power on", s, err)
	}
	if _, err := b.Power(ctx, provision.PowerActionOff); err != nil {
		t.Fatal(err)
	}
	if sys, _ = schemas.GetComputerSystem(c, m.RedfishSystemPath()); sys.PowerState != schemas.OffPowerState {
		t.Errorf("Redfish sees %s after an IPMI power off", sys.PowerState)
	}

	err = sys.SetBoot(&schemas.Boot{
		BootSourceOverrideTarget:  schemas.PxeBootSource,
		BootSourceOverrideEnabled: schemas.ContinuousBootSourceOverrideEnabled,
		BootSourceOverrideMode:    schemas.LegacyBootSourceOverrideMode,
	})
	if err != nil {
		t.Fatal(err)
	}
	if dev, p := m.Boot(); dev != provision.BootPXE || !p || m.BootMode() != "Legacy" {
		t.Errorf("boot = %s persistent=%v mode %s", dev, p, m.BootMode())
	}
	sys, _ = schemas.GetComputerSystem(c, m.RedfishSystemPath())
	if sys.Boot.BootSourceOverrideTarget != schemas.PxeBootSource || sys.Boot.BootSourceOverrideEnabled != schemas.ContinuousBootSourceOverrideEnabled {
		t.Errorf("read back boot %+v", sys.Boot)
	}
	// A stale ETag is refused (412), and gofish reports it.
	stale := sys.ODataEtag
	m.Power(provision.PowerActionOn)
	sys.SetETag(stale)
	err = sys.SetBoot(&schemas.Boot{BootSourceOverrideTarget: schemas.HddBootSource, BootSourceOverrideEnabled: schemas.OnceBootSourceOverrideEnabled})
	if !schemas.Is412PreconditionFailed(err) {
		t.Errorf("PATCH with a stale If-Match: %v, want 412", err)
	}

	content := bytes.Repeat([]byte("ISO9660 "), 4096)
	url, fetches := imageServer(t, content)
	mgrs, err := sys.ManagedBy()
	if err != nil || len(mgrs) != 1 {
		t.Fatalf("ManagedBy = %v, %v", mgrs, err)
	}
	vms, err := mgrs[0].VirtualMedia()
	if err != nil || len(vms) != 1 || !vms[0].SupportsMediaInsert {
		t.Fatalf("VirtualMedia = %v, %v", vms, err)
	}
	if _, err := vms[0].InsertMedia(&schemas.VirtualMediaInsertMediaParameters{Image: url, Inserted: gofish.ToRef(true)}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	if st := m.Media(); !st.Inserted || st.Image != url || st.SHA256 != hex.EncodeToString(sum[:]) || fetches() != 1 {
		t.Errorf("media after insert: %+v (fetched %d times)", st, fetches())
	}
	vm, _ := schemas.GetVirtualMedia(c, vms[0].ODataID)
	if vm.Image != url || !gofish.Deref(vm.Inserted) || vm.ConnectedVia != schemas.URIConnectedVia {
		t.Errorf("read back media %q inserted=%v via %s", vm.Image, gofish.Deref(vm.Inserted), vm.ConnectedVia)
	}
	if _, err := vm.EjectMedia(); err != nil {
		t.Fatal(err)
	}
	if st := m.Media(); st.Inserted {
		t.Errorf("media after eject: %+v", st)
	}
	// An image that cannot be fetched is not inserted.
	if _, err := vm.InsertMedia(&schemas.VirtualMediaInsertMediaParameters{Image: url + ".missing"}); err == nil || m.Media().Inserted {
		t.Errorf("insert of a missing image: %v, %+v", err, m.Media())
	}
	c.Logout()
	if n := dc.Redfish().Sessions(); n != 0 {
		t.Errorf("sessions after Logout = %d", n)
	}
}

func TestRedfishAuth(t *testing.T) {
	dc := startDC(t, 1, &sim.Options{Endpoints: sim.EndpointRedfish, Password: "right-pw"})
	if dc.Machine(0).IPMIAddr() != "" || dc.Machine(0).SimURL() != "" {
		t.Error("a Redfish-only machine has an IPMI endpoint")
	}
	// Basic auth: gofish's Connect does not check the password (the
	// service root is anonymous); the first real call is refused.
	c, err := gofishConnect(t, dc, "wrong-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	// (gofish hides the 401 of a collection in a *schemas.CollectionError
	// that does not unwrap.)
	_, err = c.Service.Systems()
	var ce *schemas.CollectionError
	var re *schemas.Error
	if !errors.As(err, &ce) || !errors.As(ce.Failures["/redfish/v1/Systems"], &re) || re.HTTPReturnedStatusCode != http.StatusUnauthorized {
		t.Errorf("basic auth with a wrong password: %v", err)
	}
	// Session auth refuses at login.
	if _, err := gofishConnect(t, dc, "wrong-pw", false); !errors.As(err, &re) || re.HTTPReturnedStatusCode != http.StatusUnauthorized {
		t.Errorf("session login with a wrong password: %v", err)
	}
	c, err = gofishConnect(t, dc, "right-pw", true)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := c.Service.Systems(); err != nil || len(s) != 1 {
		t.Errorf("basic auth: %v, %v", s, err)
	}
	// FaultWrongPassword refuses even the right password.
	dc.Machine(0).SetFault(sim.FaultWrongPassword, 0)
	if _, err := schemas.GetComputerSystem(c, dc.Machine(0).RedfishSystemPath()); !errors.As(err, &re) || re.HTTPReturnedStatusCode != http.StatusUnauthorized {
		t.Errorf("FaultWrongPassword: %v", err)
	}
}

// rawGet fetches path with basic auth and a client timeout.
func rawGet(t *testing.T, dc *sim.Datacenter, path string, timeout time.Duration) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, dc.Redfish().URL()+path, nil)
	req.SetBasicAuth("admin", "password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func TestRedfishFaults(t *testing.T) {
	dc := startDC(t, 1, &sim.Options{Endpoints: sim.EndpointRedfish})
	m := dc.Machine(0)
	p := m.RedfishSystemPath()
	m.SetFault(sim.FaultServerError, 0)
	if code, _, err := rawGet(t, dc, p, 5*time.Second); code != 500 || err != nil {
		t.Errorf("FaultServerError: %d, %v", code, err)
	}
	m.SetFault(sim.FaultTruncatedJSON, 0)
	code, body, err := rawGet(t, dc, p, 5*time.Second)
	var v map[string]any
	if code != 200 || err != nil || json.Unmarshal(body, &v) == nil {
		t.Errorf("FaultTruncatedJSON: %d, %v, body parses", code, err)
	}
	m.SetFault(sim.FaultUnreachable, 0)
	if _, _, err := rawGet(t, dc, p, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FaultUnreachable: %v", err)
	}
	// The service root stays up: faults belong to the machine's resources.
	if code, _, err := rawGet(t, dc, "/redfish/v1/", 5*time.Second); code != 200 || err != nil {
		t.Errorf("service root during a machine fault: %d, %v", code, err)
	}
	m.SetFault(sim.FaultNone, 0)
	// A flaky machine fails every third request once, in turn.
	m.SetFlaky(3, sim.FaultServerError, sim.FaultTruncatedJSON)
	var codes []int
	for range 6 {
		code, body, _ := rawGet(t, dc, p, 5*time.Second)
		if code == 200 && json.Unmarshal(body, &v) != nil {
			code = -1 // truncated
		}
		codes = append(codes, code)
	}
	if want := []int{200, 200, 500, 200, 200, -1}; !slices.Equal(codes, want) {
		t.Errorf("flaky codes %v, want %v", codes, want)
	}
}

// TestRedfishETags checks conditional GETs: If-None-Match with the
// current ETag is 304, and a state change gives a new ETag.
func TestRedfishETags(t *testing.T) {
	dc := startDC(t, 1, &sim.Options{Endpoints: sim.EndpointRedfish})
	m := dc.Machine(0)
	get := func(inm string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, dc.Redfish().URL()+m.RedfishSystemPath(), nil)
		req.SetBasicAuth("admin", "password")
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	code, tag := get("")
	if code != 200 || !strings.HasPrefix(tag, `"`) {
		t.Fatalf("GET: %d, ETag %q", code, tag)
	}
	if code, _ := get(tag); code != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", code)
	}
	m.Power(provision.PowerActionOn)
	if code, tag2 := get(tag); code != 200 || tag2 == tag {
		t.Errorf("after a power change: %d, ETag %q (was %q)", code, tag2, tag)
	}
}

func TestRedfishPowerDelay(t *testing.T) {
	dc := startDC(t, 1, &sim.Options{Endpoints: sim.EndpointRedfish, PowerOnDelay: time.Hour, PowerOffDelay: time.Hour})
	m := dc.Machine(0)
	m.Power(provision.PowerActionOn)
	_, body, err := rawGet(t, dc, m.RedfishSystemPath(), 5*time.Second)
	if err != nil || !strings.Contains(string(body), `"PowerState":"PoweringOn"`) {
		t.Errorf("during a delayed power-on: %v %s", err, body)
	}
	if m.PowerState() != provision.PowerOff {
		t.Errorf("machine is %s before the delay passed", m.PowerState())
	}
	m.SetPowerOnDelay(0)
	m.Power(provision.PowerActionCycle)
	m.Power(provision.PowerActionOff)
	_, body, _ = rawGet(t, dc, m.RedfishSystemPath(), 5*time.Second)
	if !strings.Contains(string(body), `"PowerState":"PoweringOff"`) || m.PowerState() != provision.PowerOn {
		t.Errorf("during a delayed power-off: %s, machine %s", body, m.PowerState())
	}
}

// debianPython returns a Python interpreter that imports sushy: Debian's
// /usr/bin/python3 first (a python3 earlier on PATH, such as pyenv's, does
// not see Debian's packages).
func debianPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import sushy").Run() == nil {
			return p
		}
	}
	if peertest.Required() {
		t.Fatalf("python3-sushy is required (%s=1) but no python3 imports sushy", peertest.RequireEnv)
	}
	t.Skip("python3-sushy not installed (apt-get install python3-sushy, or run .ci/run)")
	return ""
}

// TestRedfishWithSushy drives the emulator with Debian's python3-sushy,
// the Redfish library Ironic uses.
func TestRedfishWithSushy(t *testing.T) {
	py := debianPython(t)
	dc := startDC(t, 2, &sim.Options{Endpoints: sim.EndpointRedfish, Password: "sushy-pw"})
	m := dc.Machine(0)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("sushy-pw\n"), 0o600)
	url, _ := imageServer(t, []byte("a bootable image"))
	cmd := exec.CommandContext(t.Context(), py, "testdata/sushy_client.py", dc.Redfish().URL(), "admin", pw, m.Name(), url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sushy client: %v\n%s", err, out)
	}
	want := []string{
		"systems /redfish/v1/Systems/m0 /redfish/v1/Systems/m1",
		"power Off",
		"power On",
		"boot Cd Once UEFI",
		"media " + url + " True",
		"media None False",
		"refused invalid reset type",
		"wrong password refused",
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.Contains(l, "WARNING") && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "Traceback") {
			got = append(got, l)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("sushy client printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m.BootedImage() != url || m.BootedFrom() != provision.BootCDROM {
		t.Errorf("machine booted from %s image %q, want the virtual CD", m.BootedFrom(), m.BootedImage())
	}
	if calls := m.Calls(); !slices.Contains(calls, "media insert "+url) || !slices.Contains(calls, "power reset") {
		t.Errorf("machine saw %v", calls)
	}
}

// TestMixedEndpoints starts a fleet of IPMI-only, Redfish-only and dual
// machines: only the Redfish ones are systems of the service, and
// MachineFor finds each by any of its addresses.
func TestMixedEndpoints(t *testing.T) {
	eps := []sim.Endpoints{sim.EndpointIPMI, sim.EndpointRedfish, sim.EndpointIPMI | sim.EndpointRedfish}
	dc := startDC(t, 3, &sim.Options{EndpointsOf: func(i int) sim.Endpoints { return eps[i] }})
	for i, m := range dc.Machines() {
		hasIPMI, hasRF := m.IPMIURL() != "", m.RedfishURL() != ""
		if hasIPMI != (eps[i]&sim.EndpointIPMI != 0) || hasRF != (eps[i]&sim.EndpointRedfish != 0) {
			t.Errorf("%s: IPMI %q Redfish %q, want endpoints %d", m.Name(), m.IPMIURL(), m.RedfishURL(), eps[i])
		}
		for _, u := range []string{m.IPMIURL(), m.RedfishURL()} {
			if u != "" && dc.MachineFor(u) != m {
				t.Errorf("MachineFor(%s) = %v, want %s", u, dc.MachineFor(u), m.Name())
			}
		}
	}
	_, body, err := rawGet(t, dc, "/redfish/v1/Systems", 5*time.Second)
	if err != nil || !strings.Contains(string(body), `"Members@odata.count":2`) || strings.Contains(string(body), "Systems/m0") {
		t.Errorf("Systems: %v %s", err, body)
	}
}
