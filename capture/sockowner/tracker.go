package sockowner

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Options bound a Tracker. Zero values take the defaults.
type Options struct {
	// Queue is how many connections may wait for their lookup (default
	// 4096); past it they are counted, not looked up.
	Queue int
	// MaxResults is how many lookups are kept until the report joins them
	// to their connection (default 100,000); the oldest go first.
	MaxResults int
	// Rate caps the lookups a second (default 2000): a SYN flood to a
	// server on this host must not take a core; the connections beyond it
	// are counted, not looked up.
	Rate int
	// Delay makes each lookup wait this long after the connection began:
	// tests use it to close a connection before its lookup.
	Delay time.Duration
}

// Defaults of Options.
const (
	DefaultQueue      = 4096
	DefaultMaxResults = 100_000
	DefaultRate       = 2000
	// closeWait bounds how long Close waits for the queued lookups.
	closeWait = 5 * time.Second
	// localRefresh is how often the host's addresses are read again.
	localRefresh = 10 * time.Second
	// joinWindow is how far apart the time a connection was observed at
	// and its first packet's may be for one lookup to be its: the SYN
	// watch and the capture's ring see the same SYN some milliseconds
	// apart.
	joinWindow = time.Second
)

// lookuper asks the system who owns a connection: on Linux socket
// diagnostics and /proc.
type lookuper interface {
	prepare()
	owner(r request, localClient, localServer bool) (o Owner, none bool)
	problems() (denied, failed uint64, firstErr error)
	close()
}

type request struct {
	client, server netip.AddrPort
	first          time.Time // the connection's first packet
	queued         time.Time
}

type key struct{ client, server netip.AddrPort }

// result is one lookup: the owner, or none (no socket at all) at when.
type result struct {
	first, at time.Time
	owner     Owner
	none      bool
}

// Tracker looks up the owners of the connections it is told of, in the
// background, and keeps what it found for the report. Observe may be
// called from the packet path: it never blocks and allocates nothing.
// Owner, Warnings and Close may be called from any goroutine.
type Tracker struct {
	opts Options
	// The queue is a ring under qmu; kick wakes the worker when it stops
	// being empty, so that a burst of SYNs costs one wake-up, not one each.
	qmu        sync.Mutex
	queue      []request
	head, size int
	kick       chan struct{}

	stop    chan struct{}
	done    chan struct{}
	closing atomic.Bool
	dropped atomic.Uint64
	local   atomic.Pointer[map[netip.Addr]bool]
	look    lookuper

	mu       sync.Mutex
	cur, old map[key]result
	// notLooked counts the lookups left in the queue when Close gave up;
	// limited those the rate cap left out.
	notLooked, limited int
	// The worker's count of lookups in the current second.
	second   time.Time
	inSecond int
}

// New opens what the lookups need (a netlink socket), maps the sockets of
// every process, and starts the lookup goroutine. It fails where there are no socket diagnostics
// (not Linux).
func New(opts Options) (*Tracker, error) {
	look, err := newLookuper()
	if err != nil {
		return nil, err
	}
	return newTracker(opts, look), nil
}

func newTracker(opts Options, look lookuper) *Tracker {
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.MaxResults <= 0 {
		opts.MaxResults = DefaultMaxResults
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultRate
	}
	t := &Tracker{opts: opts, queue: make([]request, opts.Queue), kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		look: look, cur: map[key]result{}, old: map[key]result{}}
	t.refreshLocal()
	// The first scan of /proc before the capture starts: the first
	// lookups must not wait for it while their connections end.
	look.prepare()
	go t.loop()
	return t
}

// Observe asks for the owner of the connection client -> server that
// began at first, when one of its ends is an address of this host. The
// same connection may be told of twice (by a SYN watch and by the
// analysis), with times less than a second apart: it is looked up once.
func (t *Tracker) Observe(client, server netip.AddrPort, first time.Time) {
	if t.closing.Load() || !t.isLocal(client.Addr()) && !t.isLocal(server.Addr()) {
		return
	}
	r := request{client: client, server: server, first: first, queued: time.Now()}
	t.qmu.Lock()
	if t.size == len(t.queue) {
		t.qmu.Unlock()
		t.dropped.Add(1)
		return
	}
	t.queue[(t.head+t.size)%len(t.queue)] = r
	t.size++
	wake := t.size == 1
	t.qmu.Unlock()
	if wake {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
}

// pop moves the oldest requests of the queue to batch, as many as fit.
func (t *Tracker) pop(batch []request) []request {
	t.qmu.Lock()
	defer t.qmu.Unlock()
	batch = batch[:0]
	for t.size > 0 && len(batch) < cap(batch) {
		batch = append(batch, t.queue[t.head])
		t.head = (t.head + 1) % len(t.queue)
		t.size--
	}
	return batch
}

// queued says how many requests wait.
func (t *Tracker) queued() int {
	t.qmu.Lock()
	defer t.qmu.Unlock()
	return t.size
}

func (t *Tracker) isLocal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	return (*t.local.Load())[a]
}

