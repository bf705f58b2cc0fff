package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/internal/peertest"
)

// The README's main command: the whole quickstart flow as a test, on the
// default 8 machines.
func TestRun(t *testing.T) {
	peertest.Look(t, "mkfs.ext4")
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"-json", "-dir", t.TempDir()}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var s Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, out.String())
	}
	if len(s.Nodes) != 8 || len(s.Images) != 2 || len(s.Checks) != 4 {
		t.Fatalf("%d nodes, %d images, %d checks; want 8, 2, 4", len(s.Nodes), len(s.Images), len(s.Checks))
	}
	v1, v2 := s.Images[0].Digest, s.Images[1].Digest
	want := map[string]StackSummary{
		"undercloud": {Name: "undercloud", State: "CREATE_COMPLETE", Servers: 2, Image: v1, History: []string{"deploy:" + v1}},
		"overcloud": {Name: "overcloud", State: "UPDATE_COMPLETE", Servers: 4, Owner: "undercloud", Image: v1,
			History: []string{"deploy:" + v1, "update:" + v2, "rollback:" + v1}},
	}
	for _, st := range s.Stacks {
		if !reflect.DeepEqual(want[st.Name], st) {
			t.Errorf("stack %s:\n got %+v\nwant %+v", st.Name, st, want[st.Name])
		}
		delete(want, st.Name)
	}
	if len(want) != 0 {
		t.Errorf("stacks missing from the summary: %v", want)
	}
	servers := map[string]string{}
	roles := map[string]int{}
	bmcs := map[string]int{}
	for _, n := range s.Nodes {
		bmcs[n.BMC]++
		if n.Server == "" {
			continue
		}
		if n.State != "active" || n.Power != "on" || n.Image != v1 {
			t.Errorf("%s (%s): %s, power %s, image %s", n.Name, n.Server, n.State, n.Power, n.Image)
		}
		if n.Stack == "overcloud" && n.Signalled == 0 {
			t.Errorf("%s (%s): no deployment signalled", n.Name, n.Server)
		}
		if other, dup := servers[n.Server]; dup {
			t.Errorf("server %s on %s and %s", n.Server, other, n.Name)
		}
		servers[n.Server] = n.Name
		// Each server landed on a node of its role's profile.
		role := map[string]string{"undercloud": "undercloud", "overcloud-controller": "control", "overcloud-novacompute": "compute"}
		prefix := n.Server[:strings.LastIndex(n.Server, "-")]
		if prefix == "undercloud-control" {
			prefix = "undercloud"
		}
		if role[prefix] != n.Profile {
			t.Errorf("%s (profile %s) hosts %s", n.Name, n.Profile, n.Server)
		}
		roles[n.Profile]++
	}
	// Predictable placement: each server on the node tagged for it; the
	// dead compute's (node-5) server, compute 2, on the first spare, which
	// took its tag.
	placed := []string{"undercloud-control-0", "undercloud-control-1", "overcloud-controller-0",
		"overcloud-novacompute-0", "overcloud-novacompute-1", "", "overcloud-novacompute-2", ""}
	for i, n := range s.Nodes {
		if n.Server != placed[i] {
			t.Errorf("%s hosts %q, want %q", n.Name, n.Server, placed[i])
		}
	}
	if n := s.Nodes[5]; n.State != "error" || n.Maintenance != "BMC unreachable" {
		t.Errorf("dead %s: %s, maintenance %q", n.Name, n.State, n.Maintenance)
	}
	if n := s.Nodes[7]; n.State != "available" || n.Power != "off" {
		t.Errorf("spare %s: %s, power %s", n.Name, n.State, n.Power)
	}
	if r := s.Recovery; r == nil || r.Node != "node-5" || r.Resource != "Compute/2" || r.Replacement != "Compute/2" || r.NewNode != "node-6" {
		t.Errorf("recovery: %+v", r)
	}
	// 15 servers were deployed (6, then 4 updated, 4 rolled back, 1
	// recovered): each booted from a root extracted from its new disk.
	if b := s.Boots; b.Failures != 0 || b.Extractions != 15 || b.Boots < b.Extractions {
		t.Errorf("boots: %+v", b)
	}
	if roles["undercloud"] != 2 || roles["control"] != 1 || roles["compute"] != 3 {
		t.Errorf("servers per profile: %v, want 2 undercloud, 1 control, 3 compute", roles)
	}
	if bmcs["ipmi"] == 0 || bmcs["redfish+http"] == 0 {
		t.Errorf("BMC protocols: %v, want both IPMI and Redfish", bmcs)
	}
	for _, want := range []string{"stack overcloud: overcloud CREATE_COMPLETE", "agent signalled deployment", "BMC unreachable"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestRunText(t *testing.T) {
	peertest.Look(t, "mkfs.ext4")
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"-nodes", "5"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, want := range []string{"NODE ", "stack undercloud: CREATE_COMPLETE, 2 servers", "stack overcloud: UPDATE_COMPLETE, 2 servers, tenant of undercloud", "recovered: node-3 (BMC unreachable) → Compute/0 on node-4", "total"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunTooFewNodes(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"-nodes", "4"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "-nodes 4") {
		t.Errorf("run -nodes 4 = %v, want an error naming the flag", err)
	}
}
