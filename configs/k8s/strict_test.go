package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	sigyaml "sigs.k8s.io/yaml"
)

// strictDecode decodes one manifest document into the Kubernetes API type of
// its kind, refusing any field the type does not have: a misspelt or
// misplaced key (which the API server would drop or reject) fails here.
func strictDecode(t *testing.T, doc []byte) any {
	t.Helper()
	j, err := sigyaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatalf("yaml: %v\n%s", err, doc)
	}
	var head struct{ APIVersion, Kind string }
	if err := json.Unmarshal(j, &head); err != nil {
		t.Fatal(err)
	}
	var v any
	switch head.APIVersion + "/" + head.Kind {
	case "batch/v1/Job":
		v = &batchv1.Job{}
	case "batch/v1/CronJob":
		v = &batchv1.CronJob{}
	case "v1/ConfigMap":
		v = &corev1.ConfigMap{}
	case "v1/PersistentVolumeClaim":
		v = &corev1.PersistentVolumeClaim{}
	case "v1/ServiceAccount":
		v = &corev1.ServiceAccount{}
	case "rbac.authorization.k8s.io/v1/Role":
		v = &rbacv1.Role{}
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		v = &rbacv1.RoleBinding{}
	default:
		t.Fatalf("no Kubernetes type for %s %s", head.APIVersion, head.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", head.Kind, err)
	}
	return v
}

func strictFile(t *testing.T, path string) []any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []any
	for _, doc := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) > 0 {
			objs = append(objs, strictDecode(t, doc))
		}
	}
	return objs
}

// checkBuildJob checks what makes a night finish: preemption retried free,
// exit 3 (DONE with failed items) retried a counted number of times and
// never failing the Job early, every shard run to its end, resources asked
// for, and time to stop cleanly on SIGTERM.
func checkBuildJob(t *testing.T, j *batchv1.Job) {
	t.Helper()
	s := j.Spec
	if s.MaxFailedIndexes != nil {
		t.Errorf("maxFailedIndexes %d: shards that finished with failed items would stop the others", *s.MaxFailedIndexes)
	}
	if s.ActiveDeadlineSeconds == nil {
		t.Error("no activeDeadlineSeconds: a stuck shard keeps the night from ending")
	}
	p := s.PodFailurePolicy
	if p == nil {
		t.Fatal("no podFailurePolicy")
	}
	var disruption, items, usage batchv1.PodFailurePolicyAction
	for _, r := range p.Rules {
		for _, c := range r.OnPodConditions {
			if c.Type == corev1.DisruptionTarget {
				disruption = r.Action
			}
		}
		if e := r.OnExitCodes; e != nil && e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn {
			if slices.Contains(e.Values, 3) {
				items = r.Action
			}
			if slices.Contains(e.Values, 2) {
				usage = r.Action
			}
		}
	}
	if disruption != batchv1.PodFailurePolicyActionIgnore {
		t.Errorf("DisruptionTarget: action %q, want Ignore (preemption must not count as a failure)", disruption)
	}
	if items != batchv1.PodFailurePolicyActionCount {
		t.Errorf("exit 3: action %q, want Count (a retry retries exactly the failed items, a bounded number of times)", items)
	}
	if usage != batchv1.PodFailurePolicyActionFailIndex {
		t.Errorf("exit 2: action %q, want FailIndex", usage)
	}
	pod := s.Template.Spec
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 60 {
		t.Error("terminationGracePeriodSeconds under 60 s: kforge needs time to stop cleanly on SIGTERM")
	}
	c := pod.Containers[0]
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := req[r]; !ok || q.IsZero() {
			t.Errorf("build container requests no %s", r)
		}
	}
	if q, ok := lim[corev1.ResourceMemory]; !ok || q.Cmp(req[corev1.ResourceMemory]) < 0 {
		t.Errorf("memory limit %v below the request", lim[corev1.ResourceMemory])
	}
	one := resource.MustParse("1")
	if q := lim["amd.com/gpu"]; q.Cmp(one) != 0 {
		t.Errorf("amd.com/gpu limit %v, want 1", lim["amd.com/gpu"])
	}
}

