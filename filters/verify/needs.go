package verify

import (
	"errors"
	"os/exec"
	"regexp"

	"kforge/datasets"
	"kforge/filters/compile"
)

// SkipError is a task this backend's toolchain cannot build by the task's
// own recorded needs (datasets.Needs): it is skipped, not failed, and no
// candidate is at fault. It is an ErrTask.
type SkipError struct {
	Task   string
	Reason string // short, for counting: "needs HIP >= 5.5"
	Detail string // with the installed version and the task's reason
}

func (e *SkipError) Error() string {
	return "task " + e.Task + " skipped: " + e.Detail
}

func (e *SkipError) Unwrap() error { return ErrTask }

// Skipped returns the skip reason of err when it is a SkipError ("" when not).
func Skipped(err error) string {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Reason
	}
	return ""
}

var hipVersionRe = regexp.MustCompile(`HIP version:?\s*([0-9][0-9.\-]*)`)

// HIPVersion reads the HIP version from a compiler version line such as
// "hipcc: HIP version: 5.2.21153-0" ("" when there is none).
func HIPVersion(line string) string {
	if m := hipVersionRe.FindStringSubmatch(line); m != nil {
		return m[1]
	}
	return ""
}

// Unbuildable says why this verifier's compiler cannot build t by t's
// recorded toolchain needs ("" when it can or cannot tell).
func (v *Verifier) Unbuildable(t *datasets.Task) *SkipError {
	if t.Build.Needs != nil {
		for _, tool := range t.Build.Needs.Tools {
			if _, err := exec.LookPath(tool); err != nil {
				return &SkipError{Task: t.ID, Reason: "needs " + tool, Detail: "needs " + tool + " on PATH to build (" + t.Build.Needs.Reason + ")"}
			}
		}
	}
	c := v.be.compiler
	if c == nil || c.Kind != compile.HIPCC || t.Build.Needs == nil {
		return nil
	}
	why := t.Build.Needs.UnmetBy(HIPVersion(c.Version()))
	if why == "" {
		return nil
	}
	return &SkipError{Task: t.ID, Reason: "needs HIP >= " + t.Build.Needs.MinHIP, Detail: why}
}
