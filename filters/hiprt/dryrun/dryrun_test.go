package dryrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needHIPCC returns hipcc's path; without it the test is skipped, except
// under CI, where it fails.
func needHIPCC(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("hipcc")
	if err == nil {
		if _, err = os.Stat("/usr/include/hip/hip_runtime_api.h"); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("hipcc and the HIP headers are required in CI: %v", err)
	}
	t.Skipf("hipcc or the HIP headers missing: %v", err)
	return ""
}

// run runs bin with args under the stand-in and returns its exit code,
// output and report.
func run(t *testing.T, lib, bin, arch string, stop []string, args ...string) (int, string, Report) {
	t.Helper()
	ch := filepath.Join(t.TempDir(), "channel")
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range Env(lib, arch, ch, stop) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(ch)
	return code, string(out), Parse(b)
}

// TestStandIn builds the stand-in and the four fixture programs with the
// real hipcc for gfx90a, and runs them under it: a hipcc binary loads the
// stand-in through LD_LIBRARY_PATH, and every host-side check shows.
func TestStandIn(t *testing.T) {
	hipcc := needHIPCC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	lib, err := Build(ctx, "", "/usr/include", dir)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Build(ctx, "", "/usr/include", dir); err != nil || again != lib {
		t.Fatalf("rebuild: %s %v, want %s", again, err, lib)
	}
	bins := map[string]string{}
	for _, name := range []string{"refuse16", "archcheck", "twokernels", "args", "bigdevice"} {
		bin := filepath.Join(dir, name)
		if out, err := exec.CommandContext(ctx, hipcc, "--offload-arch=gfx90a", "-O1", filepath.Join("testdata", name+".hip"), "-o", bin).CombinedOutput(); err != nil {
			t.Fatalf("hipcc %s: %v\n%s", name, err, out)
		}
		bins[name] = bin
	}
	// The binary asks for libamdhip64.so.5 by soname, at version hip_4.2.
	if out, _ := exec.Command("readelf", "-d", bins["refuse16"]).CombinedOutput(); !strings.Contains(string(out), "[libamdhip64.so.5]") {
		t.Fatalf("the fixture does not need libamdhip64.so.5:\n%s", out)
	}

	t.Run("refused size", func(t *testing.T) {
		code, out, rep := run(t, lib, bins["refuse16"], "gfx90a", []string{"tile16_scale"}, "30", "48")
		if code != 1 || !strings.Contains(out, "does not support this problem") || len(rep.Launched) != 0 {
			t.Fatalf("exit %d, launched %v, output %q", code, rep.Launched, out)
		}
		if len(rep.Registered) != 1 || rep.Registered[0].Base() != "tile16_scale" {
			t.Fatalf("registered %+v", rep.Registered)
		}
		code, out, rep = run(t, lib, bins["refuse16"], "gfx90a", []string{"tile16_scale"}, "32", "48")
		if code != 0 || rep.Stopped == "" || len(rep.Launched) != 1 || rep.Launched[0].Base() != "tile16_scale" {
			t.Fatalf("accepted size: exit %d, report %+v, output %q", code, rep, out)
		}
	})
	t.Run("arch check", func(t *testing.T) {
		code, out, rep := run(t, lib, bins["archcheck"], "gfx90a", []string{"negate"}, "100")
		if code != 0 || !strings.Contains(out, "gfx90a:sramecc+:xnack-, 104 CUs, warp 64") || rep.Stopped == "" {
			t.Fatalf("gfx90a: exit %d, report %+v, output %q", code, rep, out)
		}
		code, out, rep = run(t, lib, bins["archcheck"], "gfx1100", []string{"negate"}, "100")
		if code != 1 || !strings.Contains(out, "is not supported") || len(rep.Launched) != 0 {
			t.Fatalf("gfx1100: exit %d, report %+v, output %q", code, rep, out)
		}
	})
	t.Run("launches one of two kernels", func(t *testing.T) {
		// With no stop the program runs to its end: its own check fails
		// (nothing ran), and only add_one was launched.
		code, out, rep := run(t, lib, bins["twokernels"], "gfx90a", nil, "100")
		if code != 1 || !strings.Contains(out, "FAIL") {
			t.Fatalf("exit %d, output %q", code, out)
		}
		if len(rep.Registered) != 2 || len(rep.Launched) != 1 || rep.Launched[0].Base() != "add_one" || rep.Launches != 1 {
			t.Fatalf("report %+v", rep)
		}
	})
	t.Run("device memory is not host memory", func(t *testing.T) {
		// 64 MiB on the host, 8 device buffers of 64 MiB: under a 256 MiB
		// data limit (as a dry run gets) the host side fits, because the
		// device's 512 MiB are mappings nothing touches. Device memory
		// used to be host memory, and this size failed as out of memory.
		prlimit, err := exec.LookPath("prlimit")
		if err != nil {
			t.Skip("no prlimit")
		}
		ch := filepath.Join(t.TempDir(), "channel")
		cmd := exec.Command(prlimit, "--data=268435456", "--", bins["bigdevice"], "64", "8")
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		for k, v := range Env(lib, "gfx90a", ch, nil) {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		var rss, used int
		if _, serr := fmt.Sscanf(string(out), "rss %d MiB, device used %d MiB", &rss, &used); serr != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Errorf("exit %v, want 3 (ran to its own failing check): %s", err, out)
		}
		if used != 512 || rss > 200 {
			t.Errorf("device used %d MiB (want 512), resident %d MiB (want the host's 64 and the program, under 200)", used, rss)
		}
		if !strings.Contains(string(out), "after free: device used 0 MiB") {
			t.Errorf("hipFree did not return device memory: %s", out)
		}
		if b, _ := os.ReadFile(ch); len(Parse(b).Launched) != 1 {
			t.Errorf("launch not recorded: %s", b)
		}
		// Past the target's memory (gfx1100: 24 GiB) hipMalloc fails as
		// on the device.
		code, out2, _ := run(t, lib, bins["bigdevice"], "gfx1100", nil, "1", "7", "4096")
		if code != 1 || !strings.Contains(out2, "device out of memory at buffer 6") {
			t.Errorf("gfx1100, 28 GiB: exit %d, %q", code, out2)
		}
	})
	t.Run("argument parsing", func(t *testing.T) {
		code, out, rep := run(t, lib, bins["args"], "gfx90a", []string{"*"}, "-n", "12x")
		if code != 2 || !strings.Contains(out, "invalid value for -n: '12x'") || len(rep.Launched) != 0 {
			t.Fatalf("exit %d, report %+v, output %q", code, rep, out)
		}
		code, _, rep = run(t, lib, bins["args"], "gfx90a", []string{"*"}, "-n", "64", "-b", "32")
		if code != 0 || rep.Stopped != "_Z6squarePKfPfi" {
			t.Fatalf("exit %d, report %+v", code, rep)
		}
	})
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"saxpy_kernel(float, float const*, float*, unsigned int)":                       "saxpy_kernel",
		"void ck::kernel_gemm_xdl_cshuffle_v1<ck::GridwiseGemm<float, 256>, true>(int)": "kernel_gemm_xdl_cshuffle_v1",
		"k": "k",
		"void ns::inner::reduce<256u>(float const*, float*)": "reduce",
	} {
		if got := BaseName(in); got != want {
			t.Errorf("BaseName(%q) = %q, want %q", in, got, want)
		}
	}
	if s := MissingSymbol("./p: symbol lookup error: ./p: undefined symbol: hipGraphLaunch, version hip_4.3\n"); s != "hipGraphLaunch" {
		t.Errorf("MissingSymbol = %q", s)
	}
}
