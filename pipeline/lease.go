package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Locker is a Cache that can hold a key while its value is computed, so that
// processes and hosts sharing the cache compute each value once: Cached takes
// the lock after a miss, looks again, and only then computes.
type Locker interface {
	// Lock waits until this caller holds key (or ctx is done) and returns
	// the function that releases it.
	Lock(ctx context.Context, key Key) (unlock func(), err error)
}

// lease is the content of a lock file.
type lease struct {
	Holder  string `json:"holder"`  // host, pid and a random id
	Expires int64  `json:"expires"` // Unix nanoseconds
}

// lockSuffix names a key's lock file: <entry>.lock. A taken-over lock is
// renamed to <entry>.lock.stale-<taker> on its way out.
const lockSuffix = ".lock"

func (c *DirCache) leaseTTL() time.Duration {
	if c.LeaseTTL > 0 {
		return c.LeaseTTL
	}
	return DefaultLeaseTTL
}

func newHolder() string {
	var r [8]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s-%d-%s", hostTag(), os.Getpid(), hex.EncodeToString(r[:]))
}

// Lock implements Locker with lease files: <entry>.lock is created with
// O_EXCL and holds the holder's id and an expiry, renewed every LeaseTTL/4
// while the lock is held. A caller that finds the lock held waits (polling,
// with backoff up to a second) until it is released or expires; an expired
// lock (its holder died or froze) is taken over. No flock: this works on
// shared filesystems (NFS, Lustre) where exclusive create and rename are
// atomic. Clocks of hosts sharing the cache must agree to well within
// LeaseTTL.
func (c *DirCache) Lock(ctx context.Context, k Key) (func(), error) {
	path := c.path(k) + lockSuffix
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cache lock %s: %w", k, err)
	}
	ttl := c.leaseTTL()
	me := newHolder()
	wait := 10 * time.Millisecond
	for {
		ok, err := tryLock(path, me, ttl)
		if err != nil {
			return nil, fmt.Errorf("cache lock %s: %w", k, err)
		}
		if ok {
			return c.hold(path, me, ttl), nil
		}
		if l, expired := readLease(path, ttl); expired {
			takeOver(path, me, l)
			continue
		}
		if err := Sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(wait*2, time.Second)
	}
}

// tryLock creates the lock file exclusively. ok is false when it exists.
func tryLock(path, me string, ttl time.Duration) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	b, _ := json.Marshal(lease{Holder: me, Expires: time.Now().Add(ttl).UnixNano()})
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(path)
		return false, errors.Join(werr, cerr)
	}
	return true, nil
}

// readLease reads a lock file. A lock whose holder was a process of this host
// that is gone is expired at once. A lock file that is (still) empty or
// unreadable, as one being created is for an instant, expires LeaseTTL after
// its modification time. expired is false when the file is gone (the next
// exclusive create decides).
func readLease(path string, ttl time.Duration) (lease, bool) {
	info, err := os.Stat(path)
	if err != nil {
		return lease{}, false
	}
	var l lease
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &l) != nil || l.Expires == 0 {
		return lease{Holder: string(b)}, time.Since(info.ModTime()) > ttl
	}
	return l, time.Now().UnixNano() > l.Expires || l.deadHere()
}

// deadHere reports whether the lease's holder was a process of this host
// that no longer exists (killed): its lease need not run out.
func (l lease) deadHere() bool {
	parts := strings.Split(l.Holder, "-")
	if len(parts) != 3 || parts[0] != hostTag() {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	return err == nil && pid > 0 && pid != os.Getpid() && processGone(pid)
}

// takeOver removes the expired lock stale, unless another caller did first.
// The lock is renamed to a name of this caller's own (only one rename of a
// file succeeds), then checked: if it was no longer the expired one (another
// caller took over in between and made a new lock), it is put back.
func takeOver(path, me string, stale lease) {
	aside := path + ".stale-" + me
	if err := os.Rename(path, aside); err != nil {
		return
	}
	var got lease
	b, _ := os.ReadFile(aside)
	if json.Unmarshal(b, &got) != nil {
		got = lease{Holder: string(b)}
	}
	if got != stale {
		// A live lock: restore it, unless yet another was made meanwhile.
		os.Link(aside, path)
	}
	os.Remove(aside)
}

// hold renews the lease until the returned function releases it.
func (c *DirCache) hold(path, me string, ttl time.Duration) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(ttl / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if l, _ := readLease(path, ttl); l.Holder != me {
					// Taken over (this process was frozen past its
					// expiry): the value is computed twice, still
					// stored atomically.
					c.Log.Warn("cache lock lost to another holder", "lock", path)
					return
				}
				b, _ := json.Marshal(lease{Holder: me, Expires: time.Now().Add(ttl).UnixNano()})
				WriteFileAtomic(path, b, 0o644)
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			if l, _ := readLease(path, ttl); l.Holder == me {
				os.Remove(path)
			}
		})
	}
}

// sweepLocks removes lock files expired for more than ttl (their holders
// died and nobody wanted the key since) and leftovers of take-overs.
func sweepLocks(root string, ttl time.Duration) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasSuffix(name, lockSuffix):
			if l, expired := readLease(p, ttl); expired {
				if l.Expires == 0 || time.Since(time.Unix(0, l.Expires)) > ttl {
					takeOver(p, newHolder(), l)
				}
			}
		case strings.Contains(name, lockSuffix+".stale-"):
			if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > ttl {
				os.Remove(p)
			}
		}
		return nil
	})
}

// Lock implements Locker within one process.
func (c *MemCache) Lock(ctx context.Context, k Key) (func(), error) {
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[Key]chan struct{}{}
	}
	for {
		ch, held := c.locks[k]
		if !held {
			ch = make(chan struct{})
			c.locks[k] = ch
			c.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					c.mu.Lock()
					delete(c.locks, k)
					c.mu.Unlock()
					close(ch)
				})
			}, nil
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
	}
}
