package provision

// SetTestHookBeforeRename lets tests fail or crash an inventory write after
// the temporary file is complete and before it replaces the old one.
func SetTestHookBeforeRename(f func(tmp string) error) { testHookBeforeRename = f }
