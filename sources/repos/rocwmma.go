package repos

import (
	"regexp"

	"kforge/datasets"
)

// hipLibNeeds are header-only device libraries whose headers need a newer
// HIP than a default toolchain, by the include root a program uses.
var hipLibNeeds = []struct {
	re          *regexp.Regexp
	minHIP, why string
}{
	// rocWMMA's install guide asks for a ROCm 6.0 platform.
	{regexp.MustCompile(`(?m)^[ \t]*#[ \t]*include[ \t]*[<"]rocwmma/`), "6.0", "includes rocWMMA headers, which need ROCm 6.0 or newer"},
}

// hipLibraryNeeds records what a hip-program's header-only libraries need
// from the toolchain (nil when nothing).
func hipLibraryNeeds(raw string) *datasets.Needs {
	var n *datasets.Needs
	for _, l := range hipLibNeeds {
		if !l.re.MatchString(raw) {
			continue
		}
		if n == nil {
			n = &datasets.Needs{}
		}
		if n.MinHIP == "" || datasets.CompareVersions(l.minHIP, n.MinHIP) > 0 {
			n.MinHIP = l.minHIP
		}
		if n.Reason != "" {
			n.Reason += "; "
		}
		n.Reason += l.why
	}
	return n
}
