package config

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The owner and group of a .oac are looked up here rather than through
// os/user: os/user needs cgo for NSS, and cgo makes every binary that
// imports this package dynamically linked against libc, which costs the
// os-apply-config command about 1.5 ms of its start-up (ld.so and libc
// set-up, cgo's thread start) on every run, and ties the in-image binary
// to the image's libc. Instead the "files" databases (/etc/passwd,
// /etc/group) are read as glibc's files module reads them, and a name or
// id they lack is asked of getent(1), which goes through the whole NSS
// configuration (LDAP, SSSD, systemd's dynamic users...) as Python's pwd
// and grp modules do. With the usual "passwd: files ..." order the answer
// is the one the original gets.

// idDB is where lookups read: the files, and the getent command ("": none).
type idDB struct {
	passwd, group string
	getent        string
}

// systemIDs is the system's databases.
var systemIDs = idDB{passwd: "/etc/passwd", group: "/etc/group", getent: "getent"}

// getentTimeout bounds a getent call (an unreachable directory server).
const getentTimeout = 30 * time.Second

// lookup returns the numeric id of an entry of the passwd database (group
// false) or the group database: the entry named key, as getpwnam and
// getgrnam find it, or with byID the entry whose id is key (a decimal),
// as getpwuid and getgrgid find it. ok is false when there is none.
func (db idDB) lookup(group, byID bool, key string) (id int, ok bool) {
	file, name := db.passwd, "passwd"
	if group {
		file, name = db.group, "group"
	}
	match := func(f fields) bool { return f.name == key }
	if byID {
		n, ok := parseID([]byte(key))
		if !ok {
			return 0, false
		}
		match = func(f fields) bool { return f.id == n }
	}
	if b, err := os.ReadFile(file); err == nil {
		if f, ok := findEntry(b, match); ok {
			return f.id, true
		}
	}
	if db.getent == "" || key == "" || strings.HasPrefix(key, "-") {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), getentTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, db.getent, name, key).Output()
	if err != nil {
		return 0, false // exit 2: not found; no getent: not found
	}
	// getent looks a decimal key up as an id, anything else as a name:
	// the entry must still be the one asked for.
	f, ok := findEntry(out, match)
	return f.id, ok
}

// fields is what a lookup needs of a passwd or group entry.
type fields struct {
	name string
	id   int
}

// entryFields parses one line of /etc/passwd or /etc/group
// ("name:password:id:..."): the name and the id (a decimal within
// uint32). Lines that are not entries (comments, blanks, NIS "+"/"-"
// lines, a bad id) are rejected, as glibc's files module skips them.
func entryFields(line []byte) (fields, bool) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-' {
		return fields{}, false
	}
	name, rest, ok := bytes.Cut(line, []byte{':'})
	if !ok || len(name) == 0 {
		return fields{}, false
	}
	_, rest, ok = bytes.Cut(rest, []byte{':'}) // the password
	if !ok {
		return fields{}, false
	}
	idField, _, _ := bytes.Cut(rest, []byte{':'})
	id, ok := parseID(idField)
	if !ok {
		return fields{}, false
	}
	return fields{name: string(name), id: id}, true
}

// parseID parses a decimal id within uint32 (digits only).
func parseID(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 32)
	return int(n), err == nil
}

// findEntry returns the first entry of the database b that match accepts.
func findEntry(b []byte, match func(fields) bool) (fields, bool) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if f, ok := entryFields(line); ok && match(f) {
			return f, true
		}
	}
	return fields{}, false
}
