package refresh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tripleo-go/tripleo/config"
)

// Deployment is one entry of the metadata's deployments list, as Heat's
// SoftwareDeployment puts it there.
type Deployment struct {
	ID     string // "id"
	Name   string // "name"
	Group  string // "group" (default "Heat::Ungrouped")
	Inputs *config.Object
	// Raw is the whole entry.
	Raw *config.Object
}

// LogValue shows only the deployment's id, name and group: its inputs
// carry signal URLs with signatures and, for the Heat transport, a
// password.
func (d Deployment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", d.ID), slog.String("name", d.Name), slog.String("group", d.Group))
}

// Format prints the deployment as LogValue does, for every verb, so
// that inputs never reach a log line or an error through %v.
func (d Deployment) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "Deployment{id=%s name=%s group=%s inputs=[REDACTED]}", d.ID, d.Name, d.Group)
}

// Input returns the value of the input named name ("deploy_signal_id"...)
// as a string, and whether it is present.
func (d Deployment) Input(name string) (string, bool) {
	v, ok := d.Inputs.Get(name)
	if !ok || v == nil {
		return "", false
	}
	return config.PyStr(v), true
}

// Deployments returns the deployments listed under the keys (nil:
// DefaultDeploymentKeys) at the root of md. Entries that are not objects
// are skipped; inputs are read from the "inputs" list of {name, value}.
func Deployments(md *config.Object, keys []string) []Deployment {
	if keys == nil {
		keys = DefaultDeploymentKeys
	}
	var out []Deployment
	for _, key := range keys {
		v, _ := md.Get(key)
		list, _ := v.([]any)
		for _, item := range list {
			raw, ok := item.(*config.Object)
			if !ok {
				continue
			}
			d := Deployment{Raw: raw, Inputs: config.NewObject(), Group: "Heat::Ungrouped"}
			if s, ok := raw.Get("id"); ok && s != nil {
				d.ID = config.PyStr(s)
			}
			if s, ok := raw.Get("name"); ok && s != nil {
				d.Name = config.PyStr(s)
			}
			if s, ok := raw.Get("group"); ok && s != nil {
				d.Group = config.PyStr(s)
			}
			ins, _ := raw.Get("inputs")
			inList, _ := ins.([]any)
			for _, in := range inList {
				kv, ok := in.(*config.Object)
				if !ok {
					continue
				}
				n, _ := kv.Get("name")
				name, ok := n.(string)
				if !ok {
					continue
				}
				val, _ := kv.Get("value")
				d.Inputs.Set(name, val)
			}
			out = append(out, d)
		}
	}
	return out
}

// Signal is a deployment's result, as heat-config-notify sends it:
// deploy_status_code (0 is success), deploy_stdout, deploy_stderr, and
// any outputs.
type Signal struct {
	StatusCode int
	Stdout     string
	Stderr     string
	// Outputs are extra keys of the body (the deployment's outputs).
	Outputs *config.Object
}

// MaxSignalBytes is heat-config-notify's limit on a signal body: Heat
// refuses JSON bodies over 1 MiB.
const MaxSignalBytes = 950000

