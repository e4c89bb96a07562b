//go:build !hosttest

package verify

import (
	"context"
	"errors"
)

// HostTestBuilt reports whether this binary has the host-test backend.
const HostTestBuilt = false

func hostTestBackend(context.Context, Config, Options) (*backend, error) {
	return nil, errors.New("verify: backend host-test is only in test builds (-tags hosttest)")
}
