package redfish_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"

	"github.com/tripleo-go/tripleo/drivers/redfish"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/provision"
	"github.com/tripleo-go/tripleo/provision/powertest"
)

const password = "redfish-secret"

func startDC(t testing.TB, n int, o *sim.Options) *sim.Datacenter {
	t.Helper()
	if o == nil {
		o = &sim.Options{}
	}
	if o.Endpoints == 0 {
		o.Endpoints = sim.EndpointRedfish
	}
	if o.Password == "" {
		o.Password = password
	}
	dc, err := sim.Start(n, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return dc
}

func opener(address string) func(context.Context, provision.Credentials, *slog.Logger) (provision.PowerDriver, error) {
	return func(ctx context.Context, c provision.Credentials, l *slog.Logger) (provision.PowerDriver, error) {
		d, _, err := provision.OpenDriver(ctx, address, c, l)
		return d, err
	}
}

// silentAfterOpen opens m, then makes its BMC stop answering: the
// conformance suite's unreachable BMC (opening probes the BMC, so it must
// answer until then).
func silentAfterOpen(m *sim.Machine, query string) func(context.Context, provision.Credentials, *slog.Logger) (provision.PowerDriver, error) {
	return func(ctx context.Context, c provision.Credentials, l *slog.Logger) (provision.PowerDriver, error) {
		m.SetFault(sim.FaultNone, 0)
		d, _, err := provision.OpenDriver(ctx, m.RedfishURL()+query, c, l)
		m.SetFault(sim.FaultUnreachable, 0)
		return d, err
	}
}

var quick = provision.BMCOptions{PollInterval: 20 * time.Millisecond, MaxPollInterval: 200 * time.Millisecond, PowerTimeout: 20 * time.Second}

func TestConformance(t *testing.T) {
	cases := []struct {
		name  string
		opts  sim.Options
		query string
		flaky []sim.Fault
	}{
		{name: "session"},
		{name: "basic", query: "?auth=basic"},
		{name: "power-delay", opts: sim.Options{PowerOnDelay: 300 * time.Millisecond, PowerOffDelay: 200 * time.Millisecond}},
		// Every third request fails once: held unanswered, 500, truncated
		// JSON, or the session dropped with a 401.
		{name: "faults-session", query: "?timeout=500ms&retries=3",
			flaky: []sim.Fault{sim.FaultUnreachable, sim.FaultServerError, sim.FaultTruncatedJSON, sim.FaultWrongPassword}},
		{name: "faults-basic", query: "?auth=basic&timeout=500ms&retries=3",
			flaky: []sim.Fault{sim.FaultServerError, sim.FaultTruncatedJSON, sim.FaultUnreachable}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dc := startDC(t, 2, &tc.opts)
			m := dc.Machine(0)
			m.SetFlaky(3, tc.flaky...)
			powertest.RunConformanceTests(t, powertest.Config{
				Open:               opener(m.RedfishURL() + tc.query),
				OpenUnreachable:    silentAfterOpen(dc.Machine(1), tc.query),
				Credentials:        m.Credentials(),
				BMC:                quick,
				UnreachableTimeout: time.Second,
			})
			if n := dc.Redfish().Sessions(); n != 0 {
				t.Errorf("%d sessions left open after every driver was closed", n)
			}
		})
	}
}

