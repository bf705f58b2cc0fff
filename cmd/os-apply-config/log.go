package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logHandler writes records as the original's logging.Formatter does:
// "[2006/01/02 03:04:05 PM] [LEVEL] message", one line each, at INFO and
// above. Attribute values follow the message, separated by spaces, so a
// library call like Info("writing", "path", p) reads "writing /etc/x" as
// in the original.
type logHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
	now   func() time.Time
}

func newLogHandler(w io.Writer) *logHandler {
	return &logHandler{mu: new(sync.Mutex), w: w, now: time.Now}
}

// Enabled implements slog.Handler.
func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// levelName is Python's logging level name.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// Handle implements slog.Handler.
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = h.now()
	}
	b := make([]byte, 0, 64+len(r.Message))
	b = append(b, '[')
	b = t.AppendFormat(b, "2006/01/02 03:04:05 PM")
	b = append(b, "] ["...)
	b = append(b, levelName(r.Level)...)
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
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b = append(b, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(b)
	return err
}

// WithAttrs implements slog.Handler.
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

// WithGroup implements slog.Handler; groups only qualify keys, which this
// format does not print.
func (h *logHandler) WithGroup(string) slog.Handler { return h }
