package tripleo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/refresh"
)

// Where things are in a booted machine's directory and in its root.
const (
	// BootRootDir is the extracted root filesystem, inside the machine's
	// directory.
	BootRootDir = "root"
	// BootVolumeDir is the persistent volume, inside the machine's
	// directory: it survives redeploys of new images.
	BootVolumeDir = "volume"
	// ConfigDriveMetaData and ConfigDriveVendorData are the config drive
	// files the server type writes (Nova's layout); the vendor data's
	// "tripleo" entry holds "metadata_url".
	ConfigDriveMetaData   = "openstack/latest/meta_data.json"
	ConfigDriveVendorData = "openstack/latest/vendor_data2.json"
	ConfigDriveUserData   = "openstack/latest/user_data"
	// VolumeMount is where the persistent volume shows inside the root (a
	// symbolic link to the volume), as TripleO's /mnt/state.
	VolumeMount = "mnt/state"
	// Inside the root: the os-apply-config templates, the os-refresh-config
	// phases and the os-collect-config cache.
	bootTemplates = "usr/libexec/os-apply-config/templates"
	bootPhases    = "usr/libexec/os-refresh-config"
	bootCache     = "var/lib/os-collect-config"
	bootStamp     = ".root-stamp"
	configDrive   = "config-2"
)

// BootOptions configure a NodeBooter. The zero value is usable.
type BootOptions struct {
	// MinInterval and MaxInterval bound the agent's poll backoff (zero:
	// 200ms and 5s: the metadata service is on loopback). A change is
	// seen at once anyway through the long poll.
	MinInterval, MaxInterval time.Duration
	// Wait is how long one long poll of the metadata may block (zero:
	// 30s).
	Wait time.Duration
	// PhaseTimeout bounds one run of the phase scripts (zero: 10 minutes).
	PhaseTimeout time.Duration
	// Env is added to the phase scripts' environment.
	Env []string
	// OnEvent, when set, receives every agent event with the machine's
	// name (from the agents' goroutines).
	OnEvent func(machine string, ev refresh.AgentEvent)
	// Logger receives a record per boot and the agents' progress; nil
	// discards.
	Logger *slog.Logger
}

// NodeBooter boots simulated machines "as far as data goes": it is the
// Booter of drivers/sim (sim.Options.Booter or Datacenter.SetBooter;
// Cloud.Booter returns the Cloud's), run while a machine is on from its
// disk. For a machine whose directory is DIR:
//
//  1. The image's root filesystem is extracted from the disk with
//     image.ExtractRoot into DIR/root, again whenever the disk was
//     rewritten since (a deploy); a plain reboot keeps the root as it was.
//  2. DIR/volume is the persistent volume: it is never removed, so it
//     survives redeploys of new images. It shows inside the root as
//     mnt/state (a symbolic link) and to the phase scripts as $VOLUME.
//  3. The metadata URL comes from the config drive a deploy wrote
//     (DIR/config-2/openstack/latest/vendor_data2.json, "tripleo" →
//     "metadata_url"; the bare-metal server type writes it, as Ironic
//     writes a config drive). Without one the machine runs no agent.
//  4. A refresh.Agent runs until the machine powers off: it long-polls
//     the metadata (refresh.Watch), caches it in the root's
//     var/lib/os-collect-config, renders the root's
//     usr/libexec/os-apply-config/templates into the root (config), runs
//     the root's usr/libexec/os-refresh-config phases, and signals the
//     deployments (HTTP, Heat's heat-config-notify body).
//
// The phase scripts run on the host, not in a chroot: their environment
// is only PATH (the host's), ROOT (the extracted root), VOLUME, HOME and
// TMPDIR (inside the root), TRIPLEO_MACHINE, TRIPLEO_BOOT_ID and
// BootOptions.Env, and an image's scripts must write under $ROOT and
// $VOLUME only. Nothing enforces that: run only images you trust. Their
// working directory is the root, so relative paths stay inside it. When
// the machine powers off, a running script is killed with
// its process group, and so is every process still holding the boot's
// TRIPLEO_BOOT_ID (what the scripts left running), found through /proc.
type NodeBooter struct {
	o      BootOptions
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	stats  BootStats
}

