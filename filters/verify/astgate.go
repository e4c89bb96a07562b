package verify

import (
	"context"
	"fmt"
	"strings"

	"kforge/datasets"
	"kforge/filters/compile"
	"kforge/filters/gate"
)

// frontEnd is the clang front end the AST gate parses hip-kernels regions
// with: the backend's own hipcc, or (for backends that build with another
// compiler) hipcc for gfx90a. A machine without hipcc can still verify
// ck-instance and tile-config tasks; hip-kernels tasks then fail with the
// reason.
func frontEnd(ctx context.Context, cfg Config, opt Options, be *backend) (*compile.Compiler, error) {
	if be.compiler != nil && be.compiler.Kind == compile.HIPCC {
		return be.compiler, nil
	}
	c, err := compiler(ctx, compile.HIPCC, []string{"gfx90a"}, cfg, opt)
	if err != nil {
		return nil, fmt.Errorf("the AST gate parses kernels with hipcc's clang front end (Debian: apt-get install hipcc libamdhip64-dev): %w", err)
	}
	return c, nil
}

// astGate runs the compiler's-view check on a hip-kernels candidate: the
// reference region and the candidate are parsed in the harness, the
// reference's kernels, names and calls become the candidate's allowance,
// and the candidate's declarations go through the allowlists. A reference
// that does not parse or does not pass is the task's fault (ErrTask).
func (v *Verifier) astGate(ctx context.Context, t *datasets.Task, region string) (*gate.Rejection, error) {
	if t.Region.Kind != gate.KindHIPKernels {
		return nil, nil
	}
	if v.front == nil {
		return nil, fmt.Errorf("verify: task %s: %w", t.ID, v.frontErr)
	}
	var file datasets.File
	var harness []string
	for _, f := range t.Files {
		if f.Path == t.Region.File {
			file = f
			harness = append(harness, f.Content[:t.Region.Start], f.Content[t.Region.End:])
		} else {
			harness = append(harness, f.Content)
		}
	}
	h := gate.NewHarness(harness...)
	startLine := strings.Count(file.Content[:t.Region.Start], "\n") + 1

	ref, rlog, err := v.parseRegion(ctx, t, file, t.Region.Text)
	if err != nil {
		return nil, err
	}
	if ref == nil {
		return nil, fmt.Errorf("%w: task %s: the reference region does not parse on its own in the harness: %s", ErrTask, t.ID, firstErrors(rlog, 4))
	}
	facts := gate.ReferenceFacts(ref)
	if rej := gate.CheckAST(ref, facts, h, startLine); rej != nil {
		return nil, fmt.Errorf("%w: task %s: the reference region breaks the gate's allowlist: %v", ErrTask, t.ID, rej)
	}
	if region == t.Region.Text {
		return nil, nil
	}
	cand, clog, err := v.parseRegion(ctx, t, file, region)
	if err != nil {
		return nil, err
	}
	if cand == nil {
		return &gate.Rejection{Rule: gate.RuleParse, Detail: clog}, nil
	}
	if rej := gate.CheckAST(cand, facts, h, startLine); rej != nil {
		return rej, nil
	}
	names, err := v.fileScopeNames(ctx, t, file, region)
	if err != nil {
		return nil, err
	}
	return gate.CheckFileScope(cand, names, facts, startLine), nil
}

// fileScopeNames lists what the translation unit of the AST check declares
// at file scope outside the region (clang's -ast-list).
func (v *Verifier) fileScopeNames(ctx context.Context, t *datasets.Task, file datasets.File, region string) (map[string]bool, error) {
	job, err := v.regionJob(ctx, t, file, region)
	if err != nil {
		return nil, err
	}
	release, err := v.compileSlot(ctx)
	if err != nil {
		return nil, err
	}
	p, err := v.front.Names(ctx, job, file.Path)
	release()
	if err != nil {
		return nil, err
	}
	if !p.OK {
		return nil, fmt.Errorf("verify: task %s: listing the names of a region that parsed failed: %s", t.ID, firstErrors(p.Log, 3))
	}
	return gate.FileScopeNames(p.AST), nil
}

// regionJob is the build of the AST check's translation unit for region.
func (v *Verifier) regionJob(ctx context.Context, t *datasets.Task, file datasets.File, region string) (compile.Job, error) {
	job, err := v.job(ctx, t)
	if err != nil {
		return job, err
	}
	tu := gate.TranslationUnit(file.Content, t.Region.Start, t.Region.End, region)
	job.Files = make([]datasets.File, len(t.Files))
	for i, f := range t.Files {
		if f.Path == file.Path {
			f.Content = tu
		}
		job.Files[i] = f
	}
	return job, nil
}

// parseRegion parses region in file's harness and returns its AST, or nil
// and the compiler's messages when it does not parse.
func (v *Verifier) parseRegion(ctx context.Context, t *datasets.Task, file datasets.File, region string) (*gate.Node, string, error) {
	job, err := v.regionJob(ctx, t, file, region)
	if err != nil {
		return nil, "", err
	}
	release, err := v.compileSlot(ctx)
	if err != nil {
		return nil, "", err
	}
	p, err := v.front.Parse(ctx, job, file.Path, gate.RegionNamespace)
	release()
	if err != nil {
		return nil, "", err
	}
	if !p.OK {
		return nil, p.Log, nil
	}
	n, err := gate.ParseDump(p.AST, file.Path)
	if err != nil {
		return nil, "", fmt.Errorf("verify: task %s: %w", t.ID, err)
	}
	return n, "", nil
}
