package image

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	qcowClusterBits = 16
	qcowCluster     = 1 << qcowClusterBits
	qcowL2Entries   = qcowCluster / 8
	qcowRCEntries   = qcowCluster / 2 // 16-bit refcounts
	qcowCopied      = uint64(1) << 63
)

// WriteQcow2 converts the raw disk image src into a qcow2 (version 3,
// 64 KiB clusters, 16-bit refcounts, uncompressed) at dst. Holes and
// all-zero clusters of src stay unallocated. The raw image is read once,
// sequentially; the data clusters are written in guest order right after
// the header and the metadata (L2 tables, L1 table, refcounts) after the
// data, so the output is a function of the input alone. progress, when
// not nil, gets the raw bytes covered so far.
func WriteQcow2(ctx context.Context, dst io.WriterAt, src *os.File, progress func(done, total int64)) error {
	st, err := src.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	virtual := alignUp(size, sector) // qemu sees a raw file rounded up to a sector
	guestClusters := (size + qcowCluster - 1) / qcowCluster
	l2 := make([]uint64, guestClusters) // host offset per guest cluster, 0 = unallocated
	next := int64(qcowCluster)          // host cluster 0 is the header
	buf := make([]byte, qcowCluster)
	var pos int64
	for _, ext := range dataExtents(src, size) {
		for c := ext[0] / qcowCluster; c*qcowCluster < ext[1]; c++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			off := c * qcowCluster
			if off < pos {
				continue // cluster shared with the previous extent
			}
			n := min(qcowCluster, size-off)
			clear(buf)
			if _, err := src.ReadAt(buf[:n], off); err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("qcow2: read raw at %d: %w", off, err)
			}
			pos = off + qcowCluster
			if isZero(buf) {
				continue
			}
			if _, err := dst.WriteAt(buf, next); err != nil {
				return fmt.Errorf("qcow2: %w", err)
			}
			l2[c] = uint64(next)
			next += qcowCluster
			if progress != nil {
				progress(min(pos, size), size)
			}
		}
	}
	dataEnd := next
	be := binary.BigEndian
	// L2 tables: one per 8192 guest clusters that has any allocation.
	l1Size := (guestClusters + qcowL2Entries - 1) / qcowL2Entries
	l1 := make([]byte, alignUp(max(l1Size*8, 8), qcowCluster))
	tbl := make([]byte, qcowCluster)
	for i := range l1Size {
		lo, hi := i*qcowL2Entries, min((i+1)*qcowL2Entries, guestClusters)
		used := false
		clear(tbl)
		for c := lo; c < hi; c++ {
			if l2[c] != 0 {
				be.PutUint64(tbl[(c-lo)*8:], l2[c]|qcowCopied)
				used = true
			}
		}
		if !used {
			continue
		}
		if _, err := dst.WriteAt(tbl, next); err != nil {
			return fmt.Errorf("qcow2: %w", err)
		}
		be.PutUint64(l1[i*8:], uint64(next)|qcowCopied)
		next += qcowCluster
	}
	l1Off := next
	if _, err := dst.WriteAt(l1, l1Off); err != nil {
		return fmt.Errorf("qcow2: %w", err)
	}
	next += int64(len(l1))
	// Refcounts: every host cluster so far, plus the refcount blocks and
	// table themselves; grow until they cover their own clusters.
	rcStart := next
	var blocks, tableClusters int64
	for {
		total := rcStart/qcowCluster + blocks + tableClusters
		nb := (total + qcowRCEntries - 1) / qcowRCEntries
		nt := (nb*8 + qcowCluster - 1) / qcowCluster
		if nb == blocks && nt == tableClusters {
			break
		}
		blocks, tableClusters = nb, nt
	}
	totalClusters := rcStart/qcowCluster + blocks + tableClusters
	table := make([]byte, tableClusters*qcowCluster)
	for b := range blocks {
		clear(tbl)
		for k := range int64(qcowRCEntries) {
			if b*qcowRCEntries+k < totalClusters {
				be.PutUint16(tbl[k*2:], 1)
			}
		}
		off := rcStart + b*qcowCluster
		if _, err := dst.WriteAt(tbl, off); err != nil {
			return fmt.Errorf("qcow2: %w", err)
		}
		be.PutUint64(table[b*8:], uint64(off))
	}
	rtOff := rcStart + blocks*qcowCluster
	if _, err := dst.WriteAt(table, rtOff); err != nil {
		return fmt.Errorf("qcow2: %w", err)
	}
	// Header (version 3) and the end-of-extensions marker.
	h := make([]byte, qcowCluster)
	copy(h, "QFI\xfb")
	be.PutUint32(h[4:], 3)
	be.PutUint32(h[20:], qcowClusterBits)
	be.PutUint64(h[24:], uint64(virtual))
	be.PutUint32(h[36:], uint32(l1Size))
	be.PutUint64(h[40:], uint64(l1Off))
	be.PutUint64(h[48:], uint64(rtOff))
	be.PutUint32(h[56:], uint32(tableClusters))
	be.PutUint32(h[96:], 4)    // refcount_order: 16 bits
	be.PutUint32(h[100:], 104) // header_length
	if _, err := dst.WriteAt(h, 0); err != nil {
		return fmt.Errorf("qcow2: %w", err)
	}
	_ = dataEnd
	if progress != nil {
		progress(size, size)
	}
	return nil
}
