package hello

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/crypto/cryptobyte"
)

// helloConn is a net.Conn that keeps what is written to it and reads from r
// (EOF when r is nil), so a crypto/tls endpoint can be driven byte for byte.
type helloConn struct {
	r io.Reader
	w bytes.Buffer
}

func (c *helloConn) Read(b []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	return c.r.Read(b)
}
func (c *helloConn) Write(b []byte) (int, error) { return c.w.Write(b) }
func (c *helloConn) Close() error                { return nil }
func (c *helloConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *helloConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443} }
func (c *helloConn) SetDeadline(time.Time) error      { return nil }
func (c *helloConn) SetReadDeadline(time.Time) error  { return nil }
func (c *helloConn) SetWriteDeadline(time.Time) error { return nil }

// helloFromGo returns the bytes a crypto/tls client writes before it first
// waits for the server: its ClientHello.
func helloFromGo(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c := &helloConn{}
	_ = tls.Client(c, cfg).Handshake() // fails at the read, after the hello is written
	if c.w.Len() == 0 {
		t.Fatalf("crypto/tls client wrote nothing (config %+v)", cfg)
	}
	return c.w.Bytes()
}

var errHelloStop = errors.New("seen")

// helloServerSaw feeds stream to a crypto/tls server and returns what its
// GetConfigForClient callback was told: an independent reading of the hello.
func helloServerSaw(t *testing.T, stream []byte) tls.ClientHelloInfo {
	t.Helper()
	var info *tls.ClientHelloInfo
	srv := tls.Server(&helloConn{r: bytes.NewReader(stream)}, &tls.Config{
		GetConfigForClient: func(i *tls.ClientHelloInfo) (*tls.Config, error) {
			cp := *i
			info = &cp
			return nil, errHelloStop
		},
	})
	if err := srv.Handshake(); !errors.Is(err, errHelloStop) || info == nil {
		t.Fatalf("crypto/tls server did not accept the hello: %v", err)
	}
	return *info
}

// helloServerFlight returns the first bytes a crypto/tls server answers to
// hello with: its ServerHello.
func helloServerFlight(t *testing.T, hello []byte) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"s3.ap-south-1.amazonaws.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c := &helloConn{r: bytes.NewReader(hello)}
	_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}).Handshake()
	if c.w.Len() == 0 {
		t.Fatal("crypto/tls server wrote nothing")
	}
	return c.w.Bytes()
}

// helloECHConfigList builds an ECHConfigList (draft-ietf-tls-esni, version
// 0xfe0d) whose public name is publicName, so that a crypto/tls client sends a
// real ECH outer hello.
func helloECHConfigList(t *testing.T, publicName string) []byte {
	t.Helper()
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(list *cryptobyte.Builder) {
		list.AddUint16(0xfe0d)
		list.AddUint16LengthPrefixed(func(c *cryptobyte.Builder) {
			c.AddUint8(7)       // config_id
			c.AddUint16(0x0020) // DHKEM(X25519, HKDF-SHA256)
			c.AddUint16LengthPrefixed(func(k *cryptobyte.Builder) { k.AddBytes(key.PublicKey().Bytes()) })
			c.AddUint16LengthPrefixed(func(s *cryptobyte.Builder) {
				s.AddUint16(0x0001) // HKDF-SHA256
				s.AddUint16(0x0001) // AES-128-GCM
			})
			c.AddUint8(0) // maximum_name_length
			c.AddUint8LengthPrefixed(func(n *cryptobyte.Builder) { n.AddBytes([]byte(publicName)) })
			c.AddUint16(0) // extensions
		})
	})
	return b.BytesOrPanic()
}

