// Command kforge builds training datasets for kernel-writing models: it mines
// GPU kernels from the ROCm repositories, has a model write faster variants,
// keeps those verified on a GPU, and writes Parquet for SFT and RL.
//
// This package is the CLI only: flags, wiring and exit codes. Every stage's
// logic lives in its own package.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"kforge/internal/redact"
)

// Exit codes.
const (
	exitOK       = 0 // success
	exitFailed   = 1 // the run failed
	exitUsage    = 2 // bad usage or config
	exitItemsBad = 3 // finished, but some items failed (recorded; a rerun retries exactly those)
	// A run stopped by a signal before it finished exits 128+signal, as a
	// shell reports a process killed by it: 143 for SIGTERM (Slurm's
	// --signal and time limit, Kubernetes eviction and preemption), 130 for
	// SIGINT. It stopped cleanly: finished work is in the cache and the
	// shard has no DONE, so rerunning the same command resumes it.
	exitSignalBase = 128
)

// env is what a command may touch of the outside world, so tests can run
// commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// redact masks credentials (URL userinfo, secret variables' values) in
	// everything kforge prints and writes; run sets it.
	redact *redact.Redactor
	// termOut is stderr below the redaction, which draws the progress bar
	// and keeps log lines off it; run sets it.
	termOut *termOut
}

// term is the command's stderr as a progress display; ok is false when run
// did not set it up.
func (e *env) term() (*termOut, bool) { return e.termOut, e.termOut != nil }

// command is one subcommand.
type command struct {
	name    string
	summary string
	// run returns nil, or an error that report maps to the exit code.
	run func(ctx context.Context, e *env, args []string) error
}

// commands is the CLI; the README's CLI reference is checked against it.
func commands() []command {
	return []command{
		{"build", "run the pipeline for a recipe: mine, generate, verify, write the release", cmdBuild},
		{"mine", "mine tasks from repositories into tasks.jsonl", cmdMine},
		{"qualify", "run each task's unchanged reference the way verification will; keep the sizes it passes", cmdQualify},
		{"verify", "judge one candidate for one task and print its verdict as JSON", cmdVerify},
		{"serve", "serve the recipe's tasks as an RL environment (OpenEnv HTTP/WebSocket, batch rewards); record every episode", cmdServe},
		{"export", "rebuild a release from a build's shards, with no model call and no GPU run", cmdExport},
		{"merge", "make the release from the outputs of every shard", cmdMerge},
		{"publish", "publish a release to the Hugging Face Hub", cmdPublish},
		{"slurm", "submit a sharded build as a Slurm job array and its merge job", cmdSlurm},
		{"config", "check recipes (config check FILE...) or explain every key (config explain)", cmdConfig},
		{"doctor", "report the toolchains, GPUs and model endpoint, and which backends can run here", cmdDoctor},
		{"version", "print the version", cmdVersion},
	}
}

func main() {
	ctx, caught, stop := signalContext()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(exitAfterSignal(code, caught()))
}

// signalContext returns a context canceled by the first SIGINT or SIGTERM,
// and a function telling which signal that was (nil before any). Later
// signals are swallowed until stop: the command is already stopping.
func signalContext() (ctx context.Context, caught func() os.Signal, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var mu sync.Mutex
	var first os.Signal
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				mu.Lock()
				if first == nil {
					first = s
				}
				mu.Unlock()
				cancel()
			case <-done:
				return
			}
		}
	}()
	caught = func() os.Signal {
		mu.Lock()
		defer mu.Unlock()
		return first
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
	return ctx, caught, stop
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	e = withRedaction(e)
	toStderr := func() { usage(e.stderr) }
	if len(args) == 0 {
		return report(e.stderr, "", showUsage(toStderr))
	}
	if isHelp(args) {
		usage(e.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return report(e.stderr, c.name, c.run(ctx, e, args[1:]))
		}
	}
	return report(e.stderr, "", &usageError{err: fmt.Errorf("unknown command %q", args[0]), usage: toStderr})
}

// withRedaction returns a copy of e whose stdout and stderr mask URL
// userinfo and the values of the secret variables (HF_TOKEN, *_API_KEY, …;
// see redact.SecretNames) in every write: whatever a command prints, a
// planted credential does not come out.
func withRedaction(e *env) *env {
	if e.redact != nil {
		return e
	}
	c := *e
	if c.getenv == nil {
		c.getenv = func(string) string { return "" }
	}
	c.redact = redact.New(c.getenv, redact.SecretNames(os.Environ())...)
	c.termOut = newTermOut(e.stderr)
	c.termOut.redact = c.redact.Text
	c.stdout, c.stderr = c.redact.Writer(e.stdout), c.redact.Writer(c.termOut)
	return &c
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kforge <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'kforge <command> -h' for a command's flags.")
}

// newLogger returns the logger for format ("text" or "json") and level.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
