package repos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genCKTree writes a tree in the shape of a Composable Kernel checkout
// (about 3,000 files, 36 MB): the fixture library, ~110 device-op headers,
// 57 example directories of ~5 programs each, ~1,400 instance-table sources
// in library/, and headers, tests and profiler sources around them.
func genCKTree(b *testing.B, dir string) (files int, bytes int64) {
	b.Helper()
	copyTree(b, fixture("minick"), dir)
	write := func(rel string, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		files++
		bytes += int64(len(content))
	}
	read := func(rel string) string {
		s, err := os.ReadFile(filepath.Join(fixture("minick"), filepath.FromSlash(rel)))
		if err != nil {
			b.Fatal(err)
		}
		return string(s)
	}
	pad := func(s string, size int, line string) string {
		var sb strings.Builder
		sb.WriteString(s)
		for i := 0; sb.Len() < size; i++ {
			fmt.Fprintf(&sb, "// %s %d\n", line, i)
		}
		return sb.String()
	}
	header := read("include/ck/tensor_operation/gpu/device/impl/device_gemm_xdl_cshuffle.hpp")
	for i := range 110 {
		h := strings.ReplaceAll(header, "DeviceGemm_Xdl_CShuffle", fmt.Sprintf("DeviceGemm_Xdl_CShuffle_V%d", i))
		write(fmt.Sprintf("include/ck/tensor_operation/gpu/device/impl/device_gemm_v%d.hpp", i), pad(h, 30000, "implementation notes"))
	}
	for i := range 315 {
		write(fmt.Sprintf("include/ck/tensor_operation/gpu/grid/gridwise_%03d.hpp", i), pad("#pragma once\n", 8000, "gridwise pipeline detail"))
	}
	for i := range 184 {
		write(fmt.Sprintf("include/ck_tile/ops/op_%03d.hpp", i), pad("#pragma once\n", 10000, "tile op detail"))
	}
	ex := read("example/01_gemm/gemm_xdl_fp16.cpp")
	common, inc := read("example/01_gemm/common.hpp"), read("example/01_gemm/run_gemm_example.inc")
	for d := range 57 {
		dirName := fmt.Sprintf("example/%02d_gemm_variant%d", d+3, d)
		write(dirName+"/common.hpp", common)
		write(dirName+"/run_gemm_example.inc", inc)
		write(dirName+"/CMakeLists.txt", "add_example_executable(example_gemm gemm.cpp)\n")
		for j := range 5 {
			src := strings.Replace(ex, "GemmDefault, 256, 64, 64, 16", fmt.Sprintf("GemmDefault, 256, 64, 64, %d", 8<<(j%3)), 1)
			src = strings.Replace(src, "DeviceGemm_Xdl_CShuffle\n", fmt.Sprintf("DeviceGemm_Xdl_CShuffle_V%d\n", (d*5+j)%110), 1)
			write(fmt.Sprintf("%s/gemm_xdl_v%d_fp16.cpp", dirName, j), pad(src, 5000, "example notes"))
		}
	}
	row := "        DeviceGemm_Xdl_CShuffle< Row, Col, Row, F16, F16, F16, F32, PassThrough, PassThrough, PassThrough, GemmDefault, 256, 128, 128, 32, 8, 8, S<4, 64>, 8>,\n"
	for i := range 1430 {
		write(fmt.Sprintf("library/src/tensor_operation_instance/gpu/op%02d/instance_%04d.cpp", i%83, i), pad(strings.Repeat(row, 80), 16000, "instance table"))
	}
	for i := range 490 {
		write(fmt.Sprintf("test/t%02d/test_%03d.cpp", i%43, i), pad("#include <gtest/gtest.h>\n", 6000, "test case"))
	}
	return files, bytes
}

// BenchmarkMineCKShape mines a generated CK-shaped tree of about 3,000 files
// and 36 MB: cold (a fresh cache: mirror clone plus mining) and warm (the
// same commit again, nothing changed).
func BenchmarkMineCKShape(b *testing.B) {
	dir := b.TempDir()
	files, size := genCKTree(b, dir)
	gitRun(b, dir, "init", "-q")
	gitRun(b, dir, "add", "-A")
	gitRun(b, dir, "commit", "-q", "-m", "generated")
	b.Logf("generated tree: %d files (plus fixture), %.1f MB", files, float64(size)/1e6)
	cfg := Config{Repos: []RepoConfig{{URL: dir}}, Licenses: []string{"MIT"}}
	ctx := context.Background()
	var tasks int
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			cache := b.TempDir()
			res, err := Mine(ctx, cfg, Options{CacheDir: cache, Archs: []string{"gfx90a"}})
			if err != nil {
				b.Fatal(err)
			}
			tasks = len(res.Tasks)
		}
		if tasks < 57*5 {
			b.Fatalf("mined %d tasks, want at least one per generated example (%d)", tasks, 57*5)
		}
		b.ReportMetric(float64(tasks), "tasks")
	})
	b.Run("unchanged", func(b *testing.B) {
		cache := b.TempDir()
		if _, err := Mine(ctx, cfg, Options{CacheDir: cache, Archs: []string{"gfx90a"}}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := Mine(ctx, cfg, Options{CacheDir: cache, Archs: []string{"gfx90a"}})
			if err != nil {
				b.Fatal(err)
			}
			if res.Repos[0].Cached != res.Repos[0].Programs {
				b.Fatalf("nothing changed, yet %d of %d programs were mined again", res.Repos[0].Programs-res.Repos[0].Cached, res.Repos[0].Programs)
			}
			tasks = len(res.Tasks)
		}
		b.ReportMetric(float64(tasks), "tasks")
	})
}

// BenchmarkMineRealCK mines a real Composable Kernel checkout named by
// $KFORGE_BENCH_CK_REPO (a path or URL git can clone; never committed),
// classic examples only: cold (fresh cache) against warm (unchanged).
func BenchmarkMineRealCK(b *testing.B) {
	repo := os.Getenv("KFORGE_BENCH_CK_REPO")
	if repo == "" {
		b.Skip("set KFORGE_BENCH_CK_REPO to a Composable Kernel repository")
	}
	cfg := Config{Repos: []RepoConfig{{URL: repo, Kind: "ck-example"}}, Licenses: []string{"MIT"}}
	ctx := context.Background()
	mirrors := b.TempDir() // the clone is not what is measured
	if _, err := Mine(ctx, cfg, Options{CacheDir: mirrors, Archs: []string{"gfx90a"}, NoCache: true}); err != nil {
		b.Fatal(err)
	}
	var tasks int
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			res, err := Mine(ctx, cfg, Options{CacheDir: mirrors, Archs: []string{"gfx90a"}, NoCache: true})
			if err != nil {
				b.Fatal(err)
			}
			tasks = len(res.Tasks)
		}
		b.ReportMetric(float64(tasks), "tasks")
	})
	b.Run("warm", func(b *testing.B) {
		if _, err := Mine(ctx, cfg, Options{CacheDir: mirrors, Archs: []string{"gfx90a"}}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := Mine(ctx, cfg, Options{CacheDir: mirrors, Archs: []string{"gfx90a"}})
			if err != nil {
				b.Fatal(err)
			}
			tasks = len(res.Tasks)
		}
		b.ReportMetric(float64(tasks), "tasks")
	})
}
