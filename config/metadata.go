package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// Default paths of os-apply-config, used when Sources leaves them empty.
const (
	// DefaultOSConfigFilesPath is where os-collect-config writes the list of
	// metadata files (overridden by $OS_CONFIG_FILES_PATH in the command).
	DefaultOSConfigFilesPath = "/var/lib/os-collect-config/os_config_files.json"
	// LegacyOSConfigFilesPath is read when the default list is empty.
	LegacyOSConfigFilesPath = "/var/run/os-collect-config/os_config_files.json"
)

// DefaultFallbackMetadata lists the legacy heat-cfntools and cloud-init files
// that os-apply-config always reads first, at the lowest precedence.
var DefaultFallbackMetadata = []string{
	"/var/cache/heat-cfntools/last_metadata",
	"/var/lib/heat-cfntools/cfn-init-data",
	"/var/lib/cloud/data/cfn-init-data",
}

// ErrMetadata is wrapped by every error about a metadata file or a metadata
// key (see MetadataError).
var ErrMetadata = errors.New("metadata error")

// MetadataError is an error about one metadata file, or one key in it.
type MetadataError struct {
	Path string // the metadata file, or the os_config_files.json list
	Key  string // the key path at fault, when there is one
	Err  error  // the cause
}

// Error implements error.
func (e *MetadataError) Error() string {
	var b strings.Builder
	b.WriteString("metadata ")
	b.WriteString(e.Path)
	if e.Key != "" {
		fmt.Fprintf(&b, " key %q", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *MetadataError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMetadata.
func (e *MetadataError) Is(target error) bool { return target == ErrMetadata }

// Sources says where metadata comes from, with os-apply-config's rules
// (see Paths). The zero value reads $OS_CONFIG_FILES-less defaults: the list
// in DefaultOSConfigFilesPath, after no fallback files.
type Sources struct {
	// Metadata lists files given with -m/--metadata; when it has at least
	// one entry it is used as is and the rest is ignored.
	Metadata []string
	// OSConfigFiles is the value of $OS_CONFIG_FILES (a ':'-separated list,
	// empty items skipped), used when OSConfigFilesSet is true, even when
	// it is empty.
	OSConfigFiles    string
	OSConfigFilesSet bool
	// OSConfigFilesPath is the JSON list of files os-collect-config
	// writes; "" means DefaultOSConfigFilesPath. When the list is empty
	// and this is the default path, LegacyOSConfigFilesPath is read
	// instead (with a deprecation warning), as the original does.
	OSConfigFilesPath string
	// Fallback files are always read first, at the lowest precedence.
	// The command fills in DefaultFallbackMetadata; nil here means none.
	Fallback []string
}

// Paths returns the metadata files to read, in order of increasing
// precedence: Fallback, then the first of Metadata, $OS_CONFIG_FILES or
// the os_config_files.json list that is set. Files need not exist
// (LoadMetadata skips missing ones). A list file that is not a JSON array
// of strings is a *MetadataError naming it (the original dies with a
// traceback there).
func (s *Sources) Paths(logger *slog.Logger) ([]string, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var list []string
	switch {
	case len(s.Metadata) > 0:
		list = s.Metadata
	case s.OSConfigFilesSet:
		list = strings.Split(s.OSConfigFiles, ":")
	default:
		path := s.OSConfigFilesPath
		if path == "" {
			path = DefaultOSConfigFilesPath
		}
		var err error
		if list, err = readFileList(path); err != nil {
			return nil, err
		}
		if len(list) == 0 && path == DefaultOSConfigFilesPath {
			logger.Warn("DEPRECATED: falling back to " + LegacyOSConfigFilesPath)
			if list, err = readFileList(LegacyOSConfigFilesPath); err != nil {
				return nil, err
			}
		}
	}
	paths := make([]string, 0, len(s.Fallback)+len(list))
	for _, p := range append(append([]string(nil), s.Fallback...), list...) {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// readFileList reads a JSON array of file names; a missing file is an
// empty list.
func readFileList(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &MetadataError{Path: path, Err: err}
	}
	v, err := DecodeJSON(data)
	if err != nil {
		return nil, &MetadataError{Path: path, Err: fmt.Errorf("not a JSON list of metadata files: %w", err)}
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &MetadataError{Path: path, Err: errors.New("no list defined in json file")}
	}
	list := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, &MetadataError{Path: path, Key: fmt.Sprint(i), Err: errors.New("not a file name (string)")}
		}
		list = append(list, s)
	}
	return list, nil
}

// LoadMetadata reads the files in order and deep-merges them (see Merge)
// into one object. Files that do not exist are skipped, as are files whose
// root is not an object, as os-apply-config does. A file that exists but
// cannot be read, or is not valid JSON (an empty file included), is a
// *MetadataError naming it.
func LoadMetadata(paths []string) (*Object, error) {
	md := &Object{}
	for _, p := range paths {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, &MetadataError{Path: p, Err: fmt.Errorf("could not open for reading: %w", err)}
		}
		// data is ours alone and never modified: decode it in place.
		v, err := decodeOwnedJSON(data)
		if err != nil {
			return nil, &MetadataError{Path: p, Err: fmt.Errorf("could not parse metadata file: %w", err)}
		}
		if obj, ok := v.(*Object); ok {
			// The decoded tree is ours alone: merge it without copying.
			merge(md, obj, false)
		}
	}
	return md, nil
}

// Merge deep-merges src into dst as os-apply-config does: for each key of
// src, when both values are objects they merge recursively; otherwise the
// value of src replaces dst's (lists are replaced, never concatenated, and
// null is stored, not deleted). Existing keys keep their position and new
// keys are appended. Objects taken from src are copied, so later merges
// never modify src.
func Merge(dst, src *Object) { merge(dst, src, true) }

// merge is Merge; with copy false, values of src are moved into dst rather
// than copied, for a src nobody else holds.
func merge(dst, src *Object, copy bool) {
	for _, k := range src.Keys() {
		sv := src.vals[k]
		if so, ok := sv.(*Object); ok {
			if do, ok := dst.vals[k].(*Object); ok {
				merge(do, so, copy)
				continue
			}
		}
		if copy {
			sv = Clone(sv)
		}
		dst.Set(k, sv)
	}
}

// Clone returns a deep copy of a JSON value.
func Clone(v any) any {
	switch x := v.(type) {
	case *Object:
		c := &Object{keys: append([]string(nil), x.keys...), vals: make(map[string]any, len(x.vals))}
		for k, e := range x.vals {
			c.vals[k] = Clone(e)
		}
		if len(c.keys) <= smallObject {
			// Keep Object's small-object index in step, as Set does.
			c.small = make([]any, len(c.keys))
			for i, k := range c.keys {
				c.small[i] = c.vals[k]
			}
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = Clone(e)
		}
		return c
	}
	return v
}

// Subhash returns the object found by following the dotted key from md,
// as os-apply-config's --subhash does; every step must name an object. An
// empty key returns md itself.
func Subhash(md *Object, key string) (*Object, error) {
	if key == "" {
		return md, nil
	}
	cur := md
	for part := range strings.SplitSeq(key, ".") {
		next, ok := cur.vals[part].(*Object)
		if !ok {
			return nil, &MetadataError{Path: "(merged metadata)", Key: key, Err: errors.New("does not correspond to a hash in the metadata file")}
		}
		cur = next
	}
	return cur, nil
}
