package refresh

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Lock takes an exclusive flock() on path without waiting, as
// os-refresh-config does with its lock file: the file is opened for append
// (created if missing), truncated and stamped "Locked by pid==N at ...".
// The returned function truncates it to empty and releases the lock. A held
// lock gives an error wrapping ErrLocked (and syscall.EWOULDBLOCK).
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("could not lock %s: %w (%w)", path, ErrLocked, err)
		}
		return nil, fmt.Errorf("could not lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "Locked by pid==%d at %s\n", os.Getpid(), structTime(time.Now()))
	return func() {
		_ = f.Truncate(0)
		_ = f.Close()
	}, nil
}

// structTime renders t as Python's repr(time.localtime()).
func structTime(t time.Time) string {
	isdst := 0
	if t.IsDST() {
		isdst = 1
	}
	wday := (int(t.Weekday()) + 6) % 7 // Monday is 0
	var b strings.Builder
	fmt.Fprintf(&b, "time.struct_time(tm_year=%d, tm_mon=%d, tm_mday=%d, tm_hour=%d, tm_min=%d, tm_sec=%d, tm_wday=%d, tm_yday=%d, tm_isdst=%d)",
		t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second(), wday, t.YearDay(), isdst)
	return b.String()
}
