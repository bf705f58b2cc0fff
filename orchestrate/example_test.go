package orchestrate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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
