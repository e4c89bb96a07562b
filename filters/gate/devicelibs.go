package gate

import (
	"regexp"
	"strings"
)

// deviceLibs are device-side building-block libraries (wave-level matrix
// fragments) a kernel region may call when its task's reference already
// does: a rocWMMA sample's kernel is written in rocwmma:: fragments, and a
// faster variant uses the same primitives. They never do the whole work:
// the region still computes the tiling, the loop and the epilogue.
var deviceLibs = map[string]bool{"rocwmma": true}

var reDeviceLib = regexp.MustCompile(`\b(\w+)\s*::`)

// deviceLibsOf are the device libraries the reference region calls.
func deviceLibsOf(ref string) map[string]bool {
	out := map[string]bool{}
	for _, m := range reDeviceLib.FindAllStringSubmatch(mustStrip(ref), -1) {
		if deviceLibs[m[1]] {
			out[m[1]] = true
		}
	}
	return out
}

// libNamespace is the namespace of a no-library match such as "rocwmma ::".
func libNamespace(m string) string {
	ns, _, _ := strings.Cut(m, "::")
	return strings.TrimSpace(ns)
}
