package ironic

import (
	"fmt"
	"strings"

	"github.com/tripleo-go/tripleo/provision"
)

// ironicStates maps each Ironic provision state to ours. Ironic's
// intermediate states without a counterpart of their own fold into the
// nearest one (inspect wait → inspecting, clean wait and clean hold →
// cleaning, deploy hold → deploying); "available" stands for Ironic's
// "available" and the legacy "" (API < 1.2, "available" is "").
var ironicStates = map[string]provision.ProvisionState{
	"enroll":         provision.StateEnroll,
	"verifying":      provision.StateVerifying,
	"manageable":     provision.StateManageable,
	"inspecting":     provision.StateInspecting,
	"inspect wait":   provision.StateInspecting,
	"inspect failed": provision.StateInspectFailed,
	"cleaning":       provision.StateCleaning,
	"clean wait":     provision.StateCleaning,
	"clean hold":     provision.StateCleaning,
	"clean failed":   provision.StateCleanFailed,
	"available":      provision.StateAvailable,
	"deploying":      provision.StateDeploying,
	"deploy hold":    provision.StateDeploying,
	"wait call-back": provision.StateWaitCallback,
	"deploy failed":  provision.StateDeployFailed,
	"active":         provision.StateActive,
	"deleting":       provision.StateDeleting,
	"error":          provision.StateError,
}

// StateFromIronic returns our provision state for an Ironic one. States
// with no counterpart (rescue, adoption, servicing...) return an error
// naming the state.
func StateFromIronic(s string) (provision.ProvisionState, error) {
	if st, ok := ironicStates[s]; ok {
		return st, nil
	}
	return 0, fmt.Errorf("ironic: provision state %q has no counterpart in package provision", s)
}

// StateToIronic returns Ironic's name for one of our states. Every one of
// ours exists in Ironic under the same name.
func StateToIronic(s provision.ProvisionState) string { return s.String() }

// failedState reports whether an Ironic provision state is one an
// operation ends in when it fails: every "* failed" state and "error".
func failedState(s string) bool {
	return strings.HasSuffix(s, " failed") || s == "error"
}

// ironicPower maps Ironic's power_state to ours.
func powerFromIronic(s string) provision.PowerState {
	switch s {
	case "power on":
		return provision.PowerOn
	case "power off":
		return provision.PowerOff
	}
	return provision.PowerUnknown
}

// powerTarget maps our power actions to Ironic's target power states.
func powerTarget(a provision.PowerAction) (string, error) {
	switch a {
	case provision.PowerActionOn:
		return "power on", nil
	case provision.PowerActionOff:
		return "power off", nil
	case provision.PowerActionSoftOff:
		return "soft power off", nil
	case provision.PowerActionCycle, provision.PowerActionReset:
		return "rebooting", nil
	}
	return "", fmt.Errorf("%w: power action %v", provision.ErrUnsupported, a)
}
