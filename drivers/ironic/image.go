package ironic

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/tripleo-go/tripleo/provision"
)

// Image is what Ironic deploys: a disk image at a URL its agent fetches,
// with the checksum it verifies. Pass it to [Provisioner.Deploy] as a
// deploy step. It implements provision.DeployStep so that one call site
// serves both provisioners; the embedded one cannot run it (Run returns
// provision.ErrUnsupported).
type Image struct {
	// URL is an http(s):// or file:// URL of the image.
	URL string
	// Checksum is "algo:hex" (md5, sha256, sha512) or bare hex, whose
	// length then names the algorithm.
	Checksum string
	// RootGiB is the root partition size for partition images; zero for
	// whole-disk images.
	RootGiB int
	// ConfigDrive, when not nil, is passed with the deploy request (a
	// base64 gzipped ISO string, or a nodes.ConfigDrive).
	ConfigDrive any
}

// Name implements provision.DeployStep.
func (i Image) Name() string { return "ironic image " + i.URL }

// Run implements provision.DeployStep: only Ironic's agent deploys an
// Image, so Run fails with provision.ErrUnsupported.
func (i Image) Run(context.Context, *provision.Node, *provision.BMC) error {
	return fmt.Errorf("%w: an ironic.Image is deployed by Ironic, not by the embedded provisioner", provision.ErrUnsupported)
}

func (i Image) validate() error {
	u, err := url.Parse(i.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		return fmt.Errorf("%w: image field URL: %q (want http, https or file URL)", provision.ErrInvalidNode, i.URL)
	}
	algo, sum := i.checksum()
	want := map[string]int{"md5": 32, "sha256": 64, "sha512": 128}[algo]
	if _, err := hex.DecodeString(sum); err != nil || want == 0 || len(sum) != want {
		return fmt.Errorf("%w: image field Checksum: %q (want md5, sha256 or sha512 hex, optionally prefixed algo:)", provision.ErrInvalidNode, i.Checksum)
	}
	if i.RootGiB < 0 {
		return fmt.Errorf("%w: image field RootGiB: %d", provision.ErrInvalidNode, i.RootGiB)
	}
	return nil
}

// checksum splits Checksum into algorithm and lower-case hex.
func (i Image) checksum() (algo, sum string) {
	if a, s, ok := strings.Cut(i.Checksum, ":"); ok {
		return strings.ToLower(a), strings.ToLower(s)
	}
	sum = strings.ToLower(i.Checksum)
	switch len(sum) {
	case 32:
		return "md5", sum
	case 128:
		return "sha512", sum
	}
	return "sha256", sum
}