// Body returns the JSON body of s, at most max bytes (0: MaxSignalBytes)
// when that can be reached by trimming deploy_stdout and deploy_stderr
// from the left, each in proportion to its size, as heat-config-notify
// does (whose trimming crashes on Python 3).
func (s Signal) Body(max int) []byte {
	if max <= 0 {
		max = MaxSignalBytes
	}
	build := func(stdout, stderr string) []byte {
		o := config.NewObject()
		for _, k := range s.Outputs.Keys() {
			v, _ := s.Outputs.Get(k)
			o.Set(k, v)
		}
		o.Set("deploy_stdout", stdout)
		o.Set("deploy_stderr", stderr)
		o.Set("deploy_status_code", config.Int(strconv.Itoa(s.StatusCode)))
		return config.AppendJSON(nil, o)
	}
	stdout, stderr := s.Stdout, s.Stderr
	body := build(stdout, stderr)
	for range 8 { // escaping makes lengths approximate; a few rounds converge
		over := len(body) - max
		if over <= 0 || (stdout == "" && stderr == "") {
			return body
		}
		total := len(body)
		cut := func(v string) string {
			n := int(float64(len(v))/float64(total)*float64(over)) + 1
			n = min(n, len(v))
			for n < len(v) && !isRuneStart(v[n]) {
				n++
			}
			return v[n:]
		}
		stdout, stderr = cut(stdout), cut(stderr)
		body = build(stdout, stderr)
	}
	return body
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Signaler reports a deployment's result to the orchestrator. Signal
// returns an error matching ErrNoTransport when d has nothing this
// signaler can use (no deploy_signal_id for HTTPSignaler); the Heat
// resource-signal transport (deploy_auth_url) lives in drivers/heat.
type Signaler interface {
	Signal(ctx context.Context, d Deployment, s Signal) error
}

// ErrNoTransport: the deployment names no signal transport the Signaler
// handles.
var ErrNoTransport = errors.New("deployment has no signal transport")

// SignalError is a signal that could not be delivered.
type SignalError struct {
	Deployment string // the deployment's id or name
	URL        string // where it was sent (secrets in the query are not shown)
	Status     int    // the last HTTP status, 0 if none
	Err        error
}

// Error names the deployment and the (redacted) URL.
func (e *SignalError) Error() string {
	return fmt.Sprintf("signal deployment %s to %s: %v", e.Deployment, e.URL, e.Err)
}

// Unwrap returns the underlying error.
func (e *SignalError) Unwrap() error { return e.Err }

// HTTPSignalerOptions configure an HTTPSignaler.
type HTTPSignalerOptions struct {
	// Client is the HTTP client (nil: one with a 60s timeout).
	Client *http.Client
	// Retries after the first attempt on transport errors and 500, 502,
	// 503, 504 (zero: 10, as heat-config-notify; negative: none).
	Retries int
	// Backoff is the base of the exponential backoff between retries
	// (zero: 0.5s, then 1s, 2s, 4s...).
	Backoff time.Duration
	// MaxBody bounds the body (zero: MaxSignalBytes).
	MaxBody int
	// Logger receives progress. Nil discards.
	Logger *slog.Logger
}

// HTTPSignaler signals through the deployment's deploy_signal_id URL with
// an HTTP POST (or PUT when deploy_signal_verb is PUT, for a Swift temp
// URL), as heat-config-notify does, retrying on transport errors and 5xx.
// Unlike the original, a final non-2xx status is an error.
type HTTPSignaler struct {
	opts HTTPSignalerOptions
}

// NewHTTPSignaler returns an HTTP signaler.
func NewHTTPSignaler(opts *HTTPSignalerOptions) *HTTPSignaler {
	s := &HTTPSignaler{}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Client == nil {
		s.opts.Client = &http.Client{Timeout: time.Minute}
	}
	if s.opts.Retries == 0 {
		s.opts.Retries = 10
	}
	if s.opts.Backoff == 0 {
		s.opts.Backoff = 500 * time.Millisecond
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.DiscardHandler)
	}
	return s
}

// Signal sends s for d.
func (h *HTTPSignaler) Signal(ctx context.Context, d Deployment, s Signal) error {
	url, ok := d.Input("deploy_signal_id")
	if !ok || url == "" {
		return ErrNoTransport
	}
	verb := http.MethodPost
	if v, _ := d.Input("deploy_signal_verb"); v == http.MethodPut {
		verb = http.MethodPut
	}
	who := d.ID
	if who == "" {
		who = d.Name
	}
	return h.send(ctx, verb, url, s.Body(h.opts.MaxBody), who)
}

// send delivers body with retries; who names the deployment in errors.
func (h *HTTPSignaler) send(ctx context.Context, verb, url string, body []byte, who string) error {
	shown := redactURL(url)
	h.opts.Logger.Debug(fmt.Sprintf("Signaling to %s via %s", shown, verb), "deployment", who)
	var lastErr error
	status := 0
	for attempt := 0; attempt <= max(h.opts.Retries, 0); attempt++ {
		if attempt > 0 {
			d := h.opts.Backoff << (attempt - 1)
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return &SignalError{Deployment: who, URL: shown, Status: status, Err: context.Cause(ctx)}
			case <-t.C:
			}
		}
		req, err := http.NewRequestWithContext(ctx, verb, url, bytes.NewReader(body))
		if err != nil {
			return &SignalError{Deployment: who, URL: shown, Err: err}
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.opts.Client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return &SignalError{Deployment: who, URL: shown, Err: context.Cause(ctx)}
			}
			lastErr = err
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		status = resp.StatusCode
		switch {
		case status >= 200 && status < 300:
			h.opts.Logger.Info(fmt.Sprintf("Signaled deployment %s: %d", who, status), "deployment", who)
			return nil
		case status == 500 || status == 502 || status == 503 || status == 504:
			lastErr = fmt.Errorf("HTTP %d", status)
			continue
		default:
			return &SignalError{Deployment: who, URL: shown, Status: status, Err: fmt.Errorf("HTTP %d", status)}
		}
	}
	return &SignalError{Deployment: who, URL: shown, Status: status, Err: fmt.Errorf("giving up after %d attempts: %w", max(h.opts.Retries, 0)+1, lastErr)}
}

