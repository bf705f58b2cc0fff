package runparts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultRegex is the pattern a script's name must match to be run when
// RUN_PARTS_REGEX is not set: letters, digits, "_" and "-" only, so any name
// with a dot (foo.sh, x.dpkg-old, dotfiles) is skipped.
var DefaultRegex = regexp.MustCompile(`^[0-9A-Za-z_-]+$`)

// envFileRegex is the pattern environment.d file names must match; dots
// are allowed there.
var envFileRegex = regexp.MustCompile(`^[0-9A-Za-z_.-]+$`)

// Regex returns the script name pattern: $RUN_PARTS_REGEX when set (as an
// extended regular expression), DefaultRegex otherwise.
func Regex(getenv func(string) string) (*regexp.Regexp, error) {
	s := getenv("RUN_PARTS_REGEX")
	if s == "" {
		return DefaultRegex, nil
	}
	re, err := regexp.CompilePOSIX(s)
	if err != nil {
		return nil, fmt.Errorf("RUN_PARTS_REGEX %q: %w", s, err)
	}
	return re, nil
}

// ErrNotDir is returned by List when the scripts directory does not exist
// or is not a directory.
var ErrNotDir = errors.New("scripts directory must exist and be a directory")

// List returns the names of the scripts dib-run-parts would run from dir,
// in the order it would run them: regular files (or symlinks to regular
// files) directly in dir, executable by the caller, whose name matches re
// (DefaultRegex when nil), sorted by Less.
func List(dir string, re *regexp.Regexp) ([]string, error) {
	if re == nil {
		re = DefaultRegex
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotDir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		name := e.Name()
		if !re.MatchString(name) {
			continue
		}
		p := dir + "/" + name
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		if unix.Access(p, unix.X_OK) != nil {
			continue
		}
		names = append(names, name)
	}
	Sort(names)
	return names, nil
}

// EnvironmentFiles returns the files dib-run-parts sources before running
// the scripts of dir: the regular files (or symlinks to them) directly in
// dir/../environment.d whose names use only letters, digits, "_", "-" and
// "." (dotfiles included, no exec bit needed), in byte order of their
// names. (The original sorts the full paths with sort -n; they share one
// prefix, so the numbers tie and the byte order decides.) A missing
// environment.d gives none.
func EnvironmentFiles(dir string) ([]string, error) {
	envDir := dir + "/../environment.d"
	fi, err := os.Stat(envDir)
	if err != nil || !fi.IsDir() {
		return nil, nil
	}
	ents, err := os.ReadDir(envDir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", envDir, err)
	}
	var names []string
	for _, e := range ents {
		if !envFileRegex.MatchString(e.Name()) {
			continue
		}
		if st, err := os.Stat(envDir + "/" + e.Name()); err != nil || !st.Mode().IsRegular() {
			continue
		}
		names = append(names, e.Name())
	}
	slices.Sort(names)
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = envDir + "/" + n
	}
	return paths, nil
}

// Sort sorts names in place with Less.
func Sort(names []string) {
	slices.SortStableFunc(names, Compare)
}

// Less reports whether a sorts before b under "LANG=C sort -n": by the
// number at the start of the name (an optional "-" and digits, possibly a
// "." and a fraction; no number counts as 0), then by the whole name byte
// by byte.
func Less(a, b string) bool { return Compare(a, b) < 0 }

// Compare is the three-way form of Less.
func Compare(a, b string) int {
	if c := compareNumeric(a, b); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// numPrefix splits the leading number of s as GNU sort -n reads it in the C
// locale: leading blanks, an optional minus, integer digits, an optional
// "." and fraction digits. It returns the sign, the integer digits without
// leading zeros and the fraction without trailing zeros.
func numPrefix(s string) (neg bool, ipart, frac string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	ipart = strings.TrimLeft(s[start:i], "0")
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		frac = strings.TrimRight(s[i+1:j], "0")
	}
	if ipart == "" && frac == "" {
		neg = false // -0 and "no number" are both zero
	}
	return neg, ipart, frac
}

func compareNumeric(a, b string) int {
	an, ai, af := numPrefix(a)
	bn, bi, bf := numPrefix(b)
	if an != bn {
		if an {
			return -1
		}
		return 1
	}
	c := len(ai) - len(bi)
	if c == 0 {
		c = strings.Compare(ai, bi)
	}
	if c == 0 {
		c = strings.Compare(af, bf)
	}
	if c > 0 {
		c = 1
	} else if c < 0 {
		c = -1
	}
	if an {
		c = -c
	}
	return c
}

