package orchestrate

import "time"

// Action is a Heat stack or resource action.
type Action string

// Heat's actions.
const (
	ActionInit     Action = "INIT"
	ActionCreate   Action = "CREATE"
	ActionUpdate   Action = "UPDATE"
	ActionDelete   Action = "DELETE"
	ActionRollback Action = "ROLLBACK"
	ActionCheck    Action = "CHECK"
	ActionAdopt    Action = "ADOPT"
	ActionSuspend  Action = "SUSPEND"
	ActionResume   Action = "RESUME"
	ActionSnapshot Action = "SNAPSHOT"
)

// Status is a Heat status.
type Status string

// Heat's statuses.
const (
	StatusInProgress Status = "IN_PROGRESS"
	StatusComplete   Status = "COMPLETE"
	StatusFailed     Status = "FAILED"
)

// Event is one stack or resource event, with Heat's fields. Stack events
// have ResourceType "OS::Heat::Stack" and the stack's name as resource.
type Event struct {
	ID                 string    `json:"id"`
	Time               time.Time `json:"event_time"`
	StackName          string    `json:"stack_name"`
	StackID            string    `json:"stack_id"`
	ResourceName       string    `json:"resource_name"`
	LogicalResourceID  string    `json:"logical_resource_id"`
	PhysicalResourceID string    `json:"physical_resource_id"`
	ResourceType       string    `json:"resource_type"`
	Action             Action    `json:"resource_action"`
	Status             Status    `json:"resource_status"`
	StatusReason       string    `json:"resource_status_reason"`
}

// State returns ACTION_STATUS, e.g. CREATE_COMPLETE.
func (e Event) State() string { return string(e.Action) + "_" + string(e.Status) }
