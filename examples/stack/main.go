package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tmplPath := fs.String("template", "", "HOT template `T.yaml`")
	var envs, params list
	fs.Var(&envs, "e", "environment `file` (repeatable, merged in order)")
	fs.Var(&params, "P", "parameter `key=value` (repeatable)")
	statePath := fs.String("state", "", "stack state `FILE` (default: the template path with .state)")
	resource := fs.String("resource", "", "events: only the events of `RESOURCE`")
	marker := fs.String("marker", "", "events: only the events after the event with this `ID`")
	limit := fs.Int("limit", 0, "events: at most `N` events (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: stack -template T.yaml [-e env.yaml]... [-P key=value]... [-state FILE] create|update|delete|show|events")
	}
	cmd := fs.Arg(0)
	switch cmd {
	case "create", "update", "delete", "show", "events":
	default:
		return fmt.Errorf("unknown command %q (create, update, delete, show or events)", cmd)
	}
	if *tmplPath == "" && cmd != "delete" && cmd != "show" && cmd != "events" {
		return errors.New("-template is required")
	}
	state := *statePath
	if state == "" {
		if *tmplPath == "" {
			return errors.New("-template or -state is required")
		}
		state = strings.TrimSuffix(*tmplPath, filepath.Ext(*tmplPath)) + ".state"
	}

	cloud, err := orchestrate.NewSimCloud(state + ".cloud")
	if err != nil {
		return err
	}
	types := orchestrate.NewTypes()
	types.Register(orchestrate.TypeSimServer, cloud.Type())
	types.Register("OS::Nova::Server", cloud.Type())

	var mu sync.Mutex
	opts := &orchestrate.Options{
		Types: types,
		Events: func(ev orchestrate.Event) {
			mu.Lock()
			defer mu.Unlock()
			printEvent(stderr, ev)
		},
	}
	if *tmplPath != "" {
		opts.Loader = hot.FSLoader{FS: os.DirFS(filepath.Dir(*tmplPath))}
	}
	e, err := orchestrate.Open(ctx, state, opts)
	if err != nil {
		return err
	}
	defer e.Close()
	if resumed, rerr := e.Resumed(ctx); resumed {
		fmt.Fprintln(stderr, "resumed an interrupted operation")
		if rerr != nil {
			return rerr
		}
	}

	var in *orchestrate.Input
	if *tmplPath != "" {
		in, err = readInput(*tmplPath, envs, params)
		if err != nil {
			return err
		}
	}
	if cmd == "events" {
		// Past events: one line each on stderr, the list as JSON on stdout.
		evs, err := e.Events(ctx, &orchestrate.EventQuery{Resource: *resource, After: *marker, Limit: *limit})
		if err != nil {
			return err
		}
		for _, ev := range evs {
			printEvent(stderr, ev)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(evs)
	}
	switch cmd {
	case "create":
		name := strings.TrimSuffix(filepath.Base(*tmplPath), filepath.Ext(*tmplPath))
		err = e.Create(ctx, name, in)
	case "update":
		err = e.Update(ctx, in)
	case "delete":
		err = e.Delete(ctx)
	case "show":
		var info *orchestrate.StackInfo
		info, err = e.Show(ctx)
		if err == nil {
			fmt.Fprintf(stderr, "%s %s %s\n", info.Name, info.ID, info.State())
			for _, r := range info.Resources {
				fmt.Fprintf(stderr, "  %-30s %-28s %s\n", r.Name, r.Type, string(r.Action)+"_"+string(r.Status))
			}
		}
	}
	if err != nil {
		return err
	}
	outputs := map[string]any{}
	if cmd != "delete" {
		if outputs, err = e.Outputs(ctx); err != nil {
			return err
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(outputs)
}

// printEvent prints an event as `openstack stack event list` does.
func printEvent(w io.Writer, ev orchestrate.Event) {
	name := ev.StackName
	if ev.ResourceType != "OS::Heat::Stack" {
		name += "." + ev.ResourceName
	}
	fmt.Fprintf(w, "%s [%s]: %s  %s\n", ev.Time.Format("2006-01-02 15:04:05Z"), name, ev.State(), ev.StatusReason)
}

func readInput(tmplPath string, envs, params []string) (*orchestrate.Input, error) {
	b, err := os.ReadFile(tmplPath)
	if err != nil {
		return nil, err
	}
	in := &orchestrate.Input{TemplateFile: tmplPath, Template: string(b), Params: map[string]string{}}
	for _, p := range envs {
		eb, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		in.Environments = append(in.Environments, orchestrate.File{Name: p, Data: string(eb)})
	}
	for _, kv := range params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-P %q: want key=value", kv)
		}
		in.Params[k] = v
	}
	return in, nil
}
