package main

import (
	"context"
	"log/slog"

	"github.com/tripleo-go/tripleo/config"
)

// apply renders the templates tree into the output tree. Partials are read
// from the working directory, as pystache does under the original.
func apply(ctx context.Context, data any, o *opts, logger *slog.Logger) error {
	out := o.output
	if out == "" {
		// The original joins the output paths to "": they are relative to
		// the working directory. (For the library "" means "/".)
		out = "."
	}
	_, err := config.Apply(ctx, data, &config.ApplyOptions{
		TemplatesDir: o.templates,
		OutputDir:    out,
		Renderer:     config.Mustache{Partials: config.PartialsDir(".")},
		Validate:     o.validate,
		Logger:       logger,
	})
	return err
}
