package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// handler writes each record's message on a line of its own, as the
// original's default logging setup shows them, followed by an "err"
// attribute when there is one.
type handler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
}

func newHandler(w io.Writer, level slog.Level) *handler {
	return &handler{mu: &sync.Mutex{}, w: w, level: level}
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			b.WriteString(": ")
			b.WriteString(a.Value.String())
		}
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *handler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *handler) WithGroup(string) slog.Handler { return h }
