package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tripleo-go/tripleo/internal/pylog"
)

// newHandler writes records as os-refresh-config's logging does:
// "[2006-01-02 15:04:05,000] (os-refresh-config) [INFO] message", with the
// record's attributes left out (the messages are complete sentences; the
// attributes repeat them for structured handlers).
func newHandler(w io.Writer, level slog.Level) *pylog.Handler {
	return pylog.New(w, level, func(b []byte, t time.Time, lvl string, r slog.Record, _ []slog.Attr) []byte {
		return fmt.Appendf(b, "[%s,%03d] (os-refresh-config) [%s] %s", t.Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6, lvl, r.Message)
	})
}
