package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// settings are os-collect-config's options (oslo.config: config files,
// then the command line).
type settings struct {
	command         string
	cachedir        string
	backupCachedir  string
	collectors      []string
	oneTime         bool
	force           bool
	printOnly       bool
	printCachedir   bool
	minPolling      float64
	polling         float64
	splay           float64
	deploymentKeys  []string
	debug           bool
	logFile         string
	localPaths      []string
	heatLocalPaths  []string
	requestURL      string
	requestTimeout  float64
	ec2URL          string
	ec2Timeout      float64
	watchURL        string
	watchWait       float64
	configured      map[string]bool // collectors given settings we do not implement (heat, cfn, zaqar)
	version, help   bool
	agent           agentSettings
	positionalGiven bool
}

func defaults() *settings {
	return &settings{
		cachedir:       "/var/lib/os-collect-config",
		backupCachedir: "/var/run/os-collect-config",
		collectors:     slices.Clone(defaultCollectors),
		minPolling:     1,
		polling:        30,
		deploymentKeys: []string{"deployments"},
		localPaths:     []string{"/var/lib/os-collect-config/local-data"},
		heatLocalPaths: []string{"/var/lib/heat-cfntools/cfn-init-data"},
		requestTimeout: 10,
		ec2URL:         "http://169.254.169.254/latest/meta-data",
		ec2Timeout:     10,
		watchWait:      60,
		configured:     map[string]bool{},
	}
}

// defaultCollectors is the original's default list, in its order.
var defaultCollectors = []string{"heat_local", "ec2", "cfn", "heat", "request", "local", "zaqar"}

// usageError is an argparse-style error (exit 2).
type usageError string

func (e usageError) Error() string { return string(e) }

// option is one command-line or config-file option.
type option struct {
	cli     string // "--command"
	short   string
	group   string // config-file section ("" = DEFAULT)
	key     string // config-file key
	boolean bool
	multi   bool
	set     func(s *settings, v string, first bool) error
}

func floatSetter(dst func(*settings) *float64, name string) func(*settings, string, bool) error {
	return func(s *settings, v string, _ bool) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return usageError(fmt.Sprintf("argument %s: Invalid float value: %s", name, v))
		}
		*dst(s) = f
		return nil
	}
}

func multi(dst func(*settings) *[]string) func(*settings, string, bool) error {
	return func(s *settings, v string, first bool) error {
		if first {
			*dst(s) = nil
		}
		*dst(s) = append(*dst(s), v)
		return nil
	}
}

func str(dst func(*settings) *string) func(*settings, string, bool) error {
	return func(s *settings, v string, _ bool) error { *dst(s) = v; return nil }
}

func boolean(dst func(*settings) *bool) func(*settings, string, bool) error {
	return func(s *settings, v string, _ bool) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1", "yes", "on":
			*dst(s) = true
		case "false", "0", "no", "off":
			*dst(s) = false
		default:
			return fmt.Errorf("invalid boolean %q", v)
		}
		return nil
	}
}

var options = []option{
	{cli: "--command", short: "-c", key: "command", set: str(func(s *settings) *string { return &s.command })},
	{cli: "--cachedir", key: "cachedir", set: str(func(s *settings) *string { return &s.cachedir })},
	{cli: "--backup-cachedir", key: "backup_cachedir", set: str(func(s *settings) *string { return &s.backupCachedir })},
	{cli: "--one-time", key: "one_time", boolean: true, set: boolean(func(s *settings) *bool { return &s.oneTime })},
	{cli: "--force", key: "force", boolean: true, set: boolean(func(s *settings) *bool { return &s.force })},
	{cli: "--print", key: "print", boolean: true, set: boolean(func(s *settings) *bool { return &s.printOnly })},
	{cli: "--print-cachedir", key: "print_cachedir", boolean: true, set: boolean(func(s *settings) *bool { return &s.printCachedir })},
	{cli: "--debug", short: "-d", key: "debug", boolean: true, set: boolean(func(s *settings) *bool { return &s.debug })},
	{cli: "--min-polling-interval", key: "min_polling_interval", set: floatSetter(func(s *settings) *float64 { return &s.minPolling }, "--min-polling-interval")},
	{cli: "--polling-interval", short: "-i", key: "polling_interval", set: floatSetter(func(s *settings) *float64 { return &s.polling }, "--polling-interval")},
	{cli: "--splay", key: "splay", set: floatSetter(func(s *settings) *float64 { return &s.splay }, "--splay")},
	{cli: "--deployment-key", key: "deployment_key", multi: true, set: multi(func(s *settings) *[]string { return &s.deploymentKeys })},
	{key: "collectors", multi: true, set: multi(func(s *settings) *[]string { return &s.collectors })},
	{cli: "--log-file", key: "log_file", set: str(func(s *settings) *string { return &s.logFile })},
	{cli: "--local-path", group: "local", key: "path", multi: true, set: multi(func(s *settings) *[]string { return &s.localPaths })},
	{cli: "--heat_local-path", group: "heat_local", key: "path", multi: true, set: multi(func(s *settings) *[]string { return &s.heatLocalPaths })},
	{cli: "--request-metadata-url", group: "request", key: "metadata_url", set: str(func(s *settings) *string { return &s.requestURL })},
	{cli: "--request-timeout", group: "request", key: "timeout", set: floatSetter(func(s *settings) *float64 { return &s.requestTimeout }, "--request-timeout")},
	{cli: "--ec2-metadata-url", group: "ec2", key: "metadata_url", set: str(func(s *settings) *string { return &s.ec2URL })},
	{cli: "--ec2-timeout", group: "ec2", key: "timeout", set: floatSetter(func(s *settings) *float64 { return &s.ec2Timeout }, "--ec2-timeout")},
	// Ours: the long-poll collector for our orchestrator's MetadataServer.
	{cli: "--watch-metadata-url", group: "watch", key: "metadata_url", set: str(func(s *settings) *string { return &s.watchURL })},
	{cli: "--watch-wait", group: "watch", key: "wait", set: floatSetter(func(s *settings) *float64 { return &s.watchWait }, "--watch-wait")},
}

