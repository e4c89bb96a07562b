package main

import (
	"context"
	"fmt"
)

func cmdVerify(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge verify: not built yet")
	return exitFailed
}
