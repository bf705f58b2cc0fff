// Command build-image builds a bootable 1 GiB GPT golden image from a root
// tree, as diskimage-builder did, without root, loop devices or mounts:
//
//	go run ./examples/build-image -rootfs DIR [-element DIR]... -o OUT.raw \
//	    [-qcow2 OUT.qcow2] [-manifest OUT.json]
//
// It prints what it does on stderr and the image digest (sha256:...) on
// stdout. Other tools call it: these flags are stable.
package main
