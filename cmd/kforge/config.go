package main

import (
	"context"
	"fmt"
)

func cmdConfig(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge config: being wired")
	return exitFailed
}
