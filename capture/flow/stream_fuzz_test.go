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
