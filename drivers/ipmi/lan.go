package ipmi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	goipmi "github.com/vmware/goipmi"

	"github.com/tripleo-go/tripleo/provision"
)

// openLan opens an ipmi+lan:// driver: IPMI 1.5 LAN through
// github.com/vmware/goipmi's native transport.
func openLan(_ context.Context, a provision.BMCAddress, creds provision.Credentials, o provision.DriverOptions) (provision.PowerDriver, error) {
	if _, err := parseSettings(a, false); err != nil {
		return nil, err
	}
	if len(creds.Username()) > 16 || len(creds.Password()) > 16 {
		return nil, fmt.Errorf("ipmi %s: %w: IPMI 1.5 user names and passwords have at most 16 bytes", a, provision.ErrAuth)
	}
	port := a.Port
	if port == 0 {
		port = DefaultPort
	}
	hostport := a.HostPort(DefaultPort)
	dial := func(ctx context.Context) (session, error) {
		// Path must stay empty: with a path goipmi runs ipmitool.
		c, err := goipmi.NewClient(&goipmi.Connection{Hostname: a.Host, Port: port, Username: creds.Username(), Password: creds.Password(), Interface: "lan"})
		if err != nil {
			return nil, err
		}
		s := &lanSession{c: c}
		if err := s.run(ctx, c.Open); err != nil {
			_ = s.close(context.WithoutCancel(ctx))
			var cc goipmi.CompletionCode
			if errors.As(err, &cc) {
				// The BMC answered but refused the session.
				return nil, fmt.Errorf("%w: session refused: %w", provision.ErrAuth, err)
			}
			return nil, err
		}
		return s, nil
	}
	probe := func(ctx context.Context) bool { return Ping(ctx, hostport) }
	return newDriver(a.String(), o.Logger, dial, probe), nil
}

// lanSession adapts goipmi, which has no context and a fixed 5 s read
// timeout: each call runs in a goroutine, and a cancelled ctx returns at
// once while the call ends on its own timeout, after which the session is
// closed (the driver opens a new one).
type lanSession struct {
	c    *goipmi.Client
	busy chan struct{} // closed when the abandoned call ends
}

func (s *lanSession) run(ctx context.Context, f func() error) error {
	if s.busy != nil {
		select {
		case <-s.busy:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan error, 1)
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		done <- f()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		s.busy = busy
		return ctx.Err()
	}
}

func (s *lanSession) send(ctx context.Context, cmd goipmi.Command, req any, res goipmi.Response) error {
	err := s.run(ctx, func() error {
		return s.c.Send(&goipmi.Request{NetworkFunction: goipmi.NetworkFunctionChassis, Command: cmd, Data: req}, res)
	})
	if err != nil {
		return err
	}
	if cc := res.Code(); cc != 0 {
		return fmt.Errorf("completion code %#x: %w", cc, goipmi.CompletionCode(cc))
	}
	return nil
}

func (s *lanSession) powerOn(ctx context.Context) (bool, error) {
	r := &goipmi.ChassisStatusResponse{}
	if err := s.send(ctx, goipmi.CommandChassisStatus, &goipmi.ChassisStatusRequest{}, r); err != nil {
		return false, err
	}
	return r.PowerState&0x01 != 0, nil
}

func (s *lanSession) control(ctx context.Context, code byte) error {
	return s.send(ctx, goipmi.CommandChassisControl, &goipmi.ChassisControlRequest{ChassisControl: goipmi.ChassisControl(code)}, &goipmi.ChassisControlResponse{})
}

func (s *lanSession) setBootFlags(ctx context.Context, sel byte, persistent bool) error {
	var flags byte
	if sel != 0 {
		flags = 0x80
	}
	if persistent {
		flags |= 0x40
	}
	return s.send(ctx, goipmi.CommandSetSystemBootOptions,
		&goipmi.SetSystemBootOptionsRequest{Param: goipmi.BootParamBootFlags, Data: []uint8{flags, sel << 2, 0, 0, 0}},
		&goipmi.SetSystemBootOptionsResponse{})
}

func (s *lanSession) bootFlags(ctx context.Context) (byte, bool, error) {
	r := &goipmi.SystemBootOptionsResponse{}
	if err := s.send(ctx, goipmi.CommandGetSystemBootOptions, &goipmi.SystemBootOptionsRequest{Param: goipmi.BootParamBootFlags}, r); err != nil {
		return 0, false, err
	}
	if len(r.Data) < 2 {
		return 0, false, fmt.Errorf("boot flags: short answer (%d bytes)", len(r.Data))
	}
	return (r.Data[1] >> 2) & 0x0f, r.Data[0]&0x40 != 0, nil
}

func (s *lanSession) close(ctx context.Context) error {
	if s.busy != nil {
		// A call is still running: close once it ends.
		go func(busy chan struct{}) {
			<-busy
			_ = s.c.Close()
		}(s.busy)
		return nil
	}
	return s.run(ctx, s.c.Close)
}

// Ping sends an RMCP/ASF presence ping (what IPMI 1.5 clients send before
// a session) to hostport and reports whether a pong came back before ctx
// ends (within one second without a deadline). It needs no credentials:
// a way to tell a BMC that answers from one that does not.
func Ping(ctx context.Context, hostport string) bool {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", hostport)
	if err != nil {
		return false
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(time.Second))
	}
	// RMCP header (version 6, seq 0xff, class ASF), ASF IANA 4542, ping.
	ping := []byte{0x06, 0x00, 0xff, 0x06, 0x00, 0x00, 0x11, 0xbe, 0x80, 0x01, 0x00, 0x00}
	if _, err := conn.Write(ping); err != nil {
		return false
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return false
	}
	return n >= 9 && bytes.Equal(buf[4:8], ping[4:8]) && buf[8] == 0x40
}
