package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Options tunes WriteFile. A nil *Options means the defaults.
type Options struct {
	// Mode is the permission of the new file; 0 means 0600.
	Mode fs.FileMode
	// TempPrefix starts the temporary file's name; "" means "." + the
	// target's base name + ".tmp-".
	TempPrefix string
	// NoSync skips both fsyncs (for scratch data): the replacement stays
	// atomic but may not survive a power loss.
	NoSync bool
	// BeforeRename, when set, runs after the temporary file is complete
	// and before the rename (tests use it to simulate a crash there); an
	// error aborts the write and removes the temporary file.
	BeforeRename func(tmp string) error
}

// WriteFile replaces path's content with data. On error the target is
// unchanged and the temporary file is removed.
func WriteFile(path string, data []byte, opts *Options) (err error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Mode == 0 {
		o.Mode = 0o600
	}
	if o.TempPrefix == "" {
		o.TempPrefix = "." + filepath.Base(path) + ".tmp-"
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, o.TempPrefix+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = tmp.Chmod(o.Mode); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if !o.NoSync {
		if err = tmp.Sync(); err != nil {
			return err
		}
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if o.BeforeRename != nil {
		if err = o.BeforeRename(tmp.Name()); err != nil {
			return err
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if o.NoSync {
		return nil
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, so that renames and creations in it are
// durable. Filesystems that cannot sync a directory (EINVAL) are ignored.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
