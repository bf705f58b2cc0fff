package image

import (
	"fmt"
	"strings"
)

const (
	sector = 512
	// gptTail is the backup GPT: 32 sectors of entries and the header.
	gptTail = 33 * sector
	// minESPSize is the smallest ESP that holds the 65525 clusters FAT32
	// needs with go-diskfs's 512-byte clusters.
	minESPSize = 36 * MiB
)

// GPT partition type GUIDs used by the builder.
const (
	TypeESP          = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	TypeRootX86_64   = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
	TypeRootAArch64  = "B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
	TypeLinuxGeneric = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
)

// PartitionInfo is one placed partition, as recorded in the manifest.
type PartitionInfo struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Type   string `json:"type_guid"`
	GUID   string `json:"guid"`
	Start  int64  `json:"start"` // bytes from the start of the disk
	Size   int64  `json:"size"`  // bytes
	// Filesystem is "vfat", "ext4", "squashfs" or "" (unformatted).
	Filesystem string `json:"filesystem,omitempty"`
	// FSUUID is the filesystem UUID (or FAT volume id).
	FSUUID string `json:"fs_uuid,omitempty"`
	// Keep marks a partition a redeploy preserves.
	Keep bool `json:"keep,omitempty"`
}

// diskPlan is the computed layout of a disk.
type diskPlan struct {
	DiskGUID string
	Size     int64
	Parts    []PartitionInfo // ESP, root, extras
}

func alignUp(v, a int64) int64 { return (v + a - 1) / a * a }

// plan computes the partition layout; errors name the layout field at
// fault.
func (s *Spec) plan() (*diskPlan, error) {
	n := s.normalized()
	l := n.Layout
	size := int64(l.DiskSize)
	align := int64(l.Align)
	if size%sector != 0 {
		return nil, invalid("layout.disk_size", "%d is not a multiple of 512", size)
	}
	end := (size - gptTail) / align * align // last aligned byte usable
	first := alignUp(34*sector, align)
	esp := alignUp(int64(l.ESPSize), align)
	var extras int64
	for _, p := range l.Partitions {
		extras += alignUp(int64(p.Size), align)
	}
	rootStart := first + esp
	root := end - extras - rootStart
	if l.RootSize != 0 {
		want := alignUp(int64(l.RootSize), align)
		if want > root {
			return nil, invalid("layout.root_size", "%s does not fit: %s left on a %s disk", l.RootSize, Size(max(root, 0)), l.DiskSize)
		}
		root = want
	}
	if root < 8*MiB {
		return nil, invalid("layout.disk_size", "%s leaves %s for the root partition (at least 8MiB needed after the ESP and the extra partitions)", l.DiskSize, Size(max(root, 0)))
	}
	rootType := TypeRootX86_64
	if n.Arch == "aarch64" {
		rootType = TypeRootAArch64
	}
	fsName := "ext4"
	if l.RootFS == FSSquashfs {
		fsName = "squashfs"
	}
	p := &diskPlan{DiskGUID: guid(n.Seed, "disk"), Size: size}
	p.Parts = append(p.Parts,
		PartitionInfo{Number: 1, Name: "ESP", Type: TypeESP, GUID: guid(n.Seed, "part:ESP"), Start: first, Size: esp, Filesystem: "vfat"},
		PartitionInfo{Number: 2, Name: "root", Type: rootType, GUID: guid(n.Seed, "part:root"), Start: rootStart, Size: root, Filesystem: fsName})
	off := rootStart + root
	for i, x := range l.Partitions {
		t, _ := partTypeGUID(x.Type)
		sz := alignUp(int64(x.Size), align)
		p.Parts = append(p.Parts, PartitionInfo{Number: 3 + i, Name: x.Name, Type: t, GUID: guid(n.Seed, "part:"+x.Name),
			Start: off, Size: sz, Filesystem: x.Filesystem, Keep: x.Keep})
		off += sz
	}
	return p, nil
}

func guid(seed, purpose string) string {
	return strings.ToUpper(uuidString(deriveUUID(seed, purpose)))
}

// String renders the plan like a partition table listing.
func (p *diskPlan) String() string {
	var b strings.Builder
	for _, x := range p.Parts {
		fmt.Fprintf(&b, "%d %s %d+%d %s\n", x.Number, x.Name, x.Start, x.Size, x.Type)
	}
	return b.String()
}
