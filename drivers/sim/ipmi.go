package sim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bougou/go-ipmi/pkg/bmc"
	"github.com/bougou/go-ipmi/pkg/hal"
	"github.com/bougou/go-ipmi/pkg/server"
	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/tripleo-go/tripleo/provision"
)

// ipmiUserID is the BMC user slot the machine's credentials live in (slot
// 1 is the anonymous user in IPMI).
const ipmiUserID = 2

// ipmiEndpoint is one machine's IPMI BMC on a loopback UDP port.
type ipmiEndpoint struct {
	m    *Machine
	conn *faultConn
	bmc  *bmc.BMC
	srv  *server.Server
	done chan struct{}
}

// startIPMI binds a UDP socket on host (a loopback address; port 0 picks
// a free one) and serves the machine's BMC on it until close.
func startIPMI(m *Machine, host string, port int) (*ipmiEndpoint, error) {
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return nil, fmt.Errorf("sim: machine %s: IPMI endpoint: %w", m.name, err)
	}
	e := &ipmiEndpoint{m: m, conn: &faultConn{UDPConn: pc.(*net.UDPConn), m: m, closed: make(chan struct{})}, done: make(chan struct{})}
	info := bmc.DeviceInfo{
		DeviceID: 0x20, DeviceRevision: 1, FirmwareMajor: 1, FirmwareMinor: 0,
		IPMIVersion: 0x20, ManufacturerID: 0x0000_0157, ProductID: 0x0001,
		AdditionalDeviceSupport: 0x09, // chassis device, sensor device
	}
	var guid [16]byte
	copy(guid[:], sha256.New().Sum([]byte(m.uuid)))
	e.bmc = bmc.New(info, guid, simHAL{m: m})
	u, err := e.bmc.Users.Add(ipmiUserID, m.username)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("sim: machine %s: add BMC user: %w", m.name, err)
	}
	u.SetPassword([]byte(m.password))
	u.Enabled = true
	u.ChannelAccess[1] = bmc.UserChannelAccess{MaxPrivilege: bmc.PrivilegeLevelAdministrator, Enabled: true}
	// Suite 0 (no authentication, the "cipher zero" hole) is not offered.
	e.srv = server.NewServer(e.bmc, e.conn, server.WithCipherSuites([]types.CipherSuiteID{
		types.CipherSuiteID1, types.CipherSuiteID2, types.CipherSuiteID3, types.CipherSuiteID17,
	}))
	go func() {
		defer close(e.done)
		_ = e.srv.Serve(context.Background())
	}()
	return e, nil
}

func (e *ipmiEndpoint) addr() string { return e.conn.LocalAddr().String() }

// setPassword changes the BMC user's password (failure injection).
func (e *ipmiEndpoint) setPassword(p []byte) {
	_ = e.bmc.Users.Update(ipmiUserID, func(u *bmc.User) error {
		u.SetPassword(p)
		return nil
	})
}

// applyFault makes the endpoint refuse every password for
// FaultWrongPassword and accept the machine's own otherwise.
func (e *ipmiEndpoint) applyFault(f Fault) {
	if f == FaultWrongPassword {
		junk := make([]byte, 16)
		_, _ = rand.Read(junk)
		e.setPassword(junk)
		return
	}
	e.setPassword([]byte(e.m.password))
}

func (e *ipmiEndpoint) close() error {
	err := e.srv.Close()
	<-e.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// faultConn is the server's transport: a UDP socket that drops packets
// while the machine is unreachable and delays answers while it is slow.
type faultConn struct {
	*net.UDPConn
	m         *Machine
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *faultConn) ReadFrom(buf []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(buf)
		if err != nil {
			return n, addr, err
		}
		if f, _ := c.m.currentFault(); f == FaultUnreachable {
			continue
		}
		return n, addr, nil
	}
}

