package verify

import (
	"context"
	"errors"
	"log/slog"

	"kforge/datasets"
	"kforge/pipeline"
)

// Options are what verification needs beyond the recipe.
type Options struct {
	Cache pipeline.Cache
	Log   *slog.Logger
	// WorkDir holds scratch directories for compiles and runs.
	WorkDir string
	// Checkout returns the repository checkout for tasks whose build needs it.
	Checkout func(ctx context.Context, src datasets.Source) (string, error)
}

// Prepared is a candidate that went through the CPU steps (gate, splice,
// compile). When Verdict.Status is already set, it was rejected there and
// Measure returns it as is.
type Prepared struct {
	Task    *datasets.Task
	Variant *datasets.Variant
	Verdict datasets.Verdict
	// Binary is the candidate's compiled program, if any.
	Binary string
}

// Verifier judges candidates on one backend.
type Verifier struct {
	cfg Config
	opt Options
}

// New returns a verifier for cfg's backend, or an error naming what this
// machine lacks for it (no hipcc, no GPU).
func New(cfg Config, opt Options) (*Verifier, error) {
	return nil, errors.New("verification is not built yet")
}

// Device describes the device verdicts are reached on.
func (v *Verifier) Device() datasets.Device { return datasets.Device{} }

// GPUs is the number of measuring workers (one per GPU).
func (v *Verifier) GPUs() int { return 1 }

// Prepare runs the gate, the splice and the compile (CPU work, cached).
func (v *Verifier) Prepare(ctx context.Context, t *datasets.Task, c *datasets.Variant) (*Prepared, error) {
	return nil, errors.New("verification is not built yet")
}

// Measure runs correctness and timing on the GPU (cached) and returns the verdict.
func (v *Verifier) Measure(ctx context.Context, p *Prepared) (datasets.Verdict, error) {
	return datasets.Verdict{}, errors.New("verification is not built yet")
}

// Verify is Prepare then Measure: the path `kforge verify` and RL reward
// functions use, identical to the build's.
func (v *Verifier) Verify(ctx context.Context, t *datasets.Task, c *datasets.Variant) (datasets.Verdict, error) {
	p, err := v.Prepare(ctx, t, c)
	if err != nil {
		return datasets.Verdict{}, err
	}
	return v.Measure(ctx, p)
}
