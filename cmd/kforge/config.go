package main

import (
	"context"
	"errors"
	"fmt"

	"kforge/configs"
)

func cmdConfig(ctx context.Context, e *env, args []string) error {
	const use = "usage: kforge config check [--skip-paths] FILE... | kforge config explain"
	showUse := showUsage(func() { fmt.Fprintln(e.stderr, use) })
	if len(args) == 0 {
		return showUse
	}
	if isHelp(args) || (len(args) > 1 && (args[0] == "check" || args[0] == "explain") && isHelp(args[1:])) {
		fmt.Fprintln(e.stdout, use)
		return nil
	}
	switch args[0] {
	case "explain":
		configs.Explain(e.stdout)
		return nil
	case "check":
		files := args[1:]
		// --skip-paths: a recipe written for another machine (the cluster's
		// replay and decontamination paths) is checked here without them.
		var o configs.Options
		if len(files) > 0 && (files[0] == "--skip-paths" || files[0] == "-skip-paths") {
			o.SkipPaths, files = true, files[1:]
		}
		if len(files) == 0 {
			return showUse
		}
		var errs []error
		for _, f := range files {
			c, err := configs.LoadWith(f, o)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintf(e.stdout, "%s: ok\n", f)
			for _, n := range c.Notes() {
				fmt.Fprintf(e.stdout, "%s: note: %s\n", f, n)
			}
		}
		if len(errs) > 0 {
			return &configError{errors.Join(errs...)}
		}
		return nil
	}
	return showUse
}
