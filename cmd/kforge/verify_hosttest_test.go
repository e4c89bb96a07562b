//go:build !hosttest

package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyHostTestAbsent(t *testing.T) {
	code, _, stderr := runCLI(t, nil, "verify", "--tasks", filepath.Join(fixtures, "tasks.jsonl"), "--candidate", filepath.Join(fixtures, "candidates", "single.hip"), "--backend", "host-test")
	if code != exitFailed || !strings.Contains(stderr, "backend host-test is only in test builds (-tags hosttest)") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
