package flow

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzStreamPrefix delivers segments described by ops (5 bytes each: a signed
// 16-bit offset from start, a 16-bit length, and a byte whose low bit makes
// the segment carry wrong bytes when lies is set) of a known stream.
func FuzzStreamPrefix(f *testing.F) {
	op := func(off int16, n uint16, lie byte) []byte {
		return append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, uint16(off)), n), lie)
	}
	seed := func(lies bool, start uint32, limit uint16, ops ...[]byte) {
		f.Add(lies, start, limit, bytes.Join(ops, nil))
	}
	seed(false, 1000, 2000, op(1448, 500, 0), op(0, 1448, 0))
	seed(false, 1<<32-10, 1500, op(-20, 100, 0), op(200, 100, 0), op(50, 200, 0), op(300, 2000, 0))
	seed(true, 7, 600, op(10, 10, 1), op(30, 10, 1), op(15, 30, 0), op(0, 700, 0))

	// truth is the stream the segments are cut from.
	truth := make([]byte, 1<<16)
	for i := range truth {
		truth[i] = byte(i*131 + i>>8)
	}

	f.Fuzz(func(t *testing.T, lies bool, start uint32, limit uint16, ops []byte) {
		var p streamPrefix
		p.reset(start, int(limit))
		m := newHelloModel(int(limit))
		capped := false
		// A first flight is a handful of segments; long inputs only slow
		// the fuzzer down.
		for k := 0; len(ops) >= 5 && k < 64; k++ {
			off := int(int16(binary.BigEndian.Uint16(ops)))
			n := int(binary.BigEndian.Uint16(ops[2:]) % 4096)
			lie := lies && ops[4]&1 == 1
			ops = ops[5:]

			data := make([]byte, n)
			for i := range data {
				o := off + i
				if o >= 0 {
					data[i] = truth[o]
				}
				if lie || o < 0 {
					data[i] = ^data[i] // not this stream's byte
				}
			}
			p.add(start+uint32(off), data)
			m.add(off, data)
			capped = capped || len(p.pending) >= prefixMaxPending

			got := p.bytes()
			if len(got) > int(limit) || p.full() != (len(got) == int(limit)) {
				t.Fatalf("%d bytes, limit %d, full %v", len(got), limit, p.full())
			}
			if !lies && !bytes.Equal(got, truth[:len(got)]) {
				t.Fatalf("prefix of %d bytes is not the stream's", len(got))
			}
			if !capped && !bytes.Equal(got, m.prefix()) {
				t.Fatalf("prefix of %d bytes differs from the first-arrival model's %d", len(got), len(m.prefix()))
			}
			if len(p.ooo) > int(limit) {
				t.Fatalf("holding %d bytes beyond the prefix, limit %d", len(p.ooo), limit)
			}
		}
		// The whole stream in order completes any prefix.
		p.add(start, truth[:limit])
		if len(p.bytes()) != int(limit) || !lies && !bytes.Equal(p.bytes(), truth[:limit]) {
			t.Fatalf("after the whole stream: %d bytes of %d", len(p.bytes()), limit)
		}
	})
}

// FuzzStreamPrefixBudget runs the segments of FuzzStreamPrefix's format
// against a budget: the capacity taken from it is always exactly what the
// buffers hold, never past it, what was collected is still the stream's
// prefix, and release gives it all back.
func FuzzStreamPrefixBudget(f *testing.F) {
	f.Add(uint16(3000), uint16(2000), []byte{0x05, 0xa8, 0x01, 0xf4, 0, 0, 0, 0x05, 0xa8, 0})
	f.Add(uint16(100), uint16(16389), []byte{0, 0, 0x04, 0xb0, 0, 0x04, 0xb0, 0x04, 0xb0, 0})
	truth := make([]byte, 1<<16)
	for i := range truth {
		truth[i] = byte(i*131 + i>>8)
	}
	f.Fuzz(func(t *testing.T, budget, limit uint16, ops []byte) {
		sh := &shared{limit: int(budget)}
		p := streamPrefix{sh: sh}
		p.reset(1000, int(limit))
		for k := 0; len(ops) >= 5 && k < 64; k++ {
			off := int(int16(binary.BigEndian.Uint16(ops)))
			n := int(binary.BigEndian.Uint16(ops[2:]) % 4096)
			ops = ops[5:]
			data := make([]byte, n)
			for i := range data {
				if o := off + i; o >= 0 {
					data[i] = truth[o]
				}
			}
			p.add(1000+uint32(off), data)
			if held := cap(p.buf) + cap(p.ooo); sh.held != held || held > int(budget) {
				t.Fatalf("budget says %d held, buffers hold %d, budget %d", sh.held, held, budget)
			}
			if got := p.bytes(); !bytes.Equal(got, truth[:len(got)]) {
				t.Fatalf("prefix of %d bytes is not the stream's", len(got))
			}
			if p.cut && sh.anomalies[anBudget].n != 1 {
				t.Fatalf("cut, counted %d times", sh.anomalies[anBudget].n)
			}
		}
		p.release()
		if sh.held != 0 {
			t.Fatalf("%d bytes held after release", sh.held)
		}
	})
}
