package flow

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// IP fragments are rare on the paths we watch, but large DNS answers
// (DNSSEC, EDNS buffers of 4096) do fragment, and tshark reassembles them.
// One reassembler serves IPv4 and IPv6. gopacket's ip4defrag and ip6defrag
// keep references into the packet buffer (which our readers reuse) and
// ip6defrag expires by wall-clock time, which is wrong for saved captures;
// hence this small one, which copies what it keeps and expires by packet
// time.
//
// Datagrams wait in a FIFO by their first fragment: expiry looks only at
// its head, and when the table is full the oldest datagram makes room
// (AnomalyFragmentTableFull), so that a flood of fragments that never
// complete costs O(1) per fragment and cannot keep a genuine fragmented
// answer out.
const (
	fragTimeout    = 30 * time.Second // RFC 791's suggested reassembly time
	fragMaxPending = 1024             // datagrams under reassembly at once
	fragMaxSize    = 65535            // largest IP payload
	fragMaxPieces  = 64               // fragments of one datagram
)

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    layers.IPProtocol
}

type fragPiece struct {
	start, end int
	data       []byte
}

type fragDatagram struct {
	key    fragKey
	first  time.Time   // the reassembler's clock at the first fragment
	pieces []fragPiece // sorted by start, not overlapping
	end    int         // known when the last fragment (more = false) arrived
	last   bool
	held   int // bytes of the pieces, taken from the budget
	// prev and next link the FIFO, oldest first.
	prev, next *fragDatagram
}

type defragmenter struct {
	pending    map[fragKey]*fragDatagram
	head, tail *fragDatagram
	// now is the latest packet time seen: expiry follows the capture's
	// clock, and a packet stamped earlier does not turn it back.
	now time.Time
	// out holds the last datagram reassembled; it is reused.
	out []byte
	sh  *shared
}

// add files one fragment: offset in bytes, more = the MF flag. It returns
// the whole datagram payload (the transport header and its data) when this
// fragment completes it; the bytes are valid until the next call. The
// fragment's bytes are copied.
func (d *defragmenter) add(ts time.Time, k fragKey, offset int, more bool, payload []byte) []byte {
	if d.pending == nil {
		d.pending = make(map[fragKey]*fragDatagram)
	}
	if ts.After(d.now) {
		d.now = ts
	}
	d.expire()
	end := offset + len(payload)
	g := d.pending[k]
	if end > fragMaxSize || len(payload) == 0 || (more && len(payload)%8 != 0) {
		d.sh.note(anFragMalformed)
		if g != nil {
			d.drop(g)
		}
		return nil
	}
	if g == nil {
		if len(d.pending) >= fragMaxPending {
			d.sh.note(anFragTableFull)
			d.drop(d.head)
		}
		g = &fragDatagram{key: k, first: d.now}
		d.push(g)
		d.pending[k] = g
	}
	if !more {
		if g.last && g.end != end {
			d.sh.note(anFragMalformed)
			d.drop(g)
			return nil
		}
		g.last, g.end = true, end
	}
	i, _ := slices.BinarySearchFunc(g.pieces, offset, func(p fragPiece, off int) int { return p.start - off })
	if i < len(g.pieces) && g.pieces[i].start == offset && g.pieces[i].end == end {
		return nil // a repeat
	}
	switch {
	case (i > 0 && g.pieces[i-1].end > offset) || (i < len(g.pieces) && g.pieces[i].start < end) || (g.last && end > g.end):
		// Overlaps are how fragment attacks work; Linux drops the datagram.
		d.sh.note(anFragOverlap)
		d.drop(g)
		return nil
	case len(g.pieces) == fragMaxPieces:
		d.sh.note(anFragMalformed)
		d.drop(g)
		return nil
	case !d.sh.take(len(payload)):
		d.sh.note(anBudget)
		d.drop(g)
		return nil
	}
	g.held += len(payload)
	g.pieces = slices.Insert(g.pieces, i, fragPiece{start: offset, end: end, data: slices.Clone(payload)})
	if !g.last {
		return nil
	}
	at := 0
	for _, p := range g.pieces {
		if p.start != at {
			return nil
		}
		at = p.end
	}
	if at != g.end {
		return nil
	}
	d.out = d.out[:0]
	for _, p := range g.pieces {
		d.out = append(d.out, p.data...)
	}
	d.drop(g)
	return d.out
}

// expire forgets the datagrams whose first fragment is older than the
// timeout, by the capture's clock: the FIFO's head first, so a fragment
// costs one comparison unless datagrams expire.
func (d *defragmenter) expire() {
	for d.head != nil && d.now.Sub(d.head.first) > fragTimeout {
		d.sh.note(anFragExpired)
		d.drop(d.head)
	}
}

// flush forgets every datagram still waiting: the input ended before they
// completed.
func (d *defragmenter) flush() {
	for d.head != nil {
		d.sh.note(anFragExpired)
		d.drop(d.head)
	}
}

func (d *defragmenter) push(g *fragDatagram) {
	g.prev = d.tail
	if d.tail != nil {
		d.tail.next = g
	} else {
		d.head = g
	}
	d.tail = g
}

// drop removes g from the table and the FIFO and returns its bytes to the
// budget.
func (d *defragmenter) drop(g *fragDatagram) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		d.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		d.tail = g.prev
	}
	g.prev, g.next = nil, nil
	delete(d.pending, g.key)
	d.sh.give(g.held)
	g.held = 0
}
