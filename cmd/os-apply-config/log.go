package main

import (
	"io"
	"log/slog"
	"time"

	"github.com/tripleo-go/tripleo/internal/pylog"
)

// newLogHandler writes records as the original's logging.Formatter does:
// "[2006/01/02 03:04:05 PM] [LEVEL] message", one line each, at INFO and
// above. Attribute values follow the message, separated by spaces, so a
// library call like Info("writing", "path", p) reads "writing /etc/x" as
// in the original.
func newLogHandler(w io.Writer) *pylog.Handler {
	return pylog.New(w, slog.LevelInfo, formatLine)
}

func formatLine(b []byte, t time.Time, level string, r slog.Record, attrs []slog.Attr) []byte {
	b = append(b, '[')
	b = t.AppendFormat(b, "2006/01/02 03:04:05 PM")
	b = append(b, "] ["...)
	b = append(b, level...)
	b = append(b, "] "...)
	b = append(b, r.Message...)
	add := func(a slog.Attr) bool {
		if a.Equal(slog.Attr{}) {
			return true
		}
		b = append(b, ' ')
		b = append(b, a.Value.Resolve().String()...)
		return true
	}
	for _, a := range attrs {
		add(a)
	}
	r.Attrs(add)
	return b
}
