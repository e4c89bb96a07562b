package compile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// cuda12Removed are CUDA runtime names that CUDA 12 removed (the texture
// reference API) and that HIP 5.2's NVIDIA headers still call.
var cuda12Removed = regexp.MustCompile(`\b(cudaBindTexture|cudaBindTexture2D|cudaBindTextureToArray|cudaBindTextureToMipmappedArray|cudaUnbindTexture|cudaGetTextureAlignmentOffset|cudaGetTextureReference|textureReference|texture\s*<)`)

const cuda12Guard = "#if !defined(__CUDACC_VER_MAJOR__) || __CUDACC_VER_MAJOR__ < 12 /* kforge: texture references left CUDA 12 */"

// PrepareNvidiaHeaders copies the hip/ headers under srcInclude into
// dstInclude/hip and guards the functions of the NVIDIA-platform headers that
// use CUDA's removed texture-reference API, so that HIP 5.x headers compile
// with CUDA 12 nvcc (they compile unchanged with older CUDA).
func PrepareNvidiaHeaders(srcInclude, dstInclude string) error {
	src := filepath.Join(srcInclude, "hip")
	if _, err := os.Stat(filepath.Join(src, "nvidia_detail")); err != nil {
		return fmt.Errorf("HIP NVIDIA headers: %w (install libamdhip64-dev)", err)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(srcInclude, p)
		dst := filepath.Join(dstInclude, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(rel, "nvidia_detail") {
			b = []byte(GuardRemovedCUDA(string(b)))
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// GuardRemovedCUDA wraps every top-level function definition of a header
// that names a removed CUDA API in a CUDA-version guard.
func GuardRemovedCUDA(text string) string {
	lines := strings.Split(text, "\n")
	guarded := make([]bool, len(lines))
	type span struct{ a, b int }
	var spans []span
	for i := 0; i < len(lines); i++ {
		if guarded[i] || !cuda12Removed.MatchString(lines[i]) || strings.HasPrefix(strings.TrimSpace(lines[i]), "//") {
			continue
		}
		// Walk up to the start of the declaration.
		a := i
		for a > 0 {
			prev := strings.TrimSpace(lines[a-1])
			if prev == "" || strings.HasSuffix(prev, "}") || strings.HasSuffix(prev, ";") || strings.HasPrefix(prev, "#") || strings.HasPrefix(prev, "//") || strings.HasSuffix(prev, "*/") {
				break
			}
			a--
		}
		// Walk down to the end of its body.
		depth, opened, b := 0, false, a
		for ; b < len(lines); b++ {
			depth += strings.Count(lines[b], "{") - strings.Count(lines[b], "}")
			opened = opened || strings.Contains(lines[b], "{")
			if opened && depth <= 0 {
				break
			}
			if !opened && strings.HasSuffix(strings.TrimSpace(lines[b]), ";") {
				break // a declaration without a body
			}
		}
		if b >= len(lines) {
			continue // not a function we understand: leave it
		}
		for k := a; k <= b; k++ {
			guarded[k] = true
		}
		spans = append(spans, span{a, b})
		i = b
	}
	if len(spans) == 0 {
		return text
	}
	var out []string
	si := 0
	for i, l := range lines {
		if si < len(spans) && spans[si].a == i {
			out = append(out, cuda12Guard)
		}
		out = append(out, l)
		if si < len(spans) && spans[si].b == i {
			out = append(out, "#endif")
			si++
		}
	}
	return strings.Join(out, "\n")
}
