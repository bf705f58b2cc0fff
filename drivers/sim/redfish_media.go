package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
)

// DefaultMaxMediaSize is the largest virtual media image the Redfish
// endpoint fetches unless Options.MaxMediaSize says otherwise.
const DefaultMaxMediaSize = 1 << 30

// MediaStatus is the state of a machine's virtual CD.
type MediaStatus struct {
	// Image is the URL of the inserted image, "" when none.
	Image string
	// Inserted reports whether an image is attached.
	Inserted bool
	// Size is the number of bytes fetched from Image.
	Size int64
	// SHA256 is the hex SHA-256 digest of the fetched bytes.
	SHA256 string
	// Path is the local file holding the fetched image.
	Path string
}

// Media returns the virtual media state.
func (m *Machine) Media() MediaStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.media
}

// InsertMedia fetches the image at rawURL (http or https), as a BMC's
// virtual media does, keeps it beside the machine's disk and attaches it
// as the virtual CD. A fetch that fails, or an image larger than max
// bytes (max <= 0 means DefaultMaxMediaSize), attaches nothing.
func (m *Machine) InsertMedia(ctx context.Context, rawURL string, max int64) error {
	if max <= 0 {
		max = DefaultMaxMediaSize
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("sim: machine %s: virtual media image %q: want an http or https URL", m.name, rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fmt.Errorf("sim: machine %s: virtual media: %w", m.name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sim: machine %s: virtual media fetch: %w", m.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sim: machine %s: virtual media fetch %s: HTTP %s", m.name, u.Redacted(), resp.Status)
	}
	dst := filepath.Join(m.dir, m.name+"-vmedia.img")
	tmp, err := os.CreateTemp(m.dir, "."+m.name+"-vmedia-*")
	if err != nil {
		return fmt.Errorf("sim: machine %s: virtual media: %w", m.name, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, max+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sim: machine %s: virtual media fetch %s: %w", m.name, u.Redacted(), err)
	}
	if n > max {
		return fmt.Errorf("sim: machine %s: virtual media image %s is larger than %d bytes", m.name, u.Redacted(), max)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("sim: machine %s: virtual media: %w", m.name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.media = MediaStatus{Image: rawURL, Inserted: true, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Path: dst}
	m.calls = append(m.calls, "media insert "+rawURL)
	m.notifyLocked()
	return nil
}

// EjectMedia detaches the virtual CD and removes the fetched image. It is
// harmless when nothing is inserted.
func (m *Machine) EjectMedia() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.media.Inserted {
		return nil
	}
	path := m.media.Path
	m.media = MediaStatus{}
	m.calls = append(m.calls, "media eject")
	m.notifyLocked()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sim: machine %s: virtual media: %w", m.name, err)
	}
	return nil
}
