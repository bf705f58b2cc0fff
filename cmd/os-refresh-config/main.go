package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/internal/argparse"
	"github.com/tripleo-go/tripleo/refresh"
)

const prog = "os-refresh-config"

// parser is the original's argparse.ArgumentParser.
func parser() *argparse.Parser {
	return &argparse.Parser{
		Prog: prog,
		Description: "Runs through all of the phases to ensure configuration is applied and enabled " +
			"on a machine. Will exit with an error if any phase has a problem. Scripts " +
			"should not depend on eachother having worked properly. Set " +
			"OS_REFRESH_CONFIG_BASE_DIR environment variable to override the default",
		Options: []*argparse.Option{
			{Long: "--print-base", Action: argparse.StoreTrue, Help: "Print base dir and exit"},
			{Long: "--print-phases", Action: argparse.StoreTrue, Help: "Print phases (tab separated) and exit"},
			{Long: "--log-level", Choices: []string{"ERROR", "WARN", "CRITICAL", "INFO", "DEBUG"}},
			{Long: "--lockfile", Help: "Lock file to prevent multiple running copies."},
			{Long: "--timeout", Int: true, Help: "Seconds until the current run will be terminated."},
		},
	}
}

type options struct {
	printBase, printPhases bool
	logLevel               string
	lockfile               string
	timeout                int
}

var levels = map[string]slog.Level{
	"DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo, "WARN": slog.LevelWarn,
	"ERROR": slog.LevelError, "CRITICAL": slog.LevelError + 4,
}

// parse parses the command line; an *argparse.Exit error says what to
// print and the status to exit with (help, or a usage error).
func parse(args []string) (*options, error) {
	v, err := parser().Parse(args)
	if err != nil {
		return nil, err
	}
	o := &options{logLevel: "INFO", lockfile: "/var/run/os-refresh-config.lock",
		printBase: v["print_base"].True, printPhases: v["print_phases"].True}
	if l := v["log_level"]; l.Set {
		o.logLevel = l.Str
	}
	if l := v["lockfile"]; l.Set {
		o.lockfile = l.Str
	}
	if t := v["timeout"]; t.Set {
		o.timeout = int(t.Int)
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parse(args)
	if err != nil {
		var ex *argparse.Exit
		if !errors.As(err, &ex) {
			fmt.Fprintf(stderr, "%s: error: %v\n", prog, err)
			return 2
		}
		io.WriteString(stdout, ex.Stdout)
		io.WriteString(stderr, ex.Stderr)
		return ex.Code
	}
	base, deprecated := refresh.BaseDir(lookupEnv)
	logger := slog.New(newHandler(stderr, levels[o.logLevel]))
	if deprecated {
		logger.Warn(fmt.Sprintf("Base directory %s is deprecated. The recommended base directory is %s", refresh.LegacyBaseDir, refresh.DefaultBaseDir))
	}
	if o.printBase {
		fmt.Fprintln(stdout, base)
		return 0
	}
	if o.printPhases {
		fmt.Fprintln(stdout, strings.Join(refresh.Phases, "\t"))
		return 0
	}
	if o.timeout < 0 {
		o.timeout = 0 // signal.alarm(-1) in the original sets no usable alarm
	}
	r := refresh.NewPhaseRunner(base, &refresh.PhaseOptions{
		Logger:      logger,
		OutputLevel: slog.LevelDebug, // the raw output already goes to stdout/stderr
		LockFile:    o.lockfile,
		Timeout:     time.Duration(o.timeout) * time.Second,
		Stdin:       stdin,
		Stdout:      stdout,
		Stderr:      stderr,
	})
	_, err = r.Run(ctx)
	var pe *refresh.PhaseError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, refresh.ErrLocked):
		logger.Error(fmt.Sprintf("Could not lock %s. [Errno 11] Resource temporarily unavailable", o.lockfile))
		return 11
	case errors.As(err, &pe):
		if errors.Is(err, refresh.ErrTimeout) {
			logger.Error(fmt.Sprintf("Timeout reached: %ds. Sending SIGKILL to all children", o.timeout))
		}
		return 1
	default:
		logger.Error(err.Error())
		return 1
	}
}
