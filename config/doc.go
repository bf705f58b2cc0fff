// Package config renders configuration files from the metadata the cloud
// delivers to a node, as TripleO's os-apply-config does: same templates,
// same metadata, same files, without Python, faster, and safer.
//
// The flow is: LoadMetadata merges the metadata sources, Subhash picks a
// part of it, and Apply renders a templates tree into an output tree with a
// Renderer (Mustache, os-apply-config's dialect, by default; GoTemplate for
// Go's text/template) and returns the change set. cmd/os-apply-config is a
// drop-in command over this package.
//
// # Metadata
//
// Metadata is JSON read as Python's json.loads reads it (DecodeJSON):
// objects keep their key order (*Object; a duplicate key keeps its first
// position and its last value), integers are exact (Int) up to Python's
// 4,300 digits, NaN, Infinity and -Infinity are accepted and 1E400 is an
// infinity. AppendJSON and MarshalIndent write json.dumps's exact bytes
// (", " and ": " separators, every non-ASCII character as \uXXXX, floats
// in Python's repr: 1.0, 1e+16, 1e-07).
//
// Sources.Paths finds the files as os-apply-config does: -m files when
// given, else $OS_CONFIG_FILES (split on ':', even when empty), else the
// JSON list in os_config_files.json (DefaultOSConfigFilesPath, falling back
// to LegacyOSConfigFilesPath when that list is empty); the fallback files
// always come first. LoadMetadata reads them in order, skipping missing
// files and files whose root is not an object, and deep-merges them
// (Merge): objects merge recursively, anything else replaces (lists are
// never concatenated, null is stored), existing keys keep their position.
// A file that is not valid JSON is a *MetadataError naming it. Subhash is
// --subhash.
//
// # Mustache dialect
//
// Mustache renders exactly what os-apply-config 12.0.0 renders (pystache
// 0.6.0 with its json.dumps coercion); tests compare it with the real
// renderer case by case:
//   - no HTML escaping: {{x}}, {{{x}}} and {{&x}} are the same;
//   - a string value is inserted as it is; any other value as json.dumps
//     writes it (true, 1.0, {"a": [1, 2]}); a top-level null and a missing
//     key render as nothing, never an error;
//   - dotted names: the first part is looked up through the context stack
//     (innermost first), later parts only in objects; no list indexing;
//     {{.}} is the top of the stack;
//   - sections: false, 0, 0.0, "", [], {}, null and missing are false; a
//     list iterates; any other value renders once with itself pushed (so
//     {{#s}}{{.}}{{/s}} prints a string); inverted sections render when
//     false; values are never re-rendered;
//   - comments, delimiter changes ({{=<% %>=}}) and standalone lines (a
//     line holding only a section, inverted, comment, partial or delimiter
//     tag, with leading blanks, disappears with its newline; trailing blanks
//     after the tag make the line not standalone, as in pystache);
//   - partials are read through Mustache.Partials (PartialsDir(".") is
//     pystache's lookup in the working directory, which cmd/os-apply-config
//     uses; the library default has no partials).
//
// One deliberate difference: pystache silently renders only the text after
// an unclosed {{#section}} and loses everything before it; here an unclosed
// section is a *TemplateError naming the template and the line of the tag.
// A mismatched or stray closing tag is an error in both ("Section end tag
// mismatch: b != a").
//
// # Key lookups
//
// LookupKey follows a dotted key as --key does (objects by key, lists by
// integer index, negative from the end; null is not found). FormatKey
// checks the value against a --type (KeyTypes) on Python's str() of the
// value, exactly as the original, and returns the line it prints (JSON for
// objects, lists and booleans). BooleanKey returns --boolean-key's exit
// status (0 true, 1 false, 255 anything else).
//
// # Templates tree
//
// The templates tree mirrors the output tree: the template
// <templates>/etc/nova/nova.conf renders <output>/etc/nova/nova.conf.
// FindTemplates walks it as the original's os.walk does: every entry that
// is not a directory is a template, dotfiles and symlinks to files
// included; symlinks to directories are not descended into; names ending in
// ".oac" are control files, never templates, and a control file without a
// template is ignored. A templates root that does not exist renders nothing
// and is not an error, as in the original.
//
// Deliberate differences: templates are processed and reported in sorted
// order (the original uses the directory order, which is arbitrary); an
// unreadable directory inside the tree is an error (os.walk silently skips
// it, which would apply half a tree); a template that is not a regular file
// after following symlinks (a FIFO, a device) is an error, where the
// original would block or read forever.
//
// Templates are read as text, as the original's Python text mode does: the
// file must be UTF-8 (otherwise a *TemplateError names the file and line)
// and CRLF and lone CR become LF before rendering. The output is written
// exactly as rendered, with no newline added or removed.
//
// # Executable templates
//
// A template that is a regular file (symlinks followed) which access(2)
// says may be executed (as root: any x bit) is run instead of rendered:
// directly, with no shell and no arguments (argv[0] is its path as the
// original passes it), with the metadata as one line of Python's json.dumps
// on stdin and ApplyOptions.Env as its environment (this process's when
// nil). Its stdout is the file's content; the x bit is not carried over to
// the output. A non-zero exit is an *ExecError with the template, the exit
// code and its stdout and stderr. Differences from the original, which
// has no timeout and dies with a Python traceback in the last two cases:
//   - each run is bounded by ApplyOptions.ExecTimeout (DefaultExecTimeout,
//     one minute, when 0); at the timeout, or when the context ends, the
//     template's whole process group is killed and the error wraps
//     context.DeadlineExceeded;
//   - a file without a #! line gives an *ExecError wrapping
//     syscall.ENOEXEC;
//   - output that is not valid UTF-8 is an *ExecError: output files are
//     text, and the original fails there too (with a traceback).
//
// Each runs in a process group of its own, so that the timeout kills what
// it started too. If it exits but leaves a process holding its stdout or
// stderr open, Apply gives up waiting two seconds later with an *ExecError
// (the original waits forever). Executable templates run one at a time, in
// order, and Validate runs them too, as the original does.
//
// # Control files (.oac)
//
// <template>.oac says how to write the template's file. It is YAML read
// with YAML 1.1 rules exactly as PyYAML's safe_load (the original's parser)
// reads it: 0644 is octal, 0x1ff and 0b110100100 are ints, so is the
// sexagesimal 1:30 (90), yes/no/on/off are booleans but y/n are strings,
// and a quoted '0644' or a 0o644 is a string. An empty or falsy document
// means the defaults; any other non-mapping is an error. ParseControl
// reads it into a Control; errors are *ControlError naming the template,
// the control file and the key, worded as the original's:
//
//	mode         an int, strictly, 0 to 0o777 ("mode '0o1130' out of range"
//	             for "mode: 600", which is decimal; "mode '0644' is not
//	             numeric" for a string). Setuid, setgid and sticky bits
//	             are out of range.
//	owner        a user name or uid, looked up in the passwd database when
//	             the file is parsed ("owner 'x' not found in passwd
//	             database"); anything else "must be a string or int".
//	group        the same, in the group database.
//	             (Lookups read /etc/passwd and /etc/group, then ask
//	             getent(1) for what they lack, so that NSS sources
//	             answer as for the original; no cgo, so the command
//	             builds as a static binary.)
//	allow_empty  a boolean, strictly (default true). When false and the
//	             rendered body is empty, the output file is deleted if it
//	             exists ("deleting <path>") and not created otherwise ("not
//	             creating empty <path>").
//
// Any other key is an error ("unrecognised file control key 'k'"). The
// original checks keys against its object's attributes, so "body" crashes
// it and "set" or "_mode" are accepted and bypass the checks; here all
// three are rejected. Duplicate keys: the last wins, as in the original.
// YAML merge keys (<<) work as in PyYAML. The YAML syntax itself is read by
// go.yaml.in/yaml/v3, which accepts a little more than PyYAML: a tab
// after "key:" is fine here and a scanner error (traceback, exit 1) there.
// Some messages about values that are not numbers at all print them a
// little differently (a timestamp as written rather than as Python's
// datetime prints it).
//
// "mode: 0" is accepted and means "unset", as in the original (which tests
// the mode for truth): the file keeps its existing mode, or gets 0644. We
// kept this rather than writing a file of mode 0000, which nobody but root
// could read and which no template author means.
//
// # Writing the output tree
//
// Apply renders every template and parses every control file first (the
// rendered templates in parallel, the executable ones one at a time in
// order; the error reported is the first in order), then
// checks every output path, and only then writes: any error before that
// leaves the output tree exactly as it was (the original also renders
// everything first, but can fail half-way through writing). With
// ApplyOptions.Validate it stops after rendering.
//
// For each file, in sorted order:
//   - the mode, owner and group are those of the existing file (stat
//     follows symlinks, as the original), or 0644 (whatever the umask) and
//     the caller's for a new file; the .oac mode, owner and group override
//     them;
//   - the setuid bit, and the setgid bit when the group may execute, are
//     dropped: the original loses them because it chowns after it chmods,
//     and the kernel drops them itself whenever a process writes such a
//     file; a file whose content metadata controls should not keep them.
//     The sticky bit is kept, as in the original;
//   - a file whose content, mode and owner are already right is left alone
//     and reported in Result.Unchanged (the original rewrites every file on
//     every run, so only the inode and mtime show the difference);
//   - missing parent directories are made with mode 0755 (less the umask,
//     as the original's makedirs under the usual umask 022) and are not
//     chowned. Below the output directory a new directory is built under
//     a temporary name beside it (".oac-tmp-dir-*"), its files written
//     under their own names, and it is renamed into place whole (refusing
//     to replace a directory made meanwhile) once they are durable: a
//     crash leaves no half-filled new directory, and its files need no
//     temporary file and rename each (on the benchmark's 1,000 new files,
//     a fifth of the run). The output directory itself and those above it
//     are made in place: nothing is written outside the output directory;
//   - otherwise the content goes to a temporary file in the same directory,
//     which is chowned, then chmodded (so that no bit is lost); once every
//     temporary file is written (any failure removes them all and the
//     directories made), each filesystem written to is synced (syncfs(2):
//     one journal commit for all the files, where an fsync per file costs
//     one each), the temporary files are renamed over their targets in
//     order, and the filesystems are synced again, so a returned Apply is
//     durable and a crash leaves each target old or new, never partial.
//     ApplyOptions.SyncEachFile fsyncs each file and directory instead
//     (for a filesystem shared with a busy writer, whose data syncfs would
//     wait for). The original does not sync at all; ApplyOptions.NoSync
//     skips syncing for scratch trees (the writes stay atomic). A crash
//     before the renames can leave ".oac-tmp-*" files and
//     ".oac-tmp-dir-*" directories behind (the original leaves
//     "tmpXXXXXXXX" files);
//   - a target that is a symlink (inside the output root) is replaced by a
//     regular file with the mode and owner of the link's target, which is
//     left untouched, as in the original. Deleting (allow_empty: false)
//     removes the link itself. A dangling link counts as no file.
//
// Apply returns the change set (Result.Changes: created, updated or
// deleted files, by absolute path), so that a caller can restart only the
// services whose files changed. Messages go to ApplyOptions.Logger at Info
// level with the original's wording: "writing <path>", "deleting <path>",
// "not creating empty <path>".
//
// # Safety
//
// Nothing is ever written outside ApplyOptions.OutputDir. Before anything
// is written, every output path is resolved through the symlinks of the
// output tree (its parent directories and the target itself); a path that
// resolves outside the output root, or that is not a local path, is refused
// with an error wrapping ErrUnsafePath that names it. The original follows
// such links and writes wherever they point. A target that is a directory,
// or a parent that is a file, is an error before anything is written (the
// original dies with a traceback after writing some files). The checks do
// not defend against another process changing the output tree while Apply
// runs.
//
// # Go templates
//
// GoTemplate renders templates with text/template against the same
// metadata, converted once per Apply: objects become map[string]any (so
// {{.db.host}}, {{index . "key-with-dash"}} and range work), integers that
// fit become int64 (so {{if eq .port 8080}} works; larger ones stay Int,
// printed exactly), floats print as Python's json.dumps does (1.0), null is
// false in an if and prints as nothing, booleans print true and false. A
// missing key is text/template's "no value" (false in an if, printed as
// "<no value>"), or an error with GoTemplate.MissingKeyError.
//
// range over a map goes in sorted key order, as always in text/template;
// keys and items give the metadata's own order. The functions, besides
// text/template's built-ins:
//
//	json v            v as Python's json.dumps (what mustache prints for a
//	                  non-string)
//	jsonIndent n v    v as json.dumps(v, indent=n)
//	text v            v as mustache prints it: strings as they are, null
//	                  and missing as nothing, anything else as json
//	keys m            the keys of an object, in the metadata's order
//	items m           its entries as {{.Key}} / {{.Value}}, in order
//	default d v       v unless it is false, 0, "", empty, null or missing
//	                  (mustache's falsiness); then d
//	join sep list     the text of each item, joined with sep
//	split sep s       strings.Split
//	lower, upper, trim (spaces), replace old new s, contains sub s,
//	hasPrefix p s, hasSuffix x s, indent n s (every line)
//
// GoTemplate.Funcs adds or replaces functions. Template errors are
// *TemplateError with the line text/template reports.
package config
