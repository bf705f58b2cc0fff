package ipmi_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripleo-go/tripleo/drivers/ipmi"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

// chassisScript is the chassis_control program ipmi_sim runs: it keeps
// power and boot device in files of a state directory and appends each
// call to calls.log. A "slow" file makes "set power" take that many
// seconds (to kill the BMC mid-operation).
const chassisScript = `#!/bin/sh
d=$1; shift
echo "$*" >> "$d/calls.log"
op=$1; shift
case $op in
get)
  for p in "$@"; do
    case $p in
      power) echo "power:$(cat "$d/power" 2>/dev/null || echo 0)";;
      boot) echo "boot:$(cat "$d/boot" 2>/dev/null || echo default)";;
    esac
  done;;
set)
  while [ $# -ge 2 ]; do
    case $1 in
      power) [ -f "$d/slow" ] && sleep "$(cat "$d/slow")"; echo "$2" > "$d/power";;
      shutdown) echo 0 > "$d/power";;
      reset) ;;
      boot) echo "$2" > "$d/boot";;
    esac
    shift 2
  done;;
esac
`

// ipmiSim is one OpenIPMI ipmi_sim process on a loopback port.
type ipmiSim struct {
	t     *testing.T
	bin   string
	dir   string
	port  int
	cmd   *exec.Cmd
	state string
}

const simUser, simPassword = "admin", "secret-pw"

// startIPMISim starts ipmi_sim (IPMI 1.5 and 2.0 on 127.0.0.1) with the
// chassis script, and stops it at the end of the test.
func startIPMISim(t *testing.T) *ipmiSim {
	t.Helper()
	bin := peertest.Look(t, "ipmi_sim")[0]
	dir := t.TempDir()
	s := &ipmiSim{t: t, bin: bin, dir: dir, port: freeUDPPort(t), state: filepath.Join(dir, "chassis")}
	os.MkdirAll(s.state, 0o755)
	script := filepath.Join(dir, "chassis.sh")
	os.WriteFile(script, []byte(chassisScript), 0o755)
	conf := fmt.Sprintf(`name "bm0"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 %d
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "%s %s"
  user 1 true  ""      "test"   user  10 none md2 md5 straight
  user 2 true  %q %q admin 10 none md2 md5 straight
`, s.port, script, s.state, simUser, simPassword)
	os.WriteFile(filepath.Join(dir, "lan.conf"), []byte(conf), 0o644)
	os.WriteFile(filepath.Join(dir, "bm0.emu"), []byte("mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02\nmc_enable 0x20\n"), 0o644)
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *ipmiSim) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "-c", filepath.Join(s.dir, "lan.conf"), "-f", filepath.Join(s.dir, "bm0.emu"), "-s", filepath.Join(s.dir, "simstate"), "-n")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("ipmi_sim: %v", err)
	}
	s.cmd = cmd
	// Ready when it answers an RMCP ping.
	for i := 0; ; i++ {
		if ping(fmt.Sprintf("127.0.0.1:%d", s.port)) {
			return
		}
		if i == 100 {
			s.kill()
			s.t.Fatal("ipmi_sim did not answer within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill stops the BMC at once (SIGKILL), as a power loss would.
func (s *ipmiSim) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *ipmiSim) url(scheme string) string {
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, s.port)
}

// calls returns the chassis script's call log, without the "get" polls.
func (s *ipmiSim) calls() []string {
	f, err := os.Open(filepath.Join(s.state, "calls.log"))
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

func (s *ipmiSim) resetCalls() { os.Remove(filepath.Join(s.state, "calls.log")) }

func (s *ipmiSim) setPower(on bool) {
	v := "0"
	if on {
		v = "1"
	}
	os.WriteFile(filepath.Join(s.state, "power"), []byte(v+"\n"), 0o644)
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func ping(hostport string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	return ipmi.AsfPingForTest(ctx, hostport)
}

func (s *ipmiSim) writeFile(name, content string) {
	os.WriteFile(filepath.Join(s.state, name), []byte(content+"\n"), 0o644)
}

func (s *ipmiSim) removeFile(name string) { os.Remove(filepath.Join(s.state, name)) }
