package main

import (
	"context"
	"fmt"
)

func cmdMine(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge mine: not built yet")
	return exitFailed
}
