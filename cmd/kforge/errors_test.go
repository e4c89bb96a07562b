package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestReport: every error kind a command returns has its exit code and its
// message on stderr, printed once, under the command's name.
func TestReport(t *testing.T) {
	usageShown := func(w *bytes.Buffer) func() { return func() { fmt.Fprintln(w, "usage: kforge x") } }
	cases := []struct {
		name string
		err  func(w *bytes.Buffer) error
		code int
		want string
	}{
		{"ok", func(*bytes.Buffer) error { return nil }, 0, ""},
		{"help", func(*bytes.Buffer) error { return errHelp }, 0, ""},
		{"failure", func(*bytes.Buffer) error { return errors.New("disk full") }, 1, "kforge x: disk full\n"},
		{"wrapped cancel is a failure (main makes it 130/143)", func(*bytes.Buffer) error { return fmt.Errorf("mining: %w", context.Canceled) }, 1, "kforge x: mining: context canceled\n"},
		{"usage message", func(*bytes.Buffer) error { return usagef("--repo is required") }, 2, "kforge x: --repo is required\n"},
		{"usage only", func(w *bytes.Buffer) error { return showUsage(usageShown(w)) }, 2, "usage: kforge x\n"},
		{"usage message and usage", func(w *bytes.Buffer) error {
			return &usageError{err: errors.New("want one DIR"), usage: usageShown(w)}
		}, 2, "kforge x: want one DIR\nusage: kforge x\n"},
		{"flag error already printed", func(*bytes.Buffer) error { return &usageError{} }, 2, ""},
		{"config error printed as is", func(*bytes.Buffer) error { return &configError{errors.New("r.yaml:3: model.samples: must be >= 1")} }, 2, "r.yaml:3: model.samples: must be >= 1\n"},
		{"failed items", func(*bytes.Buffer) error { return failedItems(4) }, 3, ""},
		{"no failed item", func(*bytes.Buffer) error { return failedItems(0) }, 0, ""},
		{"failed items with a message", func(*bytes.Buffer) error {
			return &failedItemsError{n: 2, err: errors.New("not publishing: 2 items failed")}
		}, 3, "kforge x: not publishing: 2 items failed\n"},
		{"already reported", func(*bytes.Buffer) error { return &silentError{errors.New("logged")} }, 1, ""},
		{"already reported failed items", func(*bytes.Buffer) error {
			return &silentError{&failedItemsError{n: 1, err: errors.New("not publishing")}}
		}, 3, ""},
		{"subcommand", func(*bytes.Buffer) error { return &cmdError{cmd: "x submit", err: usagef("--shards N is needed")} }, 2, "kforge x submit: --shards N is needed\n"},
	}
	for _, tc := range cases {
		var w bytes.Buffer
		err := tc.err(&w)
		if code := report(&w, "x", err); code != tc.code || w.String() != tc.want {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", tc.name, code, w.String(), tc.code, tc.want)
		}
		if exitCode(err) != tc.code {
			t.Errorf("%s: exitCode %d, report %d", tc.name, exitCode(err), tc.code)
		}
	}
}
