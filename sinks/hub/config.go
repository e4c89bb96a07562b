// Package hub publishes releases to the Hugging Face Hub over its HTTP API.
package hub

// Config is the publish section of a recipe.
type Config struct {
	Repo     string `yaml:"repo" required:"true" doc:"Dataset repository, ORG/NAME."`
	Private  bool   `yaml:"private" default:"true" doc:"Create the repository private when it is missing."`
	Revision string `yaml:"revision" default:"main" doc:"Branch to commit to."`
	Tag      string `yaml:"tag" doc:"Tag for the release commit; empty means vYYYY.MM.DD of the build date."`
	Endpoint string `yaml:"endpoint" doc:"Hub URL; empty means HF_ENDPOINT or the public Hub."`
	// The failure budget: a release whose build had failed items (recorded,
	// retried by a rerun) is published only within both limits.
	MaxFailedItems    int     `yaml:"max_failed_items" default:"0" min:"-1" doc:"Publish only when at most this many items failed across all shards (-1: no count limit); the release is written either way and kforge exits 3."`
	MaxFailedFraction float64 `yaml:"max_failed_fraction" default:"1" min:"0" max:"1" doc:"Publish only when at most this fraction of items failed: failed / (generated + failed) across all shards (1: no fraction limit)."`
}

// ValidTag reports whether tag may name a release (publish.tag, --tag).
func ValidTag(tag string) bool { return tagRe.MatchString(tag) }
