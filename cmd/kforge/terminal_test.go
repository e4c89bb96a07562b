package main

import (
	"strings"
	"testing"
)

// Every command answers -h and --help the same way: usage on stdout, exit 0,
// nothing on stderr. A bad flag is still a usage error (2) on stderr.
func TestHelpExitsZeroForEveryCommand(t *testing.T) {
	cases := [][]string{{"-h"}, {"--help"}, {"help"}}
	for _, c := range commands() {
		cases = append(cases, []string{c.name, "-h"}, []string{c.name, "--help"})
	}
	cases = append(cases, []string{"slurm", "submit", "-h"}, []string{"config", "check", "-h"}, []string{"config", "explain", "-h"})
	for _, args := range cases {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitOK || !strings.Contains(stdout, "usage") || stderr != "" {
			t.Errorf("kforge %s: exit %d\nstdout %q\nstderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	for _, c := range commands() {
		if c.name == "version" {
			continue
		}
		args := []string{c.name, "--no-such-flag"}
		if c.name == "slurm" {
			args = []string{"slurm", "submit", "--no-such-flag"}
		}
		if c.name == "config" {
			args = []string{"config", "check", "--no-such-flag"}
		}
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitUsage || stdout != "" || stderr == "" {
			t.Errorf("kforge %s: exit %d\nstdout %q\nstderr %q", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}
