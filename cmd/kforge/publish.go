package main

import (
	"context"
	"fmt"
)

func cmdPublish(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge publish: not built yet")
	return exitFailed
}
