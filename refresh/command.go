package refresh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// CommandError is a failed command: its exit status (negative -N when it
// was killed by signal N, as Python's subprocess reports it).
type CommandError struct {
	Command  string
	ExitCode int
	Err      error
}

// Error reads as Python's CalledProcessError, as the original logs it.
func (e *CommandError) Error() string {
	return fmt.Sprintf("Command '%s' returned non-zero exit status %d.", e.Command, e.ExitCode)
}

// Unwrap returns the underlying error.
func (e *CommandError) Unwrap() error { return e.Err }

// ShellCommand returns a Poll Run function that runs command with
// "/bin/sh -c", as os-collect-config runs its --command, with
// OS_CONFIG_FILES set to the round's cache paths joined by ":" on top of
// env (nil: os.Environ()), and its output to stdout and stderr. A
// non-zero exit is a *CommandError.
func ShellCommand(command string, env []string, stdout, stderr io.Writer) func(ctx context.Context, r *Round) error {
	return func(ctx context.Context, r *Round) error {
		base := env
		if base == nil {
			base = os.Environ()
		}
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
		cmd.Env = append(base[:len(base):len(base)], "OS_CONFIG_FILES="+strings.Join(r.Paths, ":"))
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if stdout == nil {
			cmd.Stdout = os.Stdout
		}
		if stderr == nil {
			cmd.Stderr = os.Stderr
		}
		err := cmd.Run()
		if err == nil {
			return nil
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("run %q: %w", command, err)
		}
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = -int(ws.Signal())
		}
		return &CommandError{Command: command, ExitCode: code, Err: err}
	}
}
