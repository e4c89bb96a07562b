package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
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

func cmdDoctor(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: kforge doctor [--json] [-c FILE]\n\nflags:")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cfgPath := fs.String("c", "", "recipe `FILE` whose model endpoint to check (default: ollama at OLLAMA_HOST)")
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	mc := model.Config{Provider: "ollama"}
	if *cfgPath != "" {
		cfg, err := configs.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(e.stderr, err)
			return exitUsage
		}
		mc = cfg.Model
	}
	rep := doctorReport{Probe: verify.ProbeMachine(ctx)}
	ep := model.CheckEndpoint(ctx, mc, e.getenv)
	rep.Model = &ep
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitFailed
		}
		return exitOK
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TOOL\tFOUND\tVERSION\tPATH")
	for _, t := range rep.Tools {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Name, yesNo(t.Found), t.Version, t.Path)
	}
	w.Flush()
	if len(rep.HipccArchs)+len(rep.HipccRefuse) > 0 {
		fmt.Fprintf(e.stdout, "\nhipcc --offload-arch: compiles for %v; refused %v\n", rep.HipccArchs, rep.HipccRefuse)
	}
	fmt.Fprintln(e.stdout)
	if len(rep.GPUs) == 0 {
		fmt.Fprintln(e.stdout, "GPUs: none found on this machine")
	}
	for _, g := range rep.GPUs {
		fmt.Fprintf(e.stdout, "GPU: %s %s %s %s\n", g.Vendor, g.Name, g.Arch, g.Driver)
	}
	m := rep.Model
	model := "model endpoint " + m.URL + ": "
	switch {
	case !m.Reachable:
		model += "not reachable"
	case m.HasModel:
		model += "reachable, has " + mc.Model
	default:
		model += "reachable"
	}
	if m.Note != "" {
		model += " (" + m.Note + ")"
	}
	fmt.Fprintln(e.stdout, model)
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
	fmt.Fprintln(e.stdout, runs)
	uid := fmt.Sprintf("no (uid %d, kforge's own)", sb.UID)
	if sb.UID != 0 && sb.Confined {
		uid = fmt.Sprintf("yes (uid %d inside its user namespace)", sb.UID)
	} else if sb.UID != 0 {
		uid = fmt.Sprintf("kforge's own (uid %d)", sb.UID)
	}
	fmt.Fprintf(e.stdout, "  allowlisted filesystem:  %s\n", yesNo(sb.Confined))
	fmt.Fprintf(e.stdout, "  unprivileged uid:        %s\n", uid)
	fmt.Fprintf(e.stdout, "  network for compiles:    %s\n", map[bool]string{true: "on (no network namespace here)", false: "off"}[sb.CompileNetwork])
	fmt.Fprintf(e.stdout, "  memory limit, CPU runs:  %s\n", sb.RunMemory)
	fmt.Fprintf(e.stdout, "  memory limit, GPU runs:  %s\n", sb.GPUMemory)
	fmt.Fprintf(e.stdout, "  memory limit, compiles:  %s\n", sb.CompileMemory)
	if sb.Note != "" {
		fmt.Fprintf(e.stdout, "  missing: %s\n", sb.Note)
	}
	fmt.Fprintf(e.stdout, "judge:\n  AST gate:                %s (%s)\n", yesNo(rep.Judge.ASTGate), rep.Judge.AST)
	for _, b := range []string{verify.BackendHostTest, verify.BackendROCm, verify.BackendCUDA} {
		fmt.Fprintf(e.stdout, "  runtime, %-15s %s\n", b+":", rep.Judge.Runtime[b])
	}
	fmt.Fprintln(e.stdout, "\nverification backends:")
	for _, b := range rep.Backends {
		fmt.Fprintf(e.stdout, "  %-13s %-6s %s\n", b.Name, map[bool]string{true: "usable", false: "no"}[b.Usable], b.Why)
	}
	return exitOK
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
