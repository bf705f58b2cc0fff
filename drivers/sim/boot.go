package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tripleo-go/tripleo/provision"
)

// Booter runs what the operating system on a machine's disk would, from
// the moment the machine powers on from its disk until it powers off.
// tripleo.NodeBooter (the image's node agent) implements it.
//
// Boot is called in a goroutine of its own at each power-on, power cycle
// or reset that boots from the disk (no boot override, or a disk one)
// when the disk holds a GPT; a network, CD or BIOS boot runs no Booter. ctx
// ends when the machine powers off (when the power-off completes),
// resets, or the Datacenter closes; Boot must then return promptly. A
// boot starts only after the machine's previous boot returned. machine
// is the machine's name, disk the path of its disk file, and dir a
// directory of the machine's own that lasts across boots and deploys
// (Machine.Dir): the config drive a deploy wrote is dir/config-2, and the
// Booter keeps what it needs (an extracted root, a persistent volume)
// beside it.
//
// An error returned (or a panic, recovered) is logged with the
// Datacenter's Logger and shown by Machine.BootStatus.
type Booter interface {
	Boot(ctx context.Context, machine, disk, dir string) error
}

// BootFunc adapts a function to a Booter.
type BootFunc func(ctx context.Context, machine, disk, dir string) error

// Boot implements Booter.
func (f BootFunc) Boot(ctx context.Context, machine, disk, dir string) error {
	return f(ctx, machine, disk, dir)
}

// BootState is where a machine's operating system stands.
type BootState int

// Boot states.
const (
	// BootStateOff: no operating system runs (never booted from disk, or
	// powered off since, or no Booter is set).
	BootStateOff BootState = iota
	// BootStateStarting: powered on from disk, waiting for the power-on
	// delay or for the previous boot to stop.
	BootStateStarting
	// BootStateNoOS: the disk holds no GPT; nothing was booted.
	BootStateNoOS
	// BootStateRunning: the Booter runs.
	BootStateRunning
	// BootStateStopped: the Booter returned after its context ended
	// (power-off, reset, close).
	BootStateStopped
	// BootStateHalted: the Booter returned nil while the machine was on.
	BootStateHalted
	// BootStateFailed: the Booter returned an error or panicked.
	BootStateFailed
)

var bootStateNames = []string{"off", "starting", "no-os", "running", "stopped", "halted", "failed"}

// String returns the state's name ("running"...).
func (s BootState) String() string {
	if s >= 0 && int(s) < len(bootStateNames) {
		return bootStateNames[s]
	}
	return fmt.Sprintf("BootState(%d)", int(s))
}

// BootStatus is a machine's operating system status.
type BootStatus struct {
	State BootState
	// Boots counts the boots started since the machine was created.
	Boots int
	// Err is the Booter's error when State is BootStateFailed.
	Err error
	// Since is when State was entered.
	Since time.Time
}

// bootMgr is the Datacenter's boot machinery, shared by its machines.
type bootMgr struct {
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	booter Booter
	closed bool
}

func newBootMgr(b Booter, log *slog.Logger) *bootMgr {
	ctx, cancel := context.WithCancel(context.Background())
	return &bootMgr{log: log, ctx: ctx, cancel: cancel, booter: b}
}

// close stops every running boot and waits for them.
func (g *bootMgr) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}

// SetBooter sets the Booter later boots run (nil: none); running boots
// are left alone.
func (d *Datacenter) SetBooter(b Booter) {
	d.boots.mu.Lock()
	defer d.boots.mu.Unlock()
	d.boots.booter = b
}

// machineBoot is a machine's running (or last) boot.
type machineBoot struct {
	gen    int
	cancel context.CancelFunc
	done   chan struct{}
}

// BootStatus returns the status of the machine's operating system.
func (m *Machine) BootStatus() BootStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	return m.bootStatus
}

// Dir returns the machine's own directory (created by Start), which lasts
// across boots and deploys: a deploy's config drive is Dir()/config-2,
// and a Booter keeps its files here.
func (m *Machine) Dir() string { return m.home }

