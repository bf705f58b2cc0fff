package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tripleo-go/tripleo/refresh"
)

// agentSettings are the --agent mode's options (ours; the original has no
// such mode).
type agentSettings struct {
	enabled   bool
	templates string // os-apply-config's templates root
	output    string // output root
	phasesDir string // os-refresh-config's base dir ("" = its rules)
	lockfile  string
	timeout   float64 // phase run timeout, seconds
	noSignal  bool
}

var agentOptions = []option{
	{cli: "--agent", group: "agent", key: "enabled", boolean: true, set: boolean(func(s *settings) *bool { return &s.agent.enabled })},
	{cli: "--agent-templates", group: "agent", key: "templates", set: str(func(s *settings) *string { return &s.agent.templates })},
	{cli: "--agent-output", group: "agent", key: "output", set: str(func(s *settings) *string { return &s.agent.output })},
	{cli: "--agent-phases-dir", group: "agent", key: "phases_dir", set: str(func(s *settings) *string { return &s.agent.phasesDir })},
	{cli: "--agent-lockfile", group: "agent", key: "lockfile", set: str(func(s *settings) *string { return &s.agent.lockfile })},
	{cli: "--agent-timeout", group: "agent", key: "timeout", set: floatSetter(func(s *settings) *float64 { return &s.agent.timeout }, "--agent-timeout")},
	{cli: "--agent-no-signal", group: "agent", key: "no_signal", boolean: true, set: boolean(func(s *settings) *bool { return &s.agent.noSignal })},
}

// runAgent is --agent: the whole node agent in this process (collect,
// render the os-apply-config templates, run the os-refresh-config phases
// with OS_CONFIG_FILES, signal the deployments), with the collectors,
// cache and polling options of os-collect-config. The templates default
// to $OS_CONFIG_APPLIER_TEMPLATES or /usr/libexec/os-apply-config/templates,
// the phases to os-refresh-config's base dir, the lock file to
// /var/run/os-refresh-config.lock.
//
// The agent stops gracefully (after the current run) when stop closes,
// and at once when ctx ends.
func runAgent(ctx context.Context, stop <-chan struct{}, s *settings, collectors []refresh.Collector, logger *slog.Logger, stdout, stderr io.Writer) int {
	a := s.agent
	if a.templates == "" {
		a.templates = os.Getenv("OS_CONFIG_APPLIER_TEMPLATES")
		if a.templates == "" {
			a.templates = "/usr/libexec/os-apply-config/templates"
		}
	}
	if a.output == "" {
		a.output = "/"
	}
	if a.phasesDir == "" {
		a.phasesDir, _ = refresh.BaseDir(os.LookupEnv)
	}
	if a.lockfile == "" {
		a.lockfile = "/var/run/os-refresh-config.lock"
	}
	var signaler refresh.Signaler
	if !a.noSignal {
		signaler = refresh.NewHTTPSignaler(&refresh.HTTPSignalerOptions{Logger: logger})
	}
	cache := refresh.NewCache(s.cachedir, &refresh.CacheOptions{BackupDir: s.backupCachedir, Logger: logger})
	agent, err := refresh.NewAgent(collectors, cache, &refresh.AgentOptions{
		Applier: &refresh.ConfigApplier{TemplatesDir: a.templates, OutputDir: a.output, Logger: logger},
		Phases: refresh.NewPhaseRunner(a.phasesDir, &refresh.PhaseOptions{
			Logger:      logger,
			OutputLevel: slog.LevelDebug,
			LockFile:    a.lockfile,
			Timeout:     time.Duration(a.timeout * float64(time.Second)),
			Stdout:      stdout,
			Stderr:      stderr,
		}),
		Signaler:       signaler,
		DeploymentKeys: s.deploymentKeys,
		MinInterval:    seconds(s.minPolling),
		MaxInterval:    seconds(s.polling),
		Splay:          seconds(s.splay),
		OneTime:        s.oneTime,
		Logger:         logger,
		Stop:           stop,
	})
	if err != nil {
		logger.Error(err.Error())
		return 1
	}
	err = agent.Run(ctx)
	if err == nil || ctx.Err() != nil || errors.Is(err, refresh.ErrStopped) {
		return 0
	}
	logger.Error(err.Error())
	return 1
}
