package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The floor is the least work any os-apply-config must do on a scenario,
// done as cheaply as plain Go can: read every template and write its bytes,
// unrendered, to the output tree, one directory per worker on every
// processor, with no stat, no mode, no log and no sync. Files go straight
// into the output directory through temporary files renamed into place
// (the original's own way of writing); the directories below it, new in
// every scenario, are built under temporary names with their files
// written under their own names, and each top one renamed into place at
// the end (what ours does, config/stage.go). It runs as a child process
// (oac-compare -floor TEMPLATES OUT METADATA), so that its time includes a
// Go program's start-up like ours. Python's time divided by the floor's is
// the largest speed-up any tool could show on this machine.

// runFloor reads the metadata file and copies the templates tree to out as
// described above. Templates are read with one read(2) each (the
// scenarios' are all far under the 1 MB buffer).
func runFloor(templates, out, metadata string) error {
	if _, err := os.ReadFile(metadata); err != nil {
		return err
	}
	type dirJob struct {
		src, dst string // dst: where the files are written
		staged   bool   // dst is new: no temporary files
	}
	var jobs []dirJob
	var tops [][2]string // staged top directories: temporary name, final name
	var walk func(src, dst string, staged bool) error
	walk = func(src, dst string, staged bool) error {
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		jobs = append(jobs, dirJob{src, dst, staged})
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			sub := filepath.Join(dst, e.Name())
			if !staged {
				tmp := filepath.Join(dst, ".floor-dir-"+e.Name())
				tops = append(tops, [2]string{tmp, sub})
				sub = tmp
			}
			if err := walk(filepath.Join(src, e.Name()), sub, true); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(templates, out, false); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := os.MkdirAll(j.dst, 0o755); err != nil {
			return err
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			buf := make([]byte, 1<<20)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				errs[i] = copyDir(jobs[i].src, jobs[i].dst, jobs[i].staged, buf)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for _, t := range tops {
		if err := os.Rename(t[0], t[1]); err != nil {
			return err
		}
	}
	return nil
}

// copyDir copies the regular files of src to dst (which exists), each
// through a temporary file renamed into place unless staged.
func copyDir(src, dst string, staged bool, buf []byte) error {
	sfd, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: src, Err: err}
	}
	defer unix.Close(sfd)
	dfd, err := unix.Open(dst, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dst, Err: err}
	}
	defer unix.Close(dfd)
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for i, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		in, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: filepath.Join(src, name), Err: err}
		}
		n, err := unix.Read(in, buf)
		unix.Close(in)
		if err != nil {
			return &os.PathError{Op: "read", Path: filepath.Join(src, name), Err: err}
		}
		tmp := name
		if !staged {
			tmp = ".floor-" + strconv.Itoa(i)
		}
		outFD, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
		if err != nil {
			return &os.PathError{Op: "create", Path: filepath.Join(dst, tmp), Err: err}
		}
		_, err = unix.Write(outFD, buf[:n])
		unix.Close(outFD)
		if err != nil {
			return &os.PathError{Op: "write", Path: filepath.Join(dst, tmp), Err: err}
		}
		if staged {
			continue
		}
		if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
			return fmt.Errorf("rename %s: %w", filepath.Join(dst, name), err)
		}
	}
	return nil
}
