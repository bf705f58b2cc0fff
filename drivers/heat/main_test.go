package heat_test

import (
	"flag"
	"os"
	"testing"

	"github.com/tripleo-go/tripleo/internal/openstacktest"
)

// EndpointEnv names a noauth Heat the tests use instead of starting one
// (http://127.0.0.1:8004/v1/admin).
const EndpointEnv = "TRIPLEO_HEAT_URL"

// heatService is the standalone Heat the package's tests share: Debian's
// heat-all started by .ci/openstack/heat.sh on a free loopback port.
var heatService = &openstacktest.Service{Name: "Heat", Script: "heat.sh", Binaries: []string{"heat-all", "heat-manage"},
	Ports: 1, EndpointEnv: EndpointEnv}

// TestMain starts Heat when heat-all is installed, no EndpointEnv is set
// and tests will run (not for -list or -fuzz), and stops it at the end.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(heatService.Main(m))
}

// needHeat returns the running Heat's endpoint, skipping the test when
// Heat is not installed (failing under TRIPLEO_REQUIRE_PEERS=1).
func needHeat(t testing.TB) string {
	t.Helper()
	return heatService.Need(t)
}
