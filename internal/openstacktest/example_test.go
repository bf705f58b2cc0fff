package openstacktest_test

import (
	"fmt"
	"os"

	"github.com/tripleo-go/tripleo/internal/openstacktest"
)

// A package's TestMain starts the service once; its tests ask for the
// endpoint with svc.Need(t):
//
//	var svc = &openstacktest.Service{Name: "Heat", Script: "heat.sh",
//		Binaries: []string{"heat-all"}, Ports: 1, EndpointEnv: "TRIPLEO_HEAT_URL"}
//
//	func TestMain(m *testing.M) { flag.Parse(); os.Exit(svc.Main(m)) }
func ExampleScriptPath() {
	p, err := openstacktest.ScriptPath("heat.sh")
	_, statErr := os.Stat(p)
	fmt.Println(err == nil && statErr == nil)
	// Output: true
}
