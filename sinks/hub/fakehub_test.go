package hub

// fakeHub is an in-process Hugging Face Hub for the publisher's tests: the
// routes huggingface_hub uses (create repo, revision, preupload, tree, refs,
// validate-yaml, LFS batch with basic and multipart transfers and verify,
// NDJSON commit with parentCommit, tag, resolve), with the documented
// request and response shapes. It rejects what the real Hub would: bad or
// missing auth, wrong content types, missing fields, LFS objects committed
// before they were uploaded and verified, a stale parentCommit, empty
// commits. Storage ("S3") is a second server on another port, and it
// refuses requests that carry an Authorization header, as presigned URLs do.

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type fakeBlob struct {
	data []byte
	lfs  bool
}

type fakeCommit struct {
	oid     string
	parent  string
	summary string
	files   map[string]fakeBlob
}

type fakeRepo struct {
	private  bool
	commits  map[string]*fakeCommit
	order    []string // commit oids, oldest first
	branches map[string]string
	tags     map[string]string
}

// fault is an injected failure for the next request to a route.
type fault struct {
	status int         // answer this status without doing the work
	header http.Header // with these headers
	lost   bool        // do the work, then drop the connection unanswered
	hang   bool        // never answer (until the client gives up)
	msg    string      // error message for status
	before func()      // run before the work (e.g. a concurrent commit)
}

type fakeHub struct {
	t     *testing.T
	token string
	hub   *httptest.Server
	s3    *httptest.Server

	lfsThreshold  int64 // preupload: files from this size go by LFS
	multipartOver int64 // batch: objects above this size use multipart
	chunkSize     int64
	echoAuth      bool // hostile: echo the Authorization header in errors
	treePage      int  // tree entries per page
	// putHold keeps each storage PUT (basic or part) open this long, so
	// that overlapping uploads overlap visibly.
	putHold time.Duration

	mu      sync.Mutex
	repos   map[string]*fakeRepo
	stored  map[string][]byte         // LFS objects uploaded and verified
	pending map[string][]byte         // uploaded, not yet verified
	parts   map[string]map[int][]byte // multipart uploads in progress
	calls   []string                  // route names in order
	created []string                  // the visibility of each create request
	// commitOps holds the operations of each accepted commit, one
	// "lfsFile PATH", "file PATH" or "deletedFile PATH" each, sorted.
	commitOps [][]string
	faults    map[string][]fault
	nextOID   int
	reqID     atomic.Int64

	// Storage PUTs in flight now and at most; commits that arrived while
	// an upload was still in flight.
	putsInFlight, maxPutsInFlight int
	commitsDuringUpload           int
}

// maxConcurrentPuts is the most storage PUTs that were in flight at once.
func (f *fakeHub) maxConcurrentPuts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxPutsInFlight
}

// lfsMediaType is the LFS batch API's content type.
const lfsMediaType = "application/vnd.git-lfs+json"

// writeRoutes change state on the Hub or its storage.
var writeRoutes = map[string]bool{"create": true, "branch": true, "batch": true, "put": true, "part": true, "complete": true, "verify": true, "commit": true, "tag": true}

func newFakeHub(t *testing.T, token string) *fakeHub {
	t.Helper()
	f := &fakeHub{t: t, token: token, lfsThreshold: 1024, multipartOver: 4096, chunkSize: 2048, treePage: 3,
		repos: map[string]*fakeRepo{}, stored: map[string][]byte{}, pending: map[string][]byte{},
		parts: map[string]map[int][]byte{}, faults: map[string][]fault{}}
	f.hub = httptest.NewServer(http.HandlerFunc(f.serveHub))
	f.s3 = httptest.NewServer(http.HandlerFunc(f.serveS3))
	t.Cleanup(func() { f.hub.Close(); f.s3.Close() })
	return f
}

func (f *fakeHub) inject(route string, fs ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[route] = append(f.faults[route], fs...)
}

func (f *fakeHub) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeHub) count(route string) int {
	n := 0
	for _, c := range f.callList() {
		if c == route {
			n++
		}
	}
	return n
}

// snapshot describes a repo's visible state: branch heads, tags, commits.
func (f *fakeHub) snapshot(repo string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[repo]
	if r == nil {
		return "missing"
	}
	return fmt.Sprintf("branches=%v tags=%v commits=%d", r.branches, r.tags, len(r.order))
}

// headFiles returns the files at the branch head.
func (f *fakeHub) headFiles(repo, branch string) map[string]fakeBlob {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[repo]
	return r.commits[r.branches[branch]].files
}

