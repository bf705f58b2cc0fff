package provision_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/provision"
)

func TestCredentialsRedacted(t *testing.T) {
	c := provision.NewCredentials("admin", "hunter2")
	n := &provision.Node{Name: "n0", BMCAddress: "ipmi://h", Credentials: c}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out = append(out, fmt.Sprintf(verb, c), fmt.Sprintf(verb, n), fmt.Sprintf(verb, *n))
	}
	out = append(out, fmt.Sprint(c), fmt.Sprintln(n), fmt.Errorf("open: %v", c).Error())
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("x", "creds", c, "node", n)
	}
	out = append(out, buf.String())
	j, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	jc, _ := json.Marshal(c)
	out = append(out, string(jc))
	for _, s := range out {
		if strings.Contains(s, "hunter2") || strings.Contains(s, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("secret leaked: %s", s)
		}
	}
	if got := fmt.Sprintf("%v", c); got != provision.Redacted {
		t.Errorf("%%v = %q", got)
	}
	if c.Password() != "hunter2" || c.Username() != "admin" {
		t.Error("accessors")
	}
}
