package main

import (
	"context"
	"fmt"
)

func cmdMerge(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge merge: not built yet")
	return exitFailed
}
