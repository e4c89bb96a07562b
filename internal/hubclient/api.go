package hubclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Dataset repository routes. API routes are /api/datasets/ORG/NAME/…; git
// and LFS routes are /datasets/ORG/NAME.git/….
func (c *Client) dsAPI(repo, rest string) string {
	return c.apiURL("/api/datasets/" + repoPath(repo) + rest)
}

// SplitRepo splits ORG/NAME.
func SplitRepo(repo string) (org, name string, err error) {
	org, name, ok := strings.Cut(repo, "/")
	if !ok || org == "" || name == "" || strings.Contains(name, "/") || !repoNameRe.MatchString(org) || !repoNameRe.MatchString(name) {
		return "", "", fmt.Errorf("repo %q: want ORG/NAME (letters, digits, '-', '_', '.')", repo)
	}
	return org, name, nil
}

var repoNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

// CreateRepo creates the dataset repository; created is false when it
// already existed (409).
func (c *Client) CreateRepo(ctx context.Context, repo string, private bool) (created bool, err error) {
	org, name, err := SplitRepo(repo)
	if err != nil {
		return false, err
	}
	// The Hub takes visibility ("private", "public"; "protected" is for
	// Spaces); the boolean private is the legacy form.
	visibility := "public"
	if private {
		visibility = "private"
	}
	body := map[string]any{"name": name, "organization": org, "type": "dataset", "visibility": visibility}
	for attempt := 1; ; attempt++ {
		var out struct {
			URL string `json:"url"`
		}
		_, err := c.doJSON(ctx, "create repo", http.MethodPost, c.apiURL("/api/repos/create"), body, &out)
		if err == nil {
			c.log.Info("hub: created repository", "repo", repo, "visibility", visibility, "url", out.URL)
			return true, nil
		}
		var he *Error
		if !errors.As(err, &he) {
			return false, err
		}
		switch {
		case he.Status == http.StatusConflict && strings.Contains(he.Message, "conflicting operation") && attempt < c.retry.Attempts:
			// Another create is in flight on the Hub: wait and ask again.
			if err := c.retry.Sleep(ctx, c.retry.Base); err != nil {
				return false, err
			}
			continue
		case he.Status == http.StatusConflict:
			return false, nil
		case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden || he.Status == http.StatusPaymentRequired:
			// The token may lack create rights on a repo that exists anyway.
			if st, _, herr := c.Head(ctx, repo, "main"); herr == nil && st != RepoMissing {
				return false, nil
			}
		}
		return false, err
	}
}

// RepoState is what Head found.
type RepoState int

const (
	RepoMissing RepoState = iota // no repository (or no access to it)
	RepoEmpty                    // repository without the branch
	RepoReady                    // branch exists; head is its commit
)

// Head returns whether the repository and the branch exist, and the commit
// the branch points at.
func (c *Client) Head(ctx context.Context, repo, rev string) (RepoState, string, error) {
	return c.head(ctx, "datasets", repo, rev)
}

// head is Head for a repository of kind "datasets" or "models".
func (c *Client) head(ctx context.Context, kind, repo, rev string) (RepoState, string, error) {
	var out struct {
		SHA string `json:"sha"`
	}
	u := c.apiURL("/api/" + kind + "/" + repoPath(repo) + "/revision/" + revEscape(rev))
	_, err := c.doJSON(ctx, "revision", http.MethodGet, u, nil, &out)
	var he *Error
	if errors.As(err, &he) {
		switch {
		case he.Code == "RevisionNotFound":
			return RepoEmpty, "", nil
		case he.Code == "RepoNotFound" || (he.Status == http.StatusNotFound && he.Code == ""),
			he.Status == http.StatusUnauthorized && he.Message != "Invalid credentials in Authorization header":
			// The Hub answers 401 for repos that are missing or hidden.
			return RepoMissing, "", nil
		}
	}
	if err != nil {
		return 0, "", err
	}
	if !oidRe.MatchString(out.SHA) {
		return 0, "", fmt.Errorf("hub revision %s@%s: bad sha %q", repo, rev, out.SHA)
	}
	return RepoReady, out.SHA, nil
}

var oidRe = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

// PreuploadFile is one file asked about in Preupload: its path, the
// base64 of its first 512 bytes, and its size.
type PreuploadFile struct {
	Path   string `json:"path"`
	Sample string `json:"sample"`
	Size   int64  `json:"size"`
}

// PreuploadResult is the Hub's answer for one file: "lfs" or "regular",
// whether the repo's .gitignore excludes it, and the oid it has at rev.
type PreuploadResult struct {
	Path         string  `json:"path"`
	UploadMode   string  `json:"uploadMode"`
	ShouldIgnore bool    `json:"shouldIgnore"`
	OID          *string `json:"oid"`
}

// preuploadChunk is the Hub's per-request limit.
const preuploadChunk = 256

