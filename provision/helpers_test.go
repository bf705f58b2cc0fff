package provision_test

import (
	"context"
	"testing"
	"time"
)

var ctxCanceled = context.Canceled

func contextWithCancelAfter(t *testing.T, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(d, cancel)
	return ctx, cancel
}
