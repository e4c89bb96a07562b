package compile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kforge/datasets"
	"kforge/filters/sandbox"
)

// plantedSecrets are credentials a build machine may hold in its
// environment; none may reach a compiler.
var plantedSecrets = map[string]string{
	"HF_TOKEN":              "hf_plantedHubToken0123456789",
	"OPENAI_API_KEY":        "sk-planted-openai-key-0123",
	"KFORGE_MODEL_KEY":      "planted-model-api-key-42",
	"AWS_SECRET_ACCESS_KEY": "planted-aws-secret-abcdef",
	"OLLAMA_HOST":           "http://alice:planted-pw-9876@10.1.2.3:11434",
	"HIPCC_TOKEN":           "planted-hipcc-family-token",
	"GITHUB_TOKEN":          "ghp_plantedGithubToken0123",
}

// TestCompilerEnvironmentIsMinimal: a stand-in compiler that dumps its
// environment into the compile log (which reaches verdicts and the model)
// sees the toolchain variables, HOME and TMPDIR in its build directory, and
// none of the planted credentials, confined (bwrap) or not.
func TestCompilerEnvironmentIsMinimal(t *testing.T) {
	for k, v := range plantedSecrets {
		t.Setenv(k, v)
	}
	t.Setenv("ROCM_PATH", "/opt/rocm-planted")
	t.Setenv("HIPCC_VERBOSE", "0")
	home := os.Getenv("HOME")
	fake := filepath.Join(t.TempDir(), "fakecc")
	body := "#!/bin/sh\necho ENV-BEGIN\nenv\necho ENV-END\n[ \"$1\" = --version ] && { echo 'fakecc version 1'; exit 0; }\nexit 1\n"
	if err := os.WriteFile(fake, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, confined := range []bool{false, true} {
		name := "unconfined"
		if confined {
			name = "confined"
		}
		t.Run(name, func(t *testing.T) {
			var sb *sandbox.Sandbox
			if confined {
				sb = confining(t)
			}
			c, err := New(context.Background(), Compiler{Kind: Host, Path: fake, WorkDir: t.TempDir(), Sandbox: sb})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range plantedSecrets {
				if strings.Contains(c.version, v) {
					t.Errorf("the compiler's --version saw %s", k)
				}
			}
			out, err := c.Compile(context.Background(), Job{Files: []datasets.File{{Path: "m.cpp", Content: "int main() {}\n"}}, Sources: []string{"m.cpp"}})
			if err != nil {
				t.Fatal(err)
			}
			log := out.Result.Log
			if !strings.Contains(log, "ENV-BEGIN") || !strings.Contains(log, "ENV-END") {
				t.Fatalf("the stand-in compiler did not dump its environment:\n%s", log)
			}
			for k, v := range plantedSecrets {
				if strings.Contains(log, v) || strings.Contains(log, k+"=") {
					t.Errorf("the compiler sees %s:\n%s", k, log)
				}
			}
			env := map[string]string{}
			for _, l := range strings.Split(log, "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					env[k] = v
				}
			}
			if env["ROCM_PATH"] != "/opt/rocm-planted" || env["HIPCC_VERBOSE"] != "0" || env["LC_ALL"] != "C" || env["PATH"] == "" {
				t.Errorf("toolchain variables missing: %v", env)
			}
			if env["HOME"] == "" || env["HOME"] == home || env["TMPDIR"] == "" || env["TMPDIR"] == os.TempDir() {
				t.Errorf("HOME %q and TMPDIR %q must be the scratch directory", env["HOME"], env["TMPDIR"])
			}
		})
	}
}
