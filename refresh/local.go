package refresh

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/tripleo-go/tripleo/config"
)

// DefaultLocalPath is the local collector's default directory.
const DefaultLocalPath = "/var/lib/os-collect-config/local-data"

// LocalOptions configure a Local collector.
type LocalOptions struct {
	// Logger receives the original's warnings. Nil discards.
	Logger *slog.Logger
}

// Local is os-collect-config's "local" collector: every file in the
// configured directories is one output named by its file name (with its
// ".json", so 10-a.json is cached as 10-a.json.json), sorted by name in
// byte order. Dotfiles, subdirectories and other non-regular files (a FIFO
// would block the original forever) are skipped; a missing directory
// is skipped with a warning. A directory not owned by this process's user
// or world-writable, a world-writable file, or a file that is not valid
// JSON makes the whole collector unavailable for the round, as in the
// original. Deployments are not exploded.
type Local struct {
	paths []string
	log   *slog.Logger
}

// NewLocal returns a local collector over the directories (nil: the
// default one).
func NewLocal(paths []string, opts *LocalOptions) *Local {
	if paths == nil {
		paths = []string{DefaultLocalPath}
	}
	l := &Local{paths: slices.Clone(paths)}
	if opts != nil {
		l.log = opts.Logger
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// Name returns "local".
func (l *Local) Name() string { return "local" }

// Collect reads the directories.
func (l *Local) Collect(ctx context.Context) ([]Output, error) {
	if len(l.paths) == 0 {
		return nil, unavailable("local", "no path configured")
	}
	var out []Output
	for _, dir := range l.paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fi, err := os.Stat(dir)
		if err != nil {
			l.log.Warn(fmt.Sprintf("%s not found. Skipping", dir))
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
			l.log.Error(fmt.Sprintf("%s is owned by another user. This is a security risk.", dir))
			return nil, unavailable("local", "%s is owned by another user", dir)
		}
		if fi.Mode().Perm()&0o002 != 0 {
			l.log.Error(fmt.Sprintf("%s is world writable. This is a security risk.", dir))
			return nil, unavailable("local", "%s is world writable", dir)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, unavailable("local", "%w", err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			fi, err := os.Stat(p)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // a dangling symlink or a file just removed
				}
				return nil, unavailable("local", "%w", err)
			}
			if !fi.Mode().IsRegular() {
				continue // directories, and FIFOs or devices that would block
			}
			if fi.Mode().Perm()&0o002 != 0 {
				l.log.Error(fmt.Sprintf("%s is world writable. This is a security risk.", p))
				return nil, unavailable("local", "%s is world writable", p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, unavailable("local", "%w", err)
			}
			v, err := config.DecodeJSON(b)
			if err != nil {
				l.log.Error(fmt.Sprintf("%s is not valid JSON (%v)", p, err))
				return nil, unavailable("local", "%s is not valid JSON: %w", p, err)
			}
			out = append(out, Output{Name: e.Name(), Content: v})
		}
	}
	if len(out) == 0 {
		l.log.Info(fmt.Sprintf("No local metadata found (%s)", pyListRepr(l.paths)))
	}
	slices.SortStableFunc(out, func(a, b Output) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func pyListRepr(l []string) string {
	items := make([]any, len(l))
	for i, s := range l {
		items[i] = s
	}
	return config.PyStr(items)
}
