package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The README's main command: the whole quickstart flow (so far) as a test.
func TestRun(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"-json", "-dir", t.TempDir()}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var s Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, out.String())
	}
	if len(s.Nodes) != 8 {
		t.Fatalf("%d nodes, want 8", len(s.Nodes))
	}
	want := map[string]string{"undercloud": "CREATE_COMPLETE", "overcloud": "CREATE_COMPLETE"}
	for _, st := range s.Stacks {
		if want[st.Name] != st.State {
			t.Errorf("stack %s: %s", st.Name, st.State)
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
			if n.State != "available" || n.Power != "off" {
				t.Errorf("spare %s: %s, power %s", n.Name, n.State, n.Power)
			}
			continue
		}
		if n.State != "active" || n.Power != "on" {
			t.Errorf("%s (%s): %s, power %s", n.Name, n.Server, n.State, n.Power)
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
	// Predictable placement: each server on the node tagged for it.
	placed := []string{"undercloud-control-0", "undercloud-control-1", "overcloud-controller-0",
		"overcloud-novacompute-0", "overcloud-novacompute-1", "overcloud-novacompute-2", "", ""}
	for i, n := range s.Nodes {
		if n.Server != placed[i] {
			t.Errorf("%s hosts %q, want %q", n.Name, n.Server, placed[i])
		}
	}
	if roles["undercloud"] != 2 || roles["control"] != 1 || roles["compute"] != 3 {
		t.Errorf("servers per profile: %v, want 2 undercloud, 1 control, 3 compute", roles)
	}
	if bmcs["ipmi"] == 0 || bmcs["redfish+http"] == 0 {
		t.Errorf("BMC protocols: %v, want both IPMI and Redfish", bmcs)
	}
	if !strings.Contains(errb.String(), "stack overcloud: overcloud CREATE_COMPLETE") {
		t.Errorf("progress lacks the overcloud's completion:\n%s", errb.String())
	}
}

func TestRunText(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"-nodes", "5"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	for _, want := range []string{"NODE ", "stack undercloud: CREATE_COMPLETE, 2 servers", "stack overcloud: CREATE_COMPLETE, 2 servers", "total"} {
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
