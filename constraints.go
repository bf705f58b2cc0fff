package tripleo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tripleo-go/tripleo/orchestrate"
)

// registerConstraints gives the stacks of a Cloud the custom_constraint
// checkers that TripleO's templates name and that the Cloud can answer
// (Heat asks Nova and Glance): nova.flavor (a flavor of
// ServerOptions.Flavors, "baremetal", or the profile of an enrolled node),
// glance.image (an image reference the store resolves: name, tag or
// digest) and nova.keypair (any non-empty name: the Cloud keeps no key
// pairs, and images carry their own keys).
func registerConstraints(types *orchestrate.Types, s *ServerType) {
	types.RegisterConstraint("nova.flavor", func(ctx context.Context, v any) error {
		name, _ := v.(string)
		if _, ok := s.o.Flavors[name]; ok || name == "baremetal" {
			return nil
		}
		nodes, err := s.prov.Inventory().List(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if name != "" && n.Properties[PropProfile] == name {
				return nil
			}
		}
		return fmt.Errorf("flavor %q not found: not a flavor of the Cloud, not \"baremetal\", no node's profile", name)
	})
	types.RegisterConstraint("glance.image", func(_ context.Context, v any) error {
		ref, _ := v.(string)
		if s.o.Images == nil {
			return fmt.Errorf("image %q not found: the Cloud has no image store", ref)
		}
		if _, err := s.o.Images.Get(ref); err != nil {
			return fmt.Errorf("image %q not found: %w", ref, err)
		}
		return nil
	})
	types.RegisterConstraint("nova.keypair", func(_ context.Context, v any) error {
		if name, _ := v.(string); name == "" {
			return errors.New("key pair name is empty")
		}
		return nil
	})
}
