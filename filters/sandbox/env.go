package sandbox

import (
	"os"
	"strings"

	"kforge/internal/redact"
)

// toolchainVars are the host variables a compiler or a GPU program may need
// and that carry no credential: where the toolchains and runtimes are, how
// hipcc and nvcc are driven, and which GPUs are visible. Everything else of
// the host's environment (HF_TOKEN, OPENAI_API_KEY, AWS_*, OLLAMA_*, the
// home directory, …) stays out.
var toolchainVars = []string{
	"LD_LIBRARY_PATH",
	"ROCM_PATH", "ROCM_HOME", "HSA_PATH", "HSA_OVERRIDE_GFX_VERSION",
	"HIP_PATH", "HIP_PLATFORM", "HIP_COMPILER", "HIP_RUNTIME", "HIP_CLANG_PATH", "HIP_DEVICE_LIB_PATH",
	"HIP_LIB_PATH", "HIP_INCLUDE_PATH", "HIP_ROCCLR_HOME", "DEVICE_LIB_PATH",
	"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT", "NVCC_PREPEND_FLAGS", "NVCC_APPEND_FLAGS", "NVCC_CCBIN",
	"HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL",
}

// toolchainPrefixes are families of such variables (hipcc's HIPCC_VERBOSE,
// HIPCC_COMPILE_FLAGS_APPEND, …).
var toolchainPrefixes = []string{"HIPCC_"}

// passedVar reports whether the host variable k goes into a compiler's or a
// program's environment. A name that looks like a credential never does,
// even within an allowed family.
func passedVar(k string) bool {
	if redact.IsSecretName(k) {
		return false
	}
	for _, v := range toolchainVars {
		if k == v {
			return true
		}
	}
	for _, p := range toolchainPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// baseEnv is the minimal environment with scratch as HOME and TMPDIR and the
// allowed variables of environ ("K=V" entries).
func baseEnv(scratch string, environ []string) map[string]string {
	env := map[string]string{
		"PATH":   "/usr/local/bin:/usr/bin:/bin",
		"HOME":   scratch,
		"TMPDIR": scratch,
		"LANG":   "C",
		"LC_ALL": "C",
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && passedVar(k) {
			env[k] = v
		}
	}
	return env
}

// CompilerEnv is the environment a compiler runs with, in the build
// directory scratch: the host's PATH (a toolchain finds its helpers there:
// nvcc its host compiler, hipcc its clang), HOME and TMPDIR pointing at
// scratch, LANG and LC_ALL C (stable messages), and the toolchain and GPU
// variables of the host (see toolchainVars); never a token, key or secret.
func CompilerEnv(scratch string) []string {
	env := baseEnv(scratch, os.Environ())
	if p := os.Getenv("PATH"); p != "" {
		env["PATH"] = p
	}
	return flatten(env)
}

func flatten(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}
