package flow

import (
	"bytes"
	"slices"
)

// streamPrefix collects the first bytes of one direction of a TCP stream in
// sequence order, whatever order the segments arrive in, up to a limit.
//
// Bytes beyond the contiguous prefix wait in a compact side buffer with a
// sorted list of the ranges they cover, so memory follows the bytes received,
// not the sequence numbers claimed. When retransmissions overlap with
// different bytes, the bytes that arrived first win. Receivers and capture
// tools settle this differently, and only a broken or evasive client sends
// two versions of its hello; what matters is one stated rule, and that
// the difference is noticed (differs; Flow.Resent).
// More than prefixMaxPending separate out-of-order ranges is not a real
// connection's first flight: further ranges that open a new hole are
// dropped, so the prefix may then stay short.
//
// The capacity of the two buffers is taken from the Analyzer's budget,
// shared by every connection: a growth the budget refuses cuts the stream
// (cut is set, AnomalyBudgetExhausted counted once) and the bytes beyond
// are dropped. release returns the capacity.
type streamPrefix struct {
	start   uint32
	limit   int
	buf     []byte        // the contiguous prefix
	ooo     []byte        // bytes received beyond the prefix, in arrival order
	pending []prefixRange // what ooo holds, sorted by off, disjoint, all off > len(buf)
	sh      *shared       // the budget; nil: none
	cut     bool
}

// prefixRange says that stream bytes [off, end) are held at ooo[at:].
type prefixRange struct{ off, end, at int }

const prefixMaxPending = 64

// reset starts collecting a stream whose first byte has sequence number start
// (ISN+1), keeping the buffers of a previous use.
func (s *streamPrefix) reset(start uint32, limit int) {
	s.start = start
	s.limit = max(limit, 0)
	s.buf = s.buf[:0]
	s.ooo = s.ooo[:0]
	s.pending = s.pending[:0]
	s.cut = false
}

// discard drops the first n bytes of the prefix: the stream goes on from
// start+n, with what is held beyond the prefix kept. The held bytes are
// moved to the front of ooo (in the order they sit there, so no range is
// overwritten before it moves), which keeps ooo within the limit however
// long the stream.
func (s *streamPrefix) discard(n int) {
	n = min(max(n, 0), len(s.buf))
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.start += uint32(n)
	var order [prefixMaxPending]int8
	byAt := order[:len(s.pending)]
	for i := range byAt {
		byAt[i] = int8(i)
	}
	slices.SortFunc(byAt, func(a, b int8) int { return s.pending[a].at - s.pending[b].at })
	at := 0
	for _, i := range byAt {
		p := &s.pending[i]
		l := p.end - p.off
		copy(s.ooo[at:], s.ooo[p.at:p.at+l])
		p.off, p.end, p.at = p.off-n, p.end-n, at
		at += l
	}
	s.ooo = s.ooo[:at]
}

// skip moves the stream's start n bytes on, past bytes held or not yet
// seen (a request's body): what is held beyond the new start stays.
func (s *streamPrefix) skip(n int64) {
	if n <= int64(len(s.buf)) {
		s.discard(int(n))
		return
	}
	rest := n - int64(len(s.buf))
	s.discard(len(s.buf))
	s.start += uint32(rest)
	kept := s.pending[:0]
	for _, p := range s.pending {
		if int64(p.end) <= rest {
			continue
		}
		cut := max(0, rest-int64(p.off))
		kept = append(kept, prefixRange{off: p.off + int(cut) - int(rest), end: p.end - int(rest), at: p.at + int(cut)})
	}
	s.pending = kept
	s.discard(0) // moves what is held to the front of ooo
	s.drain()
}

// release drops the buffers and returns their capacity to the budget.
func (s *streamPrefix) release() {
	s.sh.give(cap(s.buf) + cap(s.ooo))
	s.sh.putBuf(s.buf)
	s.sh.putBuf(s.ooo)
	*s = streamPrefix{sh: s.sh, cut: s.cut}
}

// bytes returns the contiguous prefix received so far. It is valid until the
// next add, reset or release.
func (s *streamPrefix) bytes() []byte { return s.buf }

// full reports that the prefix has reached the limit.
func (s *streamPrefix) full() bool { return len(s.buf) >= s.limit }

