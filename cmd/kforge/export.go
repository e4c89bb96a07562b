package main

import (
	"context"
	"fmt"
)

func cmdExport(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "kforge export: not built yet")
	return exitFailed
}
