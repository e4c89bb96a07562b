package main

import (
	"context"
	"fmt"

	"kforge/configs"
)

func cmdConfig(ctx context.Context, e *env, args []string) int {
	const use = "usage: kforge config check FILE... | kforge config explain"
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, use)
		return exitUsage
	}
	switch args[0] {
	case "explain":
		configs.Explain(e.stdout)
		return exitOK
	case "check":
		if len(args) < 2 {
			fmt.Fprintln(e.stderr, use)
			return exitUsage
		}
		code := exitOK
		for _, f := range args[1:] {
			if _, err := configs.Load(f); err != nil {
				fmt.Fprintln(e.stderr, err)
				code = exitUsage
				continue
			}
			fmt.Fprintf(e.stdout, "%s: ok\n", f)
		}
		return code
	}
	fmt.Fprintln(e.stderr, use)
	return exitUsage
}
