package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/internal/argparse"
)

const (
	version = "12.0.0"

	defaultTemplatesDir   = "/usr/libexec/os-apply-config/templates"
	legacyTemplatesDir    = "/opt/stack/os-apply-config/templates"
	legacyTemplatesDirOld = "/opt/stack/os-config-applier/templates"
)

// opts is the parsed command line.
type opts struct {
	templates        string
	output           string
	metadata         []string
	metadataRepeated bool // -m was given more than once (only the last counts)
	fallback         []string
	validate         bool
	printTemplates   bool
	subhash          string
	subhashSet       bool
	key              string
	keySet           bool
	typ              string
	keyDefault       string
	keyDefaultSet    bool
	booleanKey       string
	booleanKeySet    bool
	osConfigFiles    string
	// osConfigFilesDefault: --os-config-files was not given (the path is
	// $OS_CONFIG_FILES_PATH or the built-in default).
	osConfigFilesDefault bool
}

// templatesDir is the default templates root, computed as the original
// does: $OS_CONFIG_APPLIER_TEMPLATES, else a legacy /opt/stack directory if
// it exists and the standard one does not (with a deprecation warning),
// else the standard /usr/libexec directory.
func templatesDir(getenv func(string) (string, bool), isDir func(string) bool) (dir, warning string) {
	if d, ok := getenv("OS_CONFIG_APPLIER_TEMPLATES"); ok {
		return d, ""
	}
	d := legacyTemplatesDir
	if !isDir(d) {
		d = legacyTemplatesDirOld
	}
	if isDir(d) && !isDir(defaultTemplatesDir) {
		return d, "Template directory " + d + " is deprecated.  The recommended location for template files is " + defaultTemplatesDir
	}
	return defaultTemplatesDir, ""
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// pyListRepr renders a list of strings as Python's repr() does.
func pyListRepr(l []string) string {
	parts := make([]string, len(l))
	for i, s := range l {
		parts[i] = argparse.PyRepr(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// newParser declares os-apply-config 12.0.0's options, texts included.
func newParser(prog, templatesDefault string) *argparse.Parser {
	return &argparse.Parser{
		Prog: prog,
		Description: "Reads and merges JSON configuration files specified by colon separated " +
			"environment variable OS_CONFIG_FILES, unless overridden by command line option " +
			"--metadata. If no files are specified this way, falls back to legacy behavior of " +
			"searching the fallback metadata path for a single config file.",
		Version: version,
		Options: []*argparse.Option{
			{Short: "-t", Long: "--templates", Metavar: "TEMPLATE_ROOT",
				Help: "path to template root directory (default: " + templatesDefault + ")"},
			{Short: "-o", Long: "--output", Metavar: "OUT_DIR",
				Help: "root directory for output (default:/)"},
			{Short: "-m", Long: "--metadata", Metavar: "METADATA_FILE", Nargs: argparse.ZeroOrMore,
				Help: `Overrides environment variable OS_CONFIG_FILES. Specify multiple times, rather than separate files with ":".`},
			{Long: "--fallback-metadata", Metavar: "FALLBACK_METADATA", Nargs: argparse.ZeroOrMore,
				Help: "Files to search when OS_CONFIG_FILES is empty. (default: " + pyListRepr(config.DefaultFallbackMetadata) + ")"},
			{Short: "-v", Long: "--validate", Action: argparse.StoreTrue,
				Help: "validate only. do not write files"},
			{Long: "--print-templates", Action: argparse.StoreTrue,
				Help: "Print templates root and exit."},
			{Short: "-s", Long: "--subhash",
				Help: "use the sub-hash named by this key, instead of the full metadata hash"},
			{Long: "--key", Metavar: "KEY",
				Help: "print the specified key and exit. (may be used with --type and --key-default)"},
			{Long: "--type",
				Help: "exit with error if the specified --key does not match type. Valid types are <int|default|netaddress|netdevice|dsn|swiftdevices|raw>"},
			{Long: "--key-default",
				Help: "This option only affects running with --key. Print this if key is not found. " +
					"This value is not subject to type restrictions. If --key is specified and no " +
					"default is specified, program exits with an error on missing key."},
			{Long: "--boolean-key",
				Help: "This option is incompatible with --key. Use this to evaluate whether a value " +
					"is boolean true or false. The return code of the command will be 0 for true, 1 " +
					"for false, and -1 for non-boolean values."},
			{Long: "--version", Action: argparse.Version},
			{Long: "--os-config-files",
				Help: "Set path to os_config_files.json"},
		},
	}
}

// parseArgs parses argv (argv[0] included) into opts. getenv is
// os.LookupEnv in main.
func parseArgs(argv []string, templatesDefault string, getenv func(string) (string, bool)) (*opts, error) {
	prog := "os-apply-config"
	if len(argv) > 0 {
		prog = filepath.Base(argv[0])
	}
	p := newParser(prog, templatesDefault)
	v, err := p.Parse(argv[1:])
	if err != nil {
		return nil, err
	}
	o := &opts{
		templates:            templatesDefault,
		output:               "/",
		fallback:             config.DefaultFallbackMetadata,
		validate:             v["validate"].True,
		printTemplates:       v["print_templates"].True,
		subhash:              v["subhash"].Str,
		subhashSet:           v["subhash"].Set,
		typ:                  "default",
		booleanKey:           v["boolean_key"].Str,
		booleanKeySet:        v["boolean_key"].Set,
		osConfigFiles:        config.DefaultOSConfigFilesPath,
		osConfigFilesDefault: true,
	}
	if e, ok := getenv("OS_CONFIG_FILES_PATH"); ok {
		o.osConfigFiles = e
	}
	if x := v["templates"]; x.Set {
		o.templates = x.Str
	}
	if x := v["output"]; x.Set {
		o.output = x.Str
	}
	if x := v["metadata"]; x.Set {
		o.metadata = x.List
		o.metadataRepeated = x.Count > 1
	}
	if x := v["fallback_metadata"]; x.Set {
		o.fallback = x.List
	}
	if x := v["key"]; x.Set {
		o.key, o.keySet = x.Str, true
	}
	if x := v["type"]; x.Set {
		o.typ = x.Str
	}
	if x := v["key_default"]; x.Set {
		o.keyDefault, o.keyDefaultSet = x.Str, true
	}
	if x := v["os_config_files"]; x.Set {
		// The original compares values: naming the default path
		// explicitly still counts as the default.
		o.osConfigFilesDefault = x.Str == o.osConfigFiles
		o.osConfigFiles = x.Str
	}
	return o, nil
}
