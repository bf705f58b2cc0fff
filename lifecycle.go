package tripleo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tripleo-go/tripleo/internal/atomicfile"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
)

// Default stack names and template parameters of the lifecycle.
const (
	// UndercloudStack is the stack DeployUndercloud makes by default.
	UndercloudStack = "undercloud"
	// OvercloudStack is the stack DeployOvercloud makes by default.
	OvercloudStack = "overcloud"
	// DefaultImageParam is the template parameter that receives the
	// digest of the image a stack's servers run ("sha256:…"). A template
	// deployed with an image declares it and hands it to its servers'
	// image property, so that an image update is a parameter change.
	DefaultImageParam = "ImageDigest"
	// RemovalPoliciesSuffix makes the name of the parameter through which
	// Recover removes a dead member from a group: group "Compute" takes
	// "ComputeRemovalPolicies" (TripleO's convention), of type json, and
	// passes it to the group's removal_policies.
	RemovalPoliciesSuffix = "RemovalPolicies"
)

// Node properties the lifecycle writes.
const (
	// PropMaintenance is "true" on a node Recover took out of service.
	PropMaintenance = "maintenance"
	// PropMaintenanceReason says why.
	PropMaintenanceReason = "maintenance_reason"
	// PropFailedClaim keeps the claim (server key) a dead node held when
	// Recover released it, for the record.
	PropFailedClaim = "tripleo_failed_claim"
)

// Sentinel errors of the lifecycle methods.
var (
	// ErrNotDeployed means the stack a lifecycle method needs has not been
	// deployed through the lifecycle (or its deployment did not complete).
	ErrNotDeployed = errors.New("stack not deployed")
	// ErrNoPreviousImage means Rollback has no earlier image to go back to.
	ErrNoPreviousImage = errors.New("no previous image")
	// ErrNotRecoverable means Recover cannot replace the dead node's
	// server: it is not a member of a resource group that takes a removal
	// policies parameter.
	ErrNotRecoverable = errors.New("server not recoverable")
)

// Actions in a Deployment's image history.
const (
	ActionDeploy   = "deploy"
	ActionUpdate   = "update"
	ActionRollback = "rollback"
	ActionRecover  = "recover"
)

// Deployment is the lifecycle's durable record of one stack, kept at
// DIR/lifecycle/NAME.json (replaced atomically): what was last applied, who
// owns the stack, and which image digests it ran in turn.
type Deployment struct {
	// Stack is the stack's name; StackID its engine's id.
	Stack   string `json:"stack"`
	StackID string `json:"stack_id,omitempty"`
	// Owner is the stack this one is a tenant of: the overcloud is owned
	// by the undercloud that deploys and heals it; "" for a top stack.
	Owner string `json:"owner,omitempty"`
	// ImageParam is the template parameter holding the image digest; ""
	// when the stack was deployed without an image.
	ImageParam string `json:"image_param,omitempty"`
	// Image is the digest the stack's servers run ("" without an image).
	Image string `json:"image,omitempty"`
	// Input is the last input that completed.
	Input *orchestrate.Input `json:"input,omitempty"`
	// Pending is an operation started but not seen to end (the process
	// died); the next lifecycle call on the stack settles it.
	Pending *PendingOp `json:"pending,omitempty"`
	// Removals are the group members Recover removed: group → names.
	Removals map[string][]string `json:"removals,omitempty"`
	// History lists the images the stack ran, oldest first.
	History []ImageRecord `json:"history,omitempty"`
	// Recoveries lists the nodes Recover replaced, oldest first.
	Recoveries []Recovery `json:"recoveries,omitempty"`
	// Updated is when the record was last written.
	Updated time.Time `json:"updated"`
}

// PendingOp is an operation of the lifecycle in flight.
type PendingOp struct {
	// Action is one of the Action constants.
	Action string `json:"action"`
	// Input is what the stack is being moved to.
	Input *orchestrate.Input `json:"input"`
	// Image is the digest Input names ("" without an image).
	Image string `json:"image,omitempty"`
	// Recovery is set for ActionRecover.
	Recovery *Recovery `json:"recovery,omitempty"`
	// Started is when the operation began.
	Started time.Time `json:"started"`
}

// ImageRecord is one image a stack ran.
type ImageRecord struct {
	// Digest is the image's "sha256:…" digest.
	Digest string `json:"digest"`
	// Action is how the stack got it: deploy, update or rollback.
	Action string `json:"action"`
	// Time is when the operation completed.
	Time time.Time `json:"time"`
}

// Recovery describes a dead node replaced from the pool.
type Recovery struct {
	// Node is the dead node, now in maintenance.
	Node string `json:"node"`
	// Reason is why it was declared dead.
	Reason string `json:"reason,omitempty"`
	// Stack, Resource are the stack and the group member ("Compute/2")
	// the node hosted; Resource is "" when it hosted no server.
	Stack    string `json:"stack,omitempty"`
	Resource string `json:"resource,omitempty"`
	// Replacement is the new member ("Compute/4") and NewNode the node
	// it got from the pool.
	Replacement string `json:"replacement,omitempty"`
	NewNode     string `json:"new_node,omitempty"`
	// Time is when the recovery completed.
	Time time.Time `json:"time"`
}

// BootstrapOptions configure Bootstrap. The zero value (or nil) gives the
// documented defaults.
type BootstrapOptions struct {
	// SkipInspect provides nodes without inspecting them. By default
	// every manageable node not yet inspected is inspected; a node whose
	// driver cannot report hardware (ErrUnsupported: IPMI) is provided
	// uninspected.
	SkipInspect bool
	// Parallelism bounds the nodes handled at once; 0 means 16.
	Parallelism int
	// Logger receives a line per node; nil means the Cloud's logger.
	Logger *slog.Logger
}

