package tripleo_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"testing"

	"github.com/tripleo-go/tripleo"
	"github.com/tripleo-go/tripleo/drivers/sim"
	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/internal/peertest"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

// A server naming an image (by tag or by digest) gets it written onto its
// node's disk through the Provisioner's deploy path; an unknown image
// fails before any node is claimed.
func TestServerDeploysImage(t *testing.T) {
	peertest.Look(t, "mkfs.ext4")
	ctx := t.Context()
	var dc *sim.Datacenter
	c, dc, _ := newCloud(t, 3, &tripleo.Options{
		ImageWriter: func(path string) provision.DeployStep { return dc.DeployStep(path) },
	})
	spec := &image.Spec{Name: "overcloud", SourceDateEpoch: 1700000000,
		Layout: image.Layout{DiskSize: 56 * image.MiB, ESPSize: 40 * image.MiB}}
	a, err := c.Images().Build(ctx, spec, image.NewTree(image.Entry{Path: "etc/hostname", Mode: 0o644, Data: []byte("oc\n")}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Images().Tag("overcloud:latest", a.Digest); err != nil {
		t.Fatal(err)
	}
	size, err := os.Stat(a.Path(a.Raw))
	if err != nil {
		t.Fatal(err)
	}
	rt := c.Servers()
	create := func(key, ref string) (*orchestrate.State, error) {
		props, err := rt.Schema().Validate(map[string]any{"flavor": "compute", "image": ref})
		if err != nil {
			t.Fatal(err)
		}
		return rt.Create(ctx, &orchestrate.Request{Key: key, Stack: "s", Name: key, Type: tripleo.TypeServer, Properties: props})
	}
	if _, err := create("missing", "overcloud:nope"); err == nil {
		t.Error("a server with an unknown image was created")
	}
	for i, ref := range []string{"overcloud:latest", a.Digest} {
		st, err := create("server-"+ref, ref)
		if err != nil {
			t.Fatalf("image %s: %v", ref, err)
		}
		m := dc.MachineFor(mustNode(t, c, st.Attributes["node"]).BMCAddress)
		f, err := os.Open(m.DiskPath())
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.CopyN(h, f, size.Size())
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != a.Digest {
			t.Errorf("server %d (%s): disk holds %s, want %s", i, ref, got, a.Digest)
		}
	}
	checkClaims(t, c, dc, 2)
}

func mustNode(t testing.TB, c *tripleo.Cloud, name any) *provision.Node {
	t.Helper()
	s, _ := name.(string)
	n, err := c.Inventory().Get(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
