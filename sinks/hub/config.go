// Package hub publishes releases to the Hugging Face Hub over its HTTP API.
package hub

// Config is the publish section of a recipe.
type Config struct {
	Repo     string `yaml:"repo" required:"true" doc:"Dataset repository, ORG/NAME."`
	Private  bool   `yaml:"private" default:"true" doc:"Create the repository private when it is missing."`
	Revision string `yaml:"revision" default:"main" doc:"Branch to commit to."`
	Tag      string `yaml:"tag" doc:"Tag for the release commit; empty means vYYYY.MM.DD of the build date."`
	Endpoint string `yaml:"endpoint" doc:"Hub URL; empty means HF_ENDPOINT or the public Hub."`
}

// ValidTag reports whether tag may name a release (publish.tag, --tag).
func ValidTag(tag string) bool { return tagRe.MatchString(tag) }