// helloReframe carries the handshake message of a one-record hello in
// records of at most size bytes, as a client fragmenting its handshake would.
func helloReframe(record []byte, size int) []byte {
	msg := record[recordHeaderLen:]
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, typeHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

type helloExt struct {
	typ  uint16
	data []byte
}

// helloBuild builds a one-record ClientHello around raw extension bodies, so
// that a test states exactly which bytes it sends. With no extensions at all
// (exts == nil) the extensions block is left out, as TLS 1.0 clients did.
func helloBuild(legacy uint16, exts []helloExt) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typeHandshake)
	b.AddUint16(0x0301)
	b.AddUint16LengthPrefixed(func(rec *cryptobyte.Builder) {
		rec.AddUint8(typeClientHello)
		rec.AddUint24LengthPrefixed(func(m *cryptobyte.Builder) {
			m.AddUint16(legacy)
			m.AddBytes(make([]byte, 32)) // random
			m.AddUint8LengthPrefixed(func(s *cryptobyte.Builder) { s.AddBytes(bytes.Repeat([]byte{0xaa}, 32)) })
			m.AddUint16LengthPrefixed(func(s *cryptobyte.Builder) { s.AddUint16(0x1301) })
			m.AddUint8LengthPrefixed(func(s *cryptobyte.Builder) { s.AddUint8(0) })
			if exts == nil {
				return
			}
			m.AddUint16LengthPrefixed(func(block *cryptobyte.Builder) {
				for _, e := range exts {
					block.AddUint16(e.typ)
					block.AddUint16LengthPrefixed(func(d *cryptobyte.Builder) { d.AddBytes(e.data) })
				}
			})
		})
	})
	return b.BytesOrPanic()
}

// helloSNIData is a server_name extension body naming names with name_type 0.
func helloSNIData(names ...string) []byte {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(l *cryptobyte.Builder) {
		for _, n := range names {
			l.AddUint8(0)
			l.AddUint16LengthPrefixed(func(h *cryptobyte.Builder) { h.AddBytes([]byte(n)) })
		}
	})
	return b.BytesOrPanic()
}

// helloBuilt byte offsets: record header 0-4, handshake header 5-8, version
// 9-10, random 11-42, session id length 43, session id 44-75, cipher suites
// length 76-77, suite 78-79, compression length 80, method 81, extensions
// length 82-83, first extension from 84.
const helloBuiltFirstExt = 84

func helloGopacketSNI(t *testing.T, stream []byte) string {
	t.Helper()
	var l layers.TLS
	if err := l.DecodeFromBytes(stream, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket layers.TLS: %v", err)
	}
	for _, h := range l.Handshake {
		if h.ClientHello.HandshakeType == typeClientHello {
			return string(h.ClientHello.SNI)
		}
	}
	t.Fatal("gopacket layers.TLS found no ClientHello")
	return ""
}

