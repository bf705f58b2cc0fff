package main

import (
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/tripleo-go/tripleo/internal/pylog"
)

// newLogHandler writes records as the original's logging.Formatter does:
// "[2006/01/02 03:04:05 PM] [LEVEL] message", one line each, at INFO and
// above. Attribute values follow the message, separated by spaces, so a
// library call like Info("writing", "path", p) reads "writing /etc/x" as
// in the original.
func newLogHandler(w io.Writer) *pylog.Handler {
	var last atomic.Pointer[stamp]
	return pylog.New(w, slog.LevelInfo, func(b []byte, t time.Time, level string, r slog.Record, attrs []slog.Attr) []byte {
		return formatLine(b, t, &last, level, r, attrs)
	})
}

// stamp is a formatted time, to the second: a run writes a thousand lines
// in the same second, and formatting the time was a third of each.
type stamp struct {
	unix int64
	loc  *time.Location
	text string
}

func formatLine(b []byte, t time.Time, last *atomic.Pointer[stamp], level string, r slog.Record, attrs []slog.Attr) []byte {
	st := last.Load()
	if st == nil || st.unix != t.Unix() || st.loc != t.Location() {
		st = &stamp{t.Unix(), t.Location(), t.Format("[2006/01/02 03:04:05 PM] [")}
		last.Store(st)
	}
	b = append(b, st.text...)
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
