package main

import (
	"context"
	"fmt"

	"kforge/datasets/tokenizer"
	"kforge/internal/hubclient"
)

// loadTokenizer loads the recipe's dataset.tokenizer: nil for none (the
// release estimates), a local tokenizer.json, or a file of a Hub model
// repository (hf://ORG/NAME@REV/PATH), downloaded once into
// cacheDir/hub/models/… and named by its hf:// address, so the card reads
// the same on every machine.
func loadTokenizer(ctx context.Context, e *env, spec, cacheDir string) (tokenizer.Counter, error) {
	if spec == "" {
		return nil, nil
	}
	h, hub, err := tokenizer.ParseHub(spec)
	if err != nil {
		return nil, fmt.Errorf("dataset.tokenizer: %w", err)
	}
	if !hub {
		t, err := tokenizer.Load(spec)
		if err != nil {
			return nil, fmt.Errorf("dataset.tokenizer: %w", err)
		}
		return t, nil
	}
	c, err := hubclient.NewClient(hubclient.ClientOptions{Getenv: e.getenv, Anonymous: true, UserAgent: "kforge/" + versionString()})
	if err != nil {
		return nil, fmt.Errorf("dataset.tokenizer: %w", err)
	}
	p, err := c.ModelFile(ctx, h.Repo, h.Revision, h.Path, cacheDir+"/hub")
	if err != nil {
		return nil, fmt.Errorf("dataset.tokenizer: %w", err)
	}
	t, err := tokenizer.LoadAs(p, h.String())
	if err != nil {
		return nil, fmt.Errorf("dataset.tokenizer: %w", err)
	}
	return t, nil
}
