package refresh_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/refresh"
)

// Explosion never panics, keeps the source's output first, and only emits
// names that are safe cache file names; Store accepts every one of them.
func FuzzExplode(f *testing.F) {
	f.Add([]byte(`{"deployments": [{"name": "a", "config": {}}, {"name": "../b", "config": 1}]}`))
	f.Add([]byte(`{"deployments": {"name": "x"}}`))
	f.Add([]byte(`[1, 2]`))
	dir := f.TempDir()
	cache := refresh.NewCache(dir, &refresh.CacheOptions{NoSync: true})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := config.DecodeJSON(data)
		if err != nil {
			return
		}
		outs := refresh.Explode("request", v, nil, nil)
		if len(outs) == 0 || outs[0].Name != "request" {
			t.Fatalf("first output %+v", outs)
		}
		for _, o := range outs[1:] {
			if _, _, err := cache.Store(o.Name, o.Content); err != nil {
				t.Fatalf("Store(%q): %v", o.Name, err)
			}
		}
	})
}

// roundTripFunc serves HTTP from a function, for fuzzing response parsers
// without sockets.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Any EC2 listing is crawled without panicking or looping forever: the
// crawl is bounded by MaxRequests, and the result is a tree of strings.
func FuzzEC2Listing(f *testing.F) {
	f.Add("ami-id\nhostname\npublic-keys/\nplacement/", "0=my-key")
	f.Add("a\n\nb=c\n", "x")
	f.Add("loop/", "loop/")
	f.Fuzz(func(t *testing.T, root, sub string) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			body := "leaf"
			switch {
			case r.URL.Path == "/latest/meta-data/":
				body = root
			case strings.HasSuffix(r.URL.Path, "/"):
				body = sub
			}
			return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
		})}
		c := refresh.NewEC2("http://ec2.invalid/latest/meta-data", &refresh.EC2Options{Client: client, MaxRequests: 200})
		outs, err := c.Collect(t.Context())
		if err != nil {
			return
		}
		if len(outs) != 1 || outs[0].Name != "ec2" {
			t.Fatalf("outputs %+v", outs)
		}
		_ = config.AppendJSON(nil, outs[0].Content)
	})
}

// ParseSignal never panics, and what Signal.Body writes reads back.
func FuzzParseSignal(f *testing.F) {
	f.Add([]byte(`{"deploy_stdout": "ok", "deploy_stderr": "", "deploy_status_code": 0, "result": [1]}`), 0, "out", "err")
	f.Add([]byte(`{"deploy_status_code": "0"}`), 3, "", "é")
	f.Fuzz(func(t *testing.T, body []byte, code int, stdout, stderr string) {
		_, _ = refresh.ParseSignal(body)
		if !utf8.ValidString(stdout) || !utf8.ValidString(stderr) {
			return
		}
		s := refresh.Signal{StatusCode: code, Stdout: stdout, Stderr: stderr}
		got, err := refresh.ParseSignal(s.Body(0))
		if err != nil {
			t.Fatalf("ParseSignal(Body()): %v", err)
		}
		if got.StatusCode != code || (len(s.Body(0)) < refresh.MaxSignalBytes && (got.Stdout != stdout || got.Stderr != stderr)) {
			t.Fatalf("round trip: %+v", got)
		}
	})
}
