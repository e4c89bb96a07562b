package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"kforge/sinks/hub"
)

const publishUsage = `usage: kforge publish DIR --repo ORG/NAME [--tag vYYYY.MM.DD] [--private] [--revision main] [--dry-run]

Publish the release in DIR (README.md card, manifest.json, data/…) to the
Hugging Face dataset repository ORG/NAME as one commit on --revision, then tag
that commit. Files the branch already holds are not sent again. The token
comes from HF_TOKEN or the file ` + "`hf auth login`" + ` writes ($HF_HOME/token,
~/.cache/huggingface/token); HF_ENDPOINT selects another Hub.

flags:`

func cmdPublish(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), publishUsage)
		fs.PrintDefaults()
	}
	repo := fs.String("repo", "", "dataset repository, ORG/NAME (required)")
	tag := fs.String("tag", "", "tag for the release commit (default v<today, UTC> as vYYYY.MM.DD)")
	private := fs.Bool("private", false, "create the repository private when it is missing")
	revision := fs.String("revision", "main", "branch to commit to")
	dryRun := fs.Bool("dry-run", false, "print the plan (files, sizes, LFS or regular, unchanged) and write nothing")
	endpoint := fs.String("endpoint", "", "Hub URL (default HF_ENDPOINT or https://huggingface.co)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	logFormat := fs.String("log-format", "text", "log format: text or json")

	// Accept DIR before, between or after the flags.
	var pos []string
	rest := args
	for {
		if err := parseFlags(e, fs, rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case len(pos) != 1:
		return &usageError{err: errors.New("want exactly one release directory"), usage: fs.Usage}
	case *repo == "":
		return usagef("--repo ORG/NAME is required")
	}
	if st, err := os.Stat(pos[0]); err != nil || !st.IsDir() {
		return usagef("%s is not a release directory", pos[0])
	}
	var prog *progress // set before Apply; the callback runs only during it
	pub, err := hub.NewPublisher(hub.Options{
		Dir: pos[0],
		Config: hub.Config{
			Repo: *repo, Private: *private, Revision: *revision, Tag: *tag, Endpoint: *endpoint,
		},
		DryRun:    *dryRun,
		Log:       newLogger(e.stderr, *logFormat, *logLevel),
		Getenv:    e.getenv,
		UserAgent: "kforge/" + versionString(),
		OnUploaded: func(n int64) {
			if prog != nil {
				prog.Add(n)
			}
		},
	})
	if err != nil {
		if isUsageErr(err) {
			return &usageError{err: err}
		}
		return err
	}
	plan, err := pub.Plan(ctx)
	if err != nil {
		return err
	}
	if *dryRun {
		if err := plan.PrintDryRun(e.stdout); err != nil {
			return err
		}
		return nil
	}
	prog = e.startByteProgress("uploading to the Hub", plan.UploadBytes())
	res, err := pub.Apply(ctx, plan)
	prog.Stop()
	if err != nil {
		return err
	}
	res.PrintSummary(e.stdout)
	return nil
}

// isUsageErr tells bad flags apart from failures of the publish itself.
func isUsageErr(err error) bool {
	var ue *hub.UsageError
	return errors.As(err, &ue)
}
