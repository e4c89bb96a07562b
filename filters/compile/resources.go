package compile

import (
	"regexp"
	"strconv"
	"strings"

	"kforge/datasets"
)

var (
	reAMDRemark = regexp.MustCompile(`remark:\s+(Function Name|SGPRs|VGPRs|AGPRs|ScratchSize \[bytes/lane\]|Occupancy \[waves/SIMD\]|SGPRs Spill|VGPRs Spill|LDS Size \[bytes/block\]):\s*(\S+)`)
)

// ParseAMDResources reads the -Rpass-analysis=kernel-resource-usage remarks of
// an AMDGPU compile: one KernelResources per function and target. With
// several targets, names are suffixed with the compile's order (@1, @2, …)
// since clang's remarks do not name the target.
func ParseAMDResources(log string, multiArch bool) []datasets.KernelResources {
	var ks []datasets.KernelResources
	seen := map[string]int{}
	var cur *datasets.KernelResources
	for _, l := range strings.Split(log, "\n") {
		m := reAMDRemark.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if m[1] == "Function Name" {
			name := m[2]
			seen[name]++
			if multiArch || seen[name] > 1 {
				name += "@" + strconv.Itoa(seen[name])
			}
			ks = append(ks, datasets.KernelResources{Name: name})
			cur = &ks[len(ks)-1]
			continue
		}
		if cur == nil {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		switch m[1] {
		case "SGPRs":
			cur.SGPRs = n
		case "VGPRs":
			cur.VGPRs = n
		case "AGPRs":
			cur.AGPRs = n
		case "ScratchSize [bytes/lane]":
			cur.Scratch = n
		case "Occupancy [waves/SIMD]":
			cur.Occupancy = n
		case "SGPRs Spill":
			cur.SGPRSpill = n
		case "VGPRs Spill":
			cur.VGPRSpill = n
		case "LDS Size [bytes/block]":
			cur.LDS = n
		}
	}
	return ks
}

var (
	reNVFunc  = regexp.MustCompile(`ptxas info\s*: Compiling entry function '([^']+)' for '(sm_\w+)'`)
	reNVUsed  = regexp.MustCompile(`ptxas info\s*: Used (\d+) registers(?:, used \d+ barriers)?(?:, (\d+) bytes smem)?`)
	reNVSpill = regexp.MustCompile(`(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads`)
)

// ParseNVCCResources reads ptxas -v output: registers, shared memory, stack
// frame (as scratch) and spill stores (as VGPR spill bytes) per entry function.
func ParseNVCCResources(log string) []datasets.KernelResources {
	var ks []datasets.KernelResources
	var cur *datasets.KernelResources
	for _, l := range strings.Split(log, "\n") {
		if m := reNVFunc.FindStringSubmatch(l); m != nil {
			ks = append(ks, datasets.KernelResources{Name: m[1]})
			cur = &ks[len(ks)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := reNVSpill.FindStringSubmatch(l); m != nil {
			cur.Scratch, _ = strconv.Atoi(m[1])
			cur.VGPRSpill, _ = strconv.Atoi(m[2])
		}
		if m := reNVUsed.FindStringSubmatch(l); m != nil {
			cur.Registers, _ = strconv.Atoi(m[1])
			cur.VGPRs = cur.Registers
			if m[2] != "" {
				cur.SharedMemB, _ = strconv.Atoi(m[2])
				cur.LDS = cur.SharedMemB
			}
		}
	}
	return ks
}