func TestParseClientHelloFromGo(t *testing.T) {
	tests := []struct {
		name string
		cfg  *tls.Config
		// keyShares, when set, is what the config's CurvePreferences make
		// crypto/tls offer; otherwise only membership in the server's view
		// of supported_groups is checked.
		keyShares []uint16
		versions  []uint16 // when set: without supported_versions, the legacy_version
		sni       string
		wantECH   bool
		big       bool // the hello needs two 1448-byte segments
	}{
		{name: "default bucket name", cfg: &tls.Config{ServerName: "my-bucket.s3.ap-south-1.amazonaws.com"}, sni: "my-bucket.s3.ap-south-1.amazonaws.com", big: true},
		{name: "interface endpoint name", cfg: &tls.Config{ServerName: "bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com", NextProtos: []string{"h2", "http/1.1"}}, sni: "bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com", big: true},
		{name: "alpn http/1.1", cfg: &tls.Config{ServerName: "s3.ap-south-1.amazonaws.com", NextProtos: []string{"http/1.1"}}, sni: "s3.ap-south-1.amazonaws.com"},
		{name: "tls 1.3 only x25519", cfg: &tls.Config{ServerName: "s3.dualstack.eu-west-1.amazonaws.com", MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}, sni: "s3.dualstack.eu-west-1.amazonaws.com", keyShares: []uint16{29}},
		{name: "p256 only", cfg: &tls.Config{ServerName: "s3.amazonaws.com", CurvePreferences: []tls.CurveID{tls.CurveP256}}, sni: "s3.amazonaws.com", keyShares: []uint16{23}},
		{name: "tls 1.2 max", cfg: &tls.Config{ServerName: "s3-ap-south-1.amazonaws.com", MaxVersion: tls.VersionTLS12}, sni: "s3-ap-south-1.amazonaws.com", versions: []uint16{tls.VersionTLS12}},
		{name: "tls 1.0 max", cfg: &tls.Config{ServerName: "s3.amazonaws.com", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, sni: "s3.amazonaws.com", versions: []uint16{tls.VersionTLS10}},
		// crypto/tls leaves IP literals out of server_name (RFC 6066).
		{name: "ip literal server name", cfg: &tls.Config{ServerName: "52.219.64.10", InsecureSkipVerify: true}, sni: ""},
		{name: "ech outer hello", cfg: &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com", MinVersion: tls.VersionTLS13}, sni: "public.example", wantECH: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantECH {
				tt.cfg.EncryptedClientHelloConfigList = helloECHConfigList(t, "public.example")
			}
			stream := helloFromGo(t, tt.cfg)
			got, err := ParseClientHello(stream)
			if err != nil {
				t.Fatalf("ParseClientHello: %v", err)
			}
			saw := helloServerSaw(t, stream)

			if got.SNI != tt.sni || got.SNI != saw.ServerName {
				t.Errorf("SNI = %q, want %q (crypto/tls server saw %q)", got.SNI, tt.sni, saw.ServerName)
			}
			if !slices.Equal(got.ALPN, saw.SupportedProtos) || !slices.Equal(got.ALPN, tt.cfg.NextProtos) {
				t.Errorf("ALPN = %q, want %q (server saw %q)", got.ALPN, tt.cfg.NextProtos, saw.SupportedProtos)
			}
			if tt.versions != nil {
				if !slices.Equal(got.Versions, tt.versions) || saw.SupportedVersions[0] != tt.versions[0] {
					t.Errorf("Versions = %#04x, want %#04x (server's highest %#04x)", got.Versions, tt.versions, saw.SupportedVersions[0])
				}
			} else if !slices.Equal(got.Versions, saw.SupportedVersions) {
				t.Errorf("Versions = %#04x, server saw %#04x", got.Versions, saw.SupportedVersions)
			}
			if want := slices.Contains(saw.Extensions, extECH); got.ECH != want || got.ECH != tt.wantECH {
				t.Errorf("ECH = %v, want %v (server saw the extension: %v)", got.ECH, tt.wantECH, want)
			}
			hasKeyShare := slices.Contains(saw.Extensions, extKeyShare)
			if hasKeyShare == (len(got.KeyShareGroups) == 0) {
				t.Errorf("KeyShareGroups = %v, but key_share extension present: %v", got.KeyShareGroups, hasKeyShare)
			}
			for _, g := range got.KeyShareGroups {
				if !slices.Contains(saw.SupportedCurves, tls.CurveID(g)) {
					t.Errorf("key share group %d is not among supported_groups %v", g, saw.SupportedCurves)
				}
			}
			if tt.keyShares != nil && !slices.Equal(got.KeyShareGroups, tt.keyShares) {
				t.Errorf("KeyShareGroups = %v, want %v", got.KeyShareGroups, tt.keyShares)
			}
			if tt.big {
				// Go's default offers X25519MLKEM768 first (crypto/tls
				// Config.CurvePreferences doc), which makes the hello span
				// two segments of a 1500-byte MTU path.
				if len(stream) <= 1448 {
					t.Errorf("hello is %d bytes, want more than 1448", len(stream))
				}
				if len(got.KeyShareGroups) == 0 || got.KeyShareGroups[0] != uint16(tls.X25519MLKEM768) {
					t.Errorf("KeyShareGroups = %v, want X25519MLKEM768 (4588) first", got.KeyShareGroups)
				}
			}
			if gp := helloGopacketSNI(t, stream); gp != got.SNI {
				t.Errorf("gopacket SNI %q, ours %q", gp, got.SNI)
			}
			if n := NeededBytes(stream); n != len(stream) {
				t.Errorf("NeededBytes of a complete hello = %d, want %d", n, len(stream))
			}
		})
	}
}

func TestParseClientHelloFragmentedRecords(t *testing.T) {
	hello := helloFromGo(t, &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com", NextProtos: []string{"h2", "http/1.1"}})
	want, err := ParseClientHello(hello)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 3, 4, 5, 100, 1000, 1520} {
		t.Run(fmt.Sprintf("%d-byte records", size), func(t *testing.T) {
			stream := helloReframe(hello, size)
			got, err := ParseClientHello(stream)
			if err != nil {
				t.Fatalf("ParseClientHello: %v", err)
			}
			if got.SNI != want.SNI || !slices.Equal(got.ALPN, want.ALPN) || !slices.Equal(got.Versions, want.Versions) || !slices.Equal(got.KeyShareGroups, want.KeyShareGroups) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			// crypto/tls reassembles fragmented handshakes too.
			if saw := helloServerSaw(t, stream); saw.ServerName != got.SNI {
				t.Errorf("server saw SNI %q, ours %q", saw.ServerName, got.SNI)
			}
			if size >= handshakeHeaderLen {
				// gopacket needs the handshake header in the first record.
				if gp := helloGopacketSNI(t, stream); gp != got.SNI {
					t.Errorf("gopacket SNI %q, ours %q", gp, got.SNI)
				}
			}
		})
	}
}

