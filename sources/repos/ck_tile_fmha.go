package repos

import "kforge/datasets"

// tileGenerator is an example whose kernels a code generator writes.
type tileGenerator struct{}

func findTileGenerator(v *view, p string, pr *program) *tileGenerator { return nil }

func mineTileGenerated(v *view, p string, pr *program, g *tileGenerator, needs *datasets.Needs, archs []string) programResult {
	return programResult{}
}
