package main

import (
	"context"
	"fmt"
)

func cmdSlurm(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge slurm: not built yet")
	return exitFailed
}
