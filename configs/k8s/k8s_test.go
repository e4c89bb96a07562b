package k8s

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"kforge/configs"
)

// The parts of the Kubernetes objects the test reads.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name         string            `yaml:"name"`
		GenerateName string            `yaml:"generateName"`
		Labels       map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data  map[string]string `yaml:"data"`
	Spec  yaml.Node         `yaml:"spec"`
	Rules yaml.Node         `yaml:"rules"`
}

type jobSpec struct {
	CompletionMode       string `yaml:"completionMode"`
	Completions          *int   `yaml:"completions"`
	Parallelism          *int   `yaml:"parallelism"`
	BackoffLimitPerIndex *int   `yaml:"backoffLimitPerIndex"`
	MaxFailedIndexes     *int   `yaml:"maxFailedIndexes"`
	PodFailurePolicy     struct {
		Rules []struct {
			Action      string `yaml:"action"`
			OnExitCodes struct {
				ContainerName string `yaml:"containerName"`
				Operator      string `yaml:"operator"`
				Values        []int  `yaml:"values"`
			} `yaml:"onExitCodes"`
		} `yaml:"rules"`
	} `yaml:"podFailurePolicy"`
	Template podTemplate `yaml:"template"`
}

type podTemplate struct {
	Spec podSpec `yaml:"spec"`
}

type podSpec struct {
	ServiceAccountName string      `yaml:"serviceAccountName"`
	RestartPolicy      string      `yaml:"restartPolicy"`
	InitContainers     []container `yaml:"initContainers"`
	Containers         []container `yaml:"containers"`
	Volumes            []volume    `yaml:"volumes"`
}

