package redfish

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"

	"github.com/tripleo-go/tripleo/provision"
)

// maxBody caps a Redfish response body the driver reads.
const maxBody = 4 << 20

// errMalformed marks a response that does not parse or is not what a
// Redfish service must send. The driver retries such responses and then
// reports the BMC unreachable (it gave no usable answer).
var errMalformed = errors.New("malformed Redfish response")

func malformed(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %v", errMalformed, what, err)
	}
	return fmt.Errorf("%w: %s", errMalformed, what)
}

// link is a Redfish reference, {"@odata.id": "/redfish/v1/..."}.
type link struct {
	ID string `json:"@odata.id"`
}

// checkPath accepts the local absolute paths a service may link to. A
// link to another host would make the driver send its credentials there.
func checkPath(what, p string) error {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\ \t\r\n\x00?#") || strings.Contains(p, "://") {
		return malformed(fmt.Sprintf("%s %q is not a local resource path", what, p), nil)
	}
	return nil
}

// optionalPath checks p when it is set.
func optionalPath(what, p string) error {
	if p == "" {
		return nil
	}
	return checkPath(what, p)
}

// rootDoc is what the driver needs of the service root.
type rootDoc struct {
	Systems  string
	Sessions string // Links.Sessions, "" when the service has none
}

func parseRoot(body []byte) (*rootDoc, error) {
	var r struct {
		Systems        link
		SessionService link
		Links          struct{ Sessions link }
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, malformed("service root", err)
	}
	d := &rootDoc{Systems: r.Systems.ID, Sessions: r.Links.Sessions.ID}
	if err := checkPath("Systems", d.Systems); err != nil {
		return nil, err
	}
	if err := optionalPath("Links.Sessions", d.Sessions); err != nil {
		return nil, err
	}
	return d, nil
}

// collectionDoc is one page of a resource collection.
type collectionDoc struct {
	Members []string
	Next    string
}

