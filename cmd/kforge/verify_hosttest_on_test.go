//go:build hosttest

package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"kforge/datasets"
)

// TestVerifyHostTest runs the whole path through the CLI on the CPU-built
// fixture: the half-work candidate is kept, on device "host-test".
func TestVerifyHostTest(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "verify", "--tasks", filepath.Join(fixtures, "tasks.jsonl"), "--candidate", filepath.Join(fixtures, "candidates", "single.hip"), "--backend", "host-test")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var vd datasets.Verdict
	if err := json.Unmarshal([]byte(stdout), &vd); err != nil {
		t.Fatal(err)
	}
	if vd.Device.Name != "host-test" || vd.Status != datasets.StatusKept || vd.Timing == nil || vd.Speedup < 1.05 {
		t.Fatalf("verdict %s %s %s speedup %v", vd.Device.Name, vd.Status, vd.Reason, vd.Speedup)
	}
}