// BootStats sums up a NodeBooter's boots.
type BootStats struct {
	// Boots counts the boots started, Extractions the roots extracted.
	Boots, Extractions int
	// ExtractTime is the time spent extracting roots, in all.
	ExtractTime time.Duration
	// Failures counts the boots that ended with an error.
	Failures int
}

// NewNodeBooter returns a NodeBooter.
func NewNodeBooter(opts *BootOptions) *NodeBooter {
	b := &NodeBooter{}
	if opts != nil {
		b.o = *opts
	}
	if b.o.MinInterval <= 0 {
		b.o.MinInterval = 200 * time.Millisecond
	}
	if b.o.MaxInterval <= 0 {
		b.o.MaxInterval = 5 * time.Second
	}
	if b.o.Wait <= 0 {
		b.o.Wait = 30 * time.Second
	}
	if b.o.PhaseTimeout <= 0 {
		b.o.PhaseTimeout = 10 * time.Minute
	}
	b.log = b.o.Logger
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// Stats returns the boots' figures so far.
func (b *NodeBooter) Stats() BootStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Close stops every agent the NodeBooter runs and waits for them; later
// boots fail with ErrClosed. It is idempotent.
func (b *NodeBooter) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	return nil
}

// Boot implements drivers/sim's Booter: it prepares the machine's root
// and volume and runs its agent until ctx ends or the NodeBooter closes
// (it then returns nil, even when that cut the extraction short).
func (b *NodeBooter) Boot(ctx context.Context, machine, disk, dir string) (err error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fmt.Errorf("tripleo: boot %s: %w", machine, ErrClosed)
	}
	b.stats.Boots++
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.ctx, cancel)()
	defer func() {
		switch {
		case err != nil && ctx.Err() != nil:
			err = nil // powered off (or closed) mid-boot: a normal stop
		case err != nil:
			b.mu.Lock()
			b.stats.Failures++
			b.mu.Unlock()
		}
	}()
	log := b.log.With("machine", machine)

	root := filepath.Join(dir, BootRootDir)
	if err := b.prepareRoot(ctx, log, disk, dir, root); err != nil {
		return fmt.Errorf("tripleo: boot %s: %w", machine, err)
	}
	volume := filepath.Join(dir, BootVolumeDir)
	if err := os.MkdirAll(volume, 0o755); err != nil {
		return fmt.Errorf("tripleo: boot %s: volume: %w", machine, err)
	}
	mountVolume(log, root, volume)
	for _, d := range []string{"tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return fmt.Errorf("tripleo: boot %s: %w", machine, err)
		}
	}

	url, err := metadataURL(filepath.Join(dir, configDrive))
	if err != nil {
		return fmt.Errorf("tripleo: boot %s: config drive: %w", machine, err)
	}
	if url == "" {
		log.Info("booted without a config drive: no node agent")
		<-ctx.Done()
		return nil
	}
	bootID := make([]byte, 16)
	_, _ = rand.Read(bootID)
	token := bootEnv + "=" + hex.EncodeToString(bootID)
	agent, err := b.agent(log, machine, root, volume, url, token)
	if err != nil {
		return fmt.Errorf("tripleo: boot %s: %w", machine, err)
	}
	log.Info("node agent started", "metadata_url", url)
	err = agent.Run(ctx)
	if n := killBootProcesses(token); n > 0 {
		log.Info("processes the phase scripts left behind killed", "count", n)
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("tripleo: boot %s: agent: %w", machine, err)
	}
	log.Info("node agent stopped")
	return nil
}

// bootEnv is the variable, unique to a boot, that the phase scripts (and
// whatever they leave running) inherit, so that a power-off finds them.
const bootEnv = "TRIPLEO_BOOT_ID"

// killBootProcesses kills every process whose environment holds token
// (NAME=VALUE), waits (up to 2s) until they are gone, and returns how
// many it signalled.
func killBootProcesses(token string) int {
	pids := bootProcesses(token)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !slices.ContainsFunc(pids, running) {
			break
		}
	}
	return len(pids)
}

// running reports whether process pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := bytes.Cut(b, []byte(") "))
	return len(rest) > 0 && rest[0] != 'Z' && rest[0] != 'X'
}

