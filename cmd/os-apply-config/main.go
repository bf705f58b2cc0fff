package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/internal/argparse"
)

// logFile is where the original also appends its log when run as root.
const logFile = "/var/log/os-apply-config.log"

func main() {
	// A short-lived run holds little memory (the metadata and the rendered
	// files): collect garbage four times less often than the default,
	// which saves about 15% of a large render. $GOGC still wins.
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(400)
	}
	ctx, ready := catchSignals()
	os.Exit(run(ctx, ready, os.Args, os.Stdout, os.Stderr, os.LookupEnv))
}

// catchSignals makes SIGINT and SIGTERM cancel the returned context. The
// first use of os/signal starts a runtime thread and waits for it (about
// 0.3 ms, a fiftieth of a small run), so it is set up in the background,
// beside the parsing of the arguments and the metadata: ready is closed
// once the signals are caught, and run waits for it before it writes.
// Until then a signal ends the process, which has written nothing.
func catchSignals() (context.Context, <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		close(ready)
		<-sigs
		cancel()
	}()
	return ctx, ready
}

// run is the whole command: it returns the exit status. It waits for
// ready (nil: nothing to wait for) before applying templates.
func run(ctx context.Context, ready <-chan struct{}, argv []string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	logOut := stderr
	if os.Geteuid() == 0 {
		if f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			defer f.Close()
			logOut = io.MultiWriter(stderr, f)
		}
	}
	// Lines are buffered (one write per line costs more than rendering a
	// small template) and flushed when run returns, before the log file
	// is closed.
	logBuf := bufio.NewWriterSize(logOut, 64<<10)
	defer logBuf.Flush()
	logger := slog.New(newLogHandler(logBuf))

	tdir, warning := templatesDir(getenv, isDir)
	if warning != "" {
		// The original computes this at import time, before its own
		// logger exists, through Python's root logger: stderr only, in
		// logging's default format.
		fmt.Fprintf(stderr, "WARNING:root:%s\n", warning)
	}
	o, err := parseArgs(argv, tdir, getenv)
	if err != nil {
		var ex *argparse.Exit
		if errors.As(err, &ex) {
			io.WriteString(stdout, ex.Stdout)
			io.WriteString(stderr, ex.Stderr)
			return ex.Code
		}
		logger.Error(err.Error())
		return 1
	}
	if o.printTemplates {
		fmt.Fprintln(stdout, o.templates)
		return 0
	}
	if o.metadataRepeated {
		// Deliberately kept quirk (see doc.go): argparse's "store" keeps
		// only the last -m; we read the same files but say so.
		logger.Warn("-m/--metadata given more than once: only the files of the last one are read")
	}

	paths, listed, err := metadataPaths(o, getenv, logger)
	if err != nil {
		logger.Error(err.Error())
		return 1
	}

	if o.key != "" && o.booleanKey != "" {
		logger.Warn("--key is not compatible with --boolean-key. --boolean-key ignored.")
	}

	md, err := config.LoadMetadata(paths)
	if err != nil {
		logger.Error(err.Error())
		return 1
	}
	switch {
	case o.key != "":
		return printKey(md, o, listed, stdout, logger)
	case o.booleanKey != "":
		return config.BooleanKey(md, o.booleanKey)
	}

	data, err := config.Subhash(md, o.subhash)
	if err != nil {
		logger.Error(err.Error())
		return 1
	}
	if ready != nil {
		<-ready
	}
	if err := apply(ctx, data, o, logger); err != nil {
		logger.Error(err.Error())
		return 1
	}
	logger.Info("success")
	return 0
}

// metadataPaths resolves the metadata files to read, in merge order, as
// the original does: the fallback files first, then -m, else
// $OS_CONFIG_FILES, else the list in --os-config-files (or the legacy
// /var/run one). listed is the part after the fallbacks, as the original
// names it in errors.
func metadataPaths(o *opts, getenv func(string) (string, bool), logger *slog.Logger) (paths, listed []string, err error) {
	env, envSet := getenv("OS_CONFIG_FILES")
	src := config.Sources{
		Metadata:          o.metadata,
		OSConfigFiles:     env,
		OSConfigFilesSet:  envSet,
		OSConfigFilesPath: o.osConfigFiles,
	}
	var list []string
	if len(o.metadata) > 0 || envSet || o.osConfigFiles != "" {
		// (--os-config-files "" names no file, for the original; for the
		// library "" means the default path.)
		if list, err = src.Paths(logger); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case len(o.metadata) > 0:
		listed = o.metadata
	case envSet:
		listed = strings.Split(env, ":")
	default:
		// The original falls back to the legacy list when the list is
		// empty and --os-config-files is its default, which
		// $OS_CONFIG_FILES_PATH may have moved; the library only knows the
		// built-in default.
		if len(list) == 0 && o.osConfigFilesDefault && o.osConfigFiles != config.DefaultOSConfigFilesPath {
			logger.Warn("DEPRECATED: falling back to " + config.LegacyOSConfigFilesPath)
			src.OSConfigFilesPath = config.LegacyOSConfigFilesPath
			if list, err = src.Paths(logger); err != nil {
				return nil, nil, err
			}
		}
		listed = list
	}
	for _, p := range o.fallback {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return append(paths, list...), listed, nil
}

// printKey is --key: the value (validated by --type) or --key-default on
// stdout.
func printKey(md *config.Object, o *opts, listed []string, stdout io.Writer, logger *slog.Logger) int {
	v, ok := config.LookupKey(md, o.key)
	if !ok {
		if o.keyDefaultSet {
			fmt.Fprintln(stdout, o.keyDefault)
			return 0
		}
		logger.Error(fmt.Sprintf("key %s does not exist in %s", o.key, pyListRepr(listed)))
		return 1
	}
	s, err := config.FormatKey(v, o.typ)
	if err != nil {
		logger.Error(err.Error())
		return 1
	}
	fmt.Fprintln(stdout, s)
	return 0
}
