package sockowner

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeLookup answers from a script, one answer per lookup.
type fakeLookup struct {
	mu      sync.Mutex
	answers []Owner // Status "" means no socket
	asked   int
}

func (f *fakeLookup) prepare() {}
func (f *fakeLookup) owner(r request, localClient, localServer bool) (Owner, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := Owner{}
	if f.asked < len(f.answers) {
		a = f.answers[f.asked]
	}
	f.asked++
	return a, a.Status == ""
}
func (f *fakeLookup) problems() (uint64, uint64, error) { return 0, 0, nil }
func (f *fakeLookup) close()                            {}

// A connection told of twice (the SYN watch, then the analysis's first
// packet some milliseconds later) is looked up once when the first found
// it; again when the first found no socket (an incoming SYN is seen
// before TCP makes its socket), and the second answer is the one joined.
func TestTrackerAsksAgainAfterNoSocket(t *testing.T) {
	client, server := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.1:443")
	found := Owner{Status: StatusFound, PID: 42, Comm: "nginx", UID: 33}
	for _, tc := range []struct {
		name    string
		answers []Owner
		asked   int
		want    Status
	}{
		{"found at once", []Owner{found}, 1, StatusFound},
		{"no socket, then found", []Owner{{}, found}, 2, StatusFound},
		{"no socket twice", []Owner{{}, {}}, 2, StatusNoSocket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLookup{answers: tc.answers}
			tr := newTracker(Options{}, f)
			syn := time.Now()
			tr.Observe(client, server, syn)
			time.Sleep(20 * time.Millisecond)
			tr.Observe(client, server, syn.Add(15*time.Millisecond))
			tr.Close()
			o := tr.Owner(client, server, syn.Add(15*time.Millisecond), time.Now().Add(time.Second))
			if f.asked != tc.asked || o.Status != tc.want {
				t.Errorf("asked %d times, owner %+v; want %d, %s", f.asked, o, tc.asked, tc.want)
			}
		})
	}
}

// At most Rate lookups a second: the others are counted, said once, and
// their connections not looked up.
func TestTrackerRate(t *testing.T) {
	f := &fakeLookup{}
	tr := newTracker(Options{Rate: 5}, f)
	server := netip.MustParseAddrPort("127.0.0.1:443")
	now := time.Now()
	for i := range 20 {
		tr.Observe(netip.AddrPortFrom(server.Addr(), uint16(30000+i)), server, now)
	}
	tr.Close()
	if f.asked != 5 {
		t.Errorf("%d lookups, want 5", f.asked)
	}
	if o := tr.Owner(netip.AddrPortFrom(server.Addr(), 30019), server, now, now); o.Status != StatusNotLookedUp {
		t.Errorf("owner %+v", o)
	}
	if w := tr.Warnings(); len(w) != 1 || w[0] != "process attribution: 15 connections were not looked up: more than 5 began in a second" {
		t.Errorf("warnings %q", w)
	}
}