func TestOpenFindsTheSingleSystem(t *testing.T) {
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	for _, path := range []string{"", "/", "/redfish/v1", "/redfish/v1/"} {
		d, err := redfish.Open(t.Context(), "redfish+http://"+dc.Redfish().Addr()+path, m.Credentials(), nil)
		if err != nil {
			t.Fatalf("path %q: %v", path, err)
		}
		if d.SystemPath() != m.RedfishSystemPath() {
			t.Errorf("path %q: system %s", path, d.SystemPath())
		}
		d.Close()
	}
	two := startDC(t, 2, nil)
	_, err := redfish.Open(t.Context(), "redfish+http://"+two.Redfish().Addr(), m.Credentials(), nil)
	if !errors.Is(err, provision.ErrInvalidAddress) || !strings.Contains(err.Error(), "/redfish/v1/Systems/m1") {
		t.Errorf("two systems, none named: %v", err)
	}
	_, err = redfish.Open(t.Context(), "redfish+http://"+two.Redfish().Addr()+"/redfish/v1/Systems/nope", m.Credentials(), nil)
	if !errors.Is(err, provision.ErrInvalidAddress) {
		t.Errorf("a system that does not exist: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	for _, q := range []string{"?auth=digest", "?timeout=soon", "?retries=99", "?insecure=maybe", "?boot_mode=efi", "?colour=blue", "?ca=/nonexistent", "?insecure=true"} {
		_, err := redfish.Open(t.Context(), m.RedfishURL()+q, m.Credentials(), nil)
		if !errors.Is(err, provision.ErrInvalidAddress) {
			t.Errorf("%s: %v", q, err)
		}
	}
	if _, err := redfish.Open(t.Context(), "redfish+http://127.0.0.1:1/redfish/v1/Chassis/1", m.Credentials(), nil); !errors.Is(err, provision.ErrInvalidAddress) {
		t.Errorf("chassis path: %v", err)
	}
	for _, auth := range []string{"session", "basic"} {
		wrong := provision.NewCredentials("admin", "not-the-password")
		_, err := redfish.Open(t.Context(), m.RedfishURL()+"?auth="+auth, wrong, nil)
		if !errors.Is(err, provision.ErrAuth) || strings.Contains(err.Error(), "not-the-password") {
			t.Errorf("%s auth, wrong password: %v", auth, err)
		}
	}
	if dc.Redfish().Sessions() != 0 {
		t.Errorf("sessions left: %d", dc.Redfish().Sessions())
	}
	// No listener: refused at once.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	_, err := redfish.Open(t.Context(), "redfish+http://"+dead+"?retries=0", m.Credentials(), nil)
	if !errors.Is(err, provision.ErrUnreachable) {
		t.Errorf("no listener: %v", err)
	}
	// A BMC that never answers: the deadline ends the open.
	m.SetFault(sim.FaultUnreachable, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err = redfish.Open(ctx, m.RedfishURL(), m.Credentials(), nil)
	if !errors.Is(err, provision.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent BMC: %v", err)
	}
}

func TestSessionReusedAndClosed(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	d, err := redfish.Open(ctx, m.RedfishURL(), m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := d.PowerState(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := dc.Redfish().Sessions(); n != 1 {
		t.Errorf("%d sessions after 5 calls, want 1", n)
	}
	// The BMC drops the session (as after its own restart): the driver
	// logs in again.
	m.SetFlaky(2, sim.FaultWrongPassword)
	for range 4 {
		if _, err := d.PowerState(ctx); err != nil {
			t.Fatalf("after the session was dropped: %v", err)
		}
	}
	m.SetFlaky(0)
	if n := dc.Redfish().Sessions(); n != 1 {
		t.Errorf("%d sessions after re-logins, want 1", n)
	}
	var c *gofish.APIClient
	if !d.As(&c) || c == nil {
		t.Error("As(**gofish.APIClient) failed")
	} else if _, err := c.Service.Systems(); err != nil {
		t.Errorf("client from As: %v", err)
	}
	d.Close()
	if n := dc.Redfish().Sessions(); n != 0 {
		t.Errorf("%d sessions after Close, want 0", n)
	}
}

func TestResetTypesFollowTheAllowableValues(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	dc.Redfish().SetResetTypes(m, []string{"On", "ForceOff", "ForceRestart"})
	b, err := provision.OpenBMC(ctx, m.RedfishURL(), m.Credentials(), &quick)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, a := range []provision.PowerAction{provision.PowerActionOn, provision.PowerActionCycle, provision.PowerActionReset, provision.PowerActionOff} {
		if s, err := b.Power(ctx, a); err != nil || s != a.Target() {
			t.Fatalf("Power(%s) = %v, %v", a, s, err)
		}
	}
	// Cycle falls back to ForceRestart when PowerCycle is not offered.
	if want := []string{"power on", "power reset", "power reset", "power off"}; !slices.Equal(m.Calls(), want) {
		t.Errorf("machine saw %v, want %v", m.Calls(), want)
	}
	_, err = b.Power(ctx, provision.PowerActionOn)
	if err == nil {
		_, err = b.Power(ctx, provision.PowerActionSoftOff)
	}
	if !errors.Is(err, provision.ErrUnsupported) || !strings.Contains(err.Error(), "GracefulShutdown") {
		t.Errorf("soft-off without GracefulShutdown: %v", err)
	}
	dc.Redfish().SetResetTypes(m, []string{})
	if err := b.Driver().SetPower(ctx, provision.PowerActionOff); err != nil {
		t.Errorf("no allowable values advertised: %v", err)
	}
}

func TestBootOverride(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	d, err := redfish.Open(ctx, m.RedfishURL()+"?boot_mode=legacy", m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.SetBootDevice(ctx, provision.BootPXE, true); err != nil {
		t.Fatal(err)
	}
	got, err := d.BootOverride(ctx)
	if want := (redfish.BootOverride{Device: provision.BootPXE, Persistent: true, Mode: redfish.BootModeLegacy}); err != nil || got != want {
		t.Errorf("BootOverride = %+v, %v; want %+v", got, err, want)
	}
	if err := d.SetBootOverride(ctx, redfish.BootOverride{Device: provision.BootBIOS, Mode: redfish.BootModeUEFI}); err != nil {
		t.Fatal(err)
	}
	if dev, p := m.Boot(); dev != provision.BootBIOS || p || m.BootMode() != "UEFI" {
		t.Errorf("machine boot %s persistent=%v mode %s", dev, p, m.BootMode())
	}
	if err := d.SetBootDevice(ctx, provision.BootNone, false); err != nil {
		t.Fatal(err)
	}
	if dev, _, _ := d.BootDevice(ctx); dev != provision.BootNone {
		t.Errorf("after clearing: %s", dev)
	}
	if err := d.SetBootDevice(ctx, provision.BootDevice(42), false); !errors.Is(err, provision.ErrUnsupported) {
		t.Errorf("unknown device: %v", err)
	}
}

// TestBootOverrideStaleETag changes the system between the driver's read
// and its PATCH: the ETag is stale (412), the driver reads again and
// succeeds.
func TestBootOverrideStaleETag(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	var mu sync.Mutex
	patches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			mu.Lock()
			patches++
			if patches == 1 {
				m.Power(provision.PowerActionOn)
			}
			mu.Unlock()
		}
		dc.Redfish().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	d, err := redfish.Open(ctx, "redfish+http://"+srv.Listener.Addr().String()+m.RedfishSystemPath(), m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.SetBootDevice(ctx, provision.BootDisk, false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if dev, _ := m.Boot(); dev != provision.BootDisk || patches != 2 {
		t.Errorf("boot %s after %d PATCHes, want disk after 2", dev, patches)
	}
}

func imageServer(t *testing.T, content []byte) (string, func() int) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		w.Write(content)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestVirtualMediaBoot(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, &sim.Options{Endpoints: sim.EndpointRedfish | sim.EndpointIPMI})
	m := dc.Machine(0)
	base, fetches := imageServer(t, bytes.Repeat([]byte("deploy ramdisk "), 1000))
	b, err := provision.OpenBMC(ctx, m.RedfishURL(), m.Credentials(), &quick)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := b.Driver().(*redfish.Driver)
	if err := d.BootFromMedia(ctx, base+"/deploy.iso"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Power(ctx, provision.PowerActionCycle); err != nil {
		t.Fatal(err)
	}
	if m.BootedImage() != base+"/deploy.iso" || m.BootedFrom() != provision.BootCDROM {
		t.Errorf("booted from %s image %q", m.BootedFrom(), m.BootedImage())
	}
	st, err := d.MediaStatus(ctx)
	if err != nil || !st.Inserted || st.Image != base+"/deploy.iso" || st.Device != "/redfish/v1/Managers/m0/VirtualMedia/Cd" {
		t.Errorf("MediaStatus = %+v, %v", st, err)
	}
	// The same image again sends nothing; another one replaces it.
	if err := b.InsertMedia(ctx, base+"/deploy.iso"); err != nil || fetches() != 1 {
		t.Errorf("insert again: %v, %d fetches", err, fetches())
	}
	if err := b.InsertMedia(ctx, base+"/other.iso"); err != nil || m.Media().Image != base+"/other.iso" {
		t.Errorf("insert another: %v, %+v", err, m.Media())
	}
	for range 2 {
		if err := b.EjectMedia(ctx); err != nil || m.Media().Inserted {
			t.Errorf("eject: %v, %+v", err, m.Media())
		}
	}
	// A fetch failure on the BMC is reported, and nothing is inserted.
	if err := b.InsertMedia(ctx, "http://127.0.0.1:1/nothing.iso"); err == nil || m.Media().Inserted {
		t.Errorf("unfetchable image: %v", err)
	}
	want := []string{"media insert " + base + "/deploy.iso", "boot cdrom once", "power on", "media eject", "media insert " + base + "/other.iso", "media eject"}
	if got := m.Calls(); !slices.Equal(got, want) {
		t.Errorf("machine saw %v\nwant %v", got, want)
	}
}

func TestInventory(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	d, err := redfish.Open(ctx, m.RedfishURL(), m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got, err := d.HardwareInventory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := m.HardwareInventory(); !reflect.DeepEqual(got, want) {
		t.Errorf("inventory\n%+v\nwant\n%+v", got, want)
	}
	// Through the Provisioner: Inspect fills the node.
	inv, _ := provision.OpenFileInventory(filepath.Join(t.TempDir(), "inv.json"), nil)
	p := provision.NewProvisioner(inv, &provision.Options{BMC: quick})
	defer p.Close()
	if _, err := p.Enroll(ctx, &provision.Node{Name: "n0", BMCAddress: m.RedfishURL(), Credentials: m.Credentials()}); err != nil {
		t.Fatal(err)
	}
	n, err := p.Inspect(ctx, "n0")
	if err != nil || n.Inventory == nil || n.Inventory.Extra["uuid"] != m.UUID() || !slices.Equal(n.MACs, []string{m.MAC()}) {
		t.Errorf("Inspect = %+v, %v", n, err)
	}
}

// TestTLS serves the emulator over HTTPS with a certificate of a private
// CA: refused by default, accepted with ca= or insecure=true, both
// logged at warn.
func TestTLS(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	srv := httptest.NewTLSServer(dc.Redfish())
	t.Cleanup(srv.Close)
	addr := "redfish://" + srv.Listener.Addr().String() + m.RedfishSystemPath()
	_, err := redfish.Open(ctx, addr+"?retries=0", m.Credentials(), nil)
	if err == nil || errors.Is(err, provision.ErrAuth) || !strings.Contains(err.Error(), "TLS verification failed") {
		t.Errorf("self-signed certificate accepted or misreported: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	for _, q := range []string{"?ca=" + ca, "?insecure=true"} {
		var logs bytes.Buffer
		d, err := redfish.Open(ctx, addr+q, m.Credentials(), &redfish.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if _, err := d.PowerState(ctx); err != nil {
			t.Errorf("%s: %v", q, err)
		}
		d.Close()
		if !strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("%s: no warning logged: %s", q, logs.String())
		}
	}
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	d, err := redfish.Open(ctx, "redfish+https://"+srv.Listener.Addr().String(), m.Credentials(), &redfish.Options{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}

// TestBasicAuthWhenNoSessionService serves a root without
// Links.Sessions (gofish's session Connect fails on such a service): the
// driver falls back to basic authentication, and auth=session still
// logs in at the standard path.
func TestBasicAuthWhenNoSessionService(t *testing.T) {
	ctx := t.Context()
	dc := startDC(t, 1, nil)
	m := dc.Machine(0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") != "/redfish/v1" {
			dc.Redfish().ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"@odata.id":"/redfish/v1","Id":"RootService","Name":"Root","Systems":{"@odata.id":"/redfish/v1/Systems"}}`))
	}))
	t.Cleanup(srv.Close)
	addr := "redfish+http://" + srv.Listener.Addr().String() + m.RedfishSystemPath()
	d, err := redfish.Open(ctx, addr, m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.PowerState(ctx); err != nil || dc.Redfish().Sessions() != 0 {
		t.Errorf("basic fallback: %v, %d sessions", err, dc.Redfish().Sessions())
	}
	d.Close()
	d, err = redfish.Open(ctx, addr+"?auth=session", m.Credentials(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Redfish().Sessions() != 1 {
		t.Errorf("auth=session: %d sessions", dc.Redfish().Sessions())
	}
	d.Close()
	if _, err := redfish.Open(ctx, addr, provision.NewCredentials("admin", "wrong-pw"), nil); !errors.Is(err, provision.ErrAuth) {
		t.Errorf("basic fallback, wrong password: %v", err)
	}
}