// DeployOptions configure DeployUndercloud and DeployOvercloud. The zero
// value (or nil) gives the documented defaults.
type DeployOptions struct {
	// Stack names the stack; "" means UndercloudStack or OvercloudStack.
	Stack string
	// Image is the image the servers run, a tag or a digest of the
	// Cloud's store; its digest is passed as ImageParam. "" keeps the
	// image a deployed stack runs, and passes none to a new stack (its
	// servers name no image, or a default).
	Image string
	// ImageParam is the template parameter for the image digest; ""
	// means the one the stack was deployed with, else DefaultImageParam.
	ImageParam string
	// Undercloud names the stack the overcloud is a tenant of
	// (DeployOvercloud only); "" means UndercloudStack. It must have been
	// deployed, and completed.
	Undercloud string
	// Logger receives the operation's lines; nil means the Cloud's logger.
	Logger *slog.Logger
}

// UpdateOptions configure Update. The zero value changes nothing (and the
// update converges the stack on what it already has).
type UpdateOptions struct {
	// Image, a tag or digest, replaces the stack's image; "" keeps it.
	Image string
	// Template, when set, replaces the deployed template, environments
	// and files; its Params are used instead of the deployed ones. nil
	// keeps the deployed input.
	Template *orchestrate.Input
	// Params are merged over the parameters (deployed, or Template's).
	Params map[string]string
	// Logger receives the operation's lines; nil means the Cloud's logger.
	Logger *slog.Logger
}

// RollbackOptions configure Rollback. The zero value (or nil) gives the
// documented defaults.
type RollbackOptions struct {
	// Logger receives the operation's lines; nil means the Cloud's logger.
	Logger *slog.Logger
}

// RecoverOptions configure Recover. The zero value (or nil) gives the
// documented defaults.
type RecoverOptions struct {
	// Reason is recorded on the node; "" means "reported dead".
	Reason string
	// RemoveMember replaces the server the way TripleO's "node delete"
	// does: the dead member is added to its group's removal policies
	// and a new member, with the next index, is created. By default the
	// server is replaced in place, under the same name.
	RemoveMember bool
	// RemovalPoliciesParam names the parameter of a group's removal
	// policies (RemoveMember); nil means group + RemovalPoliciesSuffix.
	RemovalPoliciesParam func(group string) string
	// Replacement names the available node that takes over the dead
	// node's predictable placement (its capability node:NAME) when it has
	// one and the server is replaced in place; "" means the first
	// available node, by name, of the dead node's profile.
	Replacement string
	// Logger receives the operation's lines; nil means the Cloud's logger.
	Logger *slog.Logger
}

// stackLocks serialises the lifecycle operations on one stack record
// (DIR/lifecycle/NAME.json) within the process; the stack's engine lease
// keeps other processes out.
var stackLocks sync.Map // record path → *sync.Mutex

func (c *Cloud) lockStack(name string) (unlock func(), err error) {
	if !stackName.MatchString(name) {
		return nil, fmt.Errorf("stack name %q: must be a letter then letters, digits, '_', '.' or '-'", name)
	}
	m, _ := stackLocks.LoadOrStore(c.recordPath(name), new(sync.Mutex))
	mu := m.(*sync.Mutex)
	if !mu.TryLock() {
		return nil, fmt.Errorf("stack %s: %w: another lifecycle operation runs", name, orchestrate.ErrLocked)
	}
	return mu.Unlock, nil
}

func (c *Cloud) recordPath(stack string) string {
	return filepath.Join(c.dir, "lifecycle", stack+".json")
}

func (c *Cloud) logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return c.log
}

// Deployment returns the lifecycle's record of the named stack; the error
// wraps ErrNotDeployed when there is none.
func (c *Cloud) Deployment(stack string) (*Deployment, error) {
	if !stackName.MatchString(stack) {
		return nil, fmt.Errorf("tripleo: deployment %q: invalid stack name", stack)
	}
	d, err := c.readRecord(stack)
	if err != nil {
		return nil, fmt.Errorf("tripleo: deployment %s: %w", stack, err)
	}
	return d, nil
}

// Deployments returns the records of every stack deployed through the
// lifecycle, by stack name.
func (c *Cloud) Deployments() ([]*Deployment, error) {
	ents, err := os.ReadDir(filepath.Join(c.dir, "lifecycle"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tripleo: deployments: %w", err)
	}
	var out []*Deployment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") || !stackName.MatchString(name) {
			continue
		}
		d, err := c.readRecord(name)
		if err != nil {
			return nil, fmt.Errorf("tripleo: deployments: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

func (c *Cloud) readRecord(stack string) (*Deployment, error) {
	path := c.recordPath(stack)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotDeployed
	}
	if err != nil {
		return nil, err
	}
	var d Deployment
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if d.Stack != stack {
		return nil, fmt.Errorf("%s: record of stack %q", path, d.Stack)
	}
	return &d, nil
}

func (c *Cloud) writeRecord(d *Deployment) error {
	d.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	path := c.recordPath(d.Stack)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), nil)
}

