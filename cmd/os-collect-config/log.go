package main

import (
	"io"
	"log/slog"
	"time"

	"github.com/tripleo-go/tripleo/internal/pylog"
)

// newHandler writes each record's message on a line of its own, as the
// original's default logging setup shows them, followed by an "err"
// attribute when there is one.
func newHandler(w io.Writer, level slog.Level) *pylog.Handler {
	return pylog.New(w, level, func(b []byte, _ time.Time, _ string, r slog.Record, _ []slog.Attr) []byte {
		b = append(b, r.Message...)
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				b = append(b, ": "...)
				b = append(b, a.Value.String()...)
			}
			return true
		})
		return b
	})
}
