package main

import (
	"context"
	"log/slog"

	"kforge/sinks/hub"
	"kforge/sinks/release"
)

// writeRelease builds a release, with Hub replay sources downloaded through
// the same Hub client that publishes (anonymous when there is no token, so
// public datasets work). build, export and merge all come through here.
func writeRelease(ctx context.Context, e *env, log *slog.Logger, opt release.Options) (*release.Summary, error) {
	if opt.Hub == nil && len(opt.Dataset.Replay.Sources) > 0 {
		c, err := hub.NewClient(hub.ClientOptions{Getenv: e.getenv, Log: log, UserAgent: "kforge/" + versionString(), Anonymous: true})
		if err != nil {
			return nil, err
		}
		opt.Hub = c
	}
	return release.Build(ctx, opt)
}
