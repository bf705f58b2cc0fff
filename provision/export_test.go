package provision

// SetTestHookBeforeRename lets tests fail or crash an inventory write after
// the temporary file is complete and before it replaces the old one.
func SetTestHookBeforeRename(f func(tmp string) error) { testHookBeforeRename = f }

// RoundTripInventory decodes an inventory file's bytes and encodes the
// result again (for the fuzz target, without touching the disk).
func RoundTripInventory(data []byte) ([]byte, error) {
	nodes, err := decodeInventory(data)
	if err != nil {
		return nil, err
	}
	return encodeInventory(nodes)
}

// QueuedChanges returns how many changes wait for the inventory's
// in-flight write.
func QueuedChanges(f *FileInventory) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}
