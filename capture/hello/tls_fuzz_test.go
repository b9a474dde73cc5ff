package hello

import (
	"bytes"
	"crypto/tls"
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
		{extServerName, helloSNIData("104.236.167.107")},
		{extALPN, []byte{0, 3, 2, 'h', '2'}},
		{extSupportedVersions, []byte{4, 0x7a, 0x7a, 3, 4}},
		{extKeyShare, []byte{0, 5, 0, 29, 0, 1, 9}},
		{extECH, []byte{0}},
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
		if err != nil && err != ErrIncomplete && !strings.HasPrefix(err.Error(), "tls: ") {
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
		if slices.Contains(info.Extensions, extECH) != got.ECH {
			t.Fatalf("crypto/tls saw extensions %v, we ECH %v", info.Extensions, got.ECH)
		}
	})
}
