package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); otherwise
// the module version or the VCS revision is shown.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
	}
	return "devel"
}

func cmdVersion(ctx context.Context, e *env, args []string) error {
	if isHelp(args) {
		fmt.Fprintln(e.stdout, "usage: kforge version")
		return nil
	}
	fmt.Fprintln(e.stdout, "kforge", versionString())
	return nil
}
