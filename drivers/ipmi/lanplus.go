package ipmi

import (
	"context"
	"fmt"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/chassis"
	"github.com/bougou/go-ipmi/pkg/types"

	"github.com/tripleo-go/tripleo/provision"
)

// openLanplus opens an ipmi:// driver: IPMI 2.0 RMCP+ through go-ipmi.
func openLanplus(_ context.Context, a provision.BMCAddress, creds provision.Credentials, o provision.DriverOptions) (provision.PowerDriver, error) {
	s, err := parseSettings(a, true)
	if err != nil {
		return nil, err
	}
	port := a.Port
	if port == 0 {
		port = DefaultPort
	}
	if len(creds.Username()) > 16 || len(creds.Password()) > 20 {
		return nil, fmt.Errorf("ipmi %s: %w: IPMI user names have at most 16 bytes and passwords at most 20", a, provision.ErrAuth)
	}
	addr := a.String()
	dial := func(ctx context.Context) (session, error) {
		c, err := client.NewClient(a.Host, port, creds.Username(), creds.Password())
		if err != nil {
			return nil, err
		}
		c.WithCipherSuiteID(types.CipherSuiteID(s.cipher)).WithTimeout(s.timeout).WithRetry(s.retries).
			WithMaxPrivilegeLevel(types.PrivilegeLevelAdministrator).
			// Chassis messages are under 100 bytes; the library's default
			// 4 KiB receive buffer per exchange dominated allocations.
			WithBufferSize(1024)
		if err := c.Connect(ctx); err != nil {
			// No session to close: a cancelled context makes Close skip
			// the Close Session exchange and just release the socket.
			_ = c.Close(cancelled)
			return nil, err
		}
		return &lanplusSession{c: c}, nil
	}
	return &lanplusDriver{driver: newDriver(addr, o.Logger, dial, nil)}, nil
}

// lanplusDriver adds As to the shared driver.
type lanplusDriver struct{ *driver }

// As sets a **client.Client target (github.com/bougou/go-ipmi/pkg/client)
// to the open session's client; false when no session is open.
func (d *lanplusDriver) As(target any) bool {
	p, ok := target.(**client.Client)
	if !ok {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.s.(*lanplusSession)
	if !ok || s == nil {
		return false
	}
	*p = s.c
	return true
}

var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

type lanplusSession struct{ c *client.Client }

func (s *lanplusSession) powerOn(ctx context.Context) (bool, error) {
	r, err := s.c.GetChassisStatus(ctx)
	if err != nil {
		return false, err
	}
	return r.PowerIsOn, nil
}

func (s *lanplusSession) control(ctx context.Context, code byte) error {
	_, err := s.c.ChassisControl(ctx, chassis.ChassisControl(code))
	return err
}

func (s *lanplusSession) setBootFlags(ctx context.Context, sel byte, persistent bool) error {
	return s.c.SetSystemBootOptionsParamFor(ctx, &types.BootOptionParam_BootFlags{
		BootFlagsValid:     sel != 0,
		Persist:            persistent,
		BIOSBootType:       types.BIOSBootTypeLegacy,
		BootDeviceSelector: types.BootDeviceSelector(sel),
	})
}

func (s *lanplusSession) bootFlags(ctx context.Context) (byte, bool, error) {
	f := &types.BootOptionParam_BootFlags{}
	if err := s.c.GetSystemBootOptionsParamFor(ctx, f); err != nil {
		return 0, false, err
	}
	return byte(f.BootDeviceSelector), f.Persist, nil
}

func (s *lanplusSession) close(ctx context.Context) error { return s.c.Close(ctx) }
