// Package pylog is a slog.Handler that writes records the way the Python
// tools our commands replace (os-apply-config, os-refresh-config,
// os-collect-config) print their logging lines: each command supplies its
// format, pylog supplies the level names, the locking and one Write per
// line.
package pylog
