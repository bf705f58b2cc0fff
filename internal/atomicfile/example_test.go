package atomicfile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tripleo-go/tripleo/internal/atomicfile"
)

func ExampleWriteFile() {
	dir, _ := os.MkdirTemp("", "atomicfile")
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "state.json")
	if err := atomicfile.WriteFile(p, []byte(`{"ok": true}`), &atomicfile.Options{Mode: 0o644}); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(p)
	fmt.Println(string(b))
	// Output: {"ok": true}
}
