package release

import "testing"

// SetTestHookBeforeSwap sets the hook called before a whole release is
// renamed into place, for the duration of t.
func SetTestHookBeforeSwap(t *testing.T, fn func(tmp string)) {
	testHookBeforeSwap = fn
	t.Cleanup(func() { testHookBeforeSwap = nil })
}

// Unexported helpers under test.
var (
	SizeCategories = sizeCategories
	ReleaseLicense = releaseLicense
)
