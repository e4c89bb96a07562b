package hubclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
)

// The LFS batch API (git-lfs spec plus the Hub's multipart transfer).
const lfsMediaType = "application/vnd.git-lfs+json"

type lfsAction struct {
	Href   string            `json:"href"`
	Header map[string]string `json:"header,omitempty"`
}

type lfsBatchObject struct {
	OID     string `json:"oid"`
	Size    int64  `json:"size"`
	Actions *struct {
		Upload *lfsAction `json:"upload,omitempty"`
		Verify *lfsAction `json:"verify,omitempty"`
	} `json:"actions,omitempty"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// LFSStats counts what went over the wire.
type LFSStats struct {
	Objects int   // objects uploaded
	Bytes   int64 // bytes uploaded
	Present int   // objects the Hub already had
}

// LFSObject is a local file to store by LFS.
type LFSObject struct {
	Path   string // repo path, for messages
	Abs    string // local file, reopened for each attempt
	Size   int64
	SHA256 string // the LFS oid
}

// UploadLFS stores every file's content in the repo's LFS storage. Nothing
// becomes visible in the repository until the commit references it.
// Objects go up at most LFSParallel at a time; UploadLFS returns only when
// none is in flight.
func (c *Client) UploadLFS(ctx context.Context, repo, rev string, files []*LFSObject) (LFSStats, error) {
	var st LFSStats
	byOID := map[string]*LFSObject{}
	for _, f := range files {
		byOID[f.SHA256] = f
	}
	oids := make([]string, 0, len(byOID))
	for o := range byOID {
		oids = append(oids, o)
	}
	sort.Strings(oids)
	for start := 0; start < len(oids); start += preuploadChunk {
		chunk := oids[start:min(start+preuploadChunk, len(oids))]
		objs := make([]map[string]any, len(chunk))
		for i, o := range chunk {
			objs[i] = map[string]any{"oid": o, "size": byOID[o].Size}
		}
		req := map[string]any{
			"operation": "upload",
			"transfers": []string{"basic", "multipart"},
			"objects":   objs,
			"hash_algo": "sha256",
			"ref":       map[string]string{"name": rev},
		}
		b, err := json.Marshal(req)
		if err != nil {
			return st, err
		}
		resp, err := c.do(ctx, request{
			op: "lfs batch", method: http.MethodPost,
			url:    c.apiURL("/datasets/" + repoPath(repo) + ".git/info/lfs/objects/batch"),
			header: http.Header{"Accept": {lfsMediaType}, "Content-Type": {lfsMediaType}},
			body:   bytesBody(b), retry: true,
		})
		if err != nil {
			return st, err
		}
		var out struct {
			Transfer string           `json:"transfer"`
			Objects  []lfsBatchObject `json:"objects"`
		}
		if err := json.Unmarshal(resp.body, &out); err != nil {
			return st, fmt.Errorf("hub lfs batch: bad answer: %w", err)
		}
		if out.Transfer != "" && out.Transfer != "basic" && out.Transfer != "multipart" {
			return st, fmt.Errorf("hub lfs batch: transfer %q not offered", out.Transfer)
		}
		seen := map[string]bool{}
		var jobs []lfsJob
		for _, o := range out.Objects {
			f, ok := byOID[o.OID]
			if !ok {
				return st, fmt.Errorf("hub lfs batch: answer for unknown object %s", o.OID)
			}
			seen[o.OID] = true
			if o.Error != nil {
				return st, fmt.Errorf("hub lfs batch: %s: %d %s", f.Path, o.Error.Code, c.tok.redact(o.Error.Message))
			}
			if o.Actions == nil || o.Actions.Upload == nil {
				st.Present++ // already stored upstream
				c.log.Debug("hub: lfs object present", "path", f.Path)
				continue
			}
			jobs = append(jobs, lfsJob{f: f, upload: o.Actions.Upload, verify: o.Actions.Verify})
		}
		for _, o := range chunk {
			if !seen[o] {
				return st, fmt.Errorf("hub lfs batch: no answer for %s", byOID[o].Path)
			}
		}
		if err := c.runLFSJobs(ctx, jobs, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// lfsJob is one object to upload (and verify).
type lfsJob struct {
	f      *LFSObject
	upload *lfsAction
	verify *lfsAction
}

// runLFSJobs uploads and verifies the objects, at most c.lfsParallel at a
// time (each request keeps its own retries). The first failure stops the
// rest; it returns once every started upload has ended, so nothing is in
// flight when the caller goes on to commit.
func (c *Client) runLFSJobs(ctx context.Context, jobs []lfsJob, st *LFSStats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan lfsJob)
	for range min(c.lfsParallel, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				err := c.uploadOne(ctx, j)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if err == nil {
					st.Objects++
					st.Bytes += j.f.Size
				}
				mu.Unlock()
				if err == nil && c.onUploaded != nil {
					c.onUploaded(j.f.Size)
				}
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		select {
		case next <- j:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

func (c *Client) uploadOne(ctx context.Context, j lfsJob) error {
	if err := c.uploadObject(ctx, j.f, j.upload); err != nil {
		return fmt.Errorf("upload %s: %w", j.f.Path, err)
	}
	if j.verify != nil {
		if err := c.verifyObject(ctx, j.f, j.verify); err != nil {
			return fmt.Errorf("verify %s: %w", j.f.Path, err)
		}
	}
	c.log.Info("hub: uploaded", "path", j.f.Path, "bytes", j.f.Size)
	return nil
}

// sectionBody opens the file afresh for each attempt and sends [off, off+n).
func sectionBody(path string, off, n int64) func() (io.Reader, int64, error) {
	return func() (io.Reader, int64, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.NewSectionReader(f, off, n), f}, n, nil
	}
}

func (c *Client) uploadObject(ctx context.Context, f *LFSObject, up *lfsAction) error {
	cs, multipart := up.Header["chunk_size"]
	if !multipart {
		h := http.Header{}
		for k, v := range up.Header {
			h.Set(k, v)
		}
		_, err := c.do(ctx, request{op: "lfs upload", method: http.MethodPut, url: up.Href, header: h,
			body: sectionBody(f.Abs, 0, f.Size), retry: true})
		return err
	}
	chunk, err := strconv.ParseInt(cs, 10, 64)
	if err != nil || chunk <= 0 {
		return fmt.Errorf("multipart: bad chunk_size %q", cs)
	}
	nparts := (f.Size + chunk - 1) / chunk
	if int64(len(up.Header)-1) != nparts {
		return fmt.Errorf("multipart: %d part URLs for %d parts", len(up.Header)-1, nparts)
	}
	type part struct {
		PartNumber int    `json:"partNumber"`
		ETag       string `json:"etag"`
	}
	parts := make([]part, 0, nparts)
	for i := int64(1); i <= nparts; i++ {
		href, ok := up.Header[strconv.FormatInt(i, 10)]
		if !ok {
			return fmt.Errorf("multipart: no URL for part %d", i)
		}
		off := (i - 1) * chunk
		resp, err := c.do(ctx, request{op: fmt.Sprintf("lfs upload part %d/%d", i, nparts), method: http.MethodPut, url: href,
			body: sectionBody(f.Abs, off, min(chunk, f.Size-off)), retry: true})
		if err != nil {
			return err
		}
		etag := resp.header.Get("ETag")
		if etag == "" {
			return fmt.Errorf("multipart: part %d: no ETag in the answer", i)
		}
		parts = append(parts, part{PartNumber: int(i), ETag: etag})
	}
	b, err := json.Marshal(map[string]any{"oid": f.SHA256, "parts": parts})
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{op: "lfs complete multipart", method: http.MethodPost, url: up.Href,
		header: http.Header{"Accept": {lfsMediaType}, "Content-Type": {lfsMediaType}},
		body:   bytesBody(b), retry: true})
	return err
}

func (c *Client) verifyObject(ctx context.Context, f *LFSObject, v *lfsAction) error {
	h := http.Header{"Accept": {lfsMediaType}, "Content-Type": {lfsMediaType}}
	for k, val := range v.Header {
		h.Set(k, val)
	}
	b, err := json.Marshal(map[string]any{"oid": f.SHA256, "size": f.Size})
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{op: "lfs verify", method: http.MethodPost, url: v.Href, header: h, body: bytesBody(b), retry: true})
	return err
}
