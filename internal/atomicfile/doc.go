// Package atomicfile replaces a file's content atomically and durably: the
// data goes to a temporary file in the same directory, which is fsynced,
// renamed over the target, and the directory is fsynced. A reader sees the
// old content or the new, never a mix, and a crash at any point leaves one
// of them (plus, at worst, a stray temporary file).
package atomicfile
