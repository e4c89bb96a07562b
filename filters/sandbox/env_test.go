package sandbox

import (
	"strings"
	"testing"
	"time"
)

// TestProgramEnvironmentHasNoSecrets: a candidate program that dumps its
// environment sees none of the planted credentials (tokens, API keys, cloud
// secrets, a model URL with user:password), does see the toolchain
// variables, and has its scratch directory as HOME and TMPDIR.
func TestProgramEnvironmentHasNoSecrets(t *testing.T) {
	planted := map[string]string{
		"HF_TOKEN":              "hf_plantedHubToken0123456789",
		"OPENAI_API_KEY":        "sk-planted-openai-key-0123",
		"KFORGE_MODEL_KEY":      "planted-model-api-key-42",
		"AWS_SECRET_ACCESS_KEY": "planted-aws-secret-abcdef",
		"OLLAMA_HOST":           "http://alice:planted-pw-9876@10.1.2.3:11434",
		"HIPCC_TOKEN":           "planted-hipcc-family-token",
	}
	for k, v := range planted {
		t.Setenv(k, v)
	}
	t.Setenv("ROCM_PATH", "/opt/rocm-planted")
	res := run(t, `env; echo "cwd=$(pwd)"`, DefaultLimits(10*time.Second), func(s *Spec) { s.GPU = "1" })
	for k, v := range planted {
		if strings.Contains(res.Stdout, v) || strings.Contains(res.Stdout, k+"=") {
			t.Errorf("the program sees %s:\n%s", k, res.Stdout)
		}
	}
	env := map[string]string{}
	for _, l := range strings.Split(res.Stdout, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	if env["ROCM_PATH"] != "/opt/rocm-planted" || env["ROCR_VISIBLE_DEVICES"] != "1" || env["LANG"] != "C" {
		t.Errorf("toolchain or GPU variables missing:\n%s", res.Stdout)
	}
	if env["HOME"] == "" || env["HOME"] != env["TMPDIR"] {
		t.Errorf("HOME %q, TMPDIR %q: want the scratch directory", env["HOME"], env["TMPDIR"])
	}
}

func TestPassedVar(t *testing.T) {
	for _, k := range []string{"PATH_X", "HOME", "HF_TOKEN", "HIPCC_TOKEN", "HIPCC_API_KEY", "OPENAI_API_KEY", "AWS_REGION", "OLLAMA_HOST", "SSH_AUTH_SOCK"} {
		if passedVar(k) {
			t.Errorf("%s is passed", k)
		}
	}
	for _, k := range []string{"ROCM_PATH", "HIP_PLATFORM", "HIPCC_COMPILE_FLAGS_APPEND", "CUDA_PATH", "HIP_VISIBLE_DEVICES", "LD_LIBRARY_PATH"} {
		if !passedVar(k) {
			t.Errorf("%s is not passed", k)
		}
	}
}