// ignoredValueOpts are the original's logging options: accepted, and
// ignored (logs go to stderr or --log-file).
var ignoredValueOpts = []string{"--log-config-append", "--log-config", "--log_config", "--log-date-format", "--log-dir", "--logdir", "--syslog-log-facility", "--logfile", "--config-dir"}

var ignoredBoolOpts = []string{"--use-journal", "--use-json", "--use-syslog", "--watch-log-file"}

// unsupportedPrefixes are the options of collectors not built in; giving
// one makes that collector "configured", which is then reported.
var unsupportedPrefixes = map[string]string{"--heat-": "heat", "--cfn-": "cfn", "--zaqar-": "zaqar", "--keystone-": ""}

func init() {
	options = append(options, agentOptions...)
}

// parseArgs applies config files, then the command line, to defaults.
func parseArgs(args []string) (*settings, error) {
	s := defaults()
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--config-file" && i+1 < len(args) {
			files = append(files, args[i+1])
			i++
		} else if v, ok := strings.CutPrefix(a, "--config-file="); ok {
			files = append(files, v)
		}
	}
	if files == nil {
		for _, f := range []string{"/etc/os-collect-config/os-collect-config.conf", "/etc/os-collect-config.conf"} {
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			}
		}
	}
	for _, f := range files {
		if err := s.loadFile(f); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	apply := func(o *option, v string) error {
		first := !seen[o.cli]
		seen[o.cli] = true
		return o.set(s, v, first)
	}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if a == "-h" || a == "--help" {
			s.help = true
			continue
		}
		if a == "--version" {
			s.version = true
			continue
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, val, hasVal := strings.Cut(a, "=")
		if name == "--config-file" {
			if !hasVal {
				i++
			}
			continue
		}
		if slices.Contains(ignoredValueOpts, name) {
			if !hasVal {
				i++
			}
			continue
		}
		if slices.Contains(ignoredBoolOpts, name) || slices.Contains(ignoredBoolOpts, strings.Replace(name, "--no", "--", 1)) {
			continue
		}
		var opt *option
		negated := false
		for j := range options {
			o := &options[j]
			if o.cli == "" {
				continue
			}
			if name == o.cli || (o.short != "" && name == o.short) {
				opt = o
				break
			}
			if o.boolean && name == "--no"+o.cli[2:] {
				opt, negated = o, true
				break
			}
		}
		if opt == nil {
			handled := false
			for p, coll := range unsupportedPrefixes {
				if strings.HasPrefix(name, p) {
					if coll != "" {
						s.configured[coll] = true
					}
					if !hasVal && i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
						i++
					}
					handled = true
				}
			}
			if !handled {
				return nil, usageError("unrecognized arguments: " + a)
			}
			continue
		}
		if opt.boolean {
			if hasVal {
				return nil, usageError(fmt.Sprintf("argument %s: ignored explicit argument '%s'", name, val))
			}
			v := "true"
			if negated {
				v = "false"
			}
			if err := apply(opt, v); err != nil {
				return nil, err
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(args) || (strings.HasPrefix(args[i+1], "-") && len(args[i+1]) > 1 && !isNumber(args[i+1])) {
				return nil, usageError(fmt.Sprintf("argument %s: expected one argument", name))
			}
			i++
			val = args[i]
		}
		if err := apply(opt, val); err != nil {
			return nil, err
		}
	}
	if len(positional) > 0 {
		s.collectors = positional
		s.positionalGiven = true
	}
	return s, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// loadFile reads an oslo.config INI file: [section] headers, "key = value"
// lines (repeated keys of multi-valued options accumulate), "#" and ";"
// comments.
func (s *settings) loadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", filepath.Clean(path), err)
	}
	defer f.Close()
	section := "DEFAULT"
	seen := map[*option]bool{}
	sc := bufio.NewScanner(f)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if !ok {
			return fmt.Errorf("%s:%d: no '=' in %q", path, lineNo, line)
		}
		k = strings.ReplaceAll(strings.TrimSpace(k), "-", "_")
		v = strings.TrimSpace(v)
		group := section
		if group == "DEFAULT" {
			group = ""
		}
		if c, ok := map[string]string{"heat": "heat", "cfn": "cfn", "zaqar": "zaqar"}[group]; ok {
			s.configured[c] = true
			continue
		}
		for j := range options {
			o := &options[j]
			if o.group == group && o.key == k {
				if err := o.set(s, v, !seen[o]); err != nil {
					return fmt.Errorf("%s:%d: %s: %w", path, lineNo, k, err)
				}
				seen[o] = true
			}
		}
	}
	return sc.Err()
}
