// Package dedup finds duplicate kernel candidates, exact (same normalised
// code) and near (MinHash over code-token shingles with LSH banding), within
// and across tasks. Of each cluster the fastest candidate stays.
//
// Memory is about 150 bytes per item (two hashes, a speed and a 64-value
// 16-bit signature), so a million candidates take about 150 MB; code is not kept.
package dedup

import (
	"cmp"
	"slices"
)

const (
	// Perms is the signature length (one-permutation MinHash bins).
	Perms = 64
	// Bands × Rows = Perms: LSH bands of Rows values; two items sharing any
	// band are candidates, confirmed by their estimated Jaccard similarity.
	Bands = 16
	Rows  = 4
	// Shingle is the token n-gram length MinHash runs over.
	Shingle = 5
)

// Deduper collects items and clusters them. Not safe for concurrent use.
type Deduper struct {
	threshold float64
	idKeys    []uint64 // hash of each id, for a deterministic tie-break
	exact     []uint64
	speed     []float64
	sigs      []uint16 // Perms values per item, low 16 bits of each bin minimum
}

// New returns a deduper that treats items with estimated Jaccard similarity
// of code shingles >= threshold as near-duplicates (threshold > 1 turns
// near-duplicate detection off; exact duplicates are always removed).
func New(threshold float64) *Deduper { return &Deduper{threshold: threshold} }

// Add records one item: its id (ties of speed go to the smallest hash of
// the id, so the choice does not depend on insertion order), its code and its
// speedup (the fastest of a cluster stays). It returns the item's index.
func (d *Deduper) Add(id, code string, speedup float64) int {
	toks := Tokens(code)
	d.idKeys = append(d.idKeys, hashTokens([]string{id}))
	d.exact = append(d.exact, hashTokens(toks))
	d.speed = append(d.speed, speedup)
	d.sigs = append(d.sigs, signature(NGramHashes(toks, Shingle))...)
	return len(d.idKeys) - 1
}

// Len is the number of items added.
func (d *Deduper) Len() int { return len(d.idKeys) }

// signature is a one-permutation MinHash: each shingle hash is mixed once,
// its top bits pick a bin and the bin keeps its minimum; empty bins borrow
// from the next non-empty bin (rotation densification), so the cost is one
// hash per shingle rather than one per shingle and permutation.
func signature(shingles []uint64) []uint16 {
	var mins [Perms]uint64
	for i := range mins {
		mins[i] = ^uint64(0)
	}
	for _, s := range shingles {
		h := mix(s)
		bin := h >> (64 - 6) // Perms = 64 = 2^6
		v := h << 6
		if v < mins[bin] {
			mins[bin] = v
		}
	}
	out := make([]uint16, Perms)
	for i := range mins {
		v := mins[i]
		for k := 1; v == ^uint64(0) && k < Perms; k++ {
			if w := mins[(i+k)%Perms]; w != ^uint64(0) {
				v = mix(w + uint64(k)) // distinct per offset, like a fresh permutation
			}
		}
		out[i] = uint16(v >> 48)
	}
	return out
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Result says which items stay.
type Result struct {
	Keep  []bool // by item index
	Exact int    // items dropped as exact duplicates of the kept one
	Near  int    // items dropped as near-duplicates
	// Of maps a dropped item's index to the index of the item kept in its place.
	Of map[int]int
}

// similarity estimates the Jaccard similarity of items i and j.
func (d *Deduper) similarity(i, j int) float64 {
	a, b := d.sigs[i*Perms:(i+1)*Perms], d.sigs[j*Perms:(j+1)*Perms]
	same := 0
	for k := range a {
		if a[k] == b[k] {
			same++
		}
	}
	return float64(same) / Perms
}

// Run clusters the items and picks the fastest of each cluster.
func (d *Deduper) Run() Result {
	n := len(d.idKeys)
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int32) {
		ra, rb := find(a), find(b)
		if ra != rb {
			if ra < rb {
				parent[rb] = ra
			} else {
				parent[ra] = rb
			}
		}
	}
	type kv struct {
		h   uint64
		idx int32
	}
	keys := make([]kv, n)
	byKey := func(a, b kv) int { return cmp.Or(cmp.Compare(a.h, b.h), cmp.Compare(a.idx, b.idx)) }
	link := func(verify bool) {
		slices.SortFunc(keys, byKey)
		for k := 1; k < n; k++ {
			if keys[k].h != keys[k-1].h {
				continue
			}
			i, j := keys[k-1].idx, keys[k].idx
			if !verify || d.exact[i] == d.exact[j] || d.similarity(int(i), int(j)) >= d.threshold {
				union(i, j)
			}
		}
	}
	for i := range n {
		keys[i] = kv{d.exact[i], int32(i)}
	}
	link(false)
	if d.threshold <= 1 {
		for b := 0; b < Bands; b++ {
			for i := range n {
				h := uint64(b) * 0x9e3779b97f4a7c15
				for _, v := range d.sigs[i*Perms+b*Rows : i*Perms+(b+1)*Rows] {
					h = mix(h ^ uint64(v))
				}
				keys[i] = kv{h, int32(i)}
			}
			link(true)
		}
	}
	// The fastest of each cluster stays; ties go to the smallest id.
	best := make([]int32, n) // by root: the best member; roots are their own first candidate
	for i := range n {
		best[i] = -1
	}
	for i := range n {
		r := find(int32(i))
		b := best[r]
		if b < 0 || better(d.speed[i], d.idKeys[i], d.speed[b], d.idKeys[b]) {
			best[r] = int32(i)
		}
	}
	res := Result{Keep: make([]bool, n), Of: map[int]int{}}
	for i := range n {
		b := best[find(int32(i))]
		if int(b) == i {
			res.Keep[i] = true
			continue
		}
		res.Of[i] = int(b)
		if d.exact[i] == d.exact[b] {
			res.Exact++
		} else {
			res.Near++
		}
	}
	return res
}

func better(s1 float64, id1 uint64, s2 float64, id2 uint64) bool {
	if s1 != s2 {
		return s1 > s2
	}
	return id1 < id2
}
