package provision_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/provision"
)

func ExampleParseBMCAddress() {
	a, err := provision.ParseBMCAddress("redfish+https://BMC.example:8443/redfish/v1/Systems/1")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Scheme(), a.Host, a.Port, a.Path)
	_, err = provision.ParseBMCAddress("ipmi://admin:secret@10.0.0.5")
	fmt.Println(err != nil)
	// Output:
	// redfish+https bmc.example 8443 /redfish/v1/Systems/1
	// true
}

func ExampleCredentials() {
	c := provision.NewCredentials("admin", "hunter2")
	fmt.Printf("%v %+v %s\n", c, c, c)
	// Output: [REDACTED] [REDACTED] [REDACTED]
}

func ExampleNext() {
	s := provision.StateAvailable
	for _, ev := range []provision.Event{provision.EventDeploy, provision.EventWait, provision.EventResume, provision.EventDone} {
		s, _ = provision.Next(s, ev)
		fmt.Println(s)
	}
	_, err := provision.Next(provision.StateEnroll, provision.EventDeploy)
	fmt.Println(err)
	// Output:
	// deploying
	// wait call-back
	// deploying
	// active
	// invalid provision state transition: deploy from state "enroll"
}

func TestRegistry(t *testing.T) {
	provision.Register("regtest+x", func(ctx context.Context, a provision.BMCAddress, c provision.Credentials, o provision.DriverOptions) (provision.PowerDriver, error) {
		return newFake(), nil
	})
	b, err := provision.OpenBMC(t.Context(), "regtest+x://h", provision.Credentials{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	_, err = provision.OpenBMC(t.Context(), "nosuch://h", provision.Credentials{}, nil)
	var ue *provision.UnknownSchemeError
	if !errors.As(err, &ue) || !errors.Is(err, provision.ErrUnknownScheme) || !strings.Contains(err.Error(), "regtest+x") {
		t.Fatalf("unknown scheme error %v does not list registered schemes", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("duplicate Register did not panic")
			}
		}()
		provision.Register("regtest+x", func(context.Context, provision.BMCAddress, provision.Credentials, provision.DriverOptions) (provision.PowerDriver, error) {
			return nil, nil
		})
	}()
}
