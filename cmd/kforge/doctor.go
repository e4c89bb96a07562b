package main

import (
	"context"
	"fmt"
)

func cmdDoctor(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge doctor: being wired")
	return exitFailed
}