func (t *Tracker) refreshLocal() {
	m := map[netip.Addr]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					m[ip.Unmap()] = true
				}
			}
		}
	}
	t.local.Store(&m)
}

func (t *Tracker) loop() {
	defer close(t.done)
	defer t.look.close()
	batch := make([]request, 0, 64)
	tick := time.NewTicker(localRefresh)
	defer tick.Stop()
	for {
		select {
		case <-t.kick:
		case <-tick.C:
			t.refreshLocal()
			continue
		case <-t.stop:
		}
		for batch = t.pop(batch); len(batch) > 0; batch = t.pop(batch) {
			for _, r := range batch {
				t.lookup(r)
			}
		}
		select {
		case <-t.stop:
			return
		default:
		}
	}
}

func (t *Tracker) lookup(r request) {
	k := key{r.client, r.server}
	t.mu.Lock()
	prev, seen := t.find(k, r.first)
	if seen != nil && prev.none {
		// No socket at the first lookup; ask again. A SYN coming in is
		// seen by the packet socket before TCP makes its socket: the
		// analysis's later request is the one that finds it.
		seen = nil
	}
	if seen == nil && t.inSecond >= t.opts.Rate && r.queued.Sub(t.second) < time.Second {
		t.limited++
		seen = t.cur
	}
	t.mu.Unlock()
	if seen != nil {
		return // looked up already (the SYN watch and the analysis both tell of it), or over the rate
	}
	if now := time.Now(); now.Sub(t.second) >= time.Second {
		t.second, t.inSecond = now, 0
	}
	t.inSecond++
	if t.opts.Delay > 0 {
		time.Sleep(time.Until(r.queued.Add(t.opts.Delay)))
	}
	at := time.Now()
	o, none := t.look.owner(r, t.isLocal(r.client.Addr()), t.isLocal(r.server.Addr()))
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, in := t.find(k, r.first); in != nil {
		delete(in, k) // replaced: a second lookup after no socket
	}
	if len(t.cur) >= t.opts.MaxResults/2 {
		t.old, t.cur = t.cur, make(map[key]result, len(t.cur))
	}
	t.cur[k] = result{first: r.first, at: at, owner: o, none: none}
}

// find returns the lookup of k observed near first, and the map it is
// in. t.mu is held.
func (t *Tracker) find(k key, first time.Time) (result, map[key]result) {
	for _, m := range []map[key]result{t.cur, t.old} {
		if r, ok := m[k]; ok && r.first.Sub(first).Abs() <= joinWindow {
			return r, m
		}
	}
	return result{}, nil
}

// Owner says who owned the connection client -> server that began at
// first and whose last packet was at last; the zero Owner when neither
// end is an address of this host. Each lookup is given once.
func (t *Tracker) Owner(client, server netip.AddrPort, first, last time.Time) Owner {
	if !t.isLocal(client.Addr()) && !t.isLocal(server.Addr()) {
		return Owner{}
	}
	k := key{client, server}
	t.mu.Lock()
	r, m := t.find(k, first)
	ok := m != nil
	if ok {
		delete(m, k)
	}
	t.mu.Unlock()
	switch {
	case !ok:
		return Owner{Status: StatusNotLookedUp, UID: -1}
	case !r.none:
		return r.owner
	case last.After(r.at):
		// The connection went on after the kernel said there was no
		// such socket: it is not one of this host's.
		return Owner{Status: StatusNoSocket, UID: -1}
	}
	return Owner{Status: StatusClosed, UID: -1}
}

// Close waits (a few seconds at most) for the lookups still queued, then
// stops. Owner and Warnings still answer after it.
func (t *Tracker) Close() {
	if !t.closing.CompareAndSwap(false, true) {
		return
	}
	close(t.stop)
	select {
	case <-t.done:
	case <-time.After(closeWait + t.opts.Delay):
		n := t.queued()
		t.mu.Lock()
		t.notLooked = n
		t.mu.Unlock()
	}
}

// Warnings say, once each, what kept lookups from finding owners.
func (t *Tracker) Warnings() []string {
	var w []string
	denied, failed, firstErr := t.look.problems()
	if denied > 0 {
		w = append(w, fmt.Sprintf("process attribution: %d connections name only the user of their socket: reading other users' /proc/PID/fd needs root (the capture ran with --user, or without CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE)", denied))
	}
	if failed > 0 {
		w = append(w, fmt.Sprintf("process attribution: %d lookups failed: %v", failed, firstErr))
	}
	t.mu.Lock()
	left, limited := t.notLooked, t.limited
	t.mu.Unlock()
	if n := t.dropped.Load(); n > 0 {
		w = append(w, fmt.Sprintf("process attribution: %d connections were not looked up: the lookup queue (%d) was full", n, t.opts.Queue))
	}
	if limited > 0 {
		w = append(w, fmt.Sprintf("process attribution: %d connections were not looked up: more than %d began in a second", limited, t.opts.Rate))
	}
	if left > 0 {
		w = append(w, fmt.Sprintf("process attribution: %d connections were not looked up before the capture ended", left))
	}
	return w
}
