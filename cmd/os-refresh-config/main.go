package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tripleo-go/tripleo/refresh"
)

const prog = "os-refresh-config"

const usage = `usage: os-refresh-config [-h] [--print-base] [--print-phases]
                         [--log-level {ERROR,WARN,CRITICAL,INFO,DEBUG}]
                         [--lockfile LOCKFILE] [--timeout TIMEOUT]
`

const help = usage + `
Runs through all of the phases to ensure configuration is applied and enabled
on a machine. Will exit with an error if any phase has a problem. Scripts
should not depend on eachother having worked properly. Set
OS_REFRESH_CONFIG_BASE_DIR environment variable to override the default

options:
  -h, --help            show this help message and exit
  --print-base          Print base dir and exit
  --print-phases        Print phases (tab separated) and exit
  --log-level {ERROR,WARN,CRITICAL,INFO,DEBUG}
  --lockfile LOCKFILE   Lock file to prevent multiple running copies.
  --timeout TIMEOUT     Seconds until the current run will be terminated.
`

type options struct {
	printBase, printPhases bool
	logLevel               string
	lockfile               string
	timeout                int
}

var longOpts = []string{"--help", "--print-base", "--print-phases", "--log-level", "--lockfile", "--timeout"}

var levels = map[string]slog.Level{
	"DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo, "WARN": slog.LevelWarn,
	"ERROR": slog.LevelError, "CRITICAL": slog.LevelError + 4,
}

// usageError is an argparse-style error: usage and message on stderr, exit 2.
type usageError string

func (e usageError) Error() string { return string(e) }

func parse(args []string, stdout io.Writer) (*options, bool, error) {
	o := &options{logLevel: "INFO", lockfile: "/var/run/os-refresh-config.lock"}
	var extra []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			extra = append(extra, args[i+1:]...)
			break
		}
		if a == "-h" {
			fmt.Fprint(stdout, help)
			return nil, true, nil
		}
		if !strings.HasPrefix(a, "--") {
			extra = append(extra, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		var matches []string
		for _, l := range longOpts {
			if l == name {
				matches = []string{l}
				break
			}
			if strings.HasPrefix(l, name) {
				matches = append(matches, l)
			}
		}
		switch {
		case len(matches) == 0:
			extra = append(extra, a)
			continue
		case len(matches) > 1:
			return nil, false, usageError(fmt.Sprintf("ambiguous option: %s could match %s", name, strings.Join(matches, ", ")))
		}
		opt := matches[0]
		takesValue := opt == "--log-level" || opt == "--lockfile" || opt == "--timeout"
		if !takesValue {
			if hasVal {
				return nil, false, usageError(fmt.Sprintf("argument %s: ignored explicit argument %s", opt, pyRepr(val)))
			}
			switch opt {
			case "--help":
				fmt.Fprint(stdout, help)
				return nil, true, nil
			case "--print-base":
				o.printBase = true
			case "--print-phases":
				o.printPhases = true
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(args) || (strings.HasPrefix(args[i+1], "-") && args[i+1] != "-" && !isNegNumber(args[i+1])) {
				return nil, false, usageError(fmt.Sprintf("argument %s: expected one argument", opt))
			}
			i++
			val = args[i]
		}
		switch opt {
		case "--log-level":
			if _, ok := levels[val]; !ok {
				return nil, false, usageError(fmt.Sprintf("argument --log-level: invalid choice: %s (choose from 'ERROR', 'WARN', 'CRITICAL', 'INFO', 'DEBUG')", pyRepr(val)))
			}
			o.logLevel = val
		case "--lockfile":
			o.lockfile = val
		case "--timeout":
			n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(val), "_", ""))
			if err != nil {
				return nil, false, usageError(fmt.Sprintf("argument --timeout: invalid int value: %s", pyRepr(val)))
			}
			o.timeout = n
		}
	}
	if len(extra) > 0 {
		return nil, false, usageError("unrecognized arguments: " + strings.Join(extra, " "))
	}
	return o, false, nil
}

func isNegNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && strings.HasPrefix(s, "-")
}

func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdin io.Reader, stdout, stderr io.Writer) int {
	o, done, err := parse(args, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "%s%s: error: %v\n", usage, prog, err)
		return 2
	}
	if done {
		return 0
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
