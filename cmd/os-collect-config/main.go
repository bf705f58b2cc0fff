package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
)

const usage = `usage: os-collect-config [-h] [--backup-cachedir BACKUP_CACHEDIR]
                         [--cachedir CACHEDIR] [--command COMMAND]
                         [--config-file PATH] [--debug]
                         [--deployment-key DEPLOYMENT_KEY] [--force]
                         [--min-polling-interval MIN_POLLING_INTERVAL]
                         [--one-time] [--polling-interval POLLING_INTERVAL]
                         [--print] [--print-cachedir] [--splay SPLAY]
                         [--version] [--local-path LOCAL_PATH]
                         [--heat_local-path HEAT_LOCAL_PATH]
                         [--request-metadata-url REQUEST_METADATA_URL]
                         [--request-timeout REQUEST_TIMEOUT]
                         [--ec2-metadata-url EC2_METADATA_URL]
                         [--ec2-timeout EC2_TIMEOUT]
                         [--watch-metadata-url WATCH_METADATA_URL]
                         [--watch-wait WATCH_WAIT] [--agent ...]
                         [collectors ...]
`

const help = `
positional arguments:
  collectors            The collectors to use, in the order their outputs are
                        given to the command. (default: heat_local ec2 cfn heat
                        request local zaqar; cfn, heat and zaqar are not built
                        in and are skipped)

options:
  -h, --help            show this help message and exit
  --backup-cachedir BACKUP_CACHEDIR
                        Copy cache contents to this directory as well.
  --cachedir CACHEDIR   Directory in which to store local cache of metadata
  --command COMMAND, -c COMMAND
                        Command to run on metadata changes. If specified,
                        os-collect-config will continue to run until killed.
                        If not specified, os-collect-config will print the
                        collected data as a json map and exit.
  --config-file PATH    Path to a config file to use (oslo.config INI).
  --debug, -d           Log at DEBUG level instead of WARNING.
  --deployment-key DEPLOYMENT_KEY
                        Key(s) to explode into multiple collected outputs.
  --force               Run the command even if nothing has changed. Implies
                        --one-time.
  --min-polling-interval MIN_POLLING_INTERVAL
                        The first (and, after a change, the next) sleep.
  --one-time            Exit after one execution of the command.
  --polling-interval POLLING_INTERVAL, -i POLLING_INTERVAL
                        The longest sleep between two collections.
  --print               Query normally, print the resulting configs as a json
                        map, and exit without running the command.
  --print-cachedir      Print out the value of cachedir and exit immediately.
  --splay SPLAY         Sleep a random time up to SPLAY seconds before the
                        first collection. Ignored with --one-time or --force.
  --version             show program's version number and exit
  --local-path LOCAL_PATH
                        Local directory to scan for metadata files.
  --heat_local-path HEAT_LOCAL_PATH
                        Local file of Heat metadata (cfn-init-data).
  --request-metadata-url REQUEST_METADATA_URL
                        URL to query for metadata.
  --request-timeout REQUEST_TIMEOUT
                        Seconds to wait for each request.
  --ec2-metadata-url EC2_METADATA_URL
                        URL of the EC2 metadata service.
  --ec2-timeout EC2_TIMEOUT
                        Seconds to wait for each request.
  --watch-metadata-url WATCH_METADATA_URL
                        URL of a long-poll metadata document (the "watch"
                        collector, refresh.MetadataServer).
  --watch-wait WATCH_WAIT
                        Seconds a long poll may wait on the server.
  --agent               Run the whole node agent: render the os-apply-config
                        templates, run the os-refresh-config phases and signal
                        the deployments, instead of running --command.
  --agent-templates DIR, --agent-output DIR, --agent-phases-dir DIR,
  --agent-lockfile PATH, --agent-timeout SECONDS, --agent-no-signal
                        The agent's templates root (default
                        $OS_CONFIG_APPLIER_TEMPLATES or
                        /usr/libexec/os-apply-config/templates), output root
                        (/), phases base dir (os-refresh-config's), lock file
                        (/var/run/os-refresh-config.lock), phase run timeout
                        (none) and signalling switch.
`

const version = "12.0.0"

var knownCollectors = []string{"heat_local", "ec2", "cfn", "heat", "request", "local", "zaqar", "watch"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	// SIGHUP re-executes the program, as the original does, but only
	// between two runs of the command: a running command is not killed.
	hupCtx, hup := context.WithCancelCause(ctx)
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	go func() {
		if _, ok := <-hups; ok {
			hup(errReexec)
		}
	}()
	code := runWith(hupCtx, ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(context.Cause(hupCtx), errReexec) && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "Signal received. Re-executing %s\n", pyList(os.Args))
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, os.Environ())
		}
		fmt.Fprintf(os.Stderr, "os-collect-config: re-exec: %v\n", err)
		code = 1
	}
	stop()
	os.Exit(code)
}

// errReexec is the cause of the loop's context when SIGHUP asks for a
// re-exec.
var errReexec = errors.New("SIGHUP: re-executing")

// run is runWith with one context for the loop and the command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, ctx, args, stdout, stderr)
}

