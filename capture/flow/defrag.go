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
	first  time.Time
	pieces []fragPiece // sorted by start, not overlapping
	end    int         // known when the last fragment (more = false) arrived
	last   bool
}

type defragmenter struct {
	pending map[fragKey]*fragDatagram
	// oldest is no later than the first fragment of any pending datagram,
	// so that expire need not walk them all for every fragment.
	oldest time.Time
}

// add files one fragment: offset in bytes, more = the MF flag. It returns
// the whole datagram payload (the transport header and its data) when this
// fragment completes it. The bytes are copied.
func (d *defragmenter) add(ts time.Time, k fragKey, offset int, more bool, payload []byte) []byte {
	if d.pending == nil {
		d.pending = make(map[fragKey]*fragDatagram)
	}
	d.expire(ts)
	end := offset + len(payload)
	g := d.pending[k]
	if end > fragMaxSize || len(payload) == 0 || (more && len(payload)%8 != 0) {
		if g != nil {
			delete(d.pending, k)
		}
		return nil
	}
	if g == nil {
		if len(d.pending) >= fragMaxPending {
			return nil
		}
		g = &fragDatagram{first: ts}
		if len(d.pending) == 0 || ts.Before(d.oldest) {
			d.oldest = ts
		}
		d.pending[k] = g
	}
	if !more {
		if g.last && g.end != end {
			delete(d.pending, k)
			return nil
		}
		g.last, g.end = true, end
	}
	i, _ := slices.BinarySearchFunc(g.pieces, offset, func(p fragPiece, off int) int { return p.start - off })
	if i < len(g.pieces) && g.pieces[i].start == offset && g.pieces[i].end == end {
		return nil // a repeat
	}
	if (i > 0 && g.pieces[i-1].end > offset) || (i < len(g.pieces) && g.pieces[i].start < end) ||
		(g.last && end > g.end) || len(g.pieces) == fragMaxPieces {
		// Overlaps are how fragment attacks work; Linux drops the datagram.
		delete(d.pending, k)
		return nil
	}
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
	out := make([]byte, 0, g.end)
	for _, p := range g.pieces {
		out = append(out, p.data...)
	}
	delete(d.pending, k)
	return out
}

// expire forgets datagrams whose first fragment is older than the timeout,
// by the capture's clock.
func (d *defragmenter) expire(now time.Time) {
	if len(d.pending) == 0 || now.Sub(d.oldest) <= fragTimeout {
		return
	}
	d.oldest = now
	for k, g := range d.pending {
		if now.Sub(g.first) > fragTimeout {
			delete(d.pending, k)
		} else if g.first.Before(d.oldest) {
			d.oldest = g.first
		}
	}
}
