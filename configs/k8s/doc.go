// Package k8s holds the Kubernetes manifests for running kforge: a sharded
// build as an Indexed Job (indexed-job.yaml) and a nightly CronJob
// (cronjob.yaml). It has no code; its test checks the manifests against the
// contract of kforge build and kforge merge.
package k8s
