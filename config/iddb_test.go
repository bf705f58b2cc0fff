package config

import (
	"bufio"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func writeDB(t *testing.T, passwd, group string) idDB {
	t.Helper()
	dir := t.TempDir()
	db := idDB{passwd: filepath.Join(dir, "passwd"), group: filepath.Join(dir, "group")}
	if err := os.WriteFile(db.passwd, []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db.group, []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestIDLookupFiles(t *testing.T) {
	db := writeDB(t, strings.Join([]string{
		"root:x:0:0:root:/root:/bin/bash",
		"# a comment",
		"",
		"+nisuser::::::",
		"bad:x:notanumber:0::/:/bin/sh",
		"huge:x:4294967296:0::/:/bin/sh",
		"nova:x:162:162::/var/lib/nova:/sbin/nologin",
		"1000:x:1001:1001::/home/n:/bin/sh",
		"dup:x:7:7::/:/bin/sh",
		"dup:x:8:8::/:/bin/sh",
		"crlf:x:9:9::/:/bin/sh\r",
		"short:x",
	}, "\n"), "root:x:0:\nnova:x:162:\nwheel:x:10:root,nova")
	for _, c := range []struct {
		group, byID bool
		key         string
		id          int
		ok          bool
	}{
		{false, false, "root", 0, true},
		{false, false, "nova", 162, true},
		{false, true, "162", 162, true},
		{false, false, "162", 0, false},    // a name, not an id (getpwnam)
		{false, false, "1000", 1001, true}, // the user named "1000"
		{false, true, "1000", 0, false},
		{false, false, "dup", 7, true}, // the first entry wins
		{false, false, "crlf", 9, true},
		{false, false, "bad", 0, false},
		{false, false, "huge", 0, false},
		{false, false, "+nisuser", 0, false},
		{false, false, "short", 0, false},
		{false, false, "", 0, false},
		{false, true, "-1", 0, false},
		{true, false, "wheel", 10, true},
		{true, true, "162", 162, true},
		{true, false, "nobody", 0, false},
	} {
		if id, ok := db.lookup(c.group, c.byID, c.key); ok != c.ok || id != c.id {
			t.Errorf("lookup(%v, %v, %q) = %d, %v; want %d, %v", c.group, c.byID, c.key, id, ok, c.id, c.ok)
		}
	}
}

// TestIDLookupGetent checks the fallback through the real getent(1): with
// no files, every entry of the system's databases must still be found,
// with the ids os/user (NSS, through cgo in this test binary) gives.
func TestIDLookupGetent(t *testing.T) {
	if _, err := exec.LookPath("getent"); err != nil {
		t.Skip("no getent")
	}
	db := idDB{passwd: "/nonexistent", group: "/nonexistent", getent: "getent"}
	compareWithOSUser(t, db)
	if _, ok := db.lookup(false, false, "no-such-user-tripleo"); ok {
		t.Error("no-such-user-tripleo found")
	}
	// A numeric name is not looked up as an id, though getent would.
	if _, ok := db.lookup(false, false, "0"); ok {
		t.Error(`user named "0" found`)
	}
	// No getent at all: not found, no error.
	db.getent = "/nonexistent/getent"
	if _, ok := db.lookup(false, false, "root"); ok {
		t.Error("root found with neither files nor getent")
	}
}

// TestIDLookupSameAsOSUser compares the system lookup with os/user on
// every entry of the system's files.
func TestIDLookupSameAsOSUser(t *testing.T) {
	compareWithOSUser(t, systemIDs)
}

// compareWithOSUser looks every named entry of the system's files up in
// db, by name and by id, and compares with os/user.
func compareWithOSUser(t *testing.T, db idDB) {
	t.Helper()
	for _, d := range []struct {
		file  string
		group bool
		osID  func(name string) (string, error) // os/user's id of name
	}{
		{"/etc/passwd", false, func(n string) (string, error) {
			u, err := user.Lookup(n)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		}},
		{"/etc/group", true, func(n string) (string, error) {
			g, err := user.LookupGroup(n)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		}},
	} {
		for _, e := range systemEntries(t, d.file) {
			want, err := d.osID(e.name)
			if err != nil {
				t.Fatal(err)
			}
			if id, ok := db.lookup(d.group, false, e.name); !ok || strconv.Itoa(id) != want {
				t.Errorf("%s %s: %d, %v; os/user says %s", d.file, e.name, id, ok, want)
			}
			if id, ok := db.lookup(d.group, true, want); !ok || strconv.Itoa(id) != want {
				t.Errorf("%s id %s: %d, %v", d.file, want, id, ok)
			}
		}
	}
}

func systemEntries(t *testing.T, path string) []fields {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var out []fields
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if e, ok := entryFields(sc.Bytes()); ok && !seen[e.name] {
			seen[e.name] = true
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no entries", path)
	}
	return out
}

func FuzzEntryFields(f *testing.F) {
	for _, s := range []string{"root:x:0:0:root:/root:/bin/bash", "wheel:x:10:a,b", "+::::::", "a:b:4294967295", "a:b:4294967296", "#c:x:1", "a::01:", ":x:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, ok := entryFields([]byte(line))
		// Reference: split on ':' as the files module does.
		parts := strings.Split(strings.TrimRight(line, "\r"), ":")
		want := len(parts) >= 3 && parts[0] != "" && !strings.ContainsAny(parts[0][:1], "#+-")
		var id uint64
		if want {
			var err error
			id, err = strconv.ParseUint(parts[2], 10, 32)
			want = err == nil && parts[2] != "" && !strings.ContainsAny(parts[2], "+-") && len(parts[2]) <= 10
		}
		if ok != want {
			t.Fatalf("entryFields(%q) ok = %v, want %v", line, ok, want)
		}
		if ok && (e.name != parts[0] || uint64(e.id) != id) {
			t.Fatalf("entryFields(%q) = %+v, want %q %d", line, e, parts[0], id)
		}
	})
}
