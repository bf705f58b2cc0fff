// Command os-apply-config is a drop-in replacement for Debian's
// os-apply-config 12.0.0 (package python3-os-apply-config): it renders a
// node's metadata, delivered as JSON by the cloud, into configuration files
// through a tree of mustache templates. It is a thin main over package
// github.com/tripleo-go/tripleo/config, and needs no Python in the image.
//
// # Usage
//
//	os-apply-config [-h] [-t TEMPLATE_ROOT] [-o OUT_DIR]
//	                [-m [METADATA_FILE ...]]
//	                [--fallback-metadata [FALLBACK_METADATA ...]] [-v]
//	                [--print-templates] [-s SUBHASH] [--key KEY]
//	                [--type TYPE] [--key-default KEY_DEFAULT]
//	                [--boolean-key BOOLEAN_KEY] [--version]
//	                [--os-config-files OS_CONFIG_FILES]
//
// The options, their defaults, the help and usage texts, stdout, the log
// lines on stderr and the exit statuses are the original's:
//
//   - -t/--templates: the templates root; default $OS_CONFIG_APPLIER_TEMPLATES,
//     else a legacy /opt/stack/os-apply-config/templates (or
//     /opt/stack/os-config-applier/templates) when it exists and
//     /usr/libexec/os-apply-config/templates does not (with a deprecation
//     warning), else /usr/libexec/os-apply-config/templates. A root that
//     does not exist renders nothing and succeeds.
//   - -o/--output: the root the output paths are joined under (default /).
//   - -m/--metadata FILE...: the metadata files, merged in order; they
//     override $OS_CONFIG_FILES (a ":"-separated list), which overrides the
//     JSON list in --os-config-files (default $OS_CONFIG_FILES_PATH or
//     /var/lib/os-collect-config/os_config_files.json).
//   - --fallback-metadata FILE...: always read first, at the lowest
//     precedence (default: heat-cfntools' and cloud-init's legacy files);
//     give the flag with no file to turn them off.
//   - -v/--validate: render everything (executable templates included) and
//     write nothing.
//   - --print-templates: print the templates root and exit.
//   - -s/--subhash KEY: render against metadata[KEY] (dotted path).
//   - --key KEY [--type T] [--key-default V]: print one value and exit;
//     types int, default, netaddress, netdevice, dsn, swiftdevices,
//     username, raw.
//   - --boolean-key KEY: exit 0 if the value is JSON true, 1 if false, 255
//     otherwise.
//   - --version: print 12.0.0.
//
// Options take the forms argparse accepts: "--opt value", "--opt=value",
// "-oVALUE", "-o=VALUE", clusters of short flags ("-vt DIR") and unambiguous
// abbreviations of long options ("--temp"). A usage error prints argparse's
// usage and message on stderr and exits 2.
//
// Log lines go to stderr as "[2006/01/02 03:04:05 PM] [LEVEL] message" and,
// when run as root, are also appended to /var/log/os-apply-config.log, as
// the original does. stdout carries only --key values, --print-templates,
// --version and --help.
//
// Exit statuses: 0 on success; 1 on any error (bad metadata, bad template,
// bad .oac file, failing executable template, missing --key, failed
// --type); 2 on a usage error; for --boolean-key 0, 1 or 255.
//
// # Deliberate choices
//
// Where the original behaves by accident, this command decides as follows
// (the rendering and writing choices are package config's; see its
// documentation):
//
//   - A repeated -m replaces the earlier one, as in the original (argparse
//     "store"), although its help says "specify multiple times": "-m a -m b"
//     reads only b. We keep it so that existing scripts render the same
//     files, and log a warning saying so. Give several files to one -m
//     instead: "-m a b".
//   - Where the original dies with a Python traceback (an os_config_files
//     list that is not a JSON list, metadata that is not UTF-8, an unknown
//     --type, an executable template without a shebang or with non-UTF-8
//     output, an .oac key such as "body"), we log one [ERROR] line naming
//     the file and exit 1, the same status.
//   - The original's --key treats an empty key (--key "") as absent and
//     goes on to render the templates; so do we.
//   - When a legacy /opt/stack templates root is in use, the original logs
//     its deprecation warning through Python's root logger before setting up
//     its own, and from then on prints every log line twice (the second copy
//     as "LEVEL:os-apply-config:message"). We print that warning in the same
//     root-logger format, once, and do not duplicate the other lines.
//
// What package config does differently from the original, as an operator
// sees it from this command:
//
//   - A template with an unclosed section ("{{#s}}" without "{{/s}}") is an
//     error naming the template and line; pystache silently dropped the
//     text before it.
//   - No file is ever written outside -o: a symlink in the output tree
//     pointing out of it is refused with an error, before anything is
//     written.
//   - Nothing is written unless everything can be: a target that is a
//     directory is found before the first write (the original crashed
//     midway, leaving temporary files behind).
//   - Writes are made durable (syncfs of the output filesystem before the
//     renames and after), and a file whose content, mode and owner are
//     already right is left alone (no "writing" line for it); the original
//     rewrote every file on every run.
//   - A directory of the output tree that does not exist yet appears whole
//     (built under a temporary name and renamed into place), never half
//     filled, even after a crash.
//   - Executable templates are killed after config.DefaultExecTimeout (one
//     minute) and the run fails; the original waited forever.
//   - SIGINT or SIGTERM cancels the run: a running executable template is
//     killed, nothing is written, and the command exits 1 (once the final
//     renames have begun they complete, and the run succeeds). The
//     original died on the spot, possibly midway through writing, and left
//     the template's process running.
//
// The differential tests in this directory run every case under
// testdata/diff through both the real /usr/bin/os-apply-config and this
// command and compare exit status, stdout and the whole output tree; the
// few cases where we differ on purpose say so.
//
// # A static binary
//
// The command links no C library, even where cgo is on (TestStaticBinary
// checks it): an image can ship it with no libc to match, and it starts
// without ld.so. Owners and groups named in .oac files are looked up in
// /etc/passwd and /etc/group, then through getent(1) for the names those
// lack (LDAP, SSSD and other NSS sources).
//
// # Installing under the name os-config-applier
//
// The original also installs its legacy name, /usr/bin/os-config-applier,
// with the same entry point. This command behaves the same under both
// names (only the program name in usage messages follows argv[0], as in
// argparse). In an image, install it once and link the alias:
//
//	go build -o /usr/bin/os-apply-config ./cmd/os-apply-config
//	ln -sf os-apply-config /usr/bin/os-config-applier
//
// or, where symlinks are unwelcome, install a second copy:
//
//	install -m 0755 /usr/bin/os-apply-config /usr/bin/os-config-applier
package main