// Bootstrap is the seed's work, done before the undercloud exists: it
// enrolls the given machines (verifying their BMCs), inspects them
// (see BootstrapOptions.SkipInspect) and provides them, so that they wait
// in the pool, available, for DeployUndercloud to claim. It is idempotent:
// a node already enrolled is taken from where it stands (enroll, manageable,
// inspect failed, clean failed), and one available or deployed is left as
// it is. It returns the nodes as stored, in the order given.
func (c *Cloud) Bootstrap(ctx context.Context, nodes []*provision.Node, opts *BootstrapOptions) ([]*provision.Node, error) {
	var o BootstrapOptions
	if opts != nil {
		o = *opts
	}
	log := c.logger(o.Logger)
	if o.Parallelism <= 0 {
		o.Parallelism = 16
	}
	seen := map[string]bool{}
	for i, n := range nodes {
		if n == nil {
			return nil, fmt.Errorf("tripleo: bootstrap: nodes[%d] is nil", i)
		}
		if seen[n.Name] {
			return nil, fmt.Errorf("tripleo: bootstrap: nodes[%d]: node %q given twice", i, n.Name)
		}
		seen[n.Name] = true
	}
	out := make([]*provision.Node, len(nodes))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Parallelism)
	for i, n := range nodes {
		g.Go(func() error {
			got, err := c.seed(gctx, n, &o, log)
			if err != nil {
				return fmt.Errorf("tripleo: bootstrap: node %s: %w", n.Name, err)
			}
			out[i] = got
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	log.Info("bootstrap done", "nodes", len(nodes))
	return out, nil
}

// seed moves one node to available.
func (c *Cloud) seed(ctx context.Context, want *provision.Node, o *BootstrapOptions, log *slog.Logger) (*provision.Node, error) {
	p := c.prov
	n, err := c.Inventory().Get(ctx, want.Name)
	if errors.Is(err, provision.ErrNotFound) {
		n, err = p.Enroll(ctx, want)
	}
	if err != nil {
		return nil, err
	}
	inspected := o.SkipInspect || n.Inventory != nil
	// Each step moves the node forward; a handful is always enough.
	for range 8 {
		switch n.ProvisionState {
		case provision.StateEnroll, provision.StateCleanFailed:
			n, err = p.Manage(ctx, want.Name)
		case provision.StateInspectFailed:
			inspected = true
			n, err = p.Manage(ctx, want.Name)
		case provision.StateManageable:
			if !inspected {
				inspected = true
				n, err = p.Inspect(ctx, want.Name)
				if errors.Is(err, provision.ErrUnsupported) {
					log.Info("node cannot be inspected; provided uninspected", "node", want.Name)
					n, err = c.Inventory().Get(ctx, want.Name)
				}
				break
			}
			n, err = p.Provide(ctx, want.Name)
		default:
			log.Info("node seeded", "node", n.Name, "state", n.ProvisionState.String())
			return n, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("stuck in state %s", n.ProvisionState)
}

// DeployUndercloud deploys (creates, or updates when it exists: TripleO's
// "deploy" is both) the undercloud stack from in, its servers claiming
// nodes from the pool Bootstrap filled. With opts.Image, the image's digest
// is passed as the template parameter opts.ImageParam and recorded as the
// first entry of the stack's image history. An operation a crash
// interrupted is resumed and settled first.
func (c *Cloud) DeployUndercloud(ctx context.Context, in *orchestrate.Input, opts *DeployOptions) (*Deployment, error) {
	var o DeployOptions
	if opts != nil {
		o = *opts
	}
	if o.Stack == "" {
		o.Stack = UndercloudStack
	}
	d, err := c.deploy(ctx, in, &o, "")
	if err != nil {
		return nil, fmt.Errorf("tripleo: deploy undercloud %s: %w", o.Stack, err)
	}
	return d, nil
}

// DeployOvercloud deploys the overcloud stack as a tenant of the
// undercloud (opts.Undercloud), which must be deployed and complete
// (ErrNotDeployed otherwise): the ownership is recorded in the stack's
// Deployment, and the overcloud's servers claim nodes from the same pool.
// Like DeployUndercloud it creates or updates, and resumes an interrupted
// operation first: a process killed in the middle is finished by calling
// DeployOvercloud again on a Cloud reopened on the same directory, with
// no node claimed twice.
func (c *Cloud) DeployOvercloud(ctx context.Context, in *orchestrate.Input, opts *DeployOptions) (*Deployment, error) {
	var o DeployOptions
	if opts != nil {
		o = *opts
	}
	if o.Stack == "" {
		o.Stack = OvercloudStack
	}
	if o.Undercloud == "" {
		o.Undercloud = UndercloudStack
	}
	if o.Undercloud == o.Stack {
		return nil, fmt.Errorf("tripleo: deploy overcloud %s: it cannot be its own undercloud", o.Stack)
	}
	if err := c.requireComplete(ctx, o.Undercloud); err != nil {
		return nil, fmt.Errorf("tripleo: deploy overcloud %s: undercloud %s: %w", o.Stack, o.Undercloud, err)
	}
	d, err := c.deploy(ctx, in, &o, o.Undercloud)
	if err != nil {
		return nil, fmt.Errorf("tripleo: deploy overcloud %s: %w", o.Stack, err)
	}
	return d, nil
}

// requireComplete checks that the lifecycle deployed stack and that it
// stands complete.
func (c *Cloud) requireComplete(ctx context.Context, stack string) error {
	d, err := c.readRecord(stack)
	if err != nil {
		return err
	}
	if d.Input == nil {
		return fmt.Errorf("%w: its first deployment has not completed", ErrNotDeployed)
	}
	e, err := c.Stack(ctx, stack)
	if err != nil {
		return err
	}
	if _, err := waitResumed(ctx, e); err != nil && ctx.Err() != nil {
		return err
	}
	info, err := e.Show(ctx)
	if err != nil {
		return err
	}
	if info.Status != orchestrate.StatusComplete || info.Action == orchestrate.ActionDelete {
		return fmt.Errorf("%w: it is %s", ErrNotDeployed, info.State())
	}
	return nil
}

func (c *Cloud) deploy(ctx context.Context, in *orchestrate.Input, o *DeployOptions, owner string) (*Deployment, error) {
	if in == nil {
		return nil, errors.New("no input")
	}
	log := c.logger(o.Logger).With("stack", o.Stack)
	unlock, err := c.lockStack(o.Stack)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e, d, err := c.settle(ctx, o.Stack, log)
	if errors.Is(err, ErrNotDeployed) {
		d, err = &Deployment{Stack: o.Stack}, nil
	}
	if err != nil {
		return nil, err
	}
	if d.Owner != "" && d.Owner != owner {
		return nil, fmt.Errorf("stack %s is owned by %s, not %q", o.Stack, d.Owner, owner)
	}
	d.Owner = owner
	next := cloneInput(in)
	digest := ""
	if o.ImageParam == "" {
		o.ImageParam = cmp.Or(d.ImageParam, DefaultImageParam)
	}
	switch {
	case o.Image != "":
		if digest, err = c.imageDigest(o.Image); err != nil {
			return nil, err
		}
	case d.Image != "" && next.Params[o.ImageParam] == "":
		// A redeploy that names no image keeps the one the stack runs.
		digest = d.Image
	}
	if digest != "" {
		d.ImageParam = o.ImageParam
		next.Params[o.ImageParam] = digest
	}
	info, err := e.Show(ctx)
	if err != nil && !errors.Is(err, orchestrate.ErrNotFound) {
		return nil, err
	}
	exists := err == nil && info.Action != orchestrate.ActionDelete
	if exists && d.Input != nil && info.Status == orchestrate.StatusComplete && inputsEqual(d.Input, next) {
		log.Info("stack already deployed", "state", info.State())
		return d, nil
	}
	action := ActionDeploy
	if exists && d.Input != nil && digest != "" && d.Image == digest {
		action = ActionUpdate // same image, new template or parameters: no history entry
	}
	return c.apply(ctx, e, d, &PendingOp{Action: action, Input: next, Image: digest}, !exists, log)
}

// settle opens the stack's engine, waits for an operation a crash
// interrupted to finish resuming, and folds the outcome into the record's
// pending operation. The error wraps ErrNotDeployed when there is no
// record.
func (c *Cloud) settle(ctx context.Context, stack string, log *slog.Logger) (orchestrate.Engine, *Deployment, error) {
	e, err := c.Stack(ctx, stack)
	if err != nil {
		return nil, nil, err
	}
	resumed, rerr := waitResumed(ctx, e)
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	if resumed {
		log.Info("interrupted stack operation resumed", "err", rerr)
	}
	d, err := c.readRecord(stack)
	if err != nil {
		return e, nil, err
	}
	if d.Pending == nil {
		return e, d, nil
	}
	info, err := e.Show(ctx)
	if err != nil && !errors.Is(err, orchestrate.ErrNotFound) {
		return nil, nil, err
	}
	p := d.Pending
	if err == nil && completedSince(ctx, e, stack, p.Started) {
		// The engine finished the operation after the process died (or
		// just before): commit it.
		log.Info("interrupted lifecycle operation completed", "action", p.Action)
		c.commit(d, p, info.ID)
	} else {
		// It failed, or never reached the engine, or its events are
		// lost: forget it. Calling the method again re-applies it.
		log.Warn("interrupted lifecycle operation did not complete", "action", p.Action)
		d.Pending = nil
	}
	if err := c.writeRecord(d); err != nil {
		return nil, nil, err
	}
	return e, d, nil
}

// completedSince reports whether the stack's last operation is a create
// or update that completed at or after since, from the stack's events.
func completedSince(ctx context.Context, e orchestrate.Engine, stack string, since time.Time) bool {
	evs, err := e.Events(ctx, &orchestrate.EventQuery{Resource: stack})
	if err != nil {
		return false
	}
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if ev.ResourceType != typeStack {
			continue
		}
		return ev.Status == orchestrate.StatusComplete && !ev.Time.Before(since) &&
			(ev.Action == orchestrate.ActionCreate || ev.Action == orchestrate.ActionUpdate)
	}
	return false
}

// typeStack is the resource type of a stack's own events.
const typeStack = "OS::Heat::Stack"

// commit folds a completed pending operation into the record.
func (c *Cloud) commit(d *Deployment, p *PendingOp, stackID string) {
	d.Pending = nil
	d.Input = p.Input
	if stackID != "" {
		d.StackID = stackID
	}
	now := time.Now().UTC()
	if p.Image != "" && (p.Image != d.Image || p.Action == ActionRollback || len(d.History) == 0) {
		d.History = append(d.History, ImageRecord{Digest: p.Image, Action: p.Action, Time: now})
	}
	if p.Image != "" {
		d.Image = p.Image
	}
	if p.Recovery != nil && d.recovered(p.Recovery) == nil {
		r := *p.Recovery
		r.Time = now
		d.Recoveries = append(d.Recoveries, r)
	}
}

// recovered returns the recorded recovery that already replaced r's node
// and resource (a recovery run again), or nil.
func (d *Deployment) recovered(r *Recovery) *Recovery {
	for i := range d.Recoveries {
		x := &d.Recoveries[i]
		if x.Node == r.Node && x.Stack == r.Stack && x.Resource == r.Resource && x.NewNode != "" {
			return x
		}
	}
	return nil
}

// apply records p as pending, runs it on the engine and commits it.
func (c *Cloud) apply(ctx context.Context, e orchestrate.Engine, d *Deployment, p *PendingOp, create bool, log *slog.Logger) (*Deployment, error) {
	p.Started = time.Now().UTC()
	d.Pending = p
	if err := c.writeRecord(d); err != nil {
		return nil, err
	}
	log.Info("stack operation", "action", p.Action, "create", create, "image", p.Image)
	var err error
	if create {
		err = e.Create(ctx, d.Stack, p.Input)
	} else {
		err = e.Update(ctx, p.Input)
	}
	if err != nil {
		if ctx.Err() == nil {
			// The operation ended (failed, perhaps rolled back): nothing
			// is pending any more. On cancellation the engine's journal
			// holds it, and the next call settles it.
			d.Pending = nil
			if werr := c.writeRecord(d); werr != nil {
				err = errors.Join(err, werr)
			}
		}
		return nil, err
	}
	info, err := e.Show(ctx)
	if err != nil {
		return nil, err
	}
	c.commit(d, p, info.ID)
	if err := c.writeRecord(d); err != nil {
		return nil, err
	}
	log.Info("stack operation complete", "action", p.Action, "state", info.State(), "image", d.Image)
	return d, nil
}

func (c *Cloud) imageDigest(ref string) (string, error) {
	a, err := c.images.Get(ref)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", ref, err)
	}
	return a.Digest, nil
}

// Update moves a deployed stack to a new image and/or template and
// parameters. The image's digest is a template parameter, so an image
// update is a parameter change: each server whose image changes is
// replaced (deleted, then deployed again on the node the scheduler gives
// it: the same one with predictable placement, its persistent volume
// kept), group by group in the batches the group's update_policy
// rolling_update sets (max_batch_size, min_in_service, pause_time: by
// default one at a time). A new image is appended to the stack's image
// history.
func (c *Cloud) Update(ctx context.Context, stack string, opts *UpdateOptions) (*Deployment, error) {
	var o UpdateOptions
	if opts != nil {
		o = *opts
	}
	log := c.logger(o.Logger).With("stack", stack)
	d, err := c.update(ctx, stack, log, func(d *Deployment) (*PendingOp, error) {
		next := cloneInput(d.Input)
		if o.Template != nil {
			next = cloneInput(o.Template)
		}
		maps.Copy(next.Params, o.Params)
		p := &PendingOp{Action: ActionUpdate, Input: next}
		if o.Image != "" {
			digest, err := c.imageDigest(o.Image)
			if err != nil {
				return nil, err
			}
			if d.ImageParam == "" {
				d.ImageParam = DefaultImageParam
			}
			p.Image = digest
		}
		if p.Image == "" {
			p.Image = d.Image
		}
		if d.ImageParam != "" && p.Image != "" {
			next.Params[d.ImageParam] = p.Image
		}
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tripleo: update %s: %w", stack, err)
	}
	return d, nil
}

// update runs the operation prepare makes of the stack's settled record.
func (c *Cloud) update(ctx context.Context, stack string, log *slog.Logger, prepare func(*Deployment) (*PendingOp, error)) (*Deployment, error) {
	unlock, err := c.lockStack(stack)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e, d, err := c.settle(ctx, stack, log)
	if err != nil {
		return nil, err
	}
	if d.Input == nil {
		return nil, fmt.Errorf("%w: its first deployment has not completed", ErrNotDeployed)
	}
	p, err := prepare(d)
	if err != nil {
		return nil, err
	}
	return c.apply(ctx, e, d, p, false, log)
}

// Rollback redeploys the image the stack ran before its current one
// (rolling backwards is rolling forwards: an update to the older digest,
// batch by batch, each node keeping its persistent volume). The image
// history is a stack: an update pushes a digest, a rollback pops one, so
// two rollbacks after two updates return to the first image; with nothing
// to go back to the error wraps ErrNoPreviousImage. The template and
// parameters stay as they are.
func (c *Cloud) Rollback(ctx context.Context, stack string, opts *RollbackOptions) (*Deployment, error) {
	var o RollbackOptions
	if opts != nil {
		o = *opts
	}
	log := c.logger(o.Logger).With("stack", stack)
	d, err := c.update(ctx, stack, log, func(d *Deployment) (*PendingOp, error) {
		prev := previousImage(d.History)
		if prev == "" || d.ImageParam == "" {
			return nil, ErrNoPreviousImage
		}
		if _, err := c.images.Get(prev); err != nil {
			return nil, fmt.Errorf("previous image %s: %w", prev, err)
		}
		next := cloneInput(d.Input)
		next.Params[d.ImageParam] = prev
		return &PendingOp{Action: ActionRollback, Input: next, Image: prev}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("tripleo: rollback %s: %w", stack, err)
	}
	return d, nil
}

// previousImage replays the history as a stack (deploy and update push a
// new digest, rollback pops) and returns the digest under the top, or "".
func previousImage(h []ImageRecord) string {
	var st []string
	for _, r := range h {
		switch {
		case r.Action == ActionRollback:
			if len(st) > 1 {
				st = st[:len(st)-1]
			}
		case len(st) == 0 || st[len(st)-1] != r.Digest:
			st = append(st, r.Digest)
		}
	}
	if len(st) < 2 {
		return ""
	}
	return st[len(st)-2]
}

// Recover takes a node reported dead (its BMC unreachable, the machine
// gone) out of service and replaces the server it hosted from the pool.
//
// The node is marked in the inventory: maintenance=true with the reason,
// provision state error (as a failed undeploy leaves it), its claim
// released (kept as tripleo_failed_claim), so it is never claimed again;
// its BMC is not contacted. A node that hosted no server of a stack
// deployed through the lifecycle is only marked.
//
// By default the server is replaced in place, as Heat replaces a resource
// marked unhealthy: the server resource is marked CHECK_FAILED with the
// reason (orchestrate.ResourceMarker, Heat's `openstack stack resource
// mark unhealthy`; an engine without it has the whole stack checked) and
// the stack updated with the input it has, which replaces the failed
// server under the same name; its deployments follow it. A replacement node must be available first
// (opts.Replacement, or the first available node of the dead node's
// profile; ErrNoNode otherwise); when the dead node carried a predictable
// placement tag (capability node:NAME, TripleO's scheduler hint), the tag
// moves to it, so the hint finds it.
//
// With opts.RemoveMember the server must be a member of a resource group
// whose removal_policies come from the parameter RemovalPoliciesParam
// (TripleO's <Group>RemovalPolicies, type json); the member is added to
// its resource_list and the stack updated, so the group deletes the dead
// member (a no-op for the released node) and creates a new member with the
// next index, whose server claims an available node (with predictable
// placement, the node tagged for the new index).
//
// Either way what can be checked is checked before the node is touched
// (a missing replacement node or parameter fails, leaving the node as it
// was; ErrNotRecoverable for a server RemoveMember cannot remove), the
// stack converges again, and the recovery is recorded in its Deployment.
func (c *Cloud) Recover(ctx context.Context, node string, opts *RecoverOptions) (*Recovery, error) {
	var o RecoverOptions
	if opts != nil {
		o = *opts
	}
	if o.Reason == "" {
		o.Reason = "reported dead"
	}
	if o.RemovalPoliciesParam == nil {
		o.RemovalPoliciesParam = func(group string) string { return group + RemovalPoliciesSuffix }
	}
	log := c.logger(o.Logger).With("node", node)
	rec, err := c.recover(ctx, node, &o, log)
	if err != nil {
		return nil, fmt.Errorf("tripleo: recover node %s: %w", node, err)
	}
	return rec, nil
}

func (c *Cloud) recover(ctx context.Context, node string, o *RecoverOptions, log *slog.Logger) (*Recovery, error) {
	inv := c.Inventory()
	n, err := inv.Get(ctx, node)
	if err != nil {
		return nil, err
	}
	key := n.Properties[PropClaim]
	if key == "" {
		key = n.Properties[PropFailedClaim] // a recovery cut short
	}
	rec := &Recovery{Node: node, Reason: o.Reason}
	// Find the stack and the resource the claim belongs to, and check
	// what can be checked, before touching the node.
	var d *Deployment
	var resource, group, member, param, spare string
	if key != "" {
		if d, resource, err = c.serverOf(key); err != nil {
			return nil, err
		}
	}
	if d != nil {
		rec.Stack, rec.Resource = d.Stack, resource
		if o.RemoveMember {
			g, m, ok := strings.Cut(resource, "/")
			if !ok || strings.Contains(m, "/") {
				return nil, fmt.Errorf("%w: server %s of stack %s is not a member of a top-level resource group", ErrNotRecoverable, resource, d.Stack)
			}
			group, member, param = g, m, o.RemovalPoliciesParam(g)
			if err := c.checkRemovalParam(ctx, d, param); err != nil {
				return nil, err
			}
		} else if o.Replacement != "" || profileOf(n) != "" {
			// A node must be there to take the server; with a placement
			// tag, it is the one the tag moves to.
			if spare, err = c.pickReplacement(ctx, n, o.Replacement); err != nil {
				return nil, err
			}
			if capability(n, "node") == "" {
				spare = ""
			}
		}
	}
	if err := c.takeOutOfService(ctx, n, o.Reason, log); err != nil {
		return nil, err
	}
	if d == nil {
		log.Info("node taken out of service; it hosted no server of a lifecycle stack")
		rec.Time = time.Now().UTC()
		return rec, nil
	}
	if spare != "" {
		if err := c.moveTag(ctx, node, spare, log); err != nil {
			return nil, err
		}
	}
	before, err := claimsOf(ctx, inv)
	if err != nil {
		return nil, err
	}
	slg := log.With("stack", d.Stack)
	e, err := c.Stack(ctx, d.Stack)
	if err != nil {
		return nil, err
	}
	dd, err := c.update(ctx, d.Stack, slg, func(d *Deployment) (*PendingOp, error) {
		next := cloneInput(d.Input)
		if o.RemoveMember {
			if !slices.Contains(d.Removals[group], member) {
				if d.Removals == nil {
					d.Removals = map[string][]string{}
				}
				d.Removals[group] = append(d.Removals[group], member)
			}
			list := make([]any, len(d.Removals[group]))
			for i, m := range d.Removals[group] {
				list[i] = m
			}
			b, err := json.Marshal([]any{map[string]any{"resource_list": list}})
			if err != nil {
				return nil, err
			}
			next.Params[param] = string(b)
		} else if err := markDead(ctx, e, d.Stack, resource, key, o.Reason); err != nil {
			return nil, err
		}
		return &PendingOp{Action: ActionRecover, Input: next, Image: d.Image, Recovery: rec}, nil
	})
	if err != nil {
		return nil, err
	}
	after, err := claimsOf(ctx, inv)
	if err != nil {
		return nil, err
	}
	prefix := dd.StackID + "/"
	if o.RemoveMember {
		prefix += group + "/"
	} else {
		prefix += resource + "/"
	}
	for k, name := range after {
		if _, had := before[k]; had || !strings.HasPrefix(k, prefix) {
			continue
		}
		res := strings.TrimPrefix(k, dd.StackID+"/")
		res = strings.TrimSuffix(res, "/"+lastSegment(res))
		if !o.RemoveMember && res != resource {
			continue
		}
		rec.NewNode, rec.Replacement = name, res
	}
	if prev := dd.recovered(rec); prev != nil && rec.NewNode == "" {
		// Run again after the node was replaced: nothing new was claimed;
		// report the recorded replacement.
		rec.NewNode, rec.Replacement, rec.Time = prev.NewNode, prev.Replacement, prev.Time
	} else if n := len(dd.Recoveries); n > 0 && dd.Recoveries[n-1].Node == rec.Node && dd.Recoveries[n-1].Resource == rec.Resource {
		last := &dd.Recoveries[n-1]
		last.NewNode, last.Replacement = rec.NewNode, rec.Replacement
		rec.Time = last.Time
		if err := c.writeRecord(dd); err != nil {
			return nil, err
		}
	}
	slg.Info("node recovered", "resource", rec.Resource, "replacement", rec.Replacement, "new_node", rec.NewNode)
	return rec, nil
}

// markDead makes the next update of stack replace the server resource
// that held the claim key: it is marked unhealthy (orchestrate's
// ResourceMarker, Heat's mark unhealthy: CHECK_FAILED with the reason);
// an engine that cannot mark has the whole stack checked instead (its
// CHECK action fails the server whose node lost its claim). A resource
// that no longer holds that server (a recovery cut short after the
// replacement) is left alone.
func markDead(ctx context.Context, e orchestrate.Engine, stack, resource, key, reason string) error {
	rm, ok := e.(orchestrate.ResourceMarker)
	if !ok {
		sa, ok := e.(orchestrate.StackActioner)
		if !ok {
			return fmt.Errorf("recover in place: the %s stack's engine can neither mark nor check its resources", stack)
		}
		if err := sa.CheckStack(ctx); err != nil && !errors.Is(err, orchestrate.ErrFailed) {
			// CHECK_FAILED is expected: the dead server fails it.
			return fmt.Errorf("check: %w", err)
		}
		return nil
	}
	info, err := e.Show(ctx)
	if err != nil {
		return err
	}
	for _, r := range info.Resources {
		if r.Name != resource || r.PhysicalID != serverID(key) {
			continue
		}
		if err := rm.MarkUnhealthy(ctx, resource, "node "+reason); err != nil {
			return fmt.Errorf("mark %s unhealthy: %w", resource, err)
		}
	}
	return nil
}

// capability returns the value of n's capability name ("node" in
// "profile:compute,node:compute-0"), or "".
func capability(n *provision.Node, name string) string {
	for _, c := range strings.Split(n.Properties["capabilities"], ",") {
		if k, v, ok := strings.Cut(c, ":"); ok && k == name {
			return v
		}
	}
	return ""
}

// profileOf is a node's profile: its profile property or capability.
func profileOf(n *provision.Node) string {
	if p := n.Properties[PropProfile]; p != "" {
		return p
	}
	return capability(n, "profile")
}

// pickReplacement returns the node that takes over dead's placement tag:
// want when set (it must be available and unclaimed), else the first
// available, unclaimed node by name of dead's profile.
func (c *Cloud) pickReplacement(ctx context.Context, dead *provision.Node, want string) (string, error) {
	nodes, err := c.Inventory().List(ctx)
	if err != nil {
		return "", err
	}
	slices.SortFunc(nodes, func(a, b *provision.Node) int { return strings.Compare(a.Name, b.Name) })
	for _, n := range nodes {
		if n.Name == dead.Name || n.ProvisionState != provision.StateAvailable || n.Properties[PropClaim] != "" ||
			n.Properties[PropMaintenance] == "true" {
			continue
		}
		if want != "" && n.Name == want || want == "" && profileOf(n) == profileOf(dead) {
			return n.Name, nil
		}
	}
	if want != "" {
		return "", fmt.Errorf("replacement %s: %w (it must be available and unclaimed)", want, ErrNoNode)
	}
	return "", fmt.Errorf("%w profile %q to take over node:%s", ErrNoNode, profileOf(dead), capability(dead, "node"))
}

// moveTag moves the capability node:NAME from node from to node to
// (replacing to's own node: capability, if any).
func (c *Cloud) moveTag(ctx context.Context, from, to string, log *slog.Logger) error {
	inv := c.Inventory()
	src, err := inv.Get(ctx, from)
	if err != nil {
		return err
	}
	dst, err := inv.Get(ctx, to)
	if err != nil {
		return err
	}
	tag := capability(src, "node")
	if tag == "" {
		return nil
	}
	drop := func(caps string) []string {
		var out []string
		for _, c := range strings.Split(caps, ",") {
			if c != "" && !strings.HasPrefix(c, "node:") {
				out = append(out, c)
			}
		}
		return out
	}
	if dst.Properties == nil {
		dst.Properties = map[string]string{}
	}
	dst.Properties["capabilities"] = strings.Join(append(drop(dst.Properties["capabilities"]), "node:"+tag), ",")
	if err := inv.Update(context.WithoutCancel(ctx), dst); err != nil {
		return err
	}
	src.Properties["capabilities"] = strings.Join(drop(src.Properties["capabilities"]), ",")
	if err := inv.Update(context.WithoutCancel(ctx), src); err != nil {
		return err
	}
	log.Info("predictable placement tag moved", "tag", "node:"+tag, "to", to)
	return nil
}

// ProbeOptions configure Probe. The zero value (or nil) gives the
// documented defaults.
type ProbeOptions struct {
	// Timeout bounds the probe of one node (opening its BMC and reading
	// its power state, with no retry); 0 means 5s.
	Timeout time.Duration
	// All probes every enrolled node; by default only active ones (those
	// hosting servers) are.
	All bool
	// Parallelism bounds the nodes probed at once; 0 means 16.
	Parallelism int
	// Logger receives a line per unreachable node; nil means the Cloud's
	// logger.
	Logger *slog.Logger
}

// NodeProbe is what Probe found out about one node.
type NodeProbe struct {
	// Node is the node's name.
	Node string
	// Power is the power state its BMC reported (PowerUnknown on error).
	Power provision.PowerState
	// Err is why the BMC did not answer (it wraps provision.ErrUnreachable
	// for a BMC that is gone); nil when it did.
	Err error
}

// Probe reads the power state of the active nodes (see ProbeOptions.All)
// straight from their BMCs, each within a deadline and without retries,
// as a monitor would; a node whose probe has an error is the kind of node
// Recover replaces. It changes nothing in the inventory. The result is in
// the inventory's order.
func (c *Cloud) Probe(ctx context.Context, opts *ProbeOptions) ([]NodeProbe, error) {
	var o ProbeOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 16
	}
	log := c.logger(o.Logger)
	nodes, err := c.Inventory().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("tripleo: probe: %w", err)
	}
	var out []NodeProbe
	var todo []*provision.Node
	for _, n := range nodes {
		if n.ProvisionState == provision.StateActive || o.All && n.ProvisionState != provision.StateEnroll {
			todo = append(todo, n)
			out = append(out, NodeProbe{Node: n.Name})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Parallelism)
	for i, n := range todo {
		g.Go(func() error {
			pctx, cancel := context.WithTimeout(gctx, o.Timeout)
			defer cancel()
			b, err := provision.OpenBMC(pctx, n.BMCAddress, n.Credentials,
				&provision.BMCOptions{CommandTimeout: o.Timeout, Retries: -1, Logger: log})
			if err == nil {
				out[i].Power, err = b.PowerState(pctx)
				err = errors.Join(err, b.Close())
			}
			if err != nil {
				out[i].Err = err
				log.Warn("node did not answer its probe", "node", n.Name, "err", err)
			}
			return ctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("tripleo: probe: %w", err)
	}
	return out, nil
}

// checkRemovalParam checks, before anything changes, that the stack's
// template takes the removal policies parameter: the engine plans the
// deployed input with the parameter set (an empty list).
func (c *Cloud) checkRemovalParam(ctx context.Context, d *Deployment, param string) error {
	if d.Input == nil {
		return fmt.Errorf("stack %s: %w: its first deployment has not completed", d.Stack, ErrNotDeployed)
	}
	e, err := c.Stack(ctx, d.Stack)
	if err != nil {
		return err
	}
	in := cloneInput(d.Input)
	if _, ok := in.Params[param]; !ok {
		in.Params[param] = "[]"
	}
	if _, err := e.Plan(ctx, d.Stack, in); err != nil {
		return fmt.Errorf("%w: stack %s: the template must take the parameter %s (type json) as the group's removal_policies: %w",
			ErrNotRecoverable, d.Stack, param, err)
	}
	return nil
}

// takeOutOfService marks a dead node: maintenance, error state, claim
// released. An available node is moved to manageable instead (it holds
// nothing and the state machine has the edge).
func (c *Cloud) takeOutOfService(ctx context.Context, n *provision.Node, reason string, log *slog.Logger) error {
	if n.ProvisionState == provision.StateAvailable {
		var err error
		if n, err = c.prov.Manage(ctx, n.Name); err != nil {
			return err
		}
	}
	if n.Properties == nil {
		n.Properties = map[string]string{}
	}
	n.Properties[PropMaintenance] = "true"
	n.Properties[PropMaintenanceReason] = reason
	if k := n.Properties[PropClaim]; k != "" {
		n.Properties[PropFailedClaim] = k
		delete(n.Properties, PropClaim)
	}
	switch n.ProvisionState {
	case provision.StateManageable, provision.StateEnroll, provision.StateError:
	default:
		n.ProvisionState = provision.StateError
	}
	n.LastError = "taken out of service: " + reason
	n.PowerState = provision.PowerUnknown
	if err := c.Inventory().Update(context.WithoutCancel(ctx), n); err != nil {
		return err
	}
	log.Warn("node taken out of service", "reason", reason, "state", n.ProvisionState.String())
	return nil
}

// serverOf finds the lifecycle stack and the resource ("Compute/2") a
// server key ("STACKID/RESOURCE/GEN") belongs to; d is nil when no
// lifecycle stack has that id.
func (c *Cloud) serverOf(key string) (d *Deployment, resource string, err error) {
	ds, err := c.Deployments()
	if err != nil {
		return nil, "", err
	}
	for _, cand := range ds {
		if cand.StackID == "" || !strings.HasPrefix(key, cand.StackID+"/") {
			continue
		}
		res := strings.TrimPrefix(key, cand.StackID+"/")
		return cand, strings.TrimSuffix(res, "/"+lastSegment(res)), nil
	}
	return nil, "", nil
}

func lastSegment(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}

// claimsOf maps each claim key to the node holding it.
func claimsOf(ctx context.Context, inv provision.Inventory) (map[string]string, error) {
	nodes, err := inv.List(ctx)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, n := range nodes {
		if k := n.Properties[PropClaim]; k != "" {
			m[k] = n.Name
		}
	}
	return m, nil
}

func cloneInput(in *orchestrate.Input) *orchestrate.Input {
	out := *in
	out.Environments = slices.Clone(in.Environments)
	out.Params = maps.Clone(in.Params)
	if out.Params == nil {
		out.Params = map[string]string{}
	}
	out.Files = maps.Clone(in.Files)
	return &out
}

func inputsEqual(a, b *orchestrate.Input) bool {
	return a.TemplateFile == b.TemplateFile && a.Template == b.Template &&
		slices.Equal(a.Environments, b.Environments) &&
		maps.Equal(a.Params, b.Params) && maps.Equal(a.Files, b.Files)
}

// waitResumed waits for the operation an engine resumed on opening (the
// embedded engine's Resumed); an engine that resumes nothing in this
// process (a remote one) reports false.
func waitResumed(ctx context.Context, e orchestrate.Engine) (bool, error) {
	if r, ok := e.(interface {
		Resumed(context.Context) (bool, error)
	}); ok {
		return r.Resumed(ctx)
	}
	return false, nil
}
