//go:build !hosttest

package verify

import (
	"strings"
	"testing"
)

func TestHostTestOnlyInTestBuilds(t *testing.T) {
	_, err := New(Config{Backend: BackendHostTest}, Options{WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "only in test builds (-tags hosttest)") {
		t.Fatalf("got %v", err)
	}
	if HostTestBuilt {
		t.Fatal("HostTestBuilt without the tag")
	}
}
