//go:build hosttest

package verify

import (
	"context"
	"os"
	"runtime"
	"strings"

	"kforge/datasets"
	"kforge/filters/compile"
	"kforge/filters/measure"
	"kforge/filters/sandbox"
)

// HostTestBuilt reports whether this binary has the host-test backend.
const HostTestBuilt = true

// hostTestBackend runs task programs built for the CPU with the host C++
// compiler (-DKFORGE_HOST): the whole verification path (gate, splice,
// compile, sandboxed runs, correctness, interleaved timing, selection) with
// no GPU, for end-to-end tests of the stages after verification. Its rows
// name "host-test" as their device.
func hostTestBackend(ctx context.Context, cfg Config, opt Options) (*backend, error) {
	c, err := compiler(ctx, compile.Host, nil, cfg, opt)
	if err != nil {
		return nil, err
	}
	dev := datasets.Device{Name: BackendHostTest, Arch: runtime.GOARCH, Toolchain: c.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		dev.Driver = "linux " + strings.TrimSpace(string(b))
	}
	// Host programs are built with kforge's HIP runtime stand-in (filters/hiprt).
	judge := &measure.Judge{Name: "kforge"}
	return &backend{name: BackendHostTest, device: dev, compiler: c, gpus: []string{""}, measures: true, limits: sandbox.DefaultLimits, judge: judge}, nil
}