func checkMergeContainer(t *testing.T, c corev1.Container) {
	t.Helper()
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("merge container requests no CPU")
	}
	if _, ok := c.Resources.Requests[corev1.ResourceMemory]; !ok {
		t.Error("merge container requests no memory")
	}
	if _, ok := c.Resources.Limits["amd.com/gpu"]; ok {
		t.Error("the merge asks for a GPU")
	}
}

func TestIndexedJobStrict(t *testing.T) {
	var build, merge *batchv1.Job
	for _, o := range strictFile(t, "indexed-job.yaml") {
		if j, ok := o.(*batchv1.Job); ok {
			switch j.Name {
			case "kforge-build":
				build = j
			case "kforge-merge":
				merge = j
			}
		}
	}
	if build == nil || merge == nil {
		t.Fatal("indexed-job.yaml lacks the kforge-build or kforge-merge Job")
	}
	checkBuildJob(t, build)
	checkMergeContainer(t, merge.Spec.Template.Spec.Containers[0])
}

func TestCronJobStrict(t *testing.T) {
	var cron *batchv1.CronJob
	var nightly *corev1.ConfigMap
	for _, o := range strictFile(t, "cronjob.yaml") {
		switch v := o.(type) {
		case *batchv1.CronJob:
			cron = v
		case *corev1.ConfigMap:
			nightly = v
		}
	}
	if cron == nil || nightly == nil {
		t.Fatal("cronjob.yaml lacks the CronJob or the build ConfigMap")
	}
	build, ok := strictDecode(t, []byte(nightly.Data["build-job.yaml"])).(*batchv1.Job)
	if !ok {
		t.Fatal("build-job.yaml is not a Job")
	}
	checkBuildJob(t, build)
	pod := cron.Spec.JobTemplate.Spec.Template.Spec
	checkMergeContainer(t, pod.Containers[0])
}

// driverScript is the CronJob's init container script as the shell gets it:
// Kubernetes turns $$ into $ (no $(VAR) reference is used in it).
func driverScript(t *testing.T) (script string, env []string) {
	t.Helper()
	var cron *batchv1.CronJob
	for _, o := range strictFile(t, "cronjob.yaml") {
		if c, ok := o.(*batchv1.CronJob); ok {
			cron = c
		}
	}
	ic := cron.Spec.JobTemplate.Spec.Template.Spec.InitContainers[0]
	if len(ic.Command) != 3 || ic.Command[0] != "sh" {
		t.Fatalf("init container command %q, want sh -ec SCRIPT", ic.Command)
	}
	for _, e := range ic.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	return strings.ReplaceAll(ic.Command[2], "$$", "$"), env
}

// The driver must not hang on a Job that failed (a shard with failed items
// fails its index): Failed leads to the merge like Complete, and a Job that
// never finishes ends the wait at WAIT_SECONDS. Run with a fake kubectl.
func TestCronJobDriverEndsOnFailedJob(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	script, env := driverScript(t)
	for _, tc := range []struct {
		name, conditions string
		wantOK           bool
	}{
		{"complete", "Complete ", true},
		{"failed", "FailureTarget Failed ", true},
		{"never finishes", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			kubectl := "#!/bin/sh\ncase $1 in\ncreate) echo job.batch/kforge-nightly-abc12 ;;\nget) printf '%s' '" + tc.conditions + "' ;;\nesac\n"
			if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(kubectl), 0o755); err != nil {
				t.Fatal(err)
			}
			run := filepath.Join(dir, "run")
			if err := os.MkdirAll(run, 0o755); err != nil {
				t.Fatal(err)
			}
			s := strings.ReplaceAll(script, "/run/kforge", run)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-ec", s)
			cmd.Env = append([]string{"PATH=" + bin + ":" + os.Getenv("PATH")}, env...)
			cmd.Env = append(cmd.Env, "WAIT_SECONDS=2", "POLL_SECONDS=1")
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("the driver still waits after 30 s with WAIT_SECONDS=2:\n%s", out)
			}
			if (err == nil) != tc.wantOK {
				t.Fatalf("driver: %v, want success %v:\n%s", err, tc.wantOK, out)
			}
			if name, _ := os.ReadFile(filepath.Join(run, "build-name")); string(name) != "kforge-nightly-abc12\n" {
				t.Errorf("build-name %q", name)
			}
		})
	}
}
