package heat_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tripleo-go/tripleo/drivers/heat"
	"github.com/tripleo-go/tripleo/orchestrate"
)

const (
	secretToken = "tok-5ecret-4a1b"
	secretPW    = "Pw-5ecret-9z8y"
)

// secretTemplate has a hidden parameter given to a resource that fails.
const secretTemplate = `heat_template_version: 2016-10-14
parameters:
  pw: {type: string, hidden: true}
resources:
  t:
    type: OS::Heat::TestResource
    properties: {value: {get_param: pw}, fail: true}
`

// invalidTemplate makes Heat's validation quote the hidden value (it is
// not a number).
const invalidTemplate = secretTemplate + `  v:
    type: OS::Heat::Value
    properties: {type: number, value: {get_param: pw}}
`

// secretClient is a client carrying a token, as a Keystone-authenticated
// one does.
func secretClient(endpoint string) *gophercloud.ServiceClient {
	return &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{TokenID: secretToken},
		Endpoint: gophercloud.NormalizeURL(endpoint), Type: "orchestration"}
}

// checkNoSecret fails when the log or an error holds a secret.
func checkNoSecret(t *testing.T, log string, errs ...error) {
	t.Helper()
	for _, s := range []string{secretToken, secretPW} {
		if strings.Contains(log, s) {
			t.Errorf("secret %q in the log:\n%s", s, log)
		}
		for _, err := range errs {
			if err != nil && (strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), s)) {
				t.Errorf("secret %q in error %v", s, err)
			}
		}
	}
}

// TestNoSecretsFromHeat: failing calls on a real Heat, with a client
// holding a token and a hidden parameter in the template, log and return
// neither.
func TestNoSecretsFromHeat(t *testing.T) {
	url := needHeat(t)
	var logs bytes.Buffer
	e, err := heat.Open(t.Context(), secretClient(url), "", &heat.EngineOptions{PollInterval: 100 * time.Millisecond,
		DisableRollback: true, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("test-secrets-%d", time.Now().UnixNano()%1e9)
	in := &orchestrate.Input{TemplateFile: "s.yaml", Template: secretTemplate, Params: map[string]string{"pw": secretPW}}
	var errs []error
	_, err = e.Plan(t.Context(), name, &orchestrate.Input{TemplateFile: "s.yaml", Template: secretTemplate + "  bad: {type: No::Such::Type}\n", Params: in.Params})
	errs = append(errs, err)
	err = e.Create(t.Context(), name, &orchestrate.Input{TemplateFile: "s.yaml", Template: invalidTemplate, Params: in.Params})
	if !errors.Is(err, orchestrate.ErrInvalid) || !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("invalid create: %v, want ErrInvalid quoting the hidden value as [REDACTED]", err)
	}
	errs = append(errs, err)
	createErr := e.Create(t.Context(), name, in)
	t.Cleanup(func() { e.Delete(t.Context()) })
	if !errors.Is(createErr, orchestrate.ErrFailed) {
		t.Fatalf("create: %v, want ErrFailed", createErr)
	}
	errs = append(errs, createErr)
	info, err := e.Show(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	errs = append(errs, errors.New(info.Reason))
	for _, r := range info.Resources {
		errs = append(errs, errors.New(r.Reason))
	}
	evs, err := e.Events(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		errs = append(errs, errors.New(ev.StatusReason))
	}
	errs = append(errs, e.Update(t.Context(), &orchestrate.Input{TemplateFile: "s.yaml", Template: "heat_template_version: 2016-10-14\nresources: {x: {type: No::Such}}\n"}))
	errs = append(errs, e.Signal(t.Context(), "nothing", nil))
	checkNoSecret(t, logs.String(), errs...)
	if !strings.Contains(logs.String(), "heat request") {
		t.Errorf("no request logged:\n%s", logs.String())
	}
}

// TestErrorsScrubbed: an API that echoes the token and the hidden value in
// its error answers (a unit test of the driver's scrubbing; the real Heat
// is in TestNoSecretsFromHeat).
func TestErrorsScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		code, typ := http.StatusBadRequest, "StackValidationFailed"
		if r.Method == http.MethodGet {
			code, typ = http.StatusNotFound, "EntityNotFound"
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error": {"type": %q, "message": %q}}`, typ, "token "+r.Header.Get("X-Auth-Token")+" body "+string(b))
	}))
	defer srv.Close()
	var logs bytes.Buffer
	e, err := heat.Open(t.Context(), secretClient(srv.URL+"/v1/admin"), "s", &heat.EngineOptions{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Create(t.Context(), "s", &orchestrate.Input{TemplateFile: "s.yaml", Template: secretTemplate, Params: map[string]string{"pw": secretPW}})
	var he *heat.Error
	if !errors.As(err, &he) || he.Status != 400 || he.Type != "StackValidationFailed" || !errors.Is(err, orchestrate.ErrInvalid) {
		t.Fatalf("create: %v, want a 400 heat.Error matching ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("nothing redacted in %v", err)
	}
	_, showErr := e.Show(t.Context())
	if !errors.Is(showErr, orchestrate.ErrNotFound) {
		t.Errorf("show: %v, want ErrNotFound", showErr)
	}
	checkNoSecret(t, logs.String(), err, showErr)
}