// bootProcesses returns the processes whose environment holds token.
func bootProcesses(token string) []int {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(token)
	var pids []int
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + p.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// prepareRoot extracts the disk's root unless the root in place came
// from the disk as it is now (same size and modification time).
func (b *NodeBooter) prepareRoot(ctx context.Context, log *slog.Logger, disk, dir, root string) error {
	st, err := os.Stat(disk)
	if err != nil {
		return err
	}
	stamp := strconv.FormatInt(st.ModTime().UnixNano(), 10) + " " + strconv.FormatInt(st.Size(), 10)
	stampFile := filepath.Join(dir, bootStamp)
	if old, err := os.ReadFile(stampFile); err == nil && string(old) == stamp {
		if _, err := os.Stat(root); err == nil {
			log.Debug("root kept: the disk did not change")
			return nil
		}
	}
	_ = os.Remove(stampFile)
	res, err := image.ExtractRoot(ctx, disk, root, &image.ExtractOptions{Logger: log})
	if err != nil {
		return err
	}
	if err := os.WriteFile(stampFile, []byte(stamp), 0o644); err != nil {
		return err
	}
	b.mu.Lock()
	b.stats.Extractions++
	b.stats.ExtractTime += res.Duration
	b.mu.Unlock()
	log.Info("root extracted", "files", res.Files, "bytes", res.Bytes, "took", res.Duration)
	return nil
}

// mountVolume makes root/mnt/state a symbolic link to the volume, unless
// the image holds something else there.
func mountVolume(log *slog.Logger, root, volume string) {
	p := filepath.Join(root, VolumeMount)
	if t, err := os.Readlink(p); err == nil && t == volume {
		return
	}
	if _, err := os.Lstat(p); err == nil {
		log.Warn("the image holds " + VolumeMount + ": the volume is only in $VOLUME")
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
		err = os.Symlink(volume, p)
		if err != nil {
			log.Warn("volume link", "err", err)
		}
	}
}

// metadataURL reads the config drive's vendor data; a missing drive is
// "".
func metadataURL(drive string) (string, error) {
	b, err := os.ReadFile(filepath.Join(drive, filepath.FromSlash(ConfigDriveVendorData)))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var v struct {
		TripleO struct {
			MetadataURL string `json:"metadata_url"`
		} `json:"tripleo"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("%s: %w", ConfigDriveVendorData, err)
	}
	return v.TripleO.MetadataURL, nil
}

// agent assembles the machine's node agent.
func (b *NodeBooter) agent(log *slog.Logger, machine, root, volume, url, token string) (*refresh.Agent, error) {
	env := []string{
		token,
		"PATH=" + os.Getenv("PATH"),
		"ROOT=" + root,
		"VOLUME=" + volume,
		"HOME=" + filepath.Join(root, "root"),
		"TMPDIR=" + filepath.Join(root, "tmp"),
		"TRIPLEO_MACHINE=" + machine,
	}
	env = append(env, b.o.Env...)
	opts := &refresh.AgentOptions{
		Applier: &refresh.ConfigApplier{
			TemplatesDir: filepath.Join(root, bootTemplates),
			OutputDir:    root,
			NoSync:       true,
			Logger:       log,
		},
		Phases: refresh.NewPhaseRunner(filepath.Join(root, bootPhases), &refresh.PhaseOptions{
			Env: env, Dir: root, Timeout: b.o.PhaseTimeout, Logger: log, OutputLevel: slog.LevelDebug,
		}),
		Signaler:    refresh.NewHTTPSignaler(nil),
		MinInterval: b.o.MinInterval,
		MaxInterval: b.o.MaxInterval,
		Logger:      log,
	}
	if b.o.OnEvent != nil {
		opts.OnEvent = func(ev refresh.AgentEvent) { b.o.OnEvent(machine, ev) }
	}
	return refresh.NewAgent(
		[]refresh.Collector{refresh.NewWatch(url, &refresh.WatchOptions{Wait: b.o.Wait, Logger: log})},
		refresh.NewCache(filepath.Join(root, bootCache), &refresh.CacheOptions{NoSync: true}),
		opts)
}
