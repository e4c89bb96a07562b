package model

import (
	"context"
	"errors"
	"log/slog"

	"kforge/datasets"
	"kforge/pipeline"
)

// Request asks for one candidate of one task in one round.
type Request struct {
	Task  *datasets.Task
	Round int // 0 is the first round
	// Parent is the best verified candidate so far (nil in round 0), and
	// Verdict its verdict; History is the conversation that produced it.
	Parent   *datasets.Variant
	Verdict  *datasets.Verdict
	Arch     string
	Baseline float64 // reference time in ms when known, else 0
}

// Generator writes candidates through a model server, every call through the cache.
type Generator struct {
	cfg   Config
	cache pipeline.Cache
	log   *slog.Logger
	stats *pipeline.Stats
}

// New returns a generator for cfg.
func New(cfg Config, cache pipeline.Cache, stats *pipeline.Stats, log *slog.Logger) (*Generator, error) {
	return &Generator{cfg: cfg, cache: cache, log: log, stats: stats}, nil
}

// Prepare checks the server and the model (pulling it when allowed) before
// any work starts, and records the model's digest.
func (g *Generator) Prepare(ctx context.Context) error {
	return errors.New("the model source is not built yet")
}

// Generate returns sample number `sample` for req. A model answer without a
// usable candidate is a Variant with Rejected set, not an error; an error means
// the request itself failed after its retries.
func (g *Generator) Generate(ctx context.Context, req Request, sample int) (datasets.Variant, error) {
	return datasets.Variant{}, errors.New("the model source is not built yet")
}

// Improved reports whether a round's best verdict beats the best so far, so
// the build knows whether to ask for another round.
func Improved(best, candidate *datasets.Verdict) bool {
	if candidate == nil {
		return false
	}
	if best == nil {
		return candidate.Compile.OK
	}
	return candidate.Speedup > best.Speedup
}
