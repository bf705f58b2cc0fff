package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// DefaultExecTimeout is how long an executable template may run when
// ApplyOptions.ExecTimeout is 0.
const DefaultExecTimeout = time.Minute

// ErrExec is wrapped by every error of an executable template (see
// ExecError).
var ErrExec = errors.New("executable template failed")

// ExecError reports an executable template that failed: it exited non-zero,
// could not be started, ran out of time or wrote output that is not UTF-8.
type ExecError struct {
	// Template is the template's path.
	Template string
	// ExitCode is the exit status; -1 when the program did not exit
	// normally (not started, killed by a signal or at the timeout).
	ExitCode int
	// Output holds what the program wrote, stdout then stderr, as the
	// original reports it.
	Output []byte
	// Err is the cause: an *exec.ExitError, a start error such as
	// syscall.ENOEXEC (no shebang), context.DeadlineExceeded at the timeout,
	// or a description of bad output.
	Err error
}

// Error implements error.
func (e *ExecError) Error() string {
	switch {
	case errors.Is(e.Err, context.DeadlineExceeded):
		return fmt.Sprintf("config script timed out: %s: %v", e.Template, e.Err)
	case e.ExitCode > 0:
		return fmt.Sprintf("config script failed: %s: exit status %d\n\nwith output:\n\n%s", e.Template, e.ExitCode, e.Output)
	}
	return fmt.Sprintf("config script failed: %s: %v", e.Template, e.Err)
}

// Unwrap returns e.Err.
func (e *ExecError) Unwrap() error { return e.Err }

// Is reports whether target is ErrExec or ErrTemplate.
func (e *ExecError) Is(target error) bool { return target == ErrExec || target == ErrTemplate }

// IsExecutable reports whether path is an executable template: a regular
// file, after following symlinks, that access(2) says this process may
// execute (as root: any x bit set), as the original decides.
func IsExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && isExecutable(path, fi)
}

// isExecutable is IsExecutable given stat(path). Without any x bit nobody,
// not even root, may execute a file, so access(2) is asked only when one is
// set.
func isExecutable(path string, fi fs.FileInfo) bool {
	return isExecutableAt(unix.AT_FDCWD, path, fi)
}

// isExecutableAt is isExecutable of name relative to the directory dfd.
func isExecutableAt(dfd int, name string, fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 && unix.Faccessat(dfd, name, unix.X_OK, 0) == nil
}

// RunExecutable runs the executable template at path directly (no shell,
// no arguments, no $PATH lookup; a relative path is relative to the
// working directory) with stdin on its standard input and returns its standard
// output, which must be UTF-8. env is its environment (nil: this process's)
// and timeout bounds its run (0: DefaultExecTimeout); at the timeout or when
// ctx ends its whole process group is killed. Errors are *ExecError, except
// that the cancellation of ctx is reported as ctx's error.
func RunExecutable(ctx context.Context, path string, stdin []byte, env []string, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = DefaultExecTimeout
	}
	// Run it by the path as given (relative paths are relative to the
	// working directory), as the original does, so that a script's $0 is
	// the same; but never look it up in $PATH.
	name := path
	if !strings.Contains(name, "/") {
		name = "./" + name
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, name)
	cmd.Args[0] = path
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The template's children go too: they are in its process group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// If a grandchild keeps the pipes open, give up on them after this.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	output := func() []byte { return append(bytes.Clone(stdout.Bytes()), stderr.Bytes()...) }
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e := &ExecError{Template: path, ExitCode: -1, Output: output(), Err: err}
		var ee *exec.ExitError
		switch {
		case errors.Is(err, exec.ErrWaitDelay): // it exited 0
			e.ExitCode = 0
			e.Err = fmt.Errorf("it exited but a process it started kept its output open (%w)", err)
		case tctx.Err() != nil:
			e.Err = fmt.Errorf("%w after %v", context.DeadlineExceeded, timeout)
		case errors.As(err, &ee):
			e.ExitCode = ee.ExitCode()
		case errors.Is(err, syscall.ENOEXEC):
			e.Err = fmt.Errorf("%w (a script needs a #! line)", err)
		}
		return nil, e
	}
	if !utf8.Valid(stdout.Bytes()) {
		// The original dies with a UnicodeDecodeError; files are text.
		return nil, &ExecError{Template: path, ExitCode: 0, Output: output(), Err: errors.New("output is not valid UTF-8")}
	}
	return stdout.Bytes(), nil
}
