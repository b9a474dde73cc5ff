package capture

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func FuzzParseClientHello(f *testing.F) {
	for _, cfg := range []*tls.Config{
		{ServerName: "bucket.s3.ap-south-1.amazonaws.com", NextProtos: []string{"h2", "http/1.1"}},
		{ServerName: "s3.amazonaws.com", MaxVersion: tls.VersionTLS12},
		{ServerName: "x.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com", CurvePreferences: []tls.CurveID{tls.X25519}},
	} {
		hello := helloFromGo(f, cfg)
		f.Add(hello)
		f.Add(helloReframe(hello, 100))
		f.Add(helloReframe(hello[:60], 7))
		f.Add(hello[:len(hello)/2])
	}
	f.Add(helloBuild(0x0301, nil))
	f.Add(helloBuild(0x0303, []helloExt{
		{helloExtServerName, helloSNIData("104.236.167.107")},
		{helloExtALPN, []byte{0, 3, 2, 'h', '2'}},
		{helloExtSupportedVersions, []byte{4, 0x7a, 0x7a, 3, 4}},
		{helloExtKeyShare, []byte{0, 5, 0, 29, 0, 1, 9}},
		{helloExtECH, []byte{0}},
	}))
	f.Add([]byte("GET / HTTP/1.1\r\n"))

	f.Fuzz(func(t *testing.T, stream []byte) {
		got, err := ParseClientHello(stream)
		need := NeededBytes(stream)
		switch {
		case errors.Is(err, ErrIncomplete):
			if need <= len(stream) {
				t.Fatalf("ErrIncomplete, but NeededBytes = %d for %d bytes", need, len(stream))
			}
		case need != len(stream):
			t.Fatalf("err %v, but NeededBytes = %d for %d bytes", err, need, len(stream))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "tls: ") {
			t.Fatalf("error without the tls view: %q", err)
		}
		if err != nil {
			return
		}

		// Bytes after a complete hello change nothing.
		again, err := ParseClientHello(append(slices.Clip(stream), 23, 3, 3, 0, 9))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("trailing bytes changed %+v into %+v, %v", got, again, err)
		}

		// What crypto/tls accepts, we read the same way (it is stricter:
		// the converse does not hold).
		var info *tls.ClientHelloInfo
		srv := tls.Server(&helloConn{r: bytes.NewReader(stream)}, &tls.Config{
			GetConfigForClient: func(i *tls.ClientHelloInfo) (*tls.Config, error) {
				cp := *i
				info = &cp
				return nil, errHelloStop
			},
		})
		_ = srv.Handshake()
		if info == nil {
			return
		}
		if info.ServerName != got.SNI {
			t.Fatalf("crypto/tls read SNI %q, we %q", info.ServerName, got.SNI)
		}
		if !slices.Equal(info.SupportedProtos, got.ALPN) {
			t.Fatalf("crypto/tls read ALPN %q, we %q", info.SupportedProtos, got.ALPN)
		}
		if slices.Contains(info.Extensions, helloExtECH) != got.ECH {
			t.Fatalf("crypto/tls saw extensions %v, we ECH %v", info.Extensions, got.ECH)
		}
	})
}

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
