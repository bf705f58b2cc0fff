package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// Manifest records what an image is made of and how to check it. It is
// written as manifest.json beside the outputs, deterministically (same
// inputs, same bytes).
type Manifest struct {
	Name            string `json:"name"`
	Version         string `json:"version,omitempty"`
	Arch            string `json:"arch"`
	SourceDateEpoch int64  `json:"source_date_epoch"`
	// Digest is "sha256:<hex>" of the raw disk: the image's identity.
	Digest        string            `json:"digest"`
	Spec          Spec              `json:"spec"`
	Source        SourceInfo        `json:"source"`
	Elements      []ElementRecord   `json:"elements,omitempty"`
	Packages      []string          `json:"packages,omitempty"`
	Dpkg          []DpkgPackage     `json:"dpkg,omitempty"`
	Files         int               `json:"files"`
	Bytes         int64             `json:"bytes"`
	Excluded      []string          `json:"excluded,omitempty"`
	Disk          DiskInfo          `json:"disk"`
	KernelCmdline string            `json:"kernel_cmdline"`
	RootFS        FSInfo            `json:"root_fs"`
	Tools         map[string]string `json:"tools,omitempty"`
	Outputs       []OutputInfo      `json:"outputs"`
}

// ElementRecord is an applied element, in application order.
type ElementRecord struct {
	Name     string   `json:"name"`
	Provides []string `json:"provides,omitempty"`
	Packages []string `json:"packages,omitempty"`
	Hooks    []string `json:"hooks,omitempty"`
}

// DpkgPackage is an installed Debian package found in var/lib/dpkg/status.
type DpkgPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch,omitempty"`
}

// DiskInfo is the partition table.
type DiskInfo struct {
	Size       int64           `json:"size"`
	GUID       string          `json:"guid"`
	Partitions []PartitionInfo `json:"partitions"`
}

// OutputInfo is one written file.
type OutputInfo struct {
	File   string `json:"file"`
	Format string `json:"format"` // raw, qcow2, tar
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Marshal renders the manifest as indented JSON ending in a newline.
func (m *Manifest) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ReadManifest reads a manifest.json.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image: read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("image: read manifest %s: %w", path, err)
	}
	return &m, nil
}

// countTree returns the number of entries (the root excluded) and the
// bytes of regular files, hard links counted once.
func countTree(dir string) (int, int64, error) {
	files, bytes := 0, int64(0)
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		files++
		if de.Type().IsRegular() {
			fi, err := de.Info()
			if err != nil {
				return err
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				if seen[st.Ino] {
					return nil
				}
				seen[st.Ino] = true
			}
			bytes += fi.Size()
		}
		return nil
	})
	return files, bytes, err
}

// readDpkgStatus lists the installed packages of a Debian root, sorted.
func readDpkgStatus(root string) ([]DpkgPackage, error) {
	f, err := os.Open(filepath.Join(root, "var", "lib", "dpkg", "status"))
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var out []DpkgPackage
	var cur DpkgPackage
	var installed bool
	flush := func() {
		if cur.Name != "" && installed {
			out = append(out, cur)
		}
		cur, installed = DpkgPackage{}, false
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(l, " ") {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Name = v
		case "Version":
			cur.Version = v
		case "Architecture":
			cur.Arch = v
		case "Status":
			installed = strings.HasSuffix(v, " installed")
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Arch < out[j].Arch
	})
	return out, nil
}
