package repos

import (
	"testing"

	"kforge/datasets"
)

func TestAssignFamilies(t *testing.T) {
	mk := func(kind, op, text string) datasets.Task {
		return datasets.Task{Kind: kind, Op: op, Region: datasets.Region{Text: text}}
	}
	tasks := []datasets.Task{
		mk("ck-example", "gemm", "using I = DeviceGemm<F16, F16, F32, 256, 128>;"),
		mk("ck-example", "gemm", "using I = DeviceGemm<BF16, BF16, F32, 256, 128>; // bf16 twin"),
		mk("ck-example", "gemm", "using I =\n    DeviceGemm<ck::half_t,  ck::half_t, float, 256, 128>;"),
		mk("ck-example", "gemm", "using I = DeviceGemm<F16, F16, F32, 256, 64>;"),      // another tile: another family
		mk("ck-example", "conv_fwd", "using I = DeviceGemm<F16, F16, F32, 256, 128>;"), // another op
	}
	assignFamilies(tasks)
	if tasks[0].Family == "" || tasks[0].Family != tasks[1].Family || tasks[0].Family != tasks[2].Family {
		t.Errorf("dtype twins in different families: %s %s %s", tasks[0].Family, tasks[1].Family, tasks[2].Family)
	}
	if tasks[3].Family == tasks[0].Family || tasks[4].Family == tasks[0].Family {
		t.Error("a different tile or op joined the family")
	}
}
