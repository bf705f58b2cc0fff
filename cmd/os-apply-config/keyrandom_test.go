package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/internal/peertest"
)

// keyOracle answers --key lookups the way os-apply-config's print_key
// does, with its own functions, for many (metadata file, key, type) lines
// in one process: {"missing": true}, {"err": "..."} or {"out": "..."}.
const keyOracle = `
import json, sys
from os_apply_config import apply_config, value_types, config_exception
for line in sys.stdin:
    q = json.loads(line)
    res = {}
    try:
        v = apply_config._extract_key([q['md']], q['key'])
        if v is None:
            res['missing'] = True
        else:
            value_types.ensure_type(str(v), q['type'])
            res['out'] = json.dumps(v) if isinstance(v, (dict, list, bool)) else str(v)
    except config_exception.ConfigException as e:
        res['err'] = str(e)
    except ValueError as e:
        res['err'] = 'ValueError: ' + str(e)
    print(json.dumps(res))
`

// TestKeyMatchesPrintKey compares --key lookups and --type checks with
// os-apply-config's own _extract_key and ensure_type on random metadata
// and random key paths, thousands of them in one Python process.
func TestKeyMatchesPrintKey(t *testing.T) {
	real := peertest.Look(t, "os-apply-config")[0]
	py := "/usr/bin/python3"
	if b, err := os.ReadFile(real); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if p := strings.TrimSpace(strings.TrimPrefix(line, "#!")); p != "" {
			py = p
		}
	}
	dir := t.TempDir()
	types := append(append([]string(nil), config.KeyTypes...), "nosuch")
	type query struct {
		MD   string `json:"md"`
		Key  string `json:"key"`
		Type string `json:"type"`
	}
	var queries []query
	mds := map[string]*config.Object{}
	for seed := range uint64(20) {
		g := &randGen{r: rand.New(rand.NewPCG(seed, 0x6e7))}
		src := g.metadata()
		p := filepath.Join(dir, fmt.Sprintf("md%02d.json", seed))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		md, err := config.LoadMetadata([]string{p})
		if err != nil {
			t.Fatal(err)
		}
		mds[p] = md
		for range 100 {
			key := g.name()
			switch g.r.IntN(6) {
			case 0:
				key += fmt.Sprintf(".%d", g.r.IntN(5)-2)
			case 1:
				key += "."
			case 2:
				key += ".0.a"
			}
			queries = append(queries, query{MD: p, Key: key, Type: types[g.r.IntN(len(types))]})
		}
	}
	var in bytes.Buffer
	for _, q := range queries {
		b, _ := json.Marshal(q)
		in.Write(append(b, '\n'))
	}
	cmd := exec.CommandContext(t.Context(), py, "-c", keyOracle)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	bad := 0
	kinds := map[string]int{}
	for i := 0; sc.Scan(); i++ {
		var want struct {
			Missing bool    `json:"missing"`
			Err     *string `json:"err"`
			Out     *string `json:"out"`
		}
		if err := json.Unmarshal(sc.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		q := queries[i]
		v, ok := config.LookupKey(mds[q.MD], q.Key)
		var got string
		switch {
		case !ok:
			got = "missing"
		default:
			s, err := config.FormatKey(v, q.Type)
			switch {
			case errors.Is(err, config.ErrUnknownType):
				got = "unknown type"
			case err != nil:
				got = "err " + err.Error()
			default:
				got = "out " + s
			}
		}
		var w string
		switch {
		case want.Missing:
			w = "missing"
		case want.Err != nil && strings.HasPrefix(*want.Err, "ValueError: requested validation of unknown type"):
			w = "unknown type"
		case want.Err != nil:
			w = "err " + *want.Err
		default:
			w = "out " + *want.Out
		}
		kinds[strings.SplitN(w, " ", 2)[0]]++
		if got != w {
			bad++
			if bad <= 10 {
				b, _ := os.ReadFile(q.MD)
				t.Errorf("--key %q --type %s on %s:\noriginal: %s\nours:     %s", q.Key, q.Type, b, w, got)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d lookups differ", bad, len(queries))
	}
	t.Logf("outcomes of the original: %v", kinds)
}
