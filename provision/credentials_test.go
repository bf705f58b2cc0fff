package provision_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		body, want string
		err        bool
	}{
		"first line": {body: "s3cret\nignored\n", want: "s3cret"},
		"crlf":       {body: "s3cret\r\n", want: "s3cret"},
		"no newline": {body: "s3cret", want: "s3cret"},
		"empty":      {body: "\nx", err: true},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := provision.ReadPasswordFile(p)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: got %q, %v", name, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "ignored") {
			t.Errorf("%s: error shows the file's content: %v", name, err)
		}
	}
	if _, err := provision.ReadPasswordFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}
