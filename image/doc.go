// Package image builds golden disk images: reproducible, verified and
// bootable, in seconds, with no root privilege, loop device or mount. It
// replaces TripleO's diskimage-builder.
//
// A [Spec] (Go struct, or YAML/JSON through [LoadSpec]) names the image,
// its SOURCE_DATE_EPOCH, the seed every GUID and UUID derives from, the
// GPT layout (ESP, root with the Linux root type GUID for the
// architecture, extra partitions such as a persistent-state partition that
// redeploys keep, 1 MiB alignment), the kernel command line, the outputs
// and the elements. The root tree comes from a [Source]: a directory
// ([DirSource], e.g. debootstrap output), a tar archive ([TarSource],
// plain, gzip or zstd, owners from the headers) or an in-memory [Tree].
// [Element]s (diskimage-builder's idea: dependencies, provides, typed
// environment, hooks per phase on the staging tree, a file overlay,
// package lists) are applied in a deterministic order; then configuration
// and persistent state are removed (machine-id emptied, SSH host keys,
// logs, caches, apt lists, temp files, declared state paths), and
// recorded in the manifest.
//
// [Build] stages the tree, writes the GPT and the ESP (the staged
// /boot/efi, plus a systemd-boot entry for a kernel found there) with
// go-diskfs straight into a sparse raw file, the root filesystem with an
// [FSWriter] ([Ext4Mkfs], the default: mkfs.ext4 -d from e2fsprogs with a
// fixed UUID, hash seed, pinned mke2fs.conf and E2FSPROGS_FAKE_TIME, then
// every inode's times set to the epoch; [Squashfs]; or [Ext4Go], the
// pure-Go fallback), and, on request, a qcow2 written by our own
// [WriteQcow2] and a deterministic tar ([WriteTar]). manifest.json
// ([Manifest]) and SHA256SUMS complete the [Artifact], whose digest is the
// raw disk's sha256. Two builds of the same inputs at different times are
// byte-for-byte identical. A [Store] keeps artifacts by digest with tags;
// [WriteImage] streams an image to a node's disk, sparse-aware and
// verified. [ExtractRoot] reads a written disk back (the GPT with
// go-diskfs, the ext4 root with this package's own reader) into a
// directory, as a simulated machine's boot does.
//
// # Staging and privileges
//
// The root tree is staged in a temporary directory beside the outputs. A
// [DirSource] is hard-linked into it when no element hook will run (the
// build replaces the files it changes and never writes into one, so the
// source is left untouched) and copied otherwise. Without root, owners,
// setuid bits and device nodes that the staging tree cannot hold become
// [Fixup]s that [Ext4Mkfs] applies inside the filesystem with debugfs;
// [Squashfs] and [Ext4Go] refuse them. A directory source keeps its
// owners that way too, but the build user must be able to read every
// file in it (a [TarSource] has no such need). A missing program is an error wrapping
// [ErrToolMissing] that names the Debian package to install.
//
// # Performance
//
// On the 2-core development machine, from a debootstrap --variant=minbase
// tree (6.7k entries), a 1 GiB raw + qcow2 + manifest build takes about
// 2 s, against about 2.5 s for the classic chain (mkfs.ext4 -d,
// mkfs.vfat, sfdisk, dd, qemu-img convert) that makes no digest, and 12 s
// for that chain with sha256sum; [WriteQcow2] converts the 1 GiB raw in
// 0.14 s (qemu-img convert: 0.2-0.8 s). Run
//
//	go test -run '^$' -bench 'Minbase|Qcow2' -benchtime 3x ./image
//
// (the benchmark makes the minbase tree on first use, as root, with
// debootstrap).
//
// # go-diskfs v1.9.4 bugs worked around here
//
// These are bugs of github.com/diskfs/go-diskfs v1.9.4 (not vendored or
// patched) to report upstream; each is repaired or avoided in our code:
//
//  1. FAT32: a directory created directly under the root directory gets
//     the root's cluster number (2) in the cluster field of its ".."
//     entry; the FAT specification (and fsck.fat) require 0 for a parent
//     that is the root. fsck.vfat -n therefore fails on every ESP holding
//     /EFI. fixFAT rewrites every "." and ".." entry after the files are
//     written.
//  2. FAT32: fat32.Create computes sectors-per-FAT as
//     ceil(4*(total-reserved)/(bytesPerCluster+8)) without counting the two
//     reserved FAT entries, so at some sizes (64 MiB among them) the FAT
//     has fewer entries than clusters+2 and the filesystem is unreadable.
//     espFSSize shrinks the filesystem by a few sectors, inside the
//     partition, until the FAT is big enough (ESP-size table test).
//  3. FAT32: directory entries are stamped with SOURCE_DATE_EPOCH read
//     from the process environment, else the wall clock, and Reproducible
//     mode sets the volume serial to 0. A library cannot set process
//     environment, so fixFAT stamps every entry with the spec's epoch and
//     writes a volume serial derived from the seed (boot sector and its
//     backup).
//  4. ext4 writer: slow (7–8 s for a 6.7k-entry tree, 10x mkfs.ext4 -d),
//     quadratic in large directories, no hard links, device nodes or
//     xattrs, wall-clock times and a random hash seed: it is only the
//     [Ext4Go] fallback, refusing trees it cannot represent.
//  5. squashfs writer: corrupt images past a few hundred entries; not
//     used ([Squashfs] runs mksquashfs).
//  6. GPT: a Partition with Index 0 is rejected when writing ("invalid
//     index 0"); indexes must be set explicitly, 1-based.
//  7. FAT32 and ext4: paths must be io/fs paths ("EFI/BOOT", not
//     "/EFI/BOOT") for ReadDir and the ext4 writer, while fat32 Mkdir and
//     OpenFile accept both; we pass io/fs paths everywhere we read.
//  8. FAT32: every Write to a file extends its cluster chain with a scan
//     of the FAT, so copying a 13 MiB kernel in io.Copy's 32 KiB writes
//     takes 0.7 s on a 40 MiB ESP (8.6 s under -race); writeESP hands each
//     file to go-diskfs in one Write (0.06 s), holding it in memory (ESP
//     files are kernels, initrds and boot loaders).
//  9. ext4 reader: a directory entry whose name is 248 bytes or longer
//     panics (slice bounds out of range [8:7]): directoryEntryFromBytes
//     computes 0x8+nameLength in a byte, which wraps.
//  10. ext4 reader: the fs.FileInfo of a directory entry carries only the
//     type bits, no permission bits (every regular file reads as mode 0).
//  11. ext4 reader: File.Read ignores holes: reading past the last
//     extent of a sparse file returns 0 bytes and no error (io.Copy spins
//     forever), and an extent after a hole is read at the wrong offset.
//     Opening a file by path also re-reads every directory on the path,
//     so extracting a large directory is quadratic. [ExtractRoot] uses
//     this package's own read-only ext4 reader instead (ext4read.go).
//
// # e2fsprogs 1.47.0 quirks worked around here
//
//   - E2FSPROGS_FAKE_TIME=0 means "no fake time", so at SOURCE_DATE_EPOCH
//     0 the superblocks (primary and backups) and the bad-blocks inode
//     got the wall clock: normalizeExt4 sets them for every epoch.
//   - mkfs.ext4 -d copies atime and ctime from the staging tree, and ctime
//     cannot be set from user space: normalizeExt4 sets every inode's
//     times and recomputes its checksum.
//   - debugfs "mknod /dir/name" does not link the node into /dir: fixups
//     cd into the directory first.
//
// No Go qcow2 library is served by the module proxy here, hence
// [WriteQcow2].
package image