// redactURL hides the query (signal URLs carry signatures and temp-URL
// keys) for logs and errors.
func redactURL(u string) string {
	if i := bytes.IndexByte([]byte(u), '?'); i >= 0 {
		return u[:i] + "?[REDACTED]"
	}
	return u
}

// Completion is the older, deployment-less completion signal of TripleO's
// 99-refresh-completed script: when the metadata has an instance-id, a
// wait-condition handle (completion-handle, sent with PUT) and/or a signal
// URL (completion-signal, sent with POST) receive
// {"Status": "SUCCESS", "Reason": "Configuration Complete", "UniqueId":
// <instance-id>, "Data": "Finished os-refresh-config."} after every
// successful run.
type Completion struct {
	InstanceID string
	Handle     string // completion-handle
	SignalURL  string // completion-signal
}

// CompletionFrom reads a Completion from metadata; ok is false when there
// is no instance-id or nowhere to send it.
func CompletionFrom(md *config.Object) (c Completion, ok bool) {
	str := func(k string) string {
		v, _ := md.Get(k)
		if v == nil {
			return ""
		}
		return config.PyStr(v)
	}
	c = Completion{InstanceID: str("instance-id"), Handle: str("completion-handle"), SignalURL: str("completion-signal")}
	return c, c.InstanceID != "" && (c.Handle != "" || c.SignalURL != "")
}

// CompletionSignaler is an optional interface of a Signaler that can send
// a Completion.
type CompletionSignaler interface {
	SignalCompletion(ctx context.Context, c Completion) error
}

// SignalCompletion sends c as 99-refresh-completed does (PUT to the
// handle, POST to the signal URL), with the signaler's retries.
func (h *HTTPSignaler) SignalCompletion(ctx context.Context, c Completion) error {
	o := config.NewObject()
	o.Set("Status", "SUCCESS")
	o.Set("Reason", "Configuration Complete")
	o.Set("UniqueId", c.InstanceID)
	o.Set("Data", "Finished os-refresh-config.")
	body := config.AppendJSON(nil, o)
	var errs []error
	if c.Handle != "" {
		errs = append(errs, h.send(ctx, http.MethodPut, c.Handle, body, c.InstanceID))
	}
	if c.SignalURL != "" {
		errs = append(errs, h.send(ctx, http.MethodPost, c.SignalURL, body, c.InstanceID))
	}
	return errors.Join(errs...)
}

// ParseSignal reads a signal body as Heat does for a software deployment:
// a JSON object with deploy_status_code (an integer, or a string holding
// one, as TripleO's scripts send "0"; missing means 0), deploy_stdout and
// deploy_stderr (strings, missing means empty), every other key an
// output. It is the receiving side of Signal.Body, for an orchestrator
// that accepts our agents' signals.
func ParseSignal(body []byte) (Signal, error) {
	v, err := config.DecodeJSON(body)
	if err != nil {
		return Signal{}, fmt.Errorf("signal body: %w", err)
	}
	obj, ok := v.(*config.Object)
	if !ok {
		return Signal{}, errors.New("signal body: not a JSON object")
	}
	s := Signal{Outputs: config.NewObject()}
	for _, k := range obj.Keys() {
		val, _ := obj.Get(k)
		switch k {
		case "deploy_status_code":
			code, err := statusCode(val)
			if err != nil {
				return Signal{}, fmt.Errorf("signal body: deploy_status_code: %w", err)
			}
			s.StatusCode = code
		case "deploy_stdout", "deploy_stderr":
			str, ok := val.(string)
			if !ok && val != nil {
				return Signal{}, fmt.Errorf("signal body: %s is not a string", k)
			}
			if k == "deploy_stdout" {
				s.Stdout = str
			} else {
				s.Stderr = str
			}
		default:
			s.Outputs.Set(k, val)
		}
	}
	return s, nil
}

func statusCode(v any) (int, error) {
	var text string
	switch x := v.(type) {
	case nil:
		return 0, nil
	case config.Int:
		text = string(x)
	case string:
		text = strings.TrimSpace(x)
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int(x), nil
	default:
		return 0, fmt.Errorf("%s is not an integer", config.AppendJSON(nil, v))
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", text)
	}
	return n, nil
}
