package pylog_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/tripleo-go/tripleo/internal/pylog"
)

func Example() {
	format := func(b []byte, t time.Time, level string, r slog.Record, _ []slog.Attr) []byte {
		b = append(b, '[')
		b = t.AppendFormat(b, "2006/01/02 03:04:05 PM")
		b = append(b, "] ["...)
		b = append(b, level...)
		b = append(b, "] "...)
		return append(b, r.Message...)
	}
	log := slog.New(pylog.New(os.Stdout, slog.LevelInfo, format))
	log.Debug("not shown")
	// A record with a fixed time, as a logger would make it.
	r := slog.NewRecord(time.Date(2026, 11, 25, 18, 4, 5, 0, time.UTC), slog.LevelWarn, "writing /etc/x", 0)
	log.Handler().Handle(context.Background(), r)
	// Output: [2026/11/25 06:04:05 PM] [WARNING] writing /etc/x
}