// runWith runs the program; the loop stops when ctx ends, a running
// command or agent run only when cmdCtx does.
func runWith(ctx, cmdCtx context.Context, args []string, stdout, stderr io.Writer) int {
	s, err := parseArgs(args)
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "%sos-collect-config: error: %v\n", usage, err)
			return 2
		}
		fmt.Fprintf(stderr, "os-collect-config: %v\n", err)
		return 1
	}
	if s.help {
		fmt.Fprint(stdout, usage+help)
		return 0
	}
	if s.version {
		fmt.Fprintln(stdout, version)
		return 0
	}
	logw := stderr
	if s.logFile != "" {
		f, err := os.OpenFile(s.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "os-collect-config: log file: %v\n", err)
			return 1
		}
		defer f.Close()
		logw = f
	}
	level := slog.LevelWarn
	if s.debug {
		level = slog.LevelDebug
	}
	logger := slog.New(newHandler(logw, level))

	if s.printCachedir {
		fmt.Fprintln(stdout, s.cachedir)
		return 0
	}
	var unknown []string
	for _, c := range s.collectors {
		if !slices.Contains(knownCollectors, c) && !slices.Contains(unknown, c) {
			unknown = append(unknown, c)
		}
	}
	if len(unknown) > 0 {
		fmt.Fprintf(stderr, "os_collect_config.exc.InvalidArguments: Unknown collectors %s. Valid collectors are: %s\n", pyList(unknown), pyList(knownCollectors))
		return 1
	}
	if s.force {
		s.oneTime = true
	}
	collectors := buildCollectors(s, logger)

	if s.agent.enabled {
		return runAgent(cmdCtx, ctx.Done(), s, collectors, logger, stdout, stderr)
	}
	if s.command == "" || s.printOnly {
		obj, err := refresh.CollectPrint(ctx, collectors, logger)
		if err != nil {
			logger.Error(err.Error())
			return 1
		}
		stdout.Write(append(config.MarshalIndent(obj, 1), '\n'))
		return 0
	}
	cache := refresh.NewCache(s.cachedir, &refresh.CacheOptions{BackupDir: s.backupCachedir, Logger: logger})
	shell := refresh.ShellCommand(s.command, nil, stdout, stderr)
	err = refresh.Poll(ctx, &refresh.PollOptions{
		Collectors: collectors,
		Cache:      cache,
		Run: func(_ context.Context, r *refresh.Round) error {
			logger.Info(fmt.Sprintf("Executing %s with OS_CONFIG_FILES=%s", s.command, strings.Join(r.Paths, ":")))
			return shell(cmdCtx, r)
		},
		OneTime:     s.oneTime,
		Force:       s.force,
		MinInterval: seconds(s.minPolling),
		MaxInterval: seconds(s.polling),
		Splay:       seconds(s.splay),
		Logger:      logger,
	})
	return exitStatus(ctx, err, logger)
}

// exitStatus maps Poll's result to the original's exit status: the
// command's status (256-N for a signal N, as sys.exit(-N) gives).
func exitStatus(ctx context.Context, err error, logger *slog.Logger) int {
	var ce *refresh.CommandError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		if ce.ExitCode < 0 {
			return (256 + ce.ExitCode) & 0xff
		}
		return ce.ExitCode & 0xff
	case ctx.Err() != nil, errors.Is(err, refresh.ErrStopped):
		return 0
	default:
		logger.Error(err.Error())
		return 1
	}
}

func seconds(f float64) time.Duration {
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// buildCollectors makes the named collectors, in order.
func buildCollectors(s *settings, logger *slog.Logger) []refresh.Collector {
	var out []refresh.Collector
	seen := map[string]bool{}
	for _, name := range s.collectors {
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "heat_local":
			out = append(out, refresh.NewHeatLocal(s.heatLocalPaths, &refresh.HeatLocalOptions{Logger: logger}))
		case "ec2":
			out = append(out, refresh.NewEC2(strings.TrimRight(s.ec2URL, "/"), &refresh.EC2Options{
				Timeout: seconds(s.ec2Timeout),
				Cache:   refresh.NewCache(s.cachedir, &refresh.CacheOptions{Logger: logger}),
				Logger:  logger,
			}))
		case "request":
			out = append(out, refresh.NewRequest(s.requestURL, &refresh.RequestOptions{
				Timeout: seconds(s.requestTimeout), DeploymentKeys: s.deploymentKeys, Logger: logger,
			}))
		case "local":
			out = append(out, refresh.NewLocal(s.localPaths, &refresh.LocalOptions{Logger: logger}))
		case "watch":
			out = append(out, refresh.NewWatch(s.watchURL, &refresh.WatchOptions{
				Client: &http.Client{}, Wait: seconds(s.watchWait), DeploymentKeys: s.deploymentKeys, Logger: logger,
			}))
		default: // cfn, heat, zaqar
			if s.positionalGiven || s.configured[name] {
				logger.Warn(fmt.Sprintf("Source [%s] is not supported by this os-collect-config; skipped.", name))
			}
		}
	}
	return out
}

func pyList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
