package image

import "context"

// Images is an image store: the embedded content-addressed Store (the
// default everywhere one is needed) or one that a caller backs with its
// own registry. An Artifact it returns names local files (Artifact.Path),
// which deploy steps read.
type Images interface {
	// Build builds an image into the store.
	Build(ctx context.Context, spec *Spec, src Source, opts *Options) (*Artifact, error)
	// Add stores a built artifact.
	Add(a *Artifact) (*Artifact, error)
	// Get returns the artifact a reference (digest, tag) names.
	Get(ref string) (*Artifact, error)
	// Tag points tag at a stored digest.
	Tag(tag, digest string) error
	// Resolve returns the digest a reference names.
	Resolve(ref string) (string, error)
}

var _ Images = (*Store)(nil)