func TestParseClientHelloTrailingRecords(t *testing.T) {
	hello := helloFromGo(t, &tls.Config{ServerName: "s3.ap-south-1.amazonaws.com"})
	ccs := []byte{20, 3, 3, 0, 1, 1}
	tests := map[string][]byte{
		"change_cipher_spec after": append(slices.Clone(hello), ccs...),
		"garbage after":            append(slices.Clone(hello), "GET / HTTP/1.1\r\n"...),
		"cut record after":         append(slices.Clone(hello), 23, 3),
	}
	for name, stream := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseClientHello(stream)
			if err != nil || got.SNI != "s3.ap-south-1.amazonaws.com" {
				t.Errorf("ParseClientHello = %q, %v", got.SNI, err)
			}
		})
	}
}

func TestParseClientHelloIncomplete(t *testing.T) {
	goHello := helloFromGo(t, &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com", NextProtos: []string{"h2", "http/1.1"}})
	small := helloFromGo(t, &tls.Config{ServerName: "s3.ap-south-1.amazonaws.com", NextProtos: []string{"h2"}, CurvePreferences: []tls.CurveID{tls.X25519}})
	tests := map[string][]byte{
		"go default":          goHello,
		"go in 100-byte recs": helloReframe(goHello, 100),
		"go in 1-byte recs":   helloReframe(small, 1),
		"built no extensions": helloBuild(0x0301, nil),
		"built sni":           helloBuild(0x0303, []helloExt{{extServerName, helloSNIData("s3.amazonaws.com")}}),
	}
	for name, full := range tests {
		t.Run(name, func(t *testing.T) {
			want, err := ParseClientHello(full)
			if err != nil {
				t.Fatalf("complete stream: %v", err)
			}
			for cut := range len(full) {
				stream := full[:cut]
				got, err := ParseClientHello(stream)
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("cut at %d: err = %v, want ErrIncomplete", cut, err)
				}
				need := NeededBytes(stream)
				if need <= cut || need > len(full) {
					t.Fatalf("cut at %d: NeededBytes = %d, want in (%d, %d]", cut, need, cut, len(full))
				}
				// What a partial hello reveals is either nothing yet or the
				// truth, never a wrong value.
				if got.SNI != "" && got.SNI != want.SNI ||
					got.ALPN != nil && !slices.Equal(got.ALPN, want.ALPN) ||
					got.Versions != nil && !slices.Equal(got.Versions, want.Versions) ||
					got.KeyShareGroups != nil && !slices.Equal(got.KeyShareGroups, want.KeyShareGroups) ||
					got.ECH && !want.ECH {
					t.Fatalf("cut at %d: partial %+v disagrees with %+v", cut, got, want)
				}
			}
		})
	}

	t.Run("sni from the first segment alone", func(t *testing.T) {
		// A capture that lost the second segment still names the server:
		// Go sends server_name among the first extensions.
		got, err := ParseClientHello(goHello[:1448])
		if !errors.Is(err, ErrIncomplete) || got.SNI != "bucket.s3.ap-south-1.amazonaws.com" {
			t.Errorf("got %q, %v; want the SNI and ErrIncomplete", got.SNI, err)
		}
		if need := NeededBytes(goHello[:1448]); need != len(goHello) {
			t.Errorf("NeededBytes = %d, want %d (the record's end)", need, len(goHello))
		}
	})
}