func parseCollection(body []byte) (*collectionDoc, error) {
	var c struct {
		Members []link
		Next    string `json:"Members@odata.nextLink"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, malformed("collection", err)
	}
	d := &collectionDoc{Next: c.Next}
	for _, m := range c.Members {
		if err := checkPath("collection member", m.ID); err != nil {
			return nil, err
		}
		d.Members = append(d.Members, m.ID)
	}
	if err := optionalPath("Members@odata.nextLink", d.Next); err != nil {
		return nil, err
	}
	return d, nil
}

// systemDoc is what the driver reads of a ComputerSystem.
type systemDoc struct {
	Path          string
	PowerRaw      string
	Power         provision.PowerState
	Transition    bool // PoweringOn or PoweringOff
	ResetTarget   string
	ResetTypes    []string // advertised AllowableValues, nil when none
	ResetInfo     string   // @Redfish.ActionInfo of the reset action
	Boot          BootOverride
	BootTargets   []string // allowable override targets, nil when none
	BootRaw       string   // BootSourceOverrideTarget as sent
	UUID          string
	Manufacturer  string
	Model         string
	Serial        string
	CPUs          int
	CPUModel      string
	MemoryMiB     int
	Processors    string
	NICs          string
	SimpleStorage string // SimpleStorage collection
	Storage       string // Storage collection
	VirtualMedia  string
	ManagedBy     []string
}

// powerStates maps Redfish PowerState values. A transitional state
// reports the state being left, so that a verified power action waits
// for the transition to end.
var powerStates = map[string]provision.PowerState{
	"On": provision.PowerOn, "Off": provision.PowerOff,
	"PoweringOn": provision.PowerOff, "PoweringOff": provision.PowerOn,
	"Paused": provision.PowerOn,
}

func parseSystem(body []byte) (*systemDoc, error) {
	var s struct {
		ODataID      string `json:"@odata.id"`
		PowerState   string
		UUID         string
		Manufacturer string
		Model        string
		SerialNumber string
		Boot         struct {
			Target  string   `json:"BootSourceOverrideTarget"`
			Enabled string   `json:"BootSourceOverrideEnabled"`
			Mode    string   `json:"BootSourceOverrideMode"`
			Allowed []string `json:"BootSourceOverrideTarget@Redfish.AllowableValues"`
		}
		ProcessorSummary struct {
			Count                 *float64
			LogicalProcessorCount *float64
			Model                 string
		}
		MemorySummary struct {
			TotalSystemMemoryGiB *float64
		}
		Processors         link
		EthernetInterfaces link
		SimpleStorage      link
		Storage            link
		VirtualMedia       link
		Links              struct{ ManagedBy []link }
		Actions            struct {
			Reset struct {
				Target  string   `json:"target"`
				Allowed []string `json:"ResetType@Redfish.AllowableValues"`
				Info    string   `json:"@Redfish.ActionInfo"`
			} `json:"#ComputerSystem.Reset"`
		}
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, malformed("ComputerSystem", err)
	}
	d := &systemDoc{
		Path: s.ODataID, PowerRaw: s.PowerState,
		ResetTarget: s.Actions.Reset.Target, ResetTypes: s.Actions.Reset.Allowed, ResetInfo: s.Actions.Reset.Info,
		BootTargets: s.Boot.Allowed, BootRaw: s.Boot.Target,
		UUID: s.UUID, Manufacturer: s.Manufacturer, Model: s.Model, Serial: s.SerialNumber,
		CPUModel:   s.ProcessorSummary.Model,
		Processors: s.Processors.ID, NICs: s.EthernetInterfaces.ID, SimpleStorage: s.SimpleStorage.ID, Storage: s.Storage.ID,
		VirtualMedia: s.VirtualMedia.ID,
	}
	if err := checkPath("ComputerSystem @odata.id", d.Path); err != nil {
		return nil, err
	}
	p, ok := powerStates[s.PowerState]
	if !ok {
		return nil, malformed(fmt.Sprintf("ComputerSystem PowerState %q", s.PowerState), nil)
	}
	d.Power = p
	d.Transition = s.PowerState == "PoweringOn" || s.PowerState == "PoweringOff"
	for what, p := range map[string]string{
		"reset target": d.ResetTarget, "reset ActionInfo": d.ResetInfo, "Processors": d.Processors,
		"EthernetInterfaces": d.NICs, "SimpleStorage": d.SimpleStorage, "Storage": d.Storage, "VirtualMedia": d.VirtualMedia,
	} {
		if err := optionalPath(what, p); err != nil {
			return nil, err
		}
	}
	for _, m := range s.Links.ManagedBy {
		if err := checkPath("Links.ManagedBy", m.ID); err != nil {
			return nil, err
		}
		d.ManagedBy = append(d.ManagedBy, m.ID)
	}
	d.Boot = bootFromRedfish(s.Boot.Target, s.Boot.Enabled, s.Boot.Mode)
	switch {
	case s.ProcessorSummary.LogicalProcessorCount != nil:
		d.CPUs = count(*s.ProcessorSummary.LogicalProcessorCount)
	case s.ProcessorSummary.Count != nil:
		d.CPUs = count(*s.ProcessorSummary.Count)
	}
	if g := s.MemorySummary.TotalSystemMemoryGiB; g != nil && *g > 0 && *g < 1<<30 {
		d.MemoryMiB = int(math.Round(*g * 1024))
	}
	return d, nil
}

// count turns a JSON number into a non-negative int, 0 when absurd.
func count(f float64) int {
	if f < 0 || f > 1<<20 || f != math.Trunc(f) {
		return 0
	}
	return int(f)
}

// Redfish boot override targets of our devices.
var targetOf = map[provision.BootDevice]string{
	provision.BootNone: "None", provision.BootPXE: "Pxe", provision.BootDisk: "Hdd",
	provision.BootCDROM: "Cd", provision.BootBIOS: "BiosSetup",
}

func bootFromRedfish(target, enabled, mode string) BootOverride {
	var b BootOverride
	switch target {
	case "Pxe":
		b.Device = provision.BootPXE
	case "Hdd":
		b.Device = provision.BootDisk
	case "Cd":
		b.Device = provision.BootCDROM
	case "BiosSetup":
		b.Device = provision.BootBIOS
	}
	switch enabled {
	case "Continuous":
		b.Persistent = b.Device != provision.BootNone
	case "Once":
	default: // Disabled, or absent: no override
		b.Device = provision.BootNone
	}
	switch mode {
	case "UEFI":
		b.Mode = BootModeUEFI
	case "Legacy":
		b.Mode = BootModeLegacy
	}
	return b
}

// parseActionInfo returns the allowable values of the named parameter.
func parseActionInfo(body []byte, param string) ([]string, error) {
	var a struct {
		Parameters []struct {
			Name            string
			AllowableValues []string
		}
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, malformed("ActionInfo", err)
	}
	for _, p := range a.Parameters {
		if p.Name == param {
			return p.AllowableValues, nil
		}
	}
	return nil, nil
}

// managerDoc is what the driver reads of a Manager.
type managerDoc struct {
	VirtualMedia string
}

func parseManager(body []byte) (*managerDoc, error) {
	var m struct{ VirtualMedia link }
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, malformed("Manager", err)
	}
	if err := optionalPath("Manager VirtualMedia", m.VirtualMedia.ID); err != nil {
		return nil, err
	}
	return &managerDoc{VirtualMedia: m.VirtualMedia.ID}, nil
}

// mediaDoc is what the driver reads of a VirtualMedia resource.
type mediaDoc struct {
	Path         string
	MediaTypes   []string
	Image        string
	Inserted     bool
	ConnectedVia string
}

// isCD reports whether the device takes CD or DVD images (a device that
// lists no media type is taken as one).
func (m *mediaDoc) isCD() bool {
	if len(m.MediaTypes) == 0 {
		return true
	}
	for _, t := range m.MediaTypes {
		if t == "CD" || t == "DVD" {
			return true
		}
	}
	return false
}

func parseMedia(body []byte) (*mediaDoc, error) {
	var v struct {
		ODataID      string `json:"@odata.id"`
		MediaTypes   []string
		Image        *string
		Inserted     *bool
		ConnectedVia string
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, malformed("VirtualMedia", err)
	}
	if err := checkPath("VirtualMedia @odata.id", v.ODataID); err != nil {
		return nil, err
	}
	d := &mediaDoc{Path: v.ODataID, MediaTypes: v.MediaTypes, ConnectedVia: v.ConnectedVia}
	if v.Image != nil {
		d.Image = *v.Image
	}
	if v.Inserted != nil {
		d.Inserted = *v.Inserted
	} else {
		d.Inserted = d.Image != ""
	}
	return d, nil
}

// processorDoc is what the driver reads of a Processor.
type processorDoc struct {
	Arch    string
	Threads int
	Model   string
	IsCPU   bool
}

func parseProcessor(body []byte) (*processorDoc, error) {
	var p struct {
		ProcessorType         string
		ProcessorArchitecture string
		InstructionSet        string
		TotalThreads          *float64
		TotalCores            *float64
		Model                 string
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, malformed("Processor", err)
	}
	d := &processorDoc{Model: p.Model, IsCPU: p.ProcessorType == "" || p.ProcessorType == "CPU"}
	switch {
	case p.TotalThreads != nil:
		d.Threads = count(*p.TotalThreads)
	case p.TotalCores != nil:
		d.Threads = count(*p.TotalCores)
	}
	switch p.InstructionSet {
	case "x86-64":
		d.Arch = "x86_64"
	case "x86":
		d.Arch = "i686"
	case "ARM-A64":
		d.Arch = "aarch64"
	case "ARM-A32":
		d.Arch = "armv7l"
	case "PowerISA":
		d.Arch = "ppc64le"
	case "":
		if p.ProcessorArchitecture == "x86" {
			d.Arch = "x86_64"
		}
	default:
		d.Arch = strings.ToLower(p.InstructionSet)
	}
	return d, nil
}

// parseNIC returns an EthernetInterface's MAC address, canonical and
// lower-case, "" when it reports none.
func parseNIC(body []byte) (string, error) {
	var n struct {
		MACAddress          string
		PermanentMACAddress string
	}
	if err := json.Unmarshal(body, &n); err != nil {
		return "", malformed("EthernetInterface", err)
	}
	raw := n.MACAddress
	if raw == "" {
		raw = n.PermanentMACAddress
	}
	if raw == "" {
		return "", nil
	}
	hw, err := net.ParseMAC(raw)
	if err != nil || len(hw) != 6 {
		return "", malformed(fmt.Sprintf("EthernetInterface MACAddress %q", raw), nil)
	}
	return hw.String(), nil
}

// parseSimpleStorage returns the capacities of its devices, in bytes.
func parseSimpleStorage(body []byte) ([]int64, error) {
	var s struct {
		Devices []struct{ CapacityBytes *float64 }
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, malformed("SimpleStorage", err)
	}
	var sizes []int64
	for _, d := range s.Devices {
		if d.CapacityBytes != nil && *d.CapacityBytes > 0 && *d.CapacityBytes < 1<<62 {
			sizes = append(sizes, int64(*d.CapacityBytes))
		}
	}
	return sizes, nil
}

// parseStorage returns the Drives a Storage resource links.
func parseStorage(body []byte) ([]string, error) {
	var s struct{ Drives []link }
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, malformed("Storage", err)
	}
	var drives []string
	for _, d := range s.Drives {
		if err := checkPath("Storage Drives", d.ID); err != nil {
			return nil, err
		}
		drives = append(drives, d.ID)
	}
	return drives, nil
}

// parseDrive returns a Drive's capacity in bytes, 0 when not reported.
func parseDrive(body []byte) (int64, error) {
	var d struct{ CapacityBytes *float64 }
	if err := json.Unmarshal(body, &d); err != nil {
		return 0, malformed("Drive", err)
	}
	if d.CapacityBytes == nil || *d.CapacityBytes <= 0 || *d.CapacityBytes >= 1<<62 {
		return 0, nil
	}
	return int64(*d.CapacityBytes), nil
}

// parseError returns a Redfish error body's message id and message.
func parseError(body []byte) (id, msg string) {
	var e struct {
		Error struct {
			Code     string `json:"code"`
			Message  string `json:"message"`
			Extended []struct {
				MessageID string `json:"MessageId"`
				Message   string
			} `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	id, msg = e.Error.Code, e.Error.Message
	if len(e.Error.Extended) > 0 {
		if id == "" {
			id = e.Error.Extended[0].MessageID
		}
		if m := e.Error.Extended[0].Message; m != "" {
			msg = m
		}
	}
	return id, msg
}
