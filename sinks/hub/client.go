package hub

import (
	"context"

	"kforge/internal/hubclient"
)

// The Hub client lives in internal/hubclient; these names keep the
// publisher's API (Options.Retry, errors, NewClient for downloads) as it was.
type (
	Client        = hubclient.Client
	ClientOptions = hubclient.ClientOptions
	RetryPolicy   = hubclient.RetryPolicy
	Error         = hubclient.Error
)

// DefaultEndpoint is the public Hub.
const DefaultEndpoint = hubclient.DefaultEndpoint

// ErrNoToken means no Hub token was found in the environment or token files.
var ErrNoToken = hubclient.ErrNoToken

// NewClient resolves the endpoint and token and returns a client.
func NewClient(opt ClientOptions) (*Client, error) { return hubclient.NewClient(opt) }

// StatusOf returns the HTTP status of a Hub error, or 0.
func StatusOf(err error) int { return hubclient.StatusOf(err) }

// Download fetches the Parquet files of a dataset at a revision into
// cacheDir (see hubclient.Download).
func Download(ctx context.Context, repo, revision, cacheDir string) ([]string, error) {
	return hubclient.Download(ctx, repo, revision, cacheDir)
}