// add takes the payload of a segment whose first byte has sequence number seq.
// Segments may come in any order, repeat, overlap each other or the start,
// and wrap past 2^32; bytes beyond the limit are ignored.
func (s *streamPrefix) add(seq uint32, payload []byte) {
	// Serial arithmetic (RFC 1982): within 2^31 before start is "before".
	off := int64(int32(seq - s.start))
	if off < 0 {
		if int64(len(payload)) <= -off {
			return
		}
		payload = payload[-off:]
		off = 0
	}
	if off >= int64(s.limit) {
		return
	}
	if room := int64(s.limit) - off; int64(len(payload)) > room {
		payload = payload[:room]
	}
	o := int(off)
	if o > len(s.buf) {
		s.hold(o, payload)
		return
	}
	for {
		n := len(s.buf)
		end := o + len(payload)
		if end <= n {
			return
		}
		// Up to the next held range only: its bytes came first.
		if len(s.pending) > 0 && s.pending[0].off < end {
			end = s.pending[0].off
		}
		if !s.append(&s.buf, payload[n-o:end-o]) {
			return
		}
		s.drain()
		if len(s.buf) == n {
			return
		}
	}
}

// drain moves the held ranges that the prefix has reached into it.
func (s *streamPrefix) drain() {
	for len(s.pending) > 0 && s.pending[0].off <= len(s.buf) {
		p := s.pending[0]
		if p.end > len(s.buf) && !s.append(&s.buf, s.ooo[p.at+len(s.buf)-p.off:p.at+p.end-p.off]) {
			// Cut: what is held beyond the prefix will not join it.
			s.pending = s.pending[:0]
			break
		}
		s.pending = s.pending[:copy(s.pending, s.pending[1:])]
	}
	if len(s.pending) == 0 {
		s.ooo = s.ooo[:0]
	}
}

// hold keeps the parts of payload (stream offset o, beyond the prefix) that no
// held range covers yet.
func (s *streamPrefix) hold(o int, payload []byte) {
	end := o + len(payload)
	i := 0
	for i < len(s.pending) && s.pending[i].end <= o {
		i++
	}
	cur := o
	for cur < end {
		if i < len(s.pending) && s.pending[i].off <= cur {
			cur = max(cur, s.pending[i].end)
			i++
			continue
		}
		gapEnd := end
		if i < len(s.pending) && s.pending[i].off < gapEnd {
			gapEnd = s.pending[i].off
		}
		at := len(s.ooo)
		extend := i > 0 && s.pending[i-1].end == cur && s.pending[i-1].at+s.pending[i-1].end-s.pending[i-1].off == at
		if !extend && len(s.pending) >= prefixMaxPending {
			return
		}
		// Each stream offset is held at most once between drains, so ooo
		// never outgrows the limit.
		if !s.append(&s.ooo, payload[cur-o:gapEnd-o]) {
			return
		}
		if extend {
			s.pending[i-1].end = gapEnd
		} else {
			s.pending = append(s.pending, prefixRange{})
			copy(s.pending[i+1:], s.pending[i:])
			s.pending[i] = prefixRange{off: cur, end: gapEnd, at: at}
			i++
		}
		cur = gapEnd
	}
}

// differs reports whether payload, a segment whose first byte has sequence
// number seq, disagrees with bytes already held for the same offsets: a
// copy sent again with other contents. It looks at what is held, not
// beyond: at most the limit's bytes and prefixMaxPending ranges.
func (s *streamPrefix) differs(seq uint32, payload []byte) bool {
	off := int64(int32(seq - s.start))
	if off < 0 {
		if int64(len(payload)) <= -off {
			return false
		}
		payload = payload[-off:]
		off = 0
	}
	if off >= int64(s.limit) {
		return false
	}
	o := int(off)
	if o < len(s.buf) {
		n := min(len(payload), len(s.buf)-o)
		if !bytes.Equal(payload[:n], s.buf[o:o+n]) {
			return true
		}
	}
	end := o + len(payload)
	for _, p := range s.pending {
		lo, hi := max(p.off, o), min(p.end, end)
		if lo < hi && !bytes.Equal(payload[lo-o:hi-o], s.ooo[p.at+lo-p.off:p.at+hi-p.off]) {
			return true
		}
	}
	return false
}

// append appends more to *b like append, but grows the buffer to no more
// than the limit (the next doubling is capped where the stream stops being
// collected) and within the budget: when the budget cannot give even what
// more needs, the stream is cut and append reports false.
func (s *streamPrefix) append(b *[]byte, more []byte) bool {
	if s.cut {
		return false
	}
	if need := len(*b) + len(more); need > cap(*b) {
		c := classSize(min(max(need, 2*cap(*b)), max(s.limit, need)), s.limit)
		if !s.sh.take(c - cap(*b)) {
			c = need
			if !s.sh.take(c - cap(*b)) {
				s.cut = true
				s.sh.note(anBudget)
				return false
			}
		}
		// The budget holds the capacity: it now grows by c - cap(*b).
		grown := s.sh.getBuf(c)
		if grown == nil {
			grown = make([]byte, 0, c)
		}
		grown = append(grown, *b...)
		s.sh.putBuf(*b)
		*b = grown
	}
	*b = append(*b, more...)
	return true
}
