package pylog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Format appends one record's line (without the newline) to b. level is
// Python's name of the record's level; attrs are those added with
// WithAttrs, before the record's own (r.Attrs).
type Format func(b []byte, t time.Time, level string, r slog.Record, attrs []slog.Attr) []byte

// Handler is a slog.Handler writing each record at or above its level as
// one line made by its Format, in a single Write, safe for concurrent use.
// Groups are ignored: Python's formats print no keys.
type Handler struct {
	mu     *sync.Mutex
	buf    *[]byte // the line being made, under mu; reused
	w      io.Writer
	level  slog.Leveler
	format Format
	attrs  []slog.Attr
}

// New returns a Handler writing to w the records at or above level.
func New(w io.Writer, level slog.Leveler, f Format) *Handler {
	return &Handler{mu: new(sync.Mutex), buf: new([]byte), w: w, level: level, format: f}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.format((*h.buf)[:0], t, LevelName(r.Level), r, h.attrs)
	b = append(b, '\n')
	*h.buf = b
	_, err := h.w.Write(b)
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

// WithGroup implements slog.Handler; groups only qualify keys, which these
// formats do not print.
func (h *Handler) WithGroup(string) slog.Handler { return h }

// LevelName is the name Python's logging gives the level: slog's levels
// map to DEBUG, INFO, WARNING and ERROR, and ERROR+4 and above to
// CRITICAL.
func LevelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError+4:
		return "CRITICAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARNING"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}
