package orchestrate

import (
	"strings"
	"testing"
)

const snapTemplate = `heat_template_version: rocky
parameters:
  image: {type: string, default: img-1}
resources:
  server:
    type: Sim::Server
    deletion_policy: Snapshot
    properties: {image: {get_param: image}}
`

func TestSnapshotDeletionPolicy(t *testing.T) {
	h := newHarness(t)
	e := h.open(nil)
	ctx := t.Context()
	bad := snapTemplate + "  v:\n    type: OS::Heat::Value\n    deletion_policy: Snapshot\n    properties: {value: x}\n"
	err := e.Create(ctx, "s", &Input{TemplateFile: "s.yaml", Template: bad})
	if err == nil || !strings.Contains(err.Error(), `s.yaml:9: resources.v.deletion_policy: invalid: "Snapshot" deletion policy not supported (type OS::Heat::Value)`) {
		t.Fatalf("Snapshot on a type that cannot: %v", err)
	}
	if err := e.Create(ctx, "s", &Input{TemplateFile: "s.yaml", Template: snapTemplate}); err != nil {
		t.Fatal(err)
	}
	// A replacement snapshots the old server, a delete the last one.
	if err := e.Update(ctx, &Input{Params: map[string]string{"image": "img-2"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	snaps, _ := h.cloud.Snapshots()
	calls, _ := h.cloud.CreateCalls()
	if len(snaps) != 2 || len(calls) != 2 || h.cloud.Servers() != 0 {
		t.Errorf("snapshots %v, creates %v, %d servers left", snaps, calls, h.cloud.Servers())
	}
	for k := range calls {
		if snaps[k] != 1 {
			t.Errorf("server %s snapshotted %d times", k, snaps[k])
		}
	}
}
