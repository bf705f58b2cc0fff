package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MiB is one mebibyte, the default partition alignment.
const MiB = 1 << 20

// Spec describes one golden image: what goes in, how the disk is laid out
// and which outputs are written. The zero value of every optional field is
// documented on the field; Validate fills nothing in, Build applies the
// defaults through Normalize.
type Spec struct {
	// Name of the image, e.g. "overcloud-full". Required.
	Name string `yaml:"name" json:"name"`
	// Version is free text recorded in the manifest.
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
	// Arch is the target architecture: "x86_64" (default) or "aarch64".
	// It selects the GPT root partition type.
	Arch string `yaml:"arch,omitempty" json:"arch,omitempty"`
	// SourceDateEpoch is the time, in seconds since 1970, written into every
	// timestamp of the image (SOURCE_DATE_EPOCH). Zero means 0 (1970).
	SourceDateEpoch int64 `yaml:"source_date_epoch,omitempty" json:"source_date_epoch,omitempty"`
	// Seed is the string every GUID and UUID of the image derives from.
	// Empty means the image name.
	Seed string `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Layout is the partition layout.
	Layout Layout `yaml:"layout,omitempty" json:"layout,omitempty"`
	// KernelCmdline is the kernel command line written into the boot loader
	// entry on the ESP (when a kernel is present) and recorded in the
	// manifest. Empty means "root=PARTUUID=<root partition> rw console=ttyS0".
	KernelCmdline string `yaml:"kernel_cmdline,omitempty" json:"kernel_cmdline,omitempty"`
	// Outputs selects the artifacts written beside the raw disk.
	Outputs Outputs `yaml:"outputs,omitempty" json:"outputs,omitempty"`
	// Elements names the elements to apply, in addition to their
	// dependencies. They are looked up in the element set given to Build.
	Elements []string `yaml:"elements,omitempty" json:"elements,omitempty"`
	// StatePaths are extra paths (relative to the root, globs allowed)
	// removed from the root as persistent state, on top of the built-in list.
	StatePaths []string `yaml:"state_paths,omitempty" json:"state_paths,omitempty"`
	// KeepState disables the built-in exclusion of configuration and state
	// (machine-id, SSH host keys, logs, caches, apt lists, temp files).
	KeepState bool `yaml:"keep_state,omitempty" json:"keep_state,omitempty"`
}

// Layout is the disk layout: a GPT disk with an EFI system partition first,
// the root filesystem second and the extra partitions after it, in order,
// every partition aligned to Align.
type Layout struct {
	// DiskSize is the size of the whole disk. Zero means 1 GiB.
	DiskSize Size `yaml:"disk_size,omitempty" json:"disk_size,omitempty"`
	// ESPSize is the size of the EFI system partition (FAT32). Zero means
	// 128 MiB; it must be at least 40 MiB (FAT32 needs 65525 clusters).
	ESPSize Size `yaml:"esp_size,omitempty" json:"esp_size,omitempty"`
	// RootFS is the root filesystem type. Zero means FSExt4.
	RootFS FSType `yaml:"root_fs,omitempty" json:"root_fs,omitempty"`
	// RootSize is the root partition size. Zero means whatever the disk has
	// left after the ESP and the extra partitions.
	RootSize Size `yaml:"root_size,omitempty" json:"root_size,omitempty"`
	// Partitions are extra partitions after the root, such as a
	// persistent-state partition that redeploys keep.
	Partitions []Partition `yaml:"partitions,omitempty" json:"partitions,omitempty"`
	// Align is the partition alignment. Zero means 1 MiB.
	Align Size `yaml:"align,omitempty" json:"align,omitempty"`
}

// Partition is an extra partition.
type Partition struct {
	// Name is the GPT partition name, e.g. "state". Required and unique.
	Name string `yaml:"name" json:"name"`
	// Size is the partition size. Required.
	Size Size `yaml:"size" json:"size"`
	// Type is the GPT type GUID, or "linux" (default, Linux filesystem
	// data), "home", "srv", "var", "swap".
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	// Filesystem is "ext4" to format the partition empty, or "" to leave
	// it unformatted.
	Filesystem string `yaml:"filesystem,omitempty" json:"filesystem,omitempty"`
	// Keep marks a partition a redeploy must preserve (recorded in the
	// manifest for the provisioner).
	Keep bool `yaml:"keep,omitempty" json:"keep,omitempty"`
}

// Outputs selects the artifacts. The raw disk is always written.
type Outputs struct {
	// Qcow2 also writes the disk as qcow2.
	Qcow2 bool `yaml:"qcow2,omitempty" json:"qcow2,omitempty"`
	// Tar also writes a deterministic tar archive of the root filesystem.
	Tar bool `yaml:"tar,omitempty" json:"tar,omitempty"`
}

// FSType is a root filesystem type.
type FSType string

// Root filesystem types.
const (
	// FSExt4 is ext4 written by mkfs.ext4 -d from e2fsprogs (the default).
	FSExt4 FSType = "ext4"
	// FSSquashfs is squashfs written by mksquashfs (read-only root).
	FSSquashfs FSType = "squashfs"
	// FSExt4Go is ext4 written by go-diskfs in pure Go (slow fallback, no
	// hard links, device nodes or xattrs, not reproducible).
	FSExt4Go FSType = "ext4-go"
)

// Size is a byte count that reads from YAML/JSON as a number of bytes or a
// string with a binary suffix: "512MiB", "1GiB", "64M" (M and MiB are both
// powers of two).
type Size int64

// String formats the size with the largest exact binary unit.
func (s Size) String() string {
	for _, u := range []struct {
		n string
		v int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if s != 0 && int64(s)%u.v == 0 {
			return strconv.FormatInt(int64(s)/u.v, 10) + u.n
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// ParseSize parses "1GiB", "512M", "4096" and the like.
func ParseSize(str string) (Size, error) {
	t := strings.TrimSpace(str)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		v   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.v
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || (mult > 1 && n > (1<<62)/mult) {
		return 0, fmt.Errorf("invalid size %q (want bytes or a number with KiB/MiB/GiB/TiB)", str)
	}
	return Size(n * mult), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalJSON accepts a number of bytes or a size string.
func (s *Size) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		return s.UnmarshalText([]byte(str))
	}
	return s.UnmarshalText(b)
}

// SpecError is a problem with one field of a spec or element file.
type SpecError struct {
	File  string // file name, "" when not loaded from a file
	Line  int    // 1-based line, 0 when unknown
	Field string // dotted path such as "layout.esp_size" or "partitions[1].name"
	Err   error
}

// Error implements error.
func (e *SpecError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error, for errors.Is and errors.As.
func (e *SpecError) Unwrap() error { return e.Err }

// ErrInvalidSpec is wrapped by every error about a spec's or an element's
// content.
var ErrInvalidSpec = errors.New("invalid spec")

// LoadSpec reads a spec from a YAML or JSON file.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image: load spec: %w", err)
	}
	s, err := ParseSpec(b)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			se.File = path
		}
		return nil, err
	}
	return s, nil
}

// ParseSpec parses a spec from YAML or JSON (JSON is read as YAML) and
// validates it. Unknown keys and wrongly typed values are errors naming
// the field.
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	if err := decodeStrict(b, &s); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeStrict decodes YAML into v, field by field, so that an error names
// the dotted path of the field at fault and its line.
func decodeStrict(b []byte, v any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return &SpecError{Err: fmt.Errorf("%w: %w", ErrInvalidSpec, err)}
	}
	if len(bytes.TrimSpace(b)) == 0 || len(doc.Content) == 0 {
		return &SpecError{Err: fmt.Errorf("%w: empty document", ErrInvalidSpec)}
	}
	return decodeNode("", doc.Content[0], reflect.ValueOf(v).Elem())
}

func decodeNode(path string, n *yaml.Node, v reflect.Value) error {
	fail := func(err error) error {
		return &SpecError{Line: n.Line, Field: path, Err: fmt.Errorf("%w: %w", ErrInvalidSpec, err)}
	}
	if n.Kind == yaml.AliasNode {
		return fail(errors.New("aliases are not supported"))
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if _, ok := v.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		if n.Kind != yaml.ScalarNode {
			return fail(fmt.Errorf("want a scalar, got a %s", kindName(n.Kind)))
		}
		if err := v.Addr().Interface().(interface{ UnmarshalText([]byte) error }).UnmarshalText([]byte(n.Value)); err != nil {
			return fail(err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fail(fmt.Errorf("want a mapping, got a %s", kindName(n.Kind)))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, n.Content[i+1]
			sub := key
			if path != "" {
				sub = path + "." + key
			}
			if seen[key] {
				return &SpecError{Line: n.Content[i].Line, Field: sub, Err: fmt.Errorf("%w: duplicate key", ErrInvalidSpec)}
			}
			seen[key] = true
			f, ok := fieldByTag(v, key)
			if !ok {
				return &SpecError{Line: n.Content[i].Line, Field: sub, Err: fmt.Errorf("%w: unknown field", ErrInvalidSpec)}
			}
			if err := decodeNode(sub, val, f); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fail(fmt.Errorf("want a list, got a %s", kindName(n.Kind)))
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := decodeNode(fmt.Sprintf("%s[%d]", path, i), c, out.Index(i)); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fail(fmt.Errorf("want a mapping, got a %s", kindName(n.Kind)))
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := decodeNode(path+"."+key, n.Content[i+1], ev); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
		return nil
	default:
		if n.Kind != yaml.ScalarNode {
			return fail(fmt.Errorf("want a scalar, got a %s", kindName(n.Kind)))
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) && len(te.Errors) > 0 {
				err = errors.New(strings.TrimPrefix(te.Errors[0], fmt.Sprintf("line %d: ", n.Line)))
			}
			return fail(err)
		}
		return nil
	}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

func fieldByTag(v reflect.Value, key string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if tag == key && t.Field(i).IsExported() {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func invalid(field, format string, args ...any) error {
	return &SpecError{Field: field, Err: fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, args...))}
}

// partition type aliases accepted in Partition.Type.
var partTypeAliases = map[string]string{
	"linux": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
	"home":  "933AC7E1-2EB4-4F13-B844-0E14E2AEF915",
	"srv":   "3B8F8425-20E0-4F3B-907F-1A25A76F98E8",
	"var":   "4D21B016-B534-45C2-A9FB-5C16E091FD2D",
	"swap":  "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F",
}

// Validate checks the spec and returns a *SpecError naming the first field
// at fault.
func (s *Spec) Validate() error {
	if s.Name == "" {
		return invalid("name", "required")
	}
	if strings.ContainsAny(s.Name, "/\\:@ \t\n") {
		return invalid("name", "%q must not contain '/', '\\', ':', '@' or spaces", s.Name)
	}
	switch s.Arch {
	case "", "x86_64", "aarch64":
	default:
		return invalid("arch", "%q is not supported (x86_64, aarch64)", s.Arch)
	}
	if s.SourceDateEpoch < 0 || s.SourceDateEpoch > 1<<32-1 {
		return invalid("source_date_epoch", "%d is out of range", s.SourceDateEpoch)
	}
	l := s.Layout
	for _, f := range []struct {
		name string
		v    Size
	}{{"layout.disk_size", l.DiskSize}, {"layout.esp_size", l.ESPSize}, {"layout.root_size", l.RootSize}, {"layout.align", l.Align}} {
		if f.v < 0 {
			return invalid(f.name, "negative size")
		}
	}
	if l.Align != 0 && (l.Align%512 != 0 || l.Align&(l.Align-1) != 0) {
		return invalid("layout.align", "%s must be a power of two multiple of 512", l.Align)
	}
	if l.ESPSize != 0 && l.ESPSize < minESPSize {
		return invalid("layout.esp_size", "%s is below the FAT32 minimum of %s", l.ESPSize, Size(minESPSize))
	}
	if l.ESPSize > 2<<30 {
		return invalid("layout.esp_size", "%s is larger than 2GiB", l.ESPSize)
	}
	switch l.RootFS {
	case "", FSExt4, FSSquashfs, FSExt4Go:
	default:
		return invalid("layout.root_fs", "%q is not one of ext4, squashfs, ext4-go", l.RootFS)
	}
	names := map[string]bool{"ESP": true, "root": true}
	for i, p := range l.Partitions {
		f := fmt.Sprintf("layout.partitions[%d]", i)
		if p.Name == "" {
			return invalid(f+".name", "required")
		}
		if len(p.Name) > 36 {
			return invalid(f+".name", "%q is longer than 36 characters", p.Name)
		}
		if names[p.Name] {
			return invalid(f+".name", "%q is used twice", p.Name)
		}
		names[p.Name] = true
		if p.Size <= 0 {
			return invalid(f+".size", "required")
		}
		if _, err := partTypeGUID(p.Type); err != nil {
			return invalid(f+".type", "%v", err)
		}
		if p.Filesystem != "" && p.Filesystem != "ext4" {
			return invalid(f+".filesystem", "%q is not supported (ext4 or empty)", p.Filesystem)
		}
	}
	for i, e := range s.Elements {
		if e == "" {
			return invalid(fmt.Sprintf("elements[%d]", i), "empty element name")
		}
	}
	for i, p := range s.StatePaths {
		if p == "" || strings.Contains(p, "..") {
			return invalid(fmt.Sprintf("state_paths[%d]", i), "%q must be a path inside the root", p)
		}
	}
	if _, err := s.plan(); err != nil {
		return err
	}
	return nil
}

func partTypeGUID(t string) (string, error) {
	if t == "" {
		return partTypeAliases["linux"], nil
	}
	if g, ok := partTypeAliases[strings.ToLower(t)]; ok {
		return g, nil
	}
	if isGUID(t) {
		return strings.ToUpper(t), nil
	}
	return "", fmt.Errorf("%q is neither a GUID nor one of linux, home, srv, var, swap", t)
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// normalized returns a copy of the spec with every default applied.
func (s *Spec) normalized() Spec {
	n := *s
	if n.Arch == "" {
		n.Arch = "x86_64"
	}
	if n.Seed == "" {
		n.Seed = n.Name
	}
	if n.Layout.DiskSize == 0 {
		n.Layout.DiskSize = 1 << 30
	}
	if n.Layout.ESPSize == 0 {
		n.Layout.ESPSize = 128 * MiB
	}
	if n.Layout.RootFS == "" {
		n.Layout.RootFS = FSExt4
	}
	if n.Layout.Align == 0 {
		n.Layout.Align = MiB
	}
	n.Layout.Partitions = append([]Partition(nil), s.Layout.Partitions...)
	n.Elements = append([]string(nil), s.Elements...)
	n.StatePaths = append([]string(nil), s.StatePaths...)
	return n
}

// deriveUUID returns a version-4-shaped UUID derived from the seed and a
// purpose, so every identifier of an image is a function of its spec.
func deriveUUID(seed, purpose string) [16]byte {
	h := sha256.Sum256([]byte("tripleo-image\x00" + seed + "\x00" + purpose))
	var u [16]byte
	copy(u[:], h[:16])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

func uuidString(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