func TestParseClientHelloNotTLS(t *testing.T) {
	goHello := helloFromGo(t, &tls.Config{ServerName: "s3.ap-south-1.amazonaws.com"})
	tests := map[string][]byte{
		"http request":        []byte("GET / HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n"),
		"ssh banner":          []byte("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"),
		"tls server hello":    helloServerFlight(t, goHello),
		"tls alert":           {21, 3, 3, 0, 2, 2, 40},
		"tls application":     {23, 3, 3, 0, 3, 1, 2, 3},
		"empty record":        {22, 3, 1, 0, 0, 1, 0},
		"oversized record":    {22, 3, 1, 0x40, 0x01, 1},
		"sslv2 hello":         {0x80, 0x2e, 0x01, 0x00, 0x02},
		"wrong major":         {22, 2, 0},
		"postgres sslrequest": {0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f},
	}
	for name, stream := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseClientHello(stream); err != ErrNotTLS {
				t.Errorf("err = %v, want ErrNotTLS", err)
			}
			if n := NeededBytes(stream); n != len(stream) {
				t.Errorf("NeededBytes = %d, want %d", n, len(stream))
			}
		})
	}
	for _, stream := range [][]byte{nil, {22}, {22, 3}, {22, 3, 1, 0}, {22, 3, 1, 6, 0}} {
		if _, err := ParseClientHello(stream); err != ErrIncomplete {
			t.Errorf("% x: err = %v, want ErrIncomplete: it may still become a hello", stream, err)
		}
	}
}