func (c *faultConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	f, slow := c.m.currentFault()
	switch f {
	case FaultUnreachable:
		return len(b), nil
	case FaultSlow:
		t := time.NewTimer(slow)
		select {
		case <-t.C:
		case <-c.closed:
			t.Stop()
			return 0, net.ErrClosed
		}
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *faultConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.UDPConn.Close()
}

// simHAL is the hardware behind the BMC: the machine's chassis only.
type simHAL struct{ m *Machine }

func (h simHAL) Chassis() hal.ChassisHAL { return simChassis(h) }
func (simHAL) Sensors() hal.SensorHAL    { return nil }
func (simHAL) Storage() hal.StorageHAL   { return nil }
func (simHAL) Network() hal.NetworkHAL   { return nil }
func (simHAL) GPIO() hal.GPIOHAL         { return nil }
func (simHAL) I2C() hal.I2CHAL           { return nil }
func (simHAL) Console() hal.ConsoleHAL   { return nil }
func (simHAL) Close() error              { return nil }

type simChassis struct{ m *Machine }

func (c simChassis) PowerState(context.Context) (bool, error) {
	return c.m.PowerState() == provision.PowerOn, nil
}

func (c simChassis) SetPower(_ context.Context, on bool) error {
	if on {
		c.m.Power(provision.PowerActionOn)
	} else {
		c.m.Power(provision.PowerActionOff)
	}
	return nil
}

func (c simChassis) PowerCycle(context.Context) error {
	c.m.Power(provision.PowerActionCycle)
	return nil
}

func (c simChassis) ColdReset(context.Context) error {
	c.m.Power(provision.PowerActionReset)
	return nil
}

// WarmReset is what go-ipmi's handler calls for Chassis Control 05h,
// "initiate soft shutdown".
func (c simChassis) WarmReset(context.Context) error {
	c.m.Power(provision.PowerActionSoftOff)
	return nil
}

func (simChassis) Identify(context.Context, uint8) error { return nil }

func (simChassis) IntrusionState(context.Context) (bool, error) { return false, hal.ErrNotSupported }

var selectorToDevice = map[types.BootDeviceSelector]provision.BootDevice{
	types.BootDeviceSelectorNoOverride:       provision.BootNone,
	types.BootDeviceSelectorForcePXE:         provision.BootPXE,
	types.BootDeviceSelectorForceHardDrive:   provision.BootDisk,
	types.BootDeviceSelectorForceCDROM:       provision.BootCDROM,
	types.BootDeviceSelectorForceRemoteCDROM: provision.BootCDROM,
	types.BootDeviceSelectorForceBIOSSetup:   provision.BootBIOS,
}

var deviceToSelector = map[provision.BootDevice]types.BootDeviceSelector{
	provision.BootNone:  types.BootDeviceSelectorNoOverride,
	provision.BootPXE:   types.BootDeviceSelectorForcePXE,
	provision.BootDisk:  types.BootDeviceSelectorForceHardDrive,
	provision.BootCDROM: types.BootDeviceSelectorForceCDROM,
	provision.BootBIOS:  types.BootDeviceSelectorForceBIOSSetup,
}

func (c simChassis) SetBootFlags(_ context.Context, f *types.BootOptionParam_BootFlags) error {
	dev, ok := selectorToDevice[f.BootDeviceSelector]
	if !ok {
		return hal.ErrNotSupported
	}
	if !f.BootFlagsValid {
		dev = provision.BootNone
	}
	c.m.SetBoot(dev, f.Persist && dev != provision.BootNone)
	return nil
}

func (c simChassis) GetBootFlags(context.Context) (*types.BootOptionParam_BootFlags, error) {
	dev, persistent := c.m.Boot()
	return &types.BootOptionParam_BootFlags{
		BootFlagsValid:     dev != provision.BootNone,
		Persist:            persistent,
		BootDeviceSelector: deviceToSelector[dev],
	}, nil
}

func (simChassis) SetBootInfoAcknowledge(context.Context, *types.BootOptionParam_BootInfoAcknowledge) error {
	return nil
}

func (simChassis) GetBootInfoAcknowledge(context.Context) (*types.BootOptionParam_BootInfoAcknowledge, error) {
	return &types.BootOptionParam_BootInfoAcknowledge{}, nil
}