// Preupload asks the Hub how each file must go (lfs or regular) and what it
// already holds at rev (oid).
func (c *Client) Preupload(ctx context.Context, repo, rev string, files []PreuploadFile) (map[string]PreuploadResult, error) {
	out := make(map[string]PreuploadResult, len(files))
	for start := 0; start < len(files); start += preuploadChunk {
		chunk := files[start:min(start+preuploadChunk, len(files))]
		var resp struct {
			Files []PreuploadResult `json:"files"`
		}
		if _, err := c.doJSON(ctx, "preupload", http.MethodPost, c.dsAPI(repo, "/preupload/"+revEscape(rev)),
			map[string]any{"files": chunk}, &resp); err != nil {
			return nil, err
		}
		for _, f := range resp.Files {
			if f.UploadMode != "lfs" && f.UploadMode != "regular" {
				return nil, fmt.Errorf("hub preupload: %s: unknown upload mode %q", f.Path, f.UploadMode)
			}
			out[f.Path] = f
		}
		for _, f := range chunk {
			if _, ok := out[f.Path]; !ok {
				return nil, fmt.Errorf("hub preupload: no answer for %s", f.Path)
			}
		}
	}
	return out, nil
}

// TreeEntry is one entry of the tree API.
type TreeEntry struct {
	Type string `json:"type"` // "file" or "directory"
	Path string `json:"path"`
	OID  string `json:"oid"`
	Size int64  `json:"size"`
	LFS  *struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	} `json:"lfs,omitempty"`
}

// Tree lists every file at rev, following the Link header's pages.
func (c *Client) Tree(ctx context.Context, repo, rev string) ([]TreeEntry, error) {
	return c.tree(ctx, c.dsAPI(repo, "/tree/"+revEscape(rev))+"?recursive=true&expand=false")
}

// tree lists the entries at u, following the Link header's pages.
func (c *Client) tree(ctx context.Context, u string) ([]TreeEntry, error) {
	var all []TreeEntry
	for pages := 0; u != ""; pages++ {
		if pages > 10000 {
			return nil, errors.New("hub tree: too many pages")
		}
		var page []TreeEntry
		resp, err := c.doJSON(ctx, "list files", http.MethodGet, u, nil, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		u = nextLink(resp.header.Get("Link"))
		if u != "" && !c.sameHost(u) {
			return nil, fmt.Errorf("hub tree: next page on another host %s", stripQuery(u))
		}
	}
	return all, nil
}

// nextLink returns the rel="next" target of a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		seg := strings.Split(part, ";")
		if len(seg) < 2 {
			continue
		}
		target := strings.TrimSpace(seg[0])
		for _, p := range seg[1:] {
			if strings.ReplaceAll(strings.TrimSpace(p), " ", "") == `rel="next"` && strings.HasPrefix(target, "<") && strings.HasSuffix(target, ">") {
				return target[1 : len(target)-1]
			}
		}
	}
	return ""
}

// Tags returns tag name -> target commit.
func (c *Client) Tags(ctx context.Context, repo string) (map[string]string, error) {
	var out struct {
		Tags []struct {
			Name         string `json:"name"`
			TargetCommit string `json:"targetCommit"`
		} `json:"tags"`
	}
	if _, err := c.doJSON(ctx, "list refs", http.MethodGet, c.dsAPI(repo, "/refs"), nil, &out); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(out.Tags))
	for _, t := range out.Tags {
		m[t.Name] = t.TargetCommit
	}
	return m, nil
}

// ValidateYAML asks the Hub to check the card's metadata.
func (c *Client) ValidateYAML(ctx context.Context, readme string) error {
	_, err := c.doJSON(ctx, "validate card", http.MethodPost, c.apiURL("/api/validate-yaml"),
		map[string]string{"content": readme, "repoType": "dataset"}, nil)
	var he *Error
	if errors.As(err, &he) && he.Status == http.StatusBadRequest {
		// The body is {"errors":[{"message"}]}; errorMessage does not know it.
		return fmt.Errorf("card rejected by the Hub: %s", he.Message)
	}
	return err
}

// CommitResult is the commit endpoint's answer.
type CommitResult struct {
	CommitURL string `json:"commitUrl"`
	CommitOID string `json:"commitOid"`
}

// Commit posts an NDJSON commit once; the caller decides about retrying.
func (c *Client) Commit(ctx context.Context, repo, rev string, ndjson []byte) (*CommitResult, error) {
	r := request{
		op: "commit", method: http.MethodPost, url: c.dsAPI(repo, "/commit/"+revEscape(rev)),
		header: http.Header{"Content-Type": {"application/x-ndjson"}, "Accept": {"application/json"}},
		body:   bytesBody(ndjson),
		retry:  false,
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var out CommitResult
	if err := json.Unmarshal(resp.body, &out); err != nil || !oidRe.MatchString(out.CommitOID) {
		return nil, fmt.Errorf("hub commit: unexpected answer %.200q", resp.body)
	}
	return &out, nil
}

// CreateBranch creates branch from the default branch's head; 409 means
// it exists, which is fine.
func (c *Client) CreateBranch(ctx context.Context, repo, branch string) error {
	_, err := c.doJSON(ctx, "create branch", http.MethodPost, c.dsAPI(repo, "/branch/"+revEscape(branch)), map[string]any{}, nil)
	if StatusOf(err) == http.StatusConflict {
		return nil
	}
	return err
}

// CreateTag tags commit oid.
func (c *Client) CreateTag(ctx context.Context, repo, oid, tag, message string) error {
	_, err := c.doJSON(ctx, "create tag", http.MethodPost, c.dsAPI(repo, "/tag/"+revEscape(oid)),
		map[string]string{"tag": tag, "message": message}, nil)
	return err
}
