package refresh_test

import (
	"testing"

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
