package orchestrate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/tripleo-go/tripleo/orchestrate"
)

func Example() {
	dir, _ := os.MkdirTemp("", "stack")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	e, err := orchestrate.Open(ctx, filepath.Join(dir, "demo.state"), &orchestrate.Options{
		Events: func(ev orchestrate.Event) {
			if ev.ResourceType != "OS::Heat::Stack" && ev.Status != orchestrate.StatusInProgress {
				fmt.Println(ev.ResourceName, ev.State())
			}
		},
		Parallelism: 1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	err = e.Create(ctx, "demo", &orchestrate.Input{TemplateFile: "demo.yaml", Template: `
heat_template_version: wallaby
parameters:
  greeting: {type: string, default: hello}
resources:
  value:
    type: OS::Heat::Value
    properties: {value: {str_replace: {template: "$g world", params: {$g: {get_param: greeting}}}}}
  echo:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [value, value]}}
outputs:
  message: {value: {get_attr: [echo, output]}}
`})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, _ := e.Outputs(ctx)
	info, _ := e.Show(ctx)
	fmt.Println(info.State(), out["message"])
	// Output:
	// value CREATE_COMPLETE
	// echo CREATE_COMPLETE
	// CREATE_COMPLETE hello world
}

// A resource_registry hook pauses a resource until it is cleared, as
// Heat's breakpoints do (`openstack stack hook clear`).
func ExampleEmbedded_ClearHook() {
	dir, _ := os.MkdirTemp("", "stack")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	paused := make(chan string, 1)
	e, err := orchestrate.Open(ctx, filepath.Join(dir, "demo.state"), &orchestrate.Options{
		Events: func(ev orchestrate.Event) {
			if ev.ResourceType != "OS::Heat::Stack" {
				fmt.Println(ev.ResourceName, ev.State(), ev.StatusReason)
			}
			if strings.Contains(ev.StatusReason, "paused until") {
				paused <- ev.ResourceName
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	done := make(chan error)
	go func() {
		done <- e.Create(ctx, "demo", &orchestrate.Input{TemplateFile: "demo.yaml",
			Template:     "heat_template_version: wallaby\nresources:\n  gate: {type: OS::Heat::None}\n",
			Environments: []orchestrate.File{{Name: "env.yaml", Data: "resource_registry:\n  resources:\n    gate: {hooks: pre-create}\n"}}})
	}()
	name := <-paused
	fmt.Println("paused:", e.PausedAt()[name])
	if err := e.ClearHook(ctx, name, "pre-create"); err != nil {
		fmt.Println(err)
	}
	fmt.Println(<-done)
	// Output:
	// gate INIT_COMPLETE CREATE paused until Hook pre-create is cleared
	// paused: pre-create
	// gate INIT_COMPLETE Hook pre-create is cleared
	// gate CREATE_IN_PROGRESS state changed
	// gate CREATE_COMPLETE state changed
	// <nil>
}

// Events lists the stack's past events from the history kept beside its
// state file, here after reopening it.
func ExampleEmbedded_Events() {
	dir, _ := os.MkdirTemp("", "stack")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	path := filepath.Join(dir, "demo.state")
	e, err := orchestrate.Open(ctx, path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = e.Create(ctx, "demo", &orchestrate.Input{TemplateFile: "demo.yaml",
		Template: "heat_template_version: wallaby\nresources:\n  a: {type: OS::Heat::None}\n"})
	e.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err = orchestrate.Open(ctx, path, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	evs, _ := e.Events(ctx, &orchestrate.EventQuery{Limit: 3})
	for _, ev := range evs {
		fmt.Println(ev.ID, ev.ResourceName, ev.State())
	}
	// Output:
	// 1 demo CREATE_IN_PROGRESS
	// 2 a CREATE_IN_PROGRESS
	// 3 a CREATE_COMPLETE
}

// A group member marked unhealthy (Heat's `openstack stack resource mark
// unhealthy`) is replaced by the next update, even with the same input:
// the new group/1 is created, then the old one (group/1@1 once retired)
// deleted; the other members are left alone.
func ExampleEmbedded_MarkUnhealthy() {
	dir, _ := os.MkdirTemp("", "stack")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	var marked atomic.Bool
	e, err := orchestrate.Open(ctx, filepath.Join(dir, "demo.state"), &orchestrate.Options{
		Events: func(ev orchestrate.Event) {
			if marked.Load() && strings.HasPrefix(ev.ResourceName, "group/") {
				fmt.Println(ev.ResourceName, ev.State(), ev.StatusReason)
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	in := &orchestrate.Input{TemplateFile: "demo.yaml", Template: `
heat_template_version: wallaby
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: 3
      resource_def: {type: OS::Heat::TestResource}
`}
	if err := e.Create(ctx, "demo", in); err != nil {
		fmt.Println(err)
		return
	}
	marked.Store(true)
	if err := e.MarkUnhealthy(ctx, "group/1", "disk failed"); err != nil {
		fmt.Println(err)
		return
	}
	if err := e.Update(ctx, in); err != nil {
		fmt.Println(err)
		return
	}
	// Output:
	// group/1 CHECK_FAILED disk failed
	// group/1 CREATE_IN_PROGRESS state changed
	// group/1 CREATE_COMPLETE state changed
	// group/1@1 DELETE_IN_PROGRESS state changed
	// group/1@1 DELETE_COMPLETE state changed
}
