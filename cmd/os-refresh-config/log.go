package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// handler writes records as os-refresh-config's logging does:
// "[2006-01-02 15:04:05,000] (os-refresh-config) [INFO] message", with the
// record's attributes left out (the messages carry them).
type handler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
}

func newHandler(w io.Writer, level slog.Level) *handler {
	return &handler{mu: &sync.Mutex{}, w: w, level: level}
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func levelName(l slog.Level) string {
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

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	fmt.Fprintf(&b, "[%s,%03d] (os-refresh-config) [%s] %s", t.Format("2006-01-02 15:04:05"), t.Nanosecond()/1e6, levelName(r.Level), r.Message)
	// The messages are complete sentences; the attributes repeat them for
	// structured handlers and are left out here.
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *handler) WithGroup(string) slog.Handler { return h }