type volume struct {
	Name string `yaml:"name"`
	PVC  *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
	ConfigMap *struct {
		Name string `yaml:"name"`
	} `yaml:"configMap"`
	EmptyDir any `yaml:"emptyDir"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			FieldRef struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Resources struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func (c container) env(name string) (value, fieldPath string, ok bool) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom != nil {
				return "", e.ValueFrom.FieldRef.FieldPath, true
			}
			return e.Value, "", true
		}
	}
	return "", "", false
}

// load decodes every document of a multi-document YAML stream, strictly.
func load(t *testing.T, data []byte) []object {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []object
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("document %d: %v", len(objs)+1, err)
		}
		if o.APIVersion == "" || o.Kind == "" {
			t.Fatalf("document %d has no apiVersion or kind", len(objs)+1)
		}
		objs = append(objs, o)
	}
}

func loadFile(t *testing.T, path string) []object {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return load(t, b)
}

func find(objs []object, kind, name string) (object, bool) {
	for _, o := range objs {
		if o.Kind == kind && (o.Metadata.Name == name || name == "") {
			return o, true
		}
	}
	return object{}, false
}

func decodeSpec[T any](t *testing.T, o object) T {
	t.Helper()
	var v T
	if err := o.Spec.Decode(&v); err != nil {
		t.Fatalf("%s %s spec: %v", o.Kind, o.Metadata.Name, err)
	}
	return v
}

// checkShardJob checks an Indexed Job against pipeline.ShardFromEnv and
// kforge build: every pod gets its index and the count, completions equal
// the count, a failed index retries alone, restartPolicy allows per-index
// backoff, and the build writes to the shared volume.
func checkShardJob(t *testing.T, o object) (out string) {
	t.Helper()
	if o.APIVersion != "batch/v1" {
		t.Errorf("job apiVersion %q, want batch/v1", o.APIVersion)
	}
	s := decodeSpec[jobSpec](t, o)
	if s.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || *s.Completions < 1 {
		t.Fatal("completions must be set: it is the shard count")
	}
	if s.Parallelism != nil && (*s.Parallelism < 1 || *s.Parallelism > *s.Completions) {
		t.Errorf("parallelism %d outside 1..%d", *s.Parallelism, *s.Completions)
	}
	if s.BackoffLimitPerIndex == nil {
		t.Error("backoffLimitPerIndex is not set: one failed shard would count against all")
	}
	if s.MaxFailedIndexes != nil && *s.MaxFailedIndexes > *s.Completions {
		t.Errorf("maxFailedIndexes %d above completions %d", *s.MaxFailedIndexes, *s.Completions)
	}
	for _, r := range s.PodFailurePolicy.Rules {
		if r.Action == "FailIndex" && !slices.Contains(r.OnExitCodes.Values, 2) {
			t.Errorf("FailIndex rule on %v: kforge's usage/config exit code is 2", r.OnExitCodes.Values)
		}
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != "Never" {
		t.Errorf("restartPolicy %q: backoffLimitPerIndex and podFailurePolicy need Never", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	for _, r := range s.PodFailurePolicy.Rules {
		if len(r.OnExitCodes.Values) > 0 && r.OnExitCodes.ContainerName != c.Name {
			t.Errorf("podFailurePolicy names container %q, the pod has %q", r.OnExitCodes.ContainerName, c.Name)
		}
	}
	n, _, ok := c.env("KFORGE_SHARDS")
	if !ok {
		t.Fatal("KFORGE_SHARDS is not set: JOB_COMPLETION_INDEX alone gives no count")
	}
	if got, err := strconv.Atoi(n); err != nil || got != *s.Completions {
		t.Errorf("KFORGE_SHARDS %q differs from completions %d", n, *s.Completions)
	}
	if _, fp, ok := c.env("JOB_COMPLETION_INDEX"); ok && fp != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("JOB_COMPLETION_INDEX from %q", fp)
	}
	if len(c.Args) < 1 || c.Args[0] != "build" {
		t.Fatalf("args %q: want kforge build", c.Args)
	}
	flags := parseFlags(t, c.Args[1:], "c", "out", "cache-dir")
	if slices.Contains(c.Args, "--shard") {
		t.Error("--shard given: the shard comes from the environment")
	}
	recipeMounted(t, pod.Containers[0], flags["c"])
	checkVolumes(t, pod, c)
	if gpu := c.Resources.Limits["amd.com/gpu"]; gpu == "" {
		t.Error("no amd.com/gpu limit: shards verify on GPUs")
	}
	return flags["out"]
}

// parseFlags reads -flag value pairs and checks that the wanted ones are
// there and nothing else is.
func parseFlags(t *testing.T, args []string, want ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		if a, ok := strings.CutPrefix(args[i], "-"); ok && i+1 < len(args) {
			m[strings.TrimPrefix(a, "-")] = args[i+1]
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	for _, w := range want {
		if m[w] == "" {
			t.Errorf("args %q lack -%s", args, w)
		}
	}
	m[""] = strings.Join(rest, " ")
	return m
}

func recipeMounted(t *testing.T, c container, recipe string) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(recipe, m.MountPath+"/") {
			return
		}
	}
	t.Errorf("recipe %s is on no mounted volume", recipe)
}

// checkVolumes: every mount names a volume of the pod, /data is the shared
// PVC, and config maps are the ones the manifests define.
func checkVolumes(t *testing.T, pod podSpec, c container) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(pod.Volumes, func(v volume) bool { return v.Name == m.Name })
		if i < 0 {
			t.Errorf("container %s mounts %q, which is no volume of the pod", c.Name, m.Name)
			continue
		}
		v := pod.Volumes[i]
		if m.MountPath == "/data" && (v.PVC == nil || v.PVC.ClaimName != "kforge-data") {
			t.Errorf("container %s: /data is not the shared PVC kforge-data", c.Name)
		}
		if v.ConfigMap != nil && !slices.Contains([]string{"kforge-recipe", "kforge-nightly-build"}, v.ConfigMap.Name) {
			t.Errorf("container %s mounts unknown config map %q", c.Name, v.ConfigMap.Name)
		}
	}
}

// checkRecipe parses the recipe config map with kforge's own strict decoder.
func checkRecipe(t *testing.T, objs []object) *configs.Config {
	t.Helper()
	cm, ok := find(objs, "ConfigMap", "kforge-recipe")
	if !ok {
		t.Fatal("no ConfigMap kforge-recipe")
	}
	cfg, err := configs.Parse("kforge-recipe/recipe.yaml", []byte(cm.Data["recipe.yaml"]))
	if err != nil {
		t.Fatalf("recipe in the config map: %v", err)
	}
	return cfg
}

func TestIndexedJob(t *testing.T) {
	objs := loadFile(t, "indexed-job.yaml")
	for _, o := range objs {
		if !slices.Contains([]string{"storage", "build", "merge"}, o.Metadata.Labels["kforge/part"]) {
			t.Errorf("%s %s: kforge/part label %q; the usage applies by storage, build, merge", o.Kind, o.Metadata.Name, o.Metadata.Labels["kforge/part"])
		}
	}
	pvc, ok := find(objs, "PersistentVolumeClaim", "kforge-data")
	if !ok {
		t.Fatal("no PVC kforge-data")
	}
	var ps struct {
		AccessModes []string `yaml:"accessModes"`
	}
	if err := pvc.Spec.Decode(&ps); err != nil || !slices.Equal(ps.AccessModes, []string{"ReadWriteMany"}) {
		t.Errorf("PVC access modes %v (%v): every shard writes the shared cache, want ReadWriteMany", ps.AccessModes, err)
	}
	cfg := checkRecipe(t, objs)
	if cfg.Verify.Backend != "rocm" {
		t.Errorf("recipe backend %q on AMD GPU pods", cfg.Verify.Backend)
	}
	build, ok := find(objs, "Job", "kforge-build")
	if !ok {
		t.Fatal("no Job kforge-build")
	}
	out := checkShardJob(t, build)

	merge, ok := find(objs, "Job", "kforge-merge")
	if !ok {
		t.Fatal("no Job kforge-merge")
	}
	ms := decodeSpec[jobSpec](t, merge)
	if ms.CompletionMode == "Indexed" {
		t.Error("the merge job is not sharded")
	}
	c := ms.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "merge" {
		t.Fatalf("merge args %q", c.Args)
	}
	f := parseFlags(t, c.Args[1:], "c", "out")
	if f[""] != out {
		t.Errorf("merge reads %q, the shards write %q", f[""], out)
	}
	if f["out"] != out+"/release" {
		t.Errorf("merge writes %q, want %s/release", f["out"], out)
	}
	checkVolumes(t, ms.Template.Spec, c)
}

var cronRe = regexp.MustCompile(`^(\S+\s+){4}\S+$`)

func TestCronJob(t *testing.T) {
	objs := loadFile(t, "cronjob.yaml")
	storage := loadFile(t, "indexed-job.yaml")
	checkRecipe(t, storage)

	cj, ok := find(objs, "CronJob", "kforge-nightly")
	if !ok {
		t.Fatal("no CronJob kforge-nightly")
	}
	var spec struct {
		Schedule          string `yaml:"schedule"`
		ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
		JobTemplate       struct {
			Spec jobSpec `yaml:"spec"`
		} `yaml:"jobTemplate"`
	}
	if err := cj.Spec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	if !cronRe.MatchString(spec.Schedule) {
		t.Errorf("schedule %q is not five cron fields", spec.Schedule)
	}
	if spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q: two nights at once would race", spec.ConcurrencyPolicy)
	}
	pod := spec.JobTemplate.Spec.Template.Spec
	if pod.RestartPolicy != "Never" {
		t.Errorf("driver restartPolicy %q", pod.RestartPolicy)
	}

	// The driver's service account may create and watch jobs, and nothing more.
	if pod.ServiceAccountName == "" {
		t.Fatal("the driver has no service account: it cannot create the night's job")
	}
	if _, ok := find(objs, "ServiceAccount", pod.ServiceAccountName); !ok {
		t.Errorf("service account %q is not defined", pod.ServiceAccountName)
	}
	role, ok := find(objs, "Role", "")
	if !ok {
		t.Fatal("no Role")
	}
	var rules []struct {
		APIGroups []string `yaml:"apiGroups"`
		Resources []string `yaml:"resources"`
		Verbs     []string `yaml:"verbs"`
	}
	if err := role.Rules.Decode(&rules); err != nil || len(rules) != 1 {
		t.Fatalf("role %s rules: %v, %d rules", role.Metadata.Name, err, len(rules))
	}
	if r := rules[0]; !slices.Equal(r.APIGroups, []string{"batch"}) || !slices.Equal(r.Resources, []string{"jobs"}) || !slices.Contains(r.Verbs, "create") || !slices.Contains(r.Verbs, "get") || slices.Contains(r.Verbs, "*") {
		t.Errorf("role rule %+v: want create and get on batch jobs only", r)
	}

	// The night's Indexed Job, as the driver creates it.
	cm, ok := find(objs, "ConfigMap", "kforge-nightly-build")
	if !ok {
		t.Fatal("no ConfigMap kforge-nightly-build")
	}
	night := load(t, []byte(cm.Data["build-job.yaml"]))
	if len(night) != 1 || night[0].Kind != "Job" || night[0].Metadata.GenerateName == "" {
		t.Fatalf("build-job.yaml: want one Job with generateName, got %d objects", len(night))
	}
	out := checkShardJob(t, night[0])
	ns := decodeSpec[jobSpec](t, night[0])
	if _, fp, _ := ns.Template.Spec.Containers[0].env("BUILD_NAME"); !strings.Contains(out, "$(BUILD_NAME)") || fp != "metadata.labels['batch.kubernetes.io/job-name']" {
		t.Errorf("night build writes %q (BUILD_NAME from %q): each night needs its own directory, or DONE shards of the last night would be reused", out, fp)
	}

	if len(pod.InitContainers) != 1 || len(pod.Containers) != 1 {
		t.Fatalf("driver: %d init containers, %d containers; want 1 and 1", len(pod.InitContainers), len(pod.Containers))
	}
	launch := strings.Join(pod.InitContainers[0].Command, " ")
	for _, s := range []string{"kubectl create -f /etc/kforge-build/build-job.yaml", "Complete", "Failed", "/run/kforge/build-name"} {
		if !strings.Contains(launch, s) {
			t.Errorf("driver init container lacks %q", s)
		}
	}
	// Kubernetes expands $(NAME) in commands; a shell $( ) must be $$( ).
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		cmd := strings.Join(c.Command, " ")
		if m := regexp.MustCompile(`(^|[^$])\$\([a-z]`).FindString(cmd); m != "" {
			t.Errorf("container %s: %q would be expanded by Kubernetes, not the shell; write $$(", c.Name, m)
		}
		checkVolumes(t, pod, c)
	}
	mergeCmd := strings.Join(pod.Containers[0].Command, " ")
	wantOut := strings.ReplaceAll(out, "$(BUILD_NAME)", "$$(cat /run/kforge/build-name)")
	for _, s := range []string{"out=" + wantOut, `kforge merge -c /etc/kforge/recipe.yaml --out "$out/release" "$out"`} {
		if !strings.Contains(mergeCmd, s) {
			t.Errorf("merge command %q lacks %q", mergeCmd, s)
		}
	}
}
