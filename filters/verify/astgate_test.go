//go:build hosttest

package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"kforge/datasets"
)

// TestCompilerViewRejects: candidates that the text rules let through (or
// misread) are rejected on the build's own path by the AST check, each by
// its named rule, before anything is compiled or run.
func TestCompilerViewRejects(t *testing.T) {
	tk := polyTask(t)
	v, stats, _ := hostVerifier(t)
	ctx := context.Background()
	const body = "{ const int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) y[i] = x[i]; }\n"
	const sig = "__global__ void poly(const float* x, float* y, int n) "
	cases := []struct{ name, region, rule string }{
		{"asm label takes over printf", "__device__ int say(const char*, ...) asm(\"printf\");\n" + sig + "{ say(\"PASS\\n\"); }\n", "no-asm"},
		{"constructor attribute", "[[gnu::constructor]] __device__ void boot() {}\n" + sig + body, "attribute-allowlist"},
		{"static data member in device memory", "struct M { static __device__ float saved[64]; };\n__device__ float M::saved[64];\n" + sig + body, "no-device-globals"},
		{"thread_local", "__device__ float acc(float v) { thread_local float s = 0; s += v; return s; }\n" + sig + body, "no-static-locals"},
		{"printf through a pointer", sig + "{ int (*p)(const char*, ...) = printf; if (threadIdx.x == 0) p(\"PASS\\n\"); }\n", "call-allowlist"},
		{"replaces the harness's RNG", "__device__ unsigned next(unsigned& s) { return s; }\n" + sig + body, "no-harness-names"},
		{"raw bytes of inline asm", sig + "{ asm volatile(\".byte 0x0f, 0x05\"); }\n", "no-asm"},
		{"kernel signature widened", "__global__ void poly(const float* x, float* y, long n) " + body, "signature"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vd, err := v.Verify(ctx, tk, candidate(t, tk, c.region))
			if err != nil {
				t.Fatal(err)
			}
			if vd.Status != datasets.StatusRejected || vd.RejectedBy != "gate/"+c.rule || vd.Gate.OK || vd.Gate.Rule != c.rule {
				t.Fatalf("status %s rejected_by %q (%s), want gate/%s", vd.Status, vd.RejectedBy, vd.Reason, c.rule)
			}
			if vd.Compile.OK || len(vd.Correctness) != 0 || vd.Timing != nil {
				t.Fatalf("a gate rejection went further: %+v", vd)
			}
		})
	}
	if stats.Get("compiled") != 0 || stats.Get("kept") != 0 {
		t.Fatalf("funnel %+v", stats.Snapshot().Counters)
	}
}

// TestReferenceMustPassTheGate: a task whose own reference region breaks
// the allowlist cannot be judged; it is the task's fault, not a candidate's.
func TestReferenceMustPassTheGate(t *testing.T) {
	tk := polyTask(t)
	bad := strings.Replace(tk.Region.Text, "const float v = x[i];", "static int calls; calls++;\n    const float v = x[i];", 1)
	f := tk.Files[0]
	f.Content = f.Content[:tk.Region.Start] + bad + f.Content[tk.Region.End:]
	tk.Files = append([]datasets.File{f}, tk.Files[1:]...)
	tk.Region.End = tk.Region.Start + len(bad)
	tk.Region.Text = bad
	v, _, _ := hostVerifier(t)
	_, err := v.Verify(context.Background(), tk, candidate(t, tk, "single"))
	if !errors.Is(err, ErrTask) || !strings.Contains(err.Error(), "no-static-locals") {
		t.Fatalf("got %v, want ErrTask naming no-static-locals", err)
	}
}

// TestHonestFormsKept: launch bounds, a __constant__ table, #pragma clang
// loop, a helper named read and __ldg pass the gate, build on the host
// stand-in and, doing half the reference's work, are kept.
func TestHonestFormsKept(t *testing.T) {
	tk := polyTask(t)
	v, _, _ := hostVerifier(t)
	vd, err := v.Verify(context.Background(), tk, candidate(t, tk, "honest_forms"))
	if err != nil {
		t.Fatal(err)
	}
	if vd.Status != datasets.StatusKept || !vd.Gate.OK || !vd.Compile.OK {
		t.Fatalf("status %s rejected_by %q: %s", vd.Status, vd.RejectedBy, vd.Reason)
	}
}

// TestRedTeamRegressions: candidates a red-team review built against the
// judge, each once kept (or, G, quarantined only by the speedup ceiling).
// Each must now be rejected by the rule named.
func TestRedTeamRegressions(t *testing.T) {
	tk := polyTask(t)
	v, _, _ := hostVerifier(t)
	ctx := context.Background()
	for _, c := range []struct{ cand, rule string }{
		{"rt_a_static_shared", "gate/no-static-locals"},    // a static __shared__ memo
		{"rt_b_file_shared", "gate/no-device-globals"},     // file-scope __shared__ memo
		{"rt_c_mutable_const", "gate/no-device-globals"},   // mutable members of a const object
		{"rt_d_input_counter", "gate/no-const-cast"},       // a launch counter in its input's low bits
		{"rt_d2_input_via_output", "input-modified"},       // the same, reaching the input through the output
		{"rt_e_forge_channel", "gate/call-allowlist"},      // __builtin_frame_address into the launcher
		{"rt_f_extern_libc", "gate/declaration-allowlist"}, // extern __shared__ bound to a libc symbol
		{"rt_g_adl_run", "honest-time"},                    // an ADL hook in place of the launcher: no longer called
		// Second pass: kernels reaching the launcher's stack, the harness's
		// host buffers (a memo, the expected values), C library functions.
		{"rt2_a_local_addr", "honest-time"},                               // forges the timing line through the stack: the child's stack only
		{"rt2_b_hostvec_memo", "correctness|scrub|gate/call-allowlist"},   // a memo in the harness's host vector: lost with the child
		{"rt2_c_write_want", "correctness|crash"},                         // overwrites the harness's expected values: lost with the child
		{"rt2_d_libc_clock", "gate/no-harness-names|gate/call-allowlist"}, // defines clock_gettime at file scope
		{"rt2_e_libc_strcmp", "gate/no-harness-names"},                    // defines strcmp to turn scrub mode off
		{"rt2_p5_voidhop", "gate/no-const-cast"},                          // casts away const through void*
		{"rt2_p1_hostattr", "gate/device-code-only"},                      // __attribute__((host)) on a libc name
	} {
		t.Run(c.cand, func(t *testing.T) {
			vd, err := v.Verify(ctx, tk, candidate(t, tk, c.cand))
			if err != nil {
				t.Fatal(err)
			}
			if c.rule == "honest-time" {
				// The forgery failed when the candidate is timed doing the
				// reference's work: host timing on a busy machine may still
				// call that a few percent either way (kept or not), but
				// never the forged 3-4x, nor the ceiling.
				if vd.Status == datasets.StatusQuarantined || vd.Speedup > 1.5 {
					t.Fatalf("status %s speedup %.2f (%s): the timing was forged", vd.Status, vd.Speedup, vd.Reason)
				}
				return
			}
			if vd.Kept() || vd.Status == datasets.StatusQuarantined || !slices.Contains(strings.Split(c.rule, "|"), vd.RejectedBy) {
				t.Fatalf("status %s rejected_by %q (%s), want %s", vd.Status, vd.RejectedBy, vd.Reason, c.rule)
			}
		})
	}
}