// setBootLocked records a new boot status.
func (m *Machine) setBootLocked(s BootState, err error) {
	m.bootStatus.State, m.bootStatus.Err, m.bootStatus.Since = s, err, time.Now()
}

// syncBootLocked starts or stops the operating system to match the
// power state: a boot runs for generation bootGen while the machine is
// on (or powering on) from its disk.
func (m *Machine) syncBootLocked() {
	want := (m.on || m.pendingOn) && m.bootedFrom == provision.BootDisk
	cur := m.curBoot
	if cur != nil && (!want || cur.gen != m.bootGen) {
		cur.cancel()
		m.curBoot = nil
		if m.bootStatus.State == BootStateStarting || m.bootStatus.State == BootStateRunning {
			m.setBootLocked(BootStateOff, nil)
		}
	}
	if !want || m.curBoot != nil || m.startedGen == m.bootGen || m.boots == nil {
		return
	}
	g := m.boots
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.booter == nil {
		return
	}
	ctx, cancel := context.WithCancel(g.ctx)
	b := &machineBoot{gen: m.bootGen, cancel: cancel, done: make(chan struct{})}
	prev := m.lastBoot
	m.curBoot, m.lastBoot, m.startedGen = b, b, m.bootGen
	m.bootStatus.Boots++
	m.setBootLocked(BootStateStarting, nil)
	var onAt time.Time
	if m.pendingOn {
		onAt = m.onAt
	}
	g.wg.Add(1)
	go m.runBoot(ctx, g, g.booter, b, prev, onAt)
}

// runBoot is one boot: wait for the previous one and the power-on delay,
// check the disk, run the Booter.
func (m *Machine) runBoot(ctx context.Context, g *bootMgr, booter Booter, b, prev *machineBoot, onAt time.Time) {
	defer g.wg.Done()
	defer close(b.done)
	defer b.cancel()
	if prev != nil {
		<-prev.done // it was cancelled: it returns promptly
	}
	if d := time.Until(onAt); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if ctx.Err() != nil {
		return
	}
	if !hasGPT(m.diskPath) {
		m.finishBoot(b, BootStateNoOS, nil)
		return
	}
	m.mu.Lock()
	if m.curBoot != b {
		m.mu.Unlock()
		return
	}
	m.setBootLocked(BootStateRunning, nil)
	m.mu.Unlock()
	g.log.Info("machine booted from disk", "machine", m.name)
	err := safeBoot(ctx, booter, m)
	switch {
	case ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)):
		g.log.Info("machine operating system stopped", "machine", m.name)
		m.finishBoot(b, BootStateStopped, nil)
	case err != nil:
		g.log.Error("machine boot failed", "machine", m.name, "err", err)
		m.finishBoot(b, BootStateFailed, err)
	default:
		g.log.Info("machine operating system halted", "machine", m.name)
		m.finishBoot(b, BootStateHalted, nil)
	}
}

// finishBoot records how boot b ended, unless a later boot (or a
// power-off) already took over the status.
func (m *Machine) finishBoot(b *machineBoot, s BootState, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.curBoot == b {
		m.curBoot = nil
		m.setBootLocked(s, err)
	} else if m.curBoot == nil && (s == BootStateFailed || s == BootStateStopped) && m.bootStatus.State == BootStateOff {
		m.setBootLocked(s, err) // stopped by a power-off: say how it ended
	}
}

func safeBoot(ctx context.Context, b Booter, m *Machine) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sim: machine %s: booter panicked: %v\n%s", m.name, r, debug.Stack())
		}
	}()
	return b.Boot(ctx, m.name, m.diskPath, m.home)
}

// hasGPT reports whether the disk file has a GPT header ("EFI PART" at
// LBA 1).
func hasGPT(disk string) bool {
	f, err := os.Open(disk)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 8)
	if _, err := f.ReadAt(b, 512); err != nil {
		return false
	}
	return bytes.Equal(b, []byte("EFI PART"))
}
