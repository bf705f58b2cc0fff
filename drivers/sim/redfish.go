package sim

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

// RedfishRoot is the path of the Redfish service root.
const RedfishRoot = "/redfish/v1"

// DefaultResetTypes are the ResetType values a simulated system
// advertises unless [RedfishService.SetResetTypes] says otherwise.
var DefaultResetTypes = []string{"On", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart", "PowerCycle", "Nmi"}

// bootTargets maps Redfish BootSourceOverrideTarget values to devices.
var bootTargets = map[string]provision.BootDevice{
	"None": provision.BootNone, "Pxe": provision.BootPXE, "Hdd": provision.BootDisk,
	"Cd": provision.BootCDROM, "BiosSetup": provision.BootBIOS,
}

var targetNames = map[provision.BootDevice]string{
	provision.BootNone: "None", provision.BootPXE: "Pxe", provision.BootDisk: "Hdd",
	provision.BootCDROM: "Cd", provision.BootBIOS: "BiosSetup",
}

// sessionTimeout is the idle time after which a session expires.
const sessionTimeout = 30 * time.Minute

// RedfishService is the Redfish BMC emulator: one HTTP service on
// loopback whose systems are simulated machines, each with its manager
// (the BMC, holding the virtual CD) and chassis, in the manner of
// sushy-tools. It serves the service root, Systems, Managers, Chassis and
// SessionService, with basic and session authentication, ETags and
// If-Match, the ComputerSystem.Reset action with its allowable values,
// boot override, and VirtualMedia InsertMedia/EjectMedia that fetch the
// image. Faults set on a machine apply to requests for its resources.
type RedfishService struct {
	ln       net.Listener
	srv      *http.Server
	machines []*Machine
	byID     map[string]*Machine
	maxMedia int64
	log      *slog.Logger
	done     chan struct{}
	closing  chan struct{}
	uuid     string

	mu         sync.Mutex
	sessions   map[string]*rfSession // by token
	sessionSeq int
	resetTypes map[string][]string // by system id
	requests   int
}

type rfSession struct {
	id, token, user string
	lastUsed        time.Time
}

func startRedfish(listen string, ms []*Machine, maxMedia int64, log *slog.Logger) (*RedfishService, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("sim: Options.RedfishListen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("sim: Options.RedfishListen %q: want a loopback address", listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("sim: Redfish service: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sum := sha256.Sum256([]byte("redfish " + ln.Addr().String()))
	s := &RedfishService{
		ln: ln, machines: ms, byID: map[string]*Machine{}, maxMedia: maxMedia, log: log,
		done: make(chan struct{}), closing: make(chan struct{}),
		uuid:     fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
		sessions: map[string]*rfSession{}, resetTypes: map[string][]string{},
	}
	for _, m := range ms {
		s.byID[m.name] = m
		m.redfish = s
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the service's host:port.
func (s *RedfishService) Addr() string { return s.ln.Addr().String() }

// URL returns http://host:port, the service's base URL (the service root
// is at URL()+RedfishRoot).
func (s *RedfishService) URL() string { return "http://" + s.Addr() }

// Sessions returns the number of open sessions.
func (s *RedfishService) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Requests returns the number of requests served so far.
func (s *RedfishService) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// SetResetTypes sets the ResetType values m's system advertises (and
// accepts); nil restores DefaultResetTypes, and an empty list advertises
// none (the annotation is left out) while accepting the default ones.
func (s *RedfishService) SetResetTypes(m *Machine, types []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if types == nil {
		delete(s.resetTypes, m.name)
		return
	}
	s.resetTypes[m.name] = slices.Clone(types)
}

func (s *RedfishService) allowedResets(m *Machine) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.resetTypes[m.name]; ok {
		return slices.Clone(t)
	}
	return slices.Clone(DefaultResetTypes)
}

func (s *RedfishService) close() error {
	close(s.closing)
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// RedfishSystemPath returns the path of the machine's Redfish system,
// /redfish/v1/Systems/<name>.
func (m *Machine) RedfishSystemPath() string { return RedfishRoot + "/Systems/" + m.name }

// RedfishURL returns redfish+http://host:port/redfish/v1/Systems/<name>,
// the address drivers/redfish uses, or "" when the machine has no Redfish
// endpoint.
func (m *Machine) RedfishURL() string {
	if m.redfish == nil {
		return ""
	}
	return "redfish+http://" + m.redfish.Addr() + m.RedfishSystemPath()
}

// rfReq is one request being served.
type rfReq struct {
	s        *RedfishService
	w        http.ResponseWriter
	r        *http.Request
	m        *Machine // the machine whose resource is named, if any
	truncate bool
	status   int
}

// ServeHTTP implements http.Handler.
func (s *RedfishService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	q := &rfReq{s: s, w: w, r: r}
	path := strings.TrimSuffix(r.URL.Path, "/")
	segs := strings.Split(strings.TrimPrefix(path, RedfishRoot), "/")
	// segs[0] is "" for paths under the root.
	if strings.HasPrefix(path, RedfishRoot+"/") && len(segs) >= 3 {
		switch segs[1] {
		case "Systems", "Managers", "Chassis":
			q.m = s.byID[segs[2]]
		}
	}
	if q.m != nil && !q.fault() {
		return
	}
	defer func() {
		s.log.Debug("redfish request", "method", r.Method, "path", r.URL.Path, "status", q.status)
	}()
	switch {
	case path == "/redfish":
		q.get(map[string]any{"v1": RedfishRoot + "/"})
		return
	case path == RedfishRoot:
		q.get(s.serviceRoot())
		return
	case path == RedfishRoot+"/SessionService/Sessions" && r.Method == http.MethodPost:
		q.createSession()
		return
	case !strings.HasPrefix(path, RedfishRoot+"/"):
		q.fail(http.StatusNotFound, "Base.1.8.ResourceMissingAtURI", "no resource at "+r.URL.Path)
		return
	}
	if !q.authorised() {
		return
	}
	q.route(segs[1:])
}

// fault applies the machine's fault to the request; false means the
// request has been answered (or dropped) by it.
func (q *rfReq) fault() bool {
	f, slow := q.m.requestFault()
	switch f {
	case FaultUnreachable:
		// Silence: hold the request until the client or the service gives
		// up, then drop the connection without an answer.
		select {
		case <-q.r.Context().Done():
		case <-q.s.closing:
		}
		panic(http.ErrAbortHandler)
	case FaultSlow:
		t := time.NewTimer(slow)
		defer t.Stop()
		select {
		case <-q.r.Context().Done():
			panic(http.ErrAbortHandler)
		case <-q.s.closing:
			panic(http.ErrAbortHandler)
		case <-t.C:
		}
	case FaultWrongPassword:
		if tok := q.r.Header.Get("X-Auth-Token"); tok != "" {
			q.s.mu.Lock()
			delete(q.s.sessions, tok)
			q.s.mu.Unlock()
		}
		q.unauthorised()
		return false
	case FaultServerError:
		q.fail(http.StatusInternalServerError, "Base.1.8.InternalError", "injected fault: internal error")
		return false
	case FaultTruncatedJSON:
		q.truncate = true
	}
	return true
}

// credentialsOK reports whether user and password are a machine's
// credentials (the one named by the request, else any).
func (q *rfReq) credentialsOK(user, password string) bool {
	check := func(m *Machine) bool {
		u := subtle.ConstantTimeCompare([]byte(user), []byte(m.username))
		p := subtle.ConstantTimeCompare([]byte(password), []byte(m.password))
		return u&p == 1
	}
	if q.m != nil {
		return check(q.m)
	}
	return slices.ContainsFunc(q.s.machines, check)
}

func (q *rfReq) authorised() bool {
	if tok := q.r.Header.Get("X-Auth-Token"); tok != "" {
		q.s.mu.Lock()
		sess := q.s.sessions[tok]
		if sess != nil && time.Since(sess.lastUsed) > sessionTimeout {
			delete(q.s.sessions, tok)
			sess = nil
		}
		if sess != nil {
			sess.lastUsed = time.Now()
		}
		q.s.mu.Unlock()
		if sess != nil {
			return true
		}
	} else if user, password, ok := q.r.BasicAuth(); ok && q.credentialsOK(user, password) {
		return true
	}
	q.unauthorised()
	return false
}

func (q *rfReq) unauthorised() {
	q.w.Header().Set("WWW-Authenticate", `Basic realm="tripleo-sim Redfish"`)
	q.fail(http.StatusUnauthorized, "Base.1.8.NoValidSession", "authentication required: no valid session or credentials")
}

func (q *rfReq) createSession() {
	var body struct{ UserName, Password string }
	if err := json.NewDecoder(http.MaxBytesReader(q.w, q.r.Body, 1<<16)).Decode(&body); err != nil {
		q.fail(http.StatusBadRequest, "Base.1.8.MalformedJSON", "session request: "+err.Error())
		return
	}
	if !q.credentialsOK(body.UserName, body.Password) {
		q.unauthorised()
		return
	}
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	q.s.mu.Lock()
	q.s.sessionSeq++
	sess := &rfSession{id: strconv.Itoa(q.s.sessionSeq), token: hex.EncodeToString(tok), user: body.UserName, lastUsed: time.Now()}
	q.s.sessions[sess.token] = sess
	q.s.mu.Unlock()
	loc := RedfishRoot + "/SessionService/Sessions/" + sess.id
	q.w.Header().Set("X-Auth-Token", sess.token)
	q.w.Header().Set("Location", loc)
	q.write(http.StatusCreated, sessionResource(sess))
}

func sessionResource(sess *rfSession) map[string]any {
	return map[string]any{
		"@odata.type": "#Session.v1_3_0.Session", "@odata.id": RedfishRoot + "/SessionService/Sessions/" + sess.id,
		"Id": sess.id, "Name": "User Session " + sess.id, "UserName": sess.user,
	}
}

func odataID(p string) map[string]any { return map[string]any{"@odata.id": p} }

func collection(typ, path, name string, members []string) map[string]any {
	ms := make([]any, 0, len(members))
	for _, m := range members {
		ms = append(ms, odataID(m))
	}
	return map[string]any{
		"@odata.type": "#" + typ + "." + typ, "@odata.id": path, "Name": name,
		"Members@odata.count": len(ms), "Members": ms,
	}
}

func status() map[string]any { return map[string]any{"State": "Enabled", "Health": "OK"} }

func (s *RedfishService) serviceRoot() map[string]any {
	return map[string]any{
		"@odata.type": "#ServiceRoot.v1_11_0.ServiceRoot", "@odata.id": RedfishRoot,
		"Id": "RootService", "Name": "tripleo-sim Redfish Service", "RedfishVersion": "1.15.0",
		"UUID": s.uuid, "Vendor": simVendor, "Product": "tripleo-sim BMC emulator",
		"Systems":        odataID(RedfishRoot + "/Systems"),
		"Managers":       odataID(RedfishRoot + "/Managers"),
		"Chassis":        odataID(RedfishRoot + "/Chassis"),
		"SessionService": odataID(RedfishRoot + "/SessionService"),
		"Links":          map[string]any{"Sessions": odataID(RedfishRoot + "/SessionService/Sessions")},
	}
}

// route serves an authenticated request; segs follow /redfish/v1.
func (q *rfReq) route(segs []string) {
	s := q.s
	n := len(segs)
	switch {
	case n == 1 && segs[0] == "SessionService":
		q.get(map[string]any{
			"@odata.type": "#SessionService.v1_1_8.SessionService", "@odata.id": RedfishRoot + "/SessionService",
			"Id": "SessionService", "Name": "Session Service", "ServiceEnabled": true,
			"SessionTimeout": int(sessionTimeout / time.Second), "Status": status(),
			"Sessions": odataID(RedfishRoot + "/SessionService/Sessions"),
		})
	case n == 2 && segs[0] == "SessionService" && segs[1] == "Sessions":
		s.mu.Lock()
		var ids []string
		for _, sess := range s.sessions {
			ids = append(ids, RedfishRoot+"/SessionService/Sessions/"+sess.id)
		}
		s.mu.Unlock()
		slices.Sort(ids)
		q.get(collection("SessionCollection", RedfishRoot+"/SessionService/Sessions", "Session Collection", ids))
	case n == 3 && segs[0] == "SessionService" && segs[1] == "Sessions":
		q.session(segs[2])
	case n == 1 && (segs[0] == "Systems" || segs[0] == "Managers" || segs[0] == "Chassis"):
		var ps []string
		for _, m := range s.machines {
			ps = append(ps, RedfishRoot+"/"+segs[0]+"/"+m.name)
		}
		typ := map[string]string{"Systems": "ComputerSystemCollection", "Managers": "ManagerCollection", "Chassis": "ChassisCollection"}[segs[0]]
		q.get(collection(typ, RedfishRoot+"/"+segs[0], segs[0]+" Collection", ps))
	case q.m == nil:
		q.fail(http.StatusNotFound, "Base.1.8.ResourceMissingAtURI", "no resource at "+q.r.URL.Path)
	case segs[0] == "Systems":
		q.system(segs[2:])
	case segs[0] == "Managers":
		q.manager(segs[2:])
	case segs[0] == "Chassis" && n == 2:
		q.get(q.chassis())
	default:
		q.fail(http.StatusNotFound, "Base.1.8.ResourceMissingAtURI", "no resource at "+q.r.URL.Path)
	}
}

func (q *rfReq) session(id string) {
	s := q.s
	s.mu.Lock()
	var sess *rfSession
	for _, x := range s.sessions {
		if x.id == id {
			sess = x
		}
	}
	if sess != nil && q.r.Method == http.MethodDelete {
		delete(s.sessions, sess.token)
	}
	s.mu.Unlock()
	switch {
	case sess == nil:
		q.fail(http.StatusNotFound, "Base.1.8.ResourceMissingAtURI", "no session "+id)
	case q.r.Method == http.MethodDelete:
		q.noContent()
	default:
		q.get(sessionResource(sess))
	}
}

func (q *rfReq) system(rest []string) {
	m := q.m
	p := m.RedfishSystemPath()
	switch {
	case len(rest) == 0:
		switch q.r.Method {
		case http.MethodPatch:
			q.patchSystem()
		default:
			q.get(q.systemResource())
		}
	case len(rest) == 2 && rest[0] == "Actions" && rest[1] == "ComputerSystem.Reset":
		q.reset()
	case len(rest) == 1 && rest[0] == "Processors":
		q.get(collection("ProcessorCollection", p+"/Processors", "Processors Collection", []string{p + "/Processors/CPU0"}))
	case len(rest) == 2 && rest[0] == "Processors" && rest[1] == "CPU0":
		q.get(map[string]any{
			"@odata.type": "#Processor.v1_7_0.Processor", "@odata.id": p + "/Processors/CPU0",
			"Id": "CPU0", "Name": "Processor", "Socket": "CPU 0", "ProcessorType": "CPU",
			"ProcessorArchitecture": "x86", "InstructionSet": "x86-64", "Manufacturer": simVendor,
			"Model": simCPUModel, "MaxSpeedMHz": 2000, "TotalCores": simCPUs, "TotalThreads": simCPUs, "Status": status(),
		})
	case len(rest) == 1 && rest[0] == "EthernetInterfaces":
		q.get(collection("EthernetInterfaceCollection", p+"/EthernetInterfaces", "Ethernet Interface Collection", []string{p + "/EthernetInterfaces/NIC0"}))
	case len(rest) == 2 && rest[0] == "EthernetInterfaces" && rest[1] == "NIC0":
		q.get(map[string]any{
			"@odata.type": "#EthernetInterface.v1_5_1.EthernetInterface", "@odata.id": p + "/EthernetInterfaces/NIC0",
			"Id": "NIC0", "Name": "Ethernet Interface 0", "MACAddress": m.mac, "PermanentMACAddress": m.mac,
			"LinkStatus": "LinkUp", "SpeedMbps": 1000, "Status": status(),
		})
	case len(rest) == 1 && rest[0] == "Storage":
		q.get(collection("StorageCollection", p+"/Storage", "Storage Collection", []string{p + "/Storage/1"}))
	case len(rest) == 2 && rest[0] == "Storage" && rest[1] == "1":
		q.get(map[string]any{
			"@odata.type": "#Storage.v1_9_0.Storage", "@odata.id": p + "/Storage/1",
			"Id": "1", "Name": "Storage Controller", "Status": status(),
			"Drives@odata.count": 1, "Drives": []any{odataID(p + "/Storage/1/Drives/disk0")},
		})
	case len(rest) == 4 && rest[0] == "Storage" && rest[1] == "1" && rest[2] == "Drives" && rest[3] == "disk0":
		q.get(map[string]any{
			"@odata.type": "#Drive.v1_9_0.Drive", "@odata.id": p + "/Storage/1/Drives/disk0",
			"Id": "disk0", "Name": "disk0", "Manufacturer": simVendor, "Model": "Simulated Disk",
			"MediaType": "SSD", "Protocol": "SATA", "CapacityBytes": m.diskSize(), "Status": status(),
		})
	case len(rest) == 1 && rest[0] == "SimpleStorage":
		q.get(collection("SimpleStorageCollection", p+"/SimpleStorage", "Simple Storage Collection", []string{p + "/SimpleStorage/0"}))
	case len(rest) == 2 && rest[0] == "SimpleStorage" && rest[1] == "0":
		size := m.diskSize()
		q.get(map[string]any{
			"@odata.type": "#SimpleStorage.v1_2_0.SimpleStorage", "@odata.id": p + "/SimpleStorage/0",
			"Id": "0", "Name": "Simple Storage Controller", "Status": status(),
			"Devices": []any{map[string]any{"Name": "disk0", "Manufacturer": simVendor, "Model": "Simulated Disk", "CapacityBytes": size, "Status": status()}},
		})
	default:
		q.fail(http.StatusNotFound, "Base.1.8.ResourceMissingAtURI", "no resource at "+q.r.URL.Path)
	}
}

func (q *rfReq) systemResource() map[string]any {
	m := q.m
	p := m.RedfishSystemPath()
	power := strings.ToUpper(m.PowerState().String()[:1]) + m.PowerState().String()[1:]
	if t := m.powerTransition(); t != "" {
		power = t
	}
	dev, persistent := m.Boot()
	enabled := "Once"
	switch {
	case dev == provision.BootNone:
		enabled = "Disabled"
	case persistent:
		enabled = "Continuous"
	}
	allowed := make([]string, 0, len(targetNames))
	for _, d := range []provision.BootDevice{provision.BootNone, provision.BootPXE, provision.BootDisk, provision.BootCDROM, provision.BootBIOS} {
		allowed = append(allowed, targetNames[d])
	}
	reset := map[string]any{"target": p + "/Actions/ComputerSystem.Reset"}
	if allowed := q.s.allowedResets(m); len(allowed) > 0 {
		reset["ResetType@Redfish.AllowableValues"] = allowed
	}
	return map[string]any{
		"@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem", "@odata.id": p,
		"Id": m.name, "Name": m.name, "UUID": m.uuid, "SystemType": "Physical",
		"Manufacturer": simVendor, "Model": simModel, "SerialNumber": m.serial(),
		"PowerState": power, "Status": status(),
		"Boot": map[string]any{
			"BootSourceOverrideEnabled": enabled, "BootSourceOverrideTarget": targetNames[dev],
			"BootSourceOverrideTarget@Redfish.AllowableValues": allowed,
			"BootSourceOverrideMode":                           m.BootMode(),
		},
		"ProcessorSummary":   map[string]any{"Count": 1, "LogicalProcessorCount": simCPUs, "Model": simCPUModel, "Status": status()},
		"MemorySummary":      map[string]any{"TotalSystemMemoryGiB": simMemoryMiB / 1024, "Status": status()},
		"Processors":         odataID(p + "/Processors"),
		"EthernetInterfaces": odataID(p + "/EthernetInterfaces"),
		"SimpleStorage":      odataID(p + "/SimpleStorage"),
		"Storage":            odataID(p + "/Storage"),
		"Links": map[string]any{
			"Chassis":   []any{odataID(RedfishRoot + "/Chassis/" + m.name)},
			"ManagedBy": []any{odataID(RedfishRoot + "/Managers/" + m.name)},
		},
		"Actions": map[string]any{"#ComputerSystem.Reset": reset},
	}
}

func (q *rfReq) patchSystem() {
	if !q.ifMatch(q.systemResource()) {
		return
	}
	var body map[string]json.RawMessage
	if !q.decode(&body) {
		return
	}
	for k := range body {
		if k != "Boot" {
			q.fail(http.StatusBadRequest, "Base.1.8.PropertyNotWritable", "property "+k+" is read-only or unknown")
			return
		}
	}
	var boot struct {
		Target  *string `json:"BootSourceOverrideTarget"`
		Enabled *string `json:"BootSourceOverrideEnabled"`
		Mode    *string `json:"BootSourceOverrideMode"`
	}
	if err := json.Unmarshal(body["Boot"], &boot); err != nil {
		q.fail(http.StatusBadRequest, "Base.1.8.PropertyValueTypeError", "Boot: "+err.Error())
		return
	}
	dev, persistent := q.m.Boot()
	if boot.Target != nil {
		d, ok := bootTargets[*boot.Target]
		if !ok {
			q.fail(http.StatusBadRequest, "Base.1.8.PropertyValueNotInList", fmt.Sprintf("BootSourceOverrideTarget %q is not one of the allowable values", *boot.Target))
			return
		}
		dev = d
	}
	if boot.Enabled != nil {
		switch *boot.Enabled {
		case "Once":
			persistent = false
		case "Continuous":
			persistent = true
		case "Disabled":
			dev, persistent = provision.BootNone, false
		default:
			q.fail(http.StatusBadRequest, "Base.1.8.PropertyValueNotInList", fmt.Sprintf("BootSourceOverrideEnabled %q is not one of Once, Continuous, Disabled", *boot.Enabled))
			return
		}
	}
	if boot.Mode != nil && *boot.Mode != "UEFI" && *boot.Mode != "Legacy" {
		q.fail(http.StatusBadRequest, "Base.1.8.PropertyValueNotInList", fmt.Sprintf("BootSourceOverrideMode %q is not one of UEFI, Legacy", *boot.Mode))
		return
	}
	if boot.Mode != nil && *boot.Mode != q.m.BootMode() {
		q.m.SetBootMode(*boot.Mode)
	}
	if boot.Target != nil || boot.Enabled != nil {
		if dev == provision.BootNone {
			persistent = false
		}
		q.m.SetBoot(dev, persistent)
	}
	q.noContent()
}

var resetActions = map[string]provision.PowerAction{
	"On": provision.PowerActionOn, "ForceOn": provision.PowerActionOn,
	"ForceOff": provision.PowerActionOff, "GracefulShutdown": provision.PowerActionSoftOff,
	"ForceRestart": provision.PowerActionReset, "GracefulRestart": provision.PowerActionReset,
	"PowerCycle": provision.PowerActionCycle,
}

func (q *rfReq) reset() {
	if q.r.Method != http.MethodPost {
		q.notAllowed("POST")
		return
	}
	var body struct{ ResetType string }
	if !q.decode(&body) {
		return
	}
	allowed := q.s.allowedResets(q.m)
	if len(allowed) == 0 {
		allowed = DefaultResetTypes // none advertised: the standard ones work
	}
	if !slices.Contains(allowed, body.ResetType) {
		q.fail(http.StatusBadRequest, "Base.1.8.ActionParameterValueNotInList", fmt.Sprintf("ResetType %q is not one of the allowable values", body.ResetType))
		return
	}
	if body.ResetType == "Nmi" {
		q.m.mu.Lock()
		q.m.calls = append(q.m.calls, "nmi")
		q.m.mu.Unlock()
	} else if a, ok := resetActions[body.ResetType]; ok {
		q.m.Power(a)
	}
	q.noContent()
}

func (q *rfReq) manager(rest []string) {
	m := q.m
	p := RedfishRoot + "/Managers/" + m.name
	vm := p + "/VirtualMedia/Cd"
	switch {
	case len(rest) == 0:
		q.get(map[string]any{
			"@odata.type": "#Manager.v1_10_0.Manager", "@odata.id": p,
			"Id": m.name, "Name": "BMC of " + m.name, "ManagerType": "BMC", "UUID": m.uuid,
			"FirmwareVersion": "1.0", "PowerState": "On", "Status": status(),
			"VirtualMedia": odataID(p + "/VirtualMedia"),
			"Links": map[string]any{
				"ManagerForServers": []any{odataID(m.RedfishSystemPath())},
				"ManagerForChassis": []any{odataID(RedfishRoot + "/Chassis/" + m.name)},
			},
		})
	case len(rest) == 1 && rest[0] == "VirtualMedia":
		q.get(collection("VirtualMediaCollection", p+"/VirtualMedia", "Virtual Media Services", []string{vm}))
	case len(rest) == 2 && rest[0] == "VirtualMedia" && rest[1] == "Cd":
		if q.r.Method == http.MethodPatch {
			q.patchMedia()
			return
		}
		q.get(q.mediaResource())
	case len(rest) == 4 && rest[0] == "VirtualMedia" && rest[1] == "Cd" && rest[2] == "Actions" && rest[3] == "VirtualMedia.InsertMedia":
		if q.r.Method != http.MethodPost {
			q.notAllowed("POST")
			return
		}
		var body struct {
			Image    string
			Inserted *bool
		}
		if !q.decode(&body) {
			return
		}
		if body.Inserted != nil && !*body.Inserted {
			q.fail(http.StatusBadRequest, "Base.1.8.ActionParameterNotSupported", "Inserted=false is not supported")
			return
		}
		q.insert(body.Image)
	case len(rest) == 4 && rest[0] == "VirtualMedia" && rest[1] == "Cd" && rest[2] == "Actions" && rest[3] == "VirtualMedia.EjectMedia":
		if q.r.Method != http.MethodPost {
			q.notAllowed("POST")
			return
		}
		q.eject()
	default:
		q.fail(http.StatusNotFound, "Base.1.8.ResourceMissingAtURI", "no resource at "+q.r.URL.Path)
	}
}

func (q *rfReq) mediaResource() map[string]any {
	m := q.m
	p := RedfishRoot + "/Managers/" + m.name + "/VirtualMedia/Cd"
	st := m.Media()
	var image any
	name, via := "", "NotConnected"
	if st.Inserted {
		image, via = st.Image, "URI"
		name = st.Image[strings.LastIndex(st.Image, "/")+1:]
	}
	return map[string]any{
		"@odata.type": "#VirtualMedia.v1_3_0.VirtualMedia", "@odata.id": p,
		"Id": "Cd", "Name": "Virtual CD", "MediaTypes": []string{"CD", "DVD"},
		"Image": image, "ImageName": name, "Inserted": st.Inserted, "WriteProtected": true,
		"ConnectedVia": via, "TransferMethod": "Stream", "Status": status(),
		"Actions": map[string]any{
			"#VirtualMedia.InsertMedia": map[string]any{"target": p + "/Actions/VirtualMedia.InsertMedia"},
			"#VirtualMedia.EjectMedia":  map[string]any{"target": p + "/Actions/VirtualMedia.EjectMedia"},
		},
	}
}

func (q *rfReq) patchMedia() {
	if !q.ifMatch(q.mediaResource()) {
		return
	}
	var body struct {
		Image    *string
		Inserted *bool
	}
	if !q.decode(&body) {
		return
	}
	switch {
	case body.Inserted != nil && !*body.Inserted, body.Image != nil && *body.Image == "":
		q.eject()
	case body.Image != nil:
		q.insert(*body.Image)
	default:
		q.noContent()
	}
}

func (q *rfReq) insert(image string) {
	if st := q.m.Media(); st.Inserted {
		q.fail(http.StatusConflict, "Base.1.8.ResourceInUse", "virtual media already holds "+st.Image+"; eject it first")
		return
	}
	if err := q.m.InsertMedia(q.r.Context(), image, q.s.maxMedia); err != nil {
		q.fail(http.StatusBadRequest, "Base.1.8.ActionParameterValueError", err.Error())
		return
	}
	q.noContent()
}

func (q *rfReq) eject() {
	if err := q.m.EjectMedia(); err != nil {
		q.fail(http.StatusInternalServerError, "Base.1.8.InternalError", err.Error())
		return
	}
	q.noContent()
}

func (q *rfReq) chassis() map[string]any {
	m := q.m
	return map[string]any{
		"@odata.type": "#Chassis.v1_14_0.Chassis", "@odata.id": RedfishRoot + "/Chassis/" + m.name,
		"Id": m.name, "Name": "Chassis of " + m.name, "ChassisType": "RackMount",
		"Manufacturer": simVendor, "Model": simModel, "SerialNumber": m.serial(),
		"PowerState": strings.ToUpper(m.PowerState().String()[:1]) + m.PowerState().String()[1:], "Status": status(),
		"Links": map[string]any{
			"ComputerSystems": []any{odataID(m.RedfishSystemPath())},
			"ManagedBy":       []any{odataID(RedfishRoot + "/Managers/" + m.name)},
		},
	}
}

// decode reads a JSON request body into v; an empty body is an empty
// object (sushy posts EjectMedia without one).
func (q *rfReq) decode(v any) bool {
	data, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, 1<<20))
	if err == nil && len(bytes.TrimSpace(data)) > 0 {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		q.fail(http.StatusBadRequest, "Base.1.8.MalformedJSON", "request body: "+err.Error())
		return false
	}
	return true
}

func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}

// ifMatch checks an If-Match header against the resource's current ETag.
func (q *rfReq) ifMatch(res map[string]any) bool {
	want := q.r.Header.Get("If-Match")
	if want == "" || want == "*" {
		return true
	}
	body, _ := json.Marshal(res)
	cur := etagOf(body)
	for _, t := range strings.Split(want, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == cur {
			return true
		}
	}
	q.fail(http.StatusPreconditionFailed, "Base.1.8.PreconditionFailed", "If-Match does not match the resource's current ETag "+cur)
	return false
}

// get answers GET (and HEAD) with res; other methods get 405.
func (q *rfReq) get(res map[string]any) {
	if q.r.Method != http.MethodGet && q.r.Method != http.MethodHead {
		q.notAllowed("GET")
		return
	}
	body, _ := json.Marshal(res)
	tag := etagOf(body)
	q.w.Header().Set("ETag", tag)
	if inm := q.r.Header.Get("If-None-Match"); inm != "" && strings.TrimPrefix(inm, "W/") == tag {
		q.status = http.StatusNotModified
		q.w.WriteHeader(http.StatusNotModified)
		return
	}
	q.writeBody(http.StatusOK, body)
}

func (q *rfReq) write(code int, res map[string]any) {
	body, _ := json.Marshal(res)
	q.writeBody(code, body)
}

func (q *rfReq) writeBody(code int, body []byte) {
	if q.truncate {
		body = body[:len(body)/2]
	}
	h := q.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("OData-Version", "4.0")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	q.status = code
	q.w.WriteHeader(code)
	if q.r.Method != http.MethodHead {
		_, _ = q.w.Write(body)
	}
}

func (q *rfReq) noContent() {
	q.status = http.StatusNoContent
	q.w.WriteHeader(http.StatusNoContent)
}

func (q *rfReq) notAllowed(allow string) {
	q.w.Header().Set("Allow", allow)
	q.fail(http.StatusMethodNotAllowed, "Base.1.8.OperationNotAllowed", q.r.Method+" is not allowed on "+q.r.URL.Path)
}

// fail answers with a Redfish error body.
func (q *rfReq) fail(code int, id, msg string) {
	q.write(code, map[string]any{"error": map[string]any{
		"code": id, "message": msg,
		"@Message.ExtendedInfo": []any{map[string]any{"MessageId": id, "Message": msg, "Severity": "Warning"}},
	}})
}

// diskSize returns the size of the machine's disk file, 0 if unknown.
func (m *Machine) diskSize() int64 {
	st, err := os.Stat(m.diskPath)
	if err != nil {
		return 0
	}
	return st.Size()
}