// Environment returns the environment the scripts of a dib-run-parts run
// see: base (os.Environ() when nil) after the given environment.d files
// have been sourced, in order, by one bash process under "set -ue -o
// pipefail" with xtrace on, inside a shell function as the original does in
// its subshell. Only exported variables (and exported functions) come
// back, plus what bash adds for a child of that subshell (PWD, SHLVL one
// above the caller's). The files' output, the "Sourcing environment file"
// lines and the xtrace go to stdout and stderr.
//
// A file that fails (a failing command, an unset variable) stops the
// sourcing: the error is an *EnvError naming it, with bash's exit status.
func Environment(ctx context.Context, files []string, base []string, stdout, stderr io.Writer) ([]string, error) {
	if base == nil {
		base = os.Environ()
	}
	if len(files) == 0 {
		if env, ok := bashChildEnv(base); ok {
			return env, nil
		}
	}
	// Progress and the final dump go to fd 3, a pipe of their own, so the
	// files' output cannot corrupt them: "\x01F<path>" before each file,
	// "\x01E" before the env -0 dump.
	const script = `set -ue -o pipefail
__runparts_source() {
  local __runparts_f
  for __runparts_f in "$@"; do
    printf '\001F%s\0' "$__runparts_f" >&3
    echo "Sourcing environment file $__runparts_f" >&2
    set -o xtrace
    source "$__runparts_f"
    { set +o xtrace; } 2>/dev/null
  done
}
__runparts_source "$@"
unset -f __runparts_source
printf '\001E\0' >&3
exec env -0 >&3 3>&-`
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	args := append([]string{"-c", script, "bash"}, files...)
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Env = base
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start bash to source environment.d: %w", err)
	}
	w.Close()
	dump, rerr := io.ReadAll(r)
	werr := cmd.Wait()
	var env []string
	current, inEnv := "", false
	for kv := range bytes.SplitSeq(dump, []byte{0}) {
		switch {
		case inEnv:
			if len(kv) > 0 {
				env = append(env, string(kv))
			}
		case bytes.HasPrefix(kv, []byte("\x01F")):
			current = string(kv[2:])
		case bytes.Equal(kv, []byte("\x01E")):
			inEnv = true
		}
	}
	if werr != nil || !inEnv {
		code := -1
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			code = ee.ExitCode()
		}
		if werr == nil {
			werr = errors.New("bash ended before dumping its environment")
		}
		if ctx.Err() != nil {
			werr = fmt.Errorf("%w (%w)", werr, context.Cause(ctx))
		}
		return nil, &EnvError{File: current, ExitCode: code, Err: werr}
	}
	if rerr != nil {
		return nil, fmt.Errorf("read environment from bash: %w", rerr)
	}
	// bash lowered SHLVL when it exec'd env; a child it forks sees the
	// raised value.
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "SHLVL="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				env[i] = "SHLVL=" + strconv.Itoa(n+1)
			}
		}
	}
	return env, nil
}

// bashChildEnv computes, without starting bash, the environment a child of
// a bash that sourced nothing gets: SHLVL raised as bash does it, and PWD set to the physical working directory unless it already
// names it. Exported functions are re-serialised by bash, so with any
// BASH_FUNC_ entry ok is false and bash must run.
func bashChildEnv(base []string) (env []string, ok bool) {
	shlvl, pwd := "", ""
	hasShlvl, hasPwd := false, false
	for _, kv := range base {
		switch {
		case strings.HasPrefix(kv, "BASH_FUNC_"):
			return nil, false
		case strings.HasPrefix(kv, "SHLVL="):
			shlvl, hasShlvl = kv[len("SHLVL="):], true
		case strings.HasPrefix(kv, "PWD="):
			pwd, hasPwd = kv[len("PWD="):], true
		}
	}
	cwd, err := syscall.Getwd()
	if err != nil {
		return nil, false
	}
	// bash: a number n gives n+1 (1 once it reaches 1000), a negative one
	// 0, anything else 1.
	level := 1
	if n, err := strconv.Atoi(strings.TrimSpace(shlvl)); hasShlvl && err == nil {
		switch {
		case n < 0:
			level = 0
		case n+1 >= 1000:
			level = 1
		default:
			level = n + 1
		}
	}
	if !hasPwd || !strings.HasPrefix(pwd, "/") || !sameDir(pwd, cwd) {
		pwd = cwd
	}
	env = make([]string, 0, len(base)+2)
	for _, kv := range base {
		if !strings.HasPrefix(kv, "SHLVL=") && !strings.HasPrefix(kv, "PWD=") {
			env = append(env, kv)
		}
	}
	return append(env, "PWD="+pwd, "SHLVL="+strconv.Itoa(level)), true
}

func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// EnvError is a failure while sourcing an environment.d file.
type EnvError struct {
	File     string // the file being sourced ("" if bash failed before the first)
	ExitCode int    // bash's exit status, -1 if it was killed
	Err      error
}

// Error names the file and bash's status.
func (e *EnvError) Error() string {
	return fmt.Sprintf("sourcing environment file %s: exit status %d: %v", e.File, e.ExitCode, e.Err)
}

// Unwrap returns the underlying error.
func (e *EnvError) Unwrap() error { return e.Err }

// Join returns dir + "/" + name the way dib-run-parts builds a script's
// path (no cleaning, so a trailing slash gives "//").
func Join(dir, name string) string { return dir + "/" + name }
