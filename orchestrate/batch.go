package orchestrate

// Batch is one step of a rolling update or batched create: the group is
// resized to Capacity members, of which Updated receive the new definition
// in this step.
type Batch struct {
	Capacity int
	Updated  int
}

// Batches computes the steps Heat's ResourceGroup takes to go from current
// members (all on the old definition) to target members on the new one,
// with at most batchSize members changed per step and at least
// minInService kept in service (which can make the group surge above the
// target for a while). It is Heat's rolling_update arithmetic: per step,
// the effective batch is min(batchSize, max(target-updated, 0)) and the new
// capacity is that batch plus max(min(current, target-batch),
// min(minInService, target, current)). A batched create is
// Batches(target, 0, batchSize, 0).
func Batches(target, current, batchSize, minInService int) []Batch {
	var out []Batch
	updated := 0
	if batchSize < 1 {
		batchSize = 1
	}
	for !(updated >= current && current == target) {
		minSz := min(minInService, target, current)
		b := min(batchSize, max(target-updated, 0))
		capacity := b + max(min(current, target-b), minSz)
		out = append(out, Batch{Capacity: capacity, Updated: b})
		updated += b - max(capacity-max(current, target), 0)
		current = capacity
		if len(out) > 2*(target+current+1) { // cannot happen; guards bad input
			break
		}
	}
	return out
}
