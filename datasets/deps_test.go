package datasets

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoArrow keeps the vocabulary plain: neither datasets nor anything it
// imports is Arrow (schemas, batches and encoders are sinks/parquet's).
func TestNoArrow(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || !strings.Contains(string(out), "kforge/datasets\n") {
		t.Fatalf("go list gave no kforge/datasets:\n%s", out)
	}
	for _, p := range deps {
		if strings.Contains(p, "arrow") {
			t.Errorf("datasets depends on %s", p)
		}
	}
}
