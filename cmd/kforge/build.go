package main

import (
	"context"
	"fmt"
)

func cmdBuild(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge build: being wired")
	return exitFailed
}
