package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"kforge/internal/redact"
	"kforge/sinks/hub"
	"kforge/sinks/release"
)

// writeRelease builds a release, with Hub replay sources downloaded through
// the same Hub client that publishes (anonymous when there is no token, so
// public datasets work). build, export and merge all come through here.
func writeRelease(ctx context.Context, e *env, log *slog.Logger, opt release.Options) (*release.Summary, error) {
	lin, err := redactLineage(e.redact, opt.Lineage)
	if err != nil {
		return nil, err
	}
	opt.Lineage = lin
	if opt.Hub == nil && len(opt.Dataset.Replay.Sources) > 0 {
		c, err := hub.NewClient(hub.ClientOptions{Getenv: e.getenv, Log: log, UserAgent: "kforge/" + versionString(), Anonymous: true})
		if err != nil {
			return nil, err
		}
		opt.Hub = c
	}
	prog := e.startProgress("writing the release", 0)
	sum, err := release.Build(ctx, opt)
	prog.Stop()
	return sum, e.redact.Error(err)
}

// redactLineage is lineage as JSON would carry it, with every string masked
// by r (URL userinfo such as model.host's user:password, secret values): the
// one place the lineage that build, export and merge write into lineage.json
// and manifest.json passes through.
func redactLineage(r *redact.Redactor, lineage map[string]any) (map[string]any, error) {
	if lineage == nil {
		return nil, nil
	}
	b, err := json.Marshal(lineage)
	if err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	return r.Value(m).(map[string]any), nil
}