func TestParseClientHelloBuilt(t *testing.T) {
	alpn := func(protos ...string) []byte {
		var b cryptobyte.Builder
		b.AddUint16LengthPrefixed(func(l *cryptobyte.Builder) {
			for _, p := range protos {
				l.AddUint8LengthPrefixed(func(s *cryptobyte.Builder) { s.AddBytes([]byte(p)) })
			}
		})
		return b.BytesOrPanic()
	}
	tests := []struct {
		name string
		exts []helloExt
		want ClientHello
	}{
		{
			name: "ip literal sni as sent",
			exts: []helloExt{{extServerName, helloSNIData("104.236.167.107")}},
			want: ClientHello{SNI: "104.236.167.107", Versions: []uint16{0x0303}},
		},
		{
			name: "trailing dot and odd bytes kept",
			exts: []helloExt{{extServerName, helloSNIData("s3.amazonaws.com.\x00\xff")}},
			want: ClientHello{SNI: "s3.amazonaws.com.\x00\xff", Versions: []uint16{0x0303}},
		},
		{
			name: "first host_name wins",
			exts: []helloExt{{extServerName, helloSNIData("a.s3.amazonaws.com", "b.example")}},
			want: ClientHello{SNI: "a.s3.amazonaws.com", Versions: []uint16{0x0303}},
		},
		{
			name: "other name_type skipped",
			exts: []helloExt{{extServerName, []byte{0, 12, 7, 0, 2, 'x', 'y', 0, 0, 4, 'a', '.', 'b', 'c'}}},
			want: ClientHello{SNI: "a.bc", Versions: []uint16{0x0303}},
		},
		{
			name: "grease removed",
			exts: []helloExt{
				{0x2a2a, nil},
				{extSupportedVersions, []byte{6, 0x7a, 0x7a, 3, 4, 3, 3}},
				{extKeyShare, []byte{0, 10, 0xba, 0xba, 0, 1, 0, 0, 29, 0, 1, 9}},
				{extECH, []byte{0}},
			},
			want: ClientHello{Versions: []uint16{0x0304, 0x0303}, KeyShareGroups: []uint16{29}, ECH: true},
		},
		{
			name: "alpn",
			exts: []helloExt{{extALPN, alpn("h2", "http/1.1")}},
			want: ClientHello{ALPN: []string{"h2", "http/1.1"}, Versions: []uint16{0x0303}},
		},
		{
			name: "repeated unknown extension tolerated",
			exts: []helloExt{{0x1234, nil}, {0x1234, nil}, {extServerName, helloSNIData("s3.amazonaws.com")}},
			want: ClientHello{SNI: "s3.amazonaws.com", Versions: []uint16{0x0303}},
		},
		{
			name: "empty extensions block",
			exts: []helloExt{},
			want: ClientHello{Versions: []uint16{0x0303}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := helloBuild(0x0303, tt.exts)
			got, err := ParseClientHello(stream)
			if err != nil {
				t.Fatalf("ParseClientHello: %v", err)
			}
			if got.SNI != tt.want.SNI || !slices.Equal(got.ALPN, tt.want.ALPN) || !slices.Equal(got.Versions, tt.want.Versions) ||
				!slices.Equal(got.KeyShareGroups, tt.want.KeyShareGroups) || got.ECH != tt.want.ECH {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("no extensions block", func(t *testing.T) {
		got, err := ParseClientHello(helloBuild(0x0301, nil))
		if err != nil || got.SNI != "" || !slices.Equal(got.Versions, []uint16{0x0301}) {
			t.Errorf("got %+v, %v; want no SNI, Versions [0x0301]", got, err)
		}
	})
}

func TestParseClientHelloMalformed(t *testing.T) {
	sni := helloExt{extServerName, helloSNIData("s3.amazonaws.com")}
	built := func(exts ...helloExt) []byte { return helloBuild(0x0303, exts) }
	poke := func(b []byte, at int, v ...byte) []byte {
		b = slices.Clone(b)
		copy(b[at:], v)
		return b
	}
	twoRecords := func(second []byte) []byte {
		h := helloReframe(built(sni), 60)
		return append(h[:65], second...)
	}
	tests := []struct {
		name   string
		stream []byte
		want   string // in the error
	}{
		{"server_name list longer than extension", built(helloExt{extServerName, []byte{0, 9, 0, 0, 3, 'a', 'b', 'c'}}), "server_name extension at client hello byte 79: server_name_list length"},
		{"server_name list shorter than extension", built(helloExt{extServerName, []byte{0, 5, 0, 0, 2, 'a', 'b', 0}}), "server_name extension at client hello byte 79: server_name_list length"},
		{"host_name runs past list", built(helloExt{extServerName, []byte{0, 6, 0, 0, 9, 'a', 'b', 'c'}}), "server name runs past"},
		{"empty host_name", built(helloExt{extServerName, []byte{0, 3, 0, 0, 0}}), "empty host_name"},
		{"empty server_name_list", built(helloExt{extServerName, []byte{0, 0}}), "empty server_name_list"},
		{"second server_name", built(sni, sni), "second server_name extension"},
		{"empty alpn protocol", built(helloExt{extALPN, []byte{0, 4, 2, 'h', '2', 0}}), "empty protocol name"},
		{"alpn runs past", built(helloExt{extALPN, []byte{0, 3, 5, 'h', '2'}}), "protocol name runs past"},
		{"odd supported_versions", built(helloExt{extSupportedVersions, []byte{3, 3, 4, 3}}), "supported_versions extension at client hello byte 79: versions length 3"},
		{"empty key_exchange", built(helloExt{extKeyShare, []byte{0, 4, 0, 29, 0, 0}}), "empty key_exchange for group 29"},
		{"key share runs past", built(helloExt{extKeyShare, []byte{0, 5, 0, 29, 0, 32, 1}}), "key share runs past"},
		{"extension runs past message", poke(built(sni), helloBuiltFirstExt+2, 0x01, 0x00), "client hello byte 81: server_name extension length 256 runs past the end of the message"},
		{"extensions length too long", poke(built(sni), 82, 0x00, 0xff), "client hello byte 77: extensions length 255, but the message has"},
		{"handshake length too short", poke(built(sni), 6, 0, 0, 90), "extensions length"},
		{"session id too long", poke(built(), 43, 33), "legacy_session_id length 33"},
		{"odd cipher suites", poke(built(), 77, 3), "cipher_suites length 3"},
		{"no compression methods", poke(built(), 80, 0), "compression"},
		{"message too short for its fields", []byte{22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3}, "random runs past the end of the message"},
		{"alert inside fragmented hello", twoRecords([]byte{21, 3, 3, 0, 2, 2, 40}), "tls: record 1 at byte 65: content type 21"},
		{"empty continuation record", twoRecords([]byte{22, 3, 3, 0, 0}), "tls: record 1 at byte 65: length 0"},
		{"continuation not tls", twoRecords([]byte{22, 1, 0, 0, 5}), "tls: record 1 at byte 65: version 1.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseClientHello(tt.stream)
			if err == nil || errors.Is(err, ErrIncomplete) || errors.Is(err, ErrNotTLS) {
				t.Fatalf("err = %v, want a malformed-hello error", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tls: ") {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func BenchmarkParseClientHello(b *testing.B) {
	hello := helloFromGo(b, &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com", NextProtos: []string{"h2", "http/1.1"}})
	b.Run(fmt.Sprintf("one record %dB", len(hello)), func(b *testing.B) {
		b.SetBytes(int64(len(hello)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseClientHello(hello); err != nil {
				b.Fatal(err)
			}
		}
	})
	frag := helloReframe(hello, 1000)
	b.Run("two records", func(b *testing.B) {
		b.SetBytes(int64(len(frag)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseClientHello(frag); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("first segment, incomplete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if NeededBytes(hello[:1448]) != len(hello) {
				b.Fatal("NeededBytes")
			}
		}
	})
}
