package ipmisimtest

import (
	"bufio"
	"context"
	"embed"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/ipmi"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

//go:embed sim
var files embed.FS

// Options configure Start; nil means defaults.
type Options struct {
	// User and Password are the administrator's credentials; "" means
	// DefaultUser and DefaultPassword.
	User, Password string
}

// The credentials of a Sim started without Options.
const (
	DefaultUser     = "admin"
	DefaultPassword = "secret-pw"
)

// Sim is one OpenIPMI ipmi_sim process serving IPMI 1.5 and 2.0 on a free
// loopback UDP port. Its chassis is a shell script keeping the power
// ("0"/"1") and boot device in files of the State directory and logging
// each call to State/calls.log.
type Sim struct {
	// Port is the UDP port on 127.0.0.1.
	Port int
	// State is the chassis state directory.
	State string
	// User and Password are the administrator's credentials.
	User, Password string

	t   testing.TB
	bin string
	dir string
	cmd *exec.Cmd
}

// Start starts ipmi_sim (found with peertest.Look: the test skips where it
// is missing, and fails under TRIPLEO_REQUIRE_PEERS=1), waits until it
// answers an RMCP ping (ipmi.Ping), and kills it at the end of the test.
func Start(t testing.TB, opts *Options) *Sim {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.User == "" {
		o.User, o.Password = DefaultUser, DefaultPassword
	}
	s := &Sim{User: o.User, Password: o.Password, t: t, bin: peertest.Look(t, "ipmi_sim")[0], dir: t.TempDir()}
	s.State = filepath.Join(s.dir, "chassis")
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	script := filepath.Join(s.dir, "chassis.sh")
	for name, mode := range map[string]os.FileMode{"chassis.sh": 0o755, "lan.conf.tmpl": 0o600, "bmc.emu": 0o644} {
		b, err := files.ReadFile("sim/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "lan.conf.tmpl" {
			name = "lan.conf"
			b = []byte(strings.NewReplacer("@PORT@", strconv.Itoa(s.Port), "@SCRIPT@", script, "@STATE@", s.State,
				"@USER@", s.User, "@PASSWORD@", s.Password).Replace(string(b)))
		}
		if err := os.WriteFile(filepath.Join(s.dir, name), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(s.State, 0o755); err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// Start starts the process again after Kill and waits until it answers.
func (s *Sim) Start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "-c", filepath.Join(s.dir, "lan.conf"), "-f", filepath.Join(s.dir, "bmc.emu"),
		"-s", filepath.Join(s.dir, "simstate"), "-n")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("ipmi_sim: %v", err)
	}
	s.cmd = cmd
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(s.t.Context(), 100*time.Millisecond)
		ok := ipmi.Ping(ctx, s.Addr())
		cancel()
		if ok {
			return
		}
		if i == 100 {
			s.Kill()
			s.t.Fatal("ipmi_sim did not answer an RMCP ping within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill stops the BMC at once (SIGKILL), as a power loss would.
func (s *Sim) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Addr returns the BMC's host:port.
func (s *Sim) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL returns the BMC's address with the scheme, e.g. ipmi://127.0.0.1:623.
func (s *Sim) URL(scheme string) string { return scheme + "://" + s.Addr() }

// Calls returns the chassis script's calls, without the "get" polls.
func (s *Sim) Calls() []string {
	f, err := os.Open(filepath.Join(s.State, "calls.log"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "get ") {
			out = append(out, sc.Text())
		}
	}
	return out
}

// ResetCalls empties the call log.
func (s *Sim) ResetCalls() { os.Remove(filepath.Join(s.State, "calls.log")) }

// File returns the trimmed content of a chassis state file ("" if absent).
func (s *Sim) File(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.State, name))
	return strings.TrimSpace(string(b))
}

// WriteFile sets a chassis state file ("power", "boot", "slow").
func (s *Sim) WriteFile(name, content string) {
	if err := os.WriteFile(filepath.Join(s.State, name), []byte(content+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// RemoveFile removes a chassis state file.
func (s *Sim) RemoveFile(name string) { os.Remove(filepath.Join(s.State, name)) }

// SetPower sets the chassis power as if someone pressed the button.
func (s *Sim) SetPower(on bool) {
	v := "0"
	if on {
		v = "1"
	}
	s.WriteFile("power", v)
}
