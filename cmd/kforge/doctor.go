package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"kforge/configs"
	"kforge/filters/verify"
	"kforge/sources/model"
)

// doctorReport is what `kforge doctor --json` prints.
type doctorReport struct {
	*verify.Probe
	Model *model.Endpoint `json:"model,omitempty"`
}

func cmdDoctor(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge doctor [--json] [-c FILE]\n\nflags:")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfgPath := fs.String("c", "", "recipe `FILE` whose model endpoint to check (default: ollama at OLLAMA_HOST)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return showUsage(fs.Usage)
	}
	mc := model.Config{Provider: "ollama"}
	if *cfgPath != "" {
		cfg, err := configs.Load(*cfgPath)
		if err != nil {
			return &configError{err}
		}
		mc = cfg.Model
	}
	rep := &doctorReport{}
	steps := doctorSteps(mc, e.getenv)
	done := make([]chan struct{}, len(steps))
	for i, st := range steps {
		done[i] = make(chan struct{})
		go func() {
			defer close(done[i])
			st.run(ctx, rep)
		}()
	}
	// Each step's lines are printed as soon as it and those before it have
	// finished, so the slow probes (hipcc for every arch) do not hold back
	// what is already known.
	for i, st := range steps {
		<-done[i]
		if !*asJSON && st.print != nil {
			st.print(e.stdout, rep)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	if why := noKeepingBackend(rep.Probe); why != "" {
		return errors.New("no backend here can keep a variant: " + why)
	}
	return nil
}

// doctorStep is one probe of `kforge doctor`: run fills its part of the
// report (steps run at once, each on its own fields); print writes its lines.
type doctorStep struct {
	run   func(ctx context.Context, rep *doctorReport)
	print func(w io.Writer, rep *doctorReport)
}

// doctorSteps are the probes doctor runs, in the order it prints them;
// tests replace it.
var doctorSteps = func(mc model.Config, getenv func(string) string) []doctorStep {
	return []doctorStep{
		{
			run: func(ctx context.Context, rep *doctorReport) {
				ep := model.CheckEndpoint(ctx, mc, getenv)
				rep.Model = &ep
			},
			print: func(w io.Writer, rep *doctorReport) { printModel(w, rep.Model, mc) },
		},
		{
			run:   func(ctx context.Context, rep *doctorReport) { rep.Probe = verify.ProbeMachine(ctx) },
			print: func(w io.Writer, rep *doctorReport) { printMachine(w, rep.Probe) },
		},
	}
}

// noKeepingBackend says why no backend of p can keep a variant, or "" when
// one can: compile-only never keeps one (it cannot time a run), so only a
// usable rocm or cuda backend counts.
func noKeepingBackend(p *verify.Probe) string {
	if p == nil {
		return "the machine was not probed"
	}
	var why []string
	for _, b := range p.Backends {
		if b.Name != verify.BackendROCm && b.Name != verify.BackendCUDA {
			continue
		}
		if b.Usable {
			return ""
		}
		why = append(why, b.Name+": "+b.Why)
	}
	return "compile-only never keeps one; " + strings.Join(why, "; ")
}

func printModel(w io.Writer, m *model.Endpoint, mc model.Config) {
	line := "model endpoint " + m.URL + ": "
	switch {
	case !m.Reachable:
		line += "not reachable"
	case m.HasModel:
		line += "reachable, has " + mc.Model
	default:
		line += "reachable"
	}
	if m.Note != "" {
		line += " (" + m.Note + ")"
	}
	fmt.Fprintln(w, line)
}

func printMachine(out io.Writer, rep *verify.Probe) {
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TOOL\tFOUND\tVERSION\tPATH")
	for _, t := range rep.Tools {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Name, yesNo(t.Found), t.Version, t.Path)
	}
	w.Flush()
	if len(rep.HipccArchs)+len(rep.HipccRefuse) > 0 {
		fmt.Fprintf(out, "\nhipcc --offload-arch: compiles for %v; refused %v\n", rep.HipccArchs, rep.HipccRefuse)
	}
	fmt.Fprintln(out)
	if len(rep.GPUs) == 0 {
		fmt.Fprintln(out, "GPUs: none found on this machine")
	}
	for _, g := range rep.GPUs {
		fmt.Fprintf(out, "GPU: %s %s %s %s\n", g.Vendor, g.Name, g.Arch, g.Driver)
	}
	sb := rep.Sandbox
	runs := "candidate runs and compiles: "
	switch {
	case sb.Confined:
		runs += "confined (bwrap: allowlisted filesystem, fresh /dev, no network, own PID namespace)"
	case sb.Isolated:
		runs += "no network, own PID namespace, but not confined to the allowlist"
	default:
		runs += "not isolated"
	}
	fmt.Fprintln(out, runs)
	uid := fmt.Sprintf("no (uid %d, kforge's own)", sb.UID)
	if sb.UID != 0 && sb.Confined {
		uid = fmt.Sprintf("yes (uid %d inside its user namespace)", sb.UID)
	} else if sb.UID != 0 {
		uid = fmt.Sprintf("kforge's own (uid %d)", sb.UID)
	}
	fmt.Fprintf(out, "  allowlisted filesystem:  %s\n", yesNo(sb.Confined))
	fmt.Fprintf(out, "  unprivileged uid:        %s\n", uid)
	fmt.Fprintf(out, "  network for compiles:    %s\n", map[bool]string{true: "on (no network namespace here)", false: "off"}[sb.CompileNetwork])
	fmt.Fprintf(out, "  memory limit, CPU runs:  %s\n", sb.RunMemory)
	fmt.Fprintf(out, "  memory limit, GPU runs:  %s\n", sb.GPUMemory)
	fmt.Fprintf(out, "  memory limit, compiles:  %s\n", sb.CompileMemory)
	if sb.Note != "" {
		fmt.Fprintf(out, "  missing: %s\n", sb.Note)
	}
	fmt.Fprintf(out, "judge:\n  AST gate:                %s (%s)\n", yesNo(rep.Judge.ASTGate), rep.Judge.AST)
	for _, b := range []string{verify.BackendHostTest, verify.BackendROCm, verify.BackendCUDA} {
		fmt.Fprintf(out, "  runtime, %-15s %s\n", b+":", rep.Judge.Runtime[b])
	}
	fmt.Fprintln(out, "\nverification backends:")
	for _, b := range rep.Backends {
		fmt.Fprintf(out, "  %-13s %-6s %s\n", b.Name, map[bool]string{true: "usable", false: "no"}[b.Usable], b.Why)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