func (f *fakeHub) headCommit(repo, branch string) *fakeCommit {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[repo]
	return r.commits[r.branches[branch]]
}

func gitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// lfsPointer is the git blob that stands for an LFS file.
func lfsPointer(b []byte) []byte {
	return fmt.Appendf(nil, "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha256hex(b), len(b))
}

// addCommit makes a commit on branch (caller holds mu).
func (f *fakeHub) addCommit(r *fakeRepo, branch, summary string, files map[string]fakeBlob) string {
	f.nextOID++
	oid := fmt.Sprintf("%x", sha1.Sum(fmt.Appendf(nil, "commit %d %s", f.nextOID, summary)))
	r.commits[oid] = &fakeCommit{oid: oid, parent: r.branches[branch], summary: summary, files: files}
	r.order = append(r.order, oid)
	r.branches[branch] = oid
	return oid
}

// seedRepo creates a repo as the Hub does: one commit with .gitattributes.
func (f *fakeHub) seedRepo(name string, private bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seedLocked(name, private)
}

func (f *fakeHub) seedLocked(name string, private bool) {
	r := &fakeRepo{private: private, commits: map[string]*fakeCommit{}, branches: map[string]string{}, tags: map[string]string{}}
	f.addCommit(r, "main", "initial commit", map[string]fakeBlob{".gitattributes": {data: []byte("*.parquet filter=lfs diff=lfs merge=lfs -text\n")}})
	f.repos[name] = r
}

// concurrentCommit simulates another writer on the branch.
func (f *fakeHub) concurrentCommit(repo, branch, path string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[repo]
	files := map[string]fakeBlob{}
	for k, v := range r.commits[r.branches[branch]].files {
		files[k] = v
	}
	files[path] = fakeBlob{data: data}
	f.addCommit(r, branch, "someone else", files)
}

// --- plumbing -------------------------------------------------------------

type hubErr struct {
	status int
	code   string
	msg    string
}

func (f *fakeHub) fail(w http.ResponseWriter, r *http.Request, e hubErr) {
	msg := e.msg
	if f.echoAuth {
		msg += " (you sent " + r.Header.Get("Authorization") + ")"
	}
	if e.code != "" {
		w.Header().Set("X-Error-Code", e.code)
	}
	w.Header().Set("X-Request-Id", "req-"+strconv.FormatInt(f.reqID.Add(1), 10))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

var (
	reCreate   = regexp.MustCompile(`^/api/repos/create$`)
	reDS       = regexp.MustCompile(`^/api/datasets/([^/]+/[^/]+)/(revision|preupload|tree|commit|tag|branch)/([^/]+)$`)
	reRefs     = regexp.MustCompile(`^/api/datasets/([^/]+/[^/]+)/refs$`)
	reValidate = regexp.MustCompile(`^/api/validate-yaml$`)
	reBatch    = regexp.MustCompile(`^/datasets/([^/]+/[^/]+)\.git/info/lfs/objects/batch$`)
	reVerify   = regexp.MustCompile(`^/lfs/verify/([0-9a-f]{64})$`)
	reComplete = regexp.MustCompile(`^/lfs/complete/([0-9a-f]{64})$`)
	reResolve  = regexp.MustCompile(`^/datasets/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$`)
	oidOnly    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// route names the request; m holds the path's captures (unescaped).
func route(r *http.Request) (string, []string) {
	p := r.URL.EscapedPath()
	unesc := func(ms []string) []string {
		for i := range ms {
			ms[i], _ = url.PathUnescape(ms[i])
		}
		return ms
	}
	switch {
	case reCreate.MatchString(p):
		return "create", nil
	case reDS.MatchString(p):
		m := unesc(reDS.FindStringSubmatch(p))
		return m[2], m
	case reRefs.MatchString(p):
		return "refs", unesc(reRefs.FindStringSubmatch(p))
	case reValidate.MatchString(p):
		return "validate", nil
	case reBatch.MatchString(p):
		return "batch", unesc(reBatch.FindStringSubmatch(p))
	case reVerify.MatchString(p):
		return "verify", reVerify.FindStringSubmatch(p)
	case reComplete.MatchString(p):
		return "complete", reComplete.FindStringSubmatch(p)
	case reResolve.MatchString(p):
		return "resolve", unesc(reResolve.FindStringSubmatch(p))
	}
	return "", nil
}

// routeMethods is the one method each route accepts.
var routeMethods = map[string]string{
	"create": "POST", "revision": "GET", "preupload": "POST", "tree": "GET", "commit": "POST", "tag": "POST",
	"refs": "GET", "validate": "POST", "branch": "POST", "batch": "POST", "verify": "POST", "complete": "POST", "resolve": "GET",
}

// takeFault pops the next fault for a route.
func (f *fakeHub) takeFault(name string) *fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.faults[name]
	if len(q) == 0 {
		return nil
	}
	f.faults[name] = q[1:]
	return &q[0]
}

// applyFault handles status and hang faults; it reports whether the
// request is answered.
func (f *fakeHub) applyFault(w http.ResponseWriter, r *http.Request, ft *fault) bool {
	if ft == nil {
		return false
	}
	if ft.before != nil {
		ft.before()
	}
	switch {
	case ft.hang:
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return true
	case ft.status != 0:
		io.Copy(io.Discard, r.Body)
		for k, v := range ft.header {
			w.Header()[k] = v
		}
		msg := ft.msg
		if msg == "" {
			msg = "injected " + http.StatusText(ft.status)
		}
		f.fail(w, r, hubErr{status: ft.status, msg: msg})
		return true
	}
	return false
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func (f *fakeHub) serveHub(w http.ResponseWriter, r *http.Request) {
	name, m := route(r)
	f.mu.Lock()
	f.calls = append(f.calls, name)
	if name == "commit" && f.putsInFlight > 0 {
		f.commitsDuringUpload++
	}
	f.mu.Unlock()
	if name == "" {
		f.fail(w, r, hubErr{status: 404, msg: "no such route " + r.Method + " " + r.URL.Path})
		return
	}
	if r.Method != routeMethods[name] {
		f.fail(w, r, hubErr{status: 405, msg: "method " + r.Method})
		return
	}
	if !strings.HasPrefix(r.Header.Get("User-Agent"), "kforge") {
		f.fail(w, r, hubErr{status: 400, msg: "user-agent must name the client"})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token && !(name == "resolve" && r.Header.Get("Authorization") == "") {
		w.Header().Set("X-Error-Message", "Invalid credentials in Authorization header")
		f.fail(w, r, hubErr{status: 401, msg: "Invalid credentials in Authorization header"})
		return
	}
	ft := f.takeFault(name)
	if f.applyFault(w, r, ft) {
		return
	}
	rec := httptest.NewRecorder()
	switch name {
	case "create":
		f.create(rec, r)
	case "revision":
		f.revision(rec, r, m[1], m[3])
	case "preupload":
		f.preupload(rec, r, m[1], m[3])
	case "tree":
		f.tree(rec, r, m[1], m[3])
	case "refs":
		f.refs(rec, r, m[1])
	case "validate":
		f.validate(rec, r)
	case "commit":
		f.commit(rec, r, m[1], m[3])
	case "tag":
		f.tag(rec, r, m[1], m[3])
	case "branch":
		f.branch(rec, r, m[1], m[3])
	case "batch":
		f.batch(rec, r, m[1])
	case "verify":
		f.verify(rec, r, m[1])
	case "complete":
		f.complete(rec, r, m[1])
	case "resolve":
		f.resolve(rec, r, m[1], m[2], m[3])
	}
	if ft != nil && ft.lost {
		dropConnection(w)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// decode reads a JSON body of the wanted content type strictly.
func (f *fakeHub) decode(w http.ResponseWriter, r *http.Request, ctype string, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, ctype) {
		f.fail(w, r, hubErr{status: 415, msg: fmt.Sprintf("content-type %q, want %s", ct, ctype)})
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.fail(w, r, hubErr{status: 400, msg: "bad json: " + err.Error()})
		return false
	}
	return true
}

// repoLocked finds a repo (caller holds mu).
// revLocked finds repo and its commit at rev, answering 404 for either
// missing; c is nil then. f.mu must be held.
func (f *fakeHub) revLocked(w http.ResponseWriter, r *http.Request, repo, rev string) (*fakeRepo, *fakeCommit) {
	rp := f.repoLocked(w, r, repo)
	if rp == nil {
		return nil, nil
	}
	c := rp.commitAt(rev)
	if c == nil {
		f.fail(w, r, hubErr{status: 404, code: "RevisionNotFound", msg: "Invalid rev id: " + rev})
	}
	return rp, c
}

func (f *fakeHub) repoLocked(w http.ResponseWriter, r *http.Request, name string) *fakeRepo {
	rp := f.repos[name]
	if rp == nil {
		f.fail(w, r, hubErr{status: 404, code: "RepoNotFound", msg: "Repository not found"})
	}
	return rp
}

// commitAt resolves a branch, tag or commit oid (caller holds mu).
func (rp *fakeRepo) commitAt(rev string) *fakeCommit {
	if oid, ok := rp.branches[rev]; ok {
		return rp.commits[oid]
	}
	if oid, ok := rp.tags[rev]; ok {
		return rp.commits[oid]
	}
	return rp.commits[rev]
}

// --- routes -----------------------------------------------------------------

func (f *fakeHub) create(w http.ResponseWriter, r *http.Request) {
	// Current clients send visibility ("private" or "public"; "protected"
	// is for Spaces only); the legacy boolean private is refused here so
	// that a client still sending it is caught.
	var req struct {
		Name         *string `json:"name"`
		Organization *string `json:"organization"`
		Type         *string `json:"type"`
		Visibility   *string `json:"visibility"`
	}
	if !f.decode(w, r, "application/json", &req) {
		return
	}
	if req.Name == nil || *req.Name == "" || req.Organization == nil || req.Type == nil || *req.Type != "dataset" || req.Visibility == nil {
		f.fail(w, r, hubErr{status: 400, msg: "name, organization, type=dataset and visibility are required"})
		return
	}
	if *req.Visibility != "private" && *req.Visibility != "public" {
		f.fail(w, r, hubErr{status: 400, msg: "visibility must be private or public for a dataset"})
		return
	}
	full := *req.Organization + "/" + *req.Name
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, *req.Visibility)
	if f.repos[full] != nil {
		f.fail(w, r, hubErr{status: 409, msg: "You already created this dataset repo"})
		return
	}
	f.seedLocked(full, *req.Visibility == "private")
	writeJSON(w, map[string]string{"url": f.hub.URL + "/datasets/" + full, "name": full})
}

func (f *fakeHub) revision(w http.ResponseWriter, r *http.Request, repo, rev string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rp, c := f.revLocked(w, r, repo, rev)
	if c == nil {
		return
	}
	writeJSON(w, map[string]any{"id": repo, "sha": c.oid, "private": rp.private})
}

func (f *fakeHub) preupload(w http.ResponseWriter, r *http.Request, repo, rev string) {
	var req struct {
		Files []struct {
			Path   *string `json:"path"`
			Sample *string `json:"sample"`
			Size   *int64  `json:"size"`
		} `json:"files"`
	}
	if !f.decode(w, r, "application/json", &req) {
		return
	}
	if len(req.Files) == 0 || len(req.Files) > 256 {
		f.fail(w, r, hubErr{status: 400, msg: "files: 1 to 256 entries"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rp := f.repoLocked(w, r, repo)
	if rp == nil {
		return
	}
	c := rp.commitAt(rev)
	type out struct {
		Path         string  `json:"path"`
		UploadMode   string  `json:"uploadMode"`
		ShouldIgnore bool    `json:"shouldIgnore"`
		OID          *string `json:"oid"`
	}
	var res []out
	for _, fl := range req.Files {
		if fl.Path == nil || *fl.Path == "" || fl.Sample == nil || fl.Size == nil || *fl.Size < 0 {
			f.fail(w, r, hubErr{status: 400, msg: "each file needs path, sample and size"})
			return
		}
		sample, err := base64.StdEncoding.DecodeString(*fl.Sample)
		if err != nil || int64(len(sample)) != min(*fl.Size, 512) {
			f.fail(w, r, hubErr{status: 400, msg: "sample must be base64 of the first 512 bytes"})
			return
		}
		mode := "regular"
		if *fl.Size >= f.lfsThreshold || bytes.IndexByte(sample, 0) >= 0 {
			mode = "lfs"
		}
		o := out{Path: *fl.Path, UploadMode: mode}
		if c != nil {
			if b, ok := c.files[*fl.Path]; ok {
				oid := gitSHA1(b.data)
				if b.lfs {
					oid = sha256hex(b.data)
				}
				o.OID = &oid
			}
		}
		res = append(res, o)
	}
	writeJSON(w, map[string]any{"files": res})
}

type treeItem struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *lfsInfo `json:"lfs,omitempty"`
}

type lfsInfo struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

func (f *fakeHub) tree(w http.ResponseWriter, r *http.Request, repo, rev string) {
	if r.URL.Query().Get("recursive") != "true" {
		f.fail(w, r, hubErr{status: 400, msg: "this fake only lists recursively"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, c := f.revLocked(w, r, repo, rev)
	if c == nil {
		return
	}
	var items []treeItem
	dirs := map[string]bool{}
	for p, b := range c.files {
		for d := p; strings.Contains(d, "/"); {
			d = d[:strings.LastIndex(d, "/")]
			dirs[d] = true
		}
		it := treeItem{Type: "file", Path: p, Size: int64(len(b.data)), OID: gitSHA1(b.data)}
		if b.lfs {
			ptr := lfsPointer(b.data)
			it.OID = gitSHA1(ptr)
			it.LFS = &lfsInfo{OID: sha256hex(b.data), Size: int64(len(b.data)), PointerSize: len(ptr)}
		}
		items = append(items, it)
	}
	for d := range dirs {
		items = append(items, treeItem{Type: "directory", Path: d, OID: strings.Repeat("d", 40)})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Path < items[j].Path })
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	end := min(start+f.treePage, len(items))
	if end < len(items) {
		q := r.URL.Query()
		q.Set("cursor", strconv.Itoa(end))
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, f.hub.URL, r.URL.EscapedPath(), q.Encode()))
	}
	writeJSON(w, items[start:end])
}

func (f *fakeHub) refs(w http.ResponseWriter, r *http.Request, repo string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rp := f.repoLocked(w, r, repo)
	if rp == nil {
		return
	}
	type ref struct {
		Name         string `json:"name"`
		Ref          string `json:"ref"`
		TargetCommit string `json:"targetCommit"`
	}
	out := map[string][]ref{"branches": {}, "tags": {}, "converts": {}}
	for n, o := range rp.branches {
		out["branches"] = append(out["branches"], ref{n, "refs/heads/" + n, o})
	}
	for n, o := range rp.tags {
		out["tags"] = append(out["tags"], ref{n, "refs/tags/" + n, o})
	}
	writeJSON(w, out)
}

// knownLicenses is a sample of the Hub's license list, enough to reject a
// well-formed but unknown id the way validate-yaml does.
var knownLicenses = map[string]bool{"apache-2.0": true, "mit": true, "cc-by-4.0": true, "other": true, "unknown": true}

func (f *fakeHub) validate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Content  *string `json:"content"`
		RepoType *string `json:"repoType"`
	}
	if !f.decode(w, r, "application/json", &req) {
		return
	}
	if req.Content == nil || req.RepoType == nil || *req.RepoType != "dataset" {
		f.fail(w, r, hubErr{status: 400, msg: "content and repoType=dataset are required"})
		return
	}
	fm, err := splitFrontMatter([]byte(*req.Content))
	var meta map[string]any
	if err == nil {
		err = yaml.Unmarshal(fm, &meta)
	}
	var errs []map[string]string
	if err != nil {
		errs = append(errs, map[string]string{"message": "invalid YAML: " + err.Error()})
	} else if l, ok := meta["license"].(string); ok && !knownLicenses[l] {
		errs = append(errs, map[string]string{"message": fmt.Sprintf(`"license" must be one of [apache-2.0, mit, cc-by-4.0, other, unknown], got %q`, l)})
	}
	if len(errs) > 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]any{"errors": errs})
		return
	}
	writeJSON(w, map[string]any{"errors": []any{}, "warnings": []any{}})
}

func (f *fakeHub) commit(w http.ResponseWriter, r *http.Request, repo, rev string) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		f.fail(w, r, hubErr{status: 415, msg: "content-type " + ct + ", want application/x-ndjson"})
		return
	}
	type line struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	}
	var lines []line
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l line
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			f.fail(w, r, hubErr{status: 400, msg: "bad ndjson line: " + err.Error()})
			return
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 || lines[0].Key != "header" {
		f.fail(w, r, hubErr{status: 400, msg: "first line must be the header"})
		return
	}
	var hdr struct {
		Summary      string  `json:"summary"`
		Description  string  `json:"description"`
		ParentCommit *string `json:"parentCommit"`
	}
	if err := strictJSON(lines[0].Value, &hdr); err != nil || hdr.Summary == "" {
		f.fail(w, r, hubErr{status: 400, msg: "header needs a summary"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rp := f.repoLocked(w, r, repo)
	if rp == nil {
		return
	}
	headOID, ok := rp.branches[rev]
	if !ok {
		f.fail(w, r, hubErr{status: 404, code: "RevisionNotFound", msg: "Invalid rev id: " + rev})
		return
	}
	if hdr.ParentCommit != nil && *hdr.ParentCommit != headOID {
		f.fail(w, r, hubErr{status: 412, msg: "A commit has happened since. Please refresh and try again."})
		return
	}
	files := map[string]fakeBlob{}
	for k, v := range rp.commits[headOID].files {
		files[k] = v
	}
	ops := 0
	var opList []string
	for _, l := range lines[1:] {
		ops++
		var named struct {
			Path string `json:"path"`
		}
		json.Unmarshal(l.Value, &named)
		opList = append(opList, l.Key+" "+named.Path)
		switch l.Key {
		case "file":
			var v struct {
				Path     string `json:"path"`
				Content  string `json:"content"`
				Encoding string `json:"encoding"`
			}
			if err := strictJSON(l.Value, &v); err != nil || v.Path == "" || v.Encoding != "base64" {
				f.fail(w, r, hubErr{status: 400, msg: "file needs path, content and encoding base64"})
				return
			}
			data, err := base64.StdEncoding.DecodeString(v.Content)
			if err != nil {
				f.fail(w, r, hubErr{status: 400, msg: "file content is not base64"})
				return
			}
			files[v.Path] = fakeBlob{data: data}
		case "lfsFile":
			var v struct {
				Path string `json:"path"`
				Algo string `json:"algo"`
				OID  string `json:"oid"`
				Size *int64 `json:"size"`
			}
			if err := strictJSON(l.Value, &v); err != nil || v.Path == "" || v.Algo != "sha256" || !oidOnly.MatchString(v.OID) || v.Size == nil {
				f.fail(w, r, hubErr{status: 400, msg: "lfsFile needs path, algo sha256, oid and size"})
				return
			}
			data, ok := f.stored[v.OID]
			if !ok || int64(len(data)) != *v.Size {
				f.fail(w, r, hubErr{status: 422, msg: "LFS object " + v.OID + " was not uploaded (or not verified)"})
				return
			}
			files[v.Path] = fakeBlob{data: data, lfs: true}
			ga := string(files[".gitattributes"].data)
			if !strings.Contains(ga, v.Path+" filter=lfs") {
				files[".gitattributes"] = fakeBlob{data: []byte(ga + v.Path + " filter=lfs diff=lfs merge=lfs -text\n")}
			}
		case "deletedFile":
			var v struct {
				Path string `json:"path"`
			}
			if err := strictJSON(l.Value, &v); err != nil || v.Path == "" {
				f.fail(w, r, hubErr{status: 400, msg: "deletedFile needs path"})
				return
			}
			if _, ok := files[v.Path]; !ok {
				f.fail(w, r, hubErr{status: 404, code: "EntryNotFound", msg: "cannot delete missing " + v.Path})
				return
			}
			delete(files, v.Path)
		default:
			f.fail(w, r, hubErr{status: 400, msg: "unknown key " + l.Key})
			return
		}
	}
	if ops == 0 {
		f.fail(w, r, hubErr{status: 400, msg: "empty commit"})
		return
	}
	sort.Strings(opList)
	f.commitOps = append(f.commitOps, opList)
	oid := f.addCommit(rp, rev, hdr.Summary, files)
	writeJSON(w, map[string]string{"commitUrl": f.hub.URL + "/datasets/" + repo + "/commit/" + oid, "commitOid": oid})
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (f *fakeHub) tag(w http.ResponseWriter, r *http.Request, repo, rev string) {
	var req struct {
		Tag     *string `json:"tag"`
		Message *string `json:"message"`
	}
	if !f.decode(w, r, "application/json", &req) {
		return
	}
	if req.Tag == nil || *req.Tag == "" {
		f.fail(w, r, hubErr{status: 400, msg: "tag is required"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rp, c := f.revLocked(w, r, repo, rev)
	if c == nil {
		return
	}
	if _, ok := rp.tags[*req.Tag]; ok {
		f.fail(w, r, hubErr{status: 409, msg: "Tag already exists"})
		return
	}
	rp.tags[*req.Tag] = c.oid
	writeJSON(w, map[string]string{"tag": *req.Tag})
}

func (f *fakeHub) branch(w http.ResponseWriter, r *http.Request, repo, branch string) {
	var req struct {
		StartingPoint *string `json:"startingPoint"`
	}
	if !f.decode(w, r, "application/json", &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rp := f.repoLocked(w, r, repo)
	if rp == nil {
		return
	}
	if _, ok := rp.branches[branch]; ok {
		f.fail(w, r, hubErr{status: 409, msg: "Branch already exists"})
		return
	}
	from := "main"
	if req.StartingPoint != nil {
		from = *req.StartingPoint
	}
	c := rp.commitAt(from)
	if c == nil {
		f.fail(w, r, hubErr{status: 404, code: "RevisionNotFound", msg: "Invalid rev id: " + from})
		return
	}
	rp.branches[branch] = c.oid
	writeJSON(w, map[string]string{})
}

func (f *fakeHub) batch(w http.ResponseWriter, r *http.Request, repo string) {
	if r.Header.Get("Accept") != lfsMediaType {
		f.fail(w, r, hubErr{status: 406, msg: "accept must be " + lfsMediaType})
		return
	}
	var req struct {
		Operation string   `json:"operation"`
		Transfers []string `json:"transfers"`
		HashAlgo  string   `json:"hash_algo"`
		Ref       *struct {
			Name string `json:"name"`
		} `json:"ref"`
		Objects []struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		} `json:"objects"`
	}
	if !f.decode(w, r, lfsMediaType, &req) {
		return
	}
	if req.Operation != "upload" || req.HashAlgo != "sha256" || len(req.Objects) == 0 || req.Ref == nil || req.Ref.Name == "" ||
		!strings.Contains(strings.Join(req.Transfers, ","), "basic") || !strings.Contains(strings.Join(req.Transfers, ","), "multipart") {
		f.fail(w, r, hubErr{status: 422, msg: "operation upload, transfers [basic multipart], hash_algo sha256, ref and objects are required"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.repoLocked(w, r, repo) == nil {
		return
	}
	transfer := "basic"
	var objs []map[string]any
	for _, o := range req.Objects {
		if !oidOnly.MatchString(o.OID) || o.Size <= 0 {
			objs = append(objs, map[string]any{"oid": o.OID, "size": o.Size, "error": map[string]any{"code": 422, "message": "bad oid or size"}})
			continue
		}
		obj := map[string]any{"oid": o.OID, "size": o.Size}
		if _, ok := f.stored[o.OID]; ok {
			objs = append(objs, obj) // no actions: already there
			continue
		}
		sig := "?X-Amz-Signature=" + o.OID[:16]
		verify := map[string]any{"href": f.hub.URL + "/lfs/verify/" + o.OID, "header": map[string]string{"X-Verify-Check": "v-" + o.OID[:8]}}
		if o.Size > f.multipartOver {
			transfer = "multipart"
			h := map[string]string{"chunk_size": strconv.FormatInt(f.chunkSize, 10)}
			n := (o.Size + f.chunkSize - 1) / f.chunkSize
			for i := int64(1); i <= n; i++ {
				h[strconv.FormatInt(i, 10)] = fmt.Sprintf("%s/part/%s/%d%s", f.s3.URL, o.OID, i, sig)
			}
			f.parts[o.OID] = map[int][]byte{}
			obj["actions"] = map[string]any{"upload": map[string]any{"href": f.hub.URL + "/lfs/complete/" + o.OID, "header": h}, "verify": verify}
		} else {
			obj["actions"] = map[string]any{"upload": map[string]any{"href": f.s3.URL + "/put/" + o.OID + sig, "header": map[string]string{"X-Amz-Meta-Oid": o.OID}}, "verify": verify}
		}
		objs = append(objs, obj)
	}
	w.Header().Set("Content-Type", lfsMediaType)
	json.NewEncoder(w).Encode(map[string]any{"transfer": transfer, "objects": objs})
}

func (f *fakeHub) complete(w http.ResponseWriter, r *http.Request, oid string) {
	var req struct {
		OID   string `json:"oid"`
		Parts []struct {
			PartNumber int    `json:"partNumber"`
			ETag       string `json:"etag"`
		} `json:"parts"`
	}
	if !f.decode(w, r, lfsMediaType, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parts, ok := f.parts[oid]
	if !ok || req.OID != oid || len(req.Parts) != len(parts) || len(parts) == 0 {
		f.fail(w, r, hubErr{status: 400, msg: "completion does not match the uploaded parts"})
		return
	}
	var all []byte
	for i, p := range req.Parts {
		data, ok := parts[i+1]
		if p.PartNumber != i+1 || !ok || p.ETag != etagOf(data) {
			f.fail(w, r, hubErr{status: 400, msg: fmt.Sprintf("part %d: wrong number or etag", i+1)})
			return
		}
		all = append(all, data...)
	}
	if sha256hex(all) != oid {
		f.fail(w, r, hubErr{status: 400, msg: "assembled object does not match its oid"})
		return
	}
	delete(f.parts, oid)
	f.pending[oid] = all
	writeJSON(w, map[string]string{"oid": oid})
}

func (f *fakeHub) verify(w http.ResponseWriter, r *http.Request, oid string) {
	if r.Header.Get("X-Verify-Check") != "v-"+oid[:8] {
		f.fail(w, r, hubErr{status: 400, msg: "verify action header missing"})
		return
	}
	var req struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	if !f.decode(w, r, lfsMediaType, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.pending[oid]
	if !ok {
		data, ok = f.stored[oid]
	}
	if !ok || req.OID != oid || req.Size != int64(len(data)) {
		f.fail(w, r, hubErr{status: 404, msg: "object not uploaded or wrong size"})
		return
	}
	delete(f.pending, oid)
	f.stored[oid] = data
	writeJSON(w, map[string]string{"message": "ok"})
}

func (f *fakeHub) resolve(w http.ResponseWriter, r *http.Request, repo, rev, p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rp := f.repoLocked(w, r, repo)
	if rp == nil {
		return
	}
	c := rp.commitAt(rev)
	if c == nil {
		f.fail(w, r, hubErr{status: 404, code: "RevisionNotFound", msg: "Invalid rev id"})
		return
	}
	b, ok := c.files[p]
	if !ok {
		f.fail(w, r, hubErr{status: 404, code: "EntryNotFound", msg: "no " + p})
		return
	}
	if b.lfs {
		http.Redirect(w, r, f.s3.URL+"/obj/"+sha256hex(b.data)+"?X-Amz-Signature=cdn", http.StatusFound)
		return
	}
	w.Write(b.data)
}

func etagOf(b []byte) string { return `"` + sha256hex(b)[:32] + `"` }

// serveS3 is the storage: presigned PUTs (basic and parts) and GETs. Like
// S3 it refuses a request that also carries an Authorization header.
func (f *fakeHub) serveS3(w http.ResponseWriter, r *http.Request) {
	name := "s3?"
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "PUT" && len(segs) == 2 && segs[0] == "put":
		name = "put"
	case r.Method == "PUT" && len(segs) == 3 && segs[0] == "part":
		name = "part"
	case r.Method == "GET" && len(segs) == 2 && segs[0] == "obj":
		name = "obj"
	}
	f.mu.Lock()
	f.calls = append(f.calls, name)
	if name == "put" || name == "part" {
		f.putsInFlight++
		f.maxPutsInFlight = max(f.maxPutsInFlight, f.putsInFlight)
		defer func() {
			f.mu.Lock()
			f.putsInFlight--
			f.mu.Unlock()
		}()
	}
	hold := f.putHold
	f.mu.Unlock()
	if hold > 0 && (name == "put" || name == "part") {
		time.Sleep(hold)
	}
	if r.Header.Get("Authorization") != "" {
		http.Error(w, "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>", 400)
		return
	}
	if r.URL.Query().Get("X-Amz-Signature") == "" {
		http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
		return
	}
	ft := f.takeFault(name)
	if f.applyFault(w, r, ft) {
		return
	}
	if name == "obj" {
		f.mu.Lock()
		data, ok := f.stored[segs[1]]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "NoSuchKey", 404)
			return
		}
		if ft != nil && ft.lost {
			// Send half, then drop: a truncated download.
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			dropConnection(w)
			return
		}
		w.Write(data)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || r.ContentLength != int64(len(body)) {
		http.Error(w, "bad body", 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch name {
	case "put":
		if r.Header.Get("X-Amz-Meta-Oid") != segs[1] {
			http.Error(w, "upload header from the action missing", 400)
			return
		}
		if sha256hex(body) != segs[1] {
			http.Error(w, "BadDigest", 400)
			return
		}
		f.pending[segs[1]] = body
	case "part":
		n, _ := strconv.Atoi(segs[2])
		ps, ok := f.parts[segs[1]]
		if !ok || n < 1 {
			http.Error(w, "NoSuchUpload", 404)
			return
		}
		ps[n] = body
		w.Header().Set("ETag", etagOf(body))
	default:
		http.Error(w, "no such route", 404)
		return
	}
	if ft != nil && ft.lost {
		dropConnection(w)
		return
	}
	w.WriteHeader(200)
}
