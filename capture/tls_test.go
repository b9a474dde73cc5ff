package capture

import (
	"bufio"
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
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/crypto/cryptobyte"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// helloLimit is what the flow tracker collects of a client's first bytes: one
// full TLS record and its header.
const helloLimit = 16<<10 + 5

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
	msg := record[helloRecordHeaderLen:]
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, helloContentType, 3, 1, byte(n>>8), byte(n))
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
	b.AddUint8(helloContentType)
	b.AddUint16(0x0301)
	b.AddUint16LengthPrefixed(func(rec *cryptobyte.Builder) {
		rec.AddUint8(helloTypeClient)
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
		if h.ClientHello.HandshakeType == helloTypeClient {
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
			if want := slices.Contains(saw.Extensions, helloExtECH); got.ECH != want || got.ECH != tt.wantECH {
				t.Errorf("ECH = %v, want %v (server saw the extension: %v)", got.ECH, tt.wantECH, want)
			}
			hasKeyShare := slices.Contains(saw.Extensions, helloExtKeyShare)
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
			if size >= helloHeaderLen {
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
		"built sni":           helloBuild(0x0303, []helloExt{{helloExtServerName, helloSNIData("s3.amazonaws.com")}}),
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
			exts: []helloExt{{helloExtServerName, helloSNIData("104.236.167.107")}},
			want: ClientHello{SNI: "104.236.167.107", Versions: []uint16{0x0303}},
		},
		{
			name: "trailing dot and odd bytes kept",
			exts: []helloExt{{helloExtServerName, helloSNIData("s3.amazonaws.com.\x00\xff")}},
			want: ClientHello{SNI: "s3.amazonaws.com.\x00\xff", Versions: []uint16{0x0303}},
		},
		{
			name: "first host_name wins",
			exts: []helloExt{{helloExtServerName, helloSNIData("a.s3.amazonaws.com", "b.example")}},
			want: ClientHello{SNI: "a.s3.amazonaws.com", Versions: []uint16{0x0303}},
		},
		{
			name: "other name_type skipped",
			exts: []helloExt{{helloExtServerName, []byte{0, 12, 7, 0, 2, 'x', 'y', 0, 0, 4, 'a', '.', 'b', 'c'}}},
			want: ClientHello{SNI: "a.bc", Versions: []uint16{0x0303}},
		},
		{
			name: "grease removed",
			exts: []helloExt{
				{0x2a2a, nil},
				{helloExtSupportedVersions, []byte{6, 0x7a, 0x7a, 3, 4, 3, 3}},
				{helloExtKeyShare, []byte{0, 10, 0xba, 0xba, 0, 1, 0, 0, 29, 0, 1, 9}},
				{helloExtECH, []byte{0}},
			},
			want: ClientHello{Versions: []uint16{0x0304, 0x0303}, KeyShareGroups: []uint16{29}, ECH: true},
		},
		{
			name: "alpn",
			exts: []helloExt{{helloExtALPN, alpn("h2", "http/1.1")}},
			want: ClientHello{ALPN: []string{"h2", "http/1.1"}, Versions: []uint16{0x0303}},
		},
		{
			name: "repeated unknown extension tolerated",
			exts: []helloExt{{0x1234, nil}, {0x1234, nil}, {helloExtServerName, helloSNIData("s3.amazonaws.com")}},
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
	sni := helloExt{helloExtServerName, helloSNIData("s3.amazonaws.com")}
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
		{"server_name list longer than extension", built(helloExt{helloExtServerName, []byte{0, 9, 0, 0, 3, 'a', 'b', 'c'}}), "server_name extension at client hello byte 79: server_name_list length"},
		{"server_name list shorter than extension", built(helloExt{helloExtServerName, []byte{0, 5, 0, 0, 2, 'a', 'b', 0}}), "server_name extension at client hello byte 79: server_name_list length"},
		{"host_name runs past list", built(helloExt{helloExtServerName, []byte{0, 6, 0, 0, 9, 'a', 'b', 'c'}}), "server name runs past"},
		{"empty host_name", built(helloExt{helloExtServerName, []byte{0, 3, 0, 0, 0}}), "empty host_name"},
		{"empty server_name_list", built(helloExt{helloExtServerName, []byte{0, 0}}), "empty server_name_list"},
		{"second server_name", built(sni, sni), "second server_name extension"},
		{"empty alpn protocol", built(helloExt{helloExtALPN, []byte{0, 4, 2, 'h', '2', 0}}), "empty protocol name"},
		{"alpn runs past", built(helloExt{helloExtALPN, []byte{0, 3, 5, 'h', '2'}}), "protocol name runs past"},
		{"odd supported_versions", built(helloExt{helloExtSupportedVersions, []byte{3, 3, 4, 3}}), "supported_versions extension at client hello byte 79: versions length 3"},
		{"empty key_exchange", built(helloExt{helloExtKeyShare, []byte{0, 4, 0, 29, 0, 0}}), "empty key_exchange for group 29"},
		{"key share runs past", built(helloExt{helloExtKeyShare, []byte{0, 5, 0, 29, 0, 32, 1}}), "key share runs past"},
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

// helloSegments cuts stream into n pieces of about equal size.
func helloSegments(stream []byte, n int) [][]byte {
	var segs [][]byte
	for i := range n {
		segs = append(segs, stream[i*len(stream)/n:(i+1)*len(stream)/n])
	}
	return segs
}

// helloSegment is a TCP segment of a test: its offset from the stream start
// and its payload.
type helloSegment struct {
	off  int
	data []byte
}

func helloPermutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range helloPermutations(n - 1) {
		for i := range n {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

func TestStreamPrefixReassemblesHello(t *testing.T) {
	const sni = "bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com"
	hello := helloFromGo(t, &tls.Config{ServerName: sni})
	if len(hello) <= 1448 {
		t.Fatalf("hello is %d bytes: too small to need reassembly", len(hello))
	}
	rng := mrand.New(mrand.NewPCG(1, 2))

	type delivery struct {
		name string
		segs []helloSegment
	}
	var cases []delivery
	for _, n := range []int{2, 3} {
		pieces := helloSegments(hello, n)
		for _, perm := range helloPermutations(n) {
			var segs []helloSegment
			for _, i := range perm {
				segs = append(segs, helloSegment{i * len(hello) / n, pieces[i]})
			}
			cases = append(cases, delivery{fmt.Sprintf("%d segments order %v", n, perm), segs})
		}
	}
	{
		pieces := helloSegments(hello, 10)
		for k := range 20 {
			perm := rng.Perm(10)
			var segs []helloSegment
			for _, i := range perm {
				segs = append(segs, helloSegment{i * len(hello) / 10, pieces[i]})
			}
			cases = append(cases, delivery{fmt.Sprintf("10 segments shuffle %d", k), segs})
		}
	}
	{
		// Every segment twice, the copies last and in reverse.
		var segs []helloSegment
		for i, p := range helloSegments(hello, 4) {
			segs = append(segs, helloSegment{i * len(hello) / 4, p})
		}
		for i := len(segs) - 1; i >= 0; i-- {
			segs = append(segs, segs[i])
		}
		cases = append(cases, delivery{"duplicates", segs})
	}
	for k := range 20 {
		// Random overlapping retransmissions, shuffled.
		var segs []helloSegment
		for off := 0; off < len(hello); {
			end := min(len(hello), off+1+rng.IntN(600))
			segs = append(segs, helloSegment{off, hello[off:end]})
			off = max(off+1, end-rng.IntN(200))
		}
		rng.Shuffle(len(segs), func(i, j int) { segs[i], segs[j] = segs[j], segs[i] })
		cases = append(cases, delivery{fmt.Sprintf("overlaps %d", k), segs})
	}
	{
		// A segment reaching back before the first byte (its head is not
		// part of this stream and must not appear).
		junk := append(bytes.Repeat([]byte{0xee}, 40), hello[:700]...)
		cases = append(cases, delivery{"starts before start", []helloSegment{{700, hello[700:]}, {-40, junk}}})
		cases = append(cases, delivery{"entirely before start", []helloSegment{{-40, junk[:40]}, {0, hello}}})
	}

	for _, start := range []uint32{1000, 1<<32 - 700, 1<<32 - 1, 0} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("start %d %s", start, c.name), func(t *testing.T) {
				var p streamPrefix
				p.reset(start, helloLimit)
				for _, s := range c.segs {
					p.add(start+uint32(s.off), s.data)
				}
				if !bytes.Equal(p.bytes(), hello) {
					t.Fatalf("bytes() is %d bytes, differs from the %d-byte hello", len(p.bytes()), len(hello))
				}
				got, err := ParseClientHello(p.bytes())
				if err != nil || got.SNI != sni {
					t.Errorf("ParseClientHello = %q, %v", got.SNI, err)
				}
			})
		}
	}
}

// helloModel is the reference for streamPrefix: for each stream offset
// below the limit, the first byte that arrived for it.
type helloModel struct {
	set  []bool
	b    []byte
	size int // length of the contiguous prefix
}

func newHelloModel(limit int) *helloModel {
	return &helloModel{set: make([]bool, limit), b: make([]byte, limit)}
}

func (m *helloModel) add(off int, data []byte) {
	for i, b := range data {
		if o := off + i; o >= 0 && o < len(m.b) && !m.set[o] {
			m.set[o], m.b[o] = true, b
		}
	}
	for m.size < len(m.b) && m.set[m.size] {
		m.size++
	}
}

func (m *helloModel) prefix() []byte { return m.b[:m.size] }

func TestStreamPrefixFirstArrivalWins(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for k := range 200 {
		const limit = 700
		start := rng.Uint32()
		var p streamPrefix
		p.reset(start, limit)
		m := newHelloModel(limit)
		for range 1 + rng.IntN(40) {
			off := rng.IntN(800) - 50
			data := make([]byte, rng.IntN(120))
			for i := range data {
				data[i] = byte(rng.IntN(4)) // few values, so overlaps often disagree
			}
			p.add(start+uint32(off), data)
			m.add(off, data)
			if want := m.prefix(); !bytes.Equal(p.bytes(), want) {
				t.Fatalf("run %d: prefix %v, want %v", k, p.bytes(), want)
			}
			if p.full() != (len(m.prefix()) == limit) {
				t.Fatalf("run %d: full() = %v with %d bytes", k, p.full(), len(p.bytes()))
			}
		}
	}
}

func TestStreamPrefixLimitsAndMemory(t *testing.T) {
	stream := make([]byte, 3000)
	for i := range stream {
		stream[i] = byte(i * 7)
	}

	t.Run("limit", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, 1000)
		p.add(5+900, stream[900:1500])
		p.add(5, stream[:900])
		p.add(5+1000, stream[1000:2000])
		if !bytes.Equal(p.bytes(), stream[:1000]) || !p.full() {
			t.Errorf("got %d bytes, full %v; want the first 1000, full", len(p.bytes()), p.full())
		}
		if cap(p.buf) > 1000 {
			t.Errorf("buffer capacity %d beyond the limit", cap(p.buf))
		}
	})

	t.Run("far segment costs its size", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		p.add(5+16000, stream[:10])
		if len(p.bytes()) != 0 || cap(p.buf)+cap(p.ooo) > 64 {
			t.Errorf("one 10-byte segment at offset 16000 holds %d+%d bytes", cap(p.buf), cap(p.ooo))
		}
	})

	t.Run("held bytes stay bounded under repeats", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		for range 1000 {
			p.add(5+100, stream[100:1500])
		}
		if len(p.ooo) != 1400 || len(p.pending) != 1 {
			t.Errorf("1000 copies of one segment hold %d bytes in %d ranges", len(p.ooo), len(p.pending))
		}
		p.add(5, stream[:100])
		if !bytes.Equal(p.bytes(), stream[:1500]) || len(p.pending) != 0 {
			t.Errorf("got %d bytes, %d ranges pending", len(p.bytes()), len(p.pending))
		}
	})

	t.Run("too many holes", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		for off := 10; off < 1000; off += 10 { // 99 separate 1-byte ranges
			p.add(5+uint32(off), stream[off:off+1])
		}
		if len(p.pending) > prefixMaxPending {
			t.Errorf("%d ranges held", len(p.pending))
		}
		p.add(5, stream[:2000])
		if !bytes.Equal(p.bytes(), stream[:2000]) {
			t.Errorf("prefix of %d bytes differs from the stream", len(p.bytes()))
		}
	})

	t.Run("reset and release", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		p.add(5, stream[:100])
		p.add(5+200, stream[200:300])
		p.reset(1<<32-3, helloLimit)
		if len(p.bytes()) != 0 || len(p.pending) != 0 {
			t.Fatal("reset kept data")
		}
		p.add(1<<32-3, stream[:50])
		if !bytes.Equal(p.bytes(), stream[:50]) {
			t.Error("wrapped stream after reset differs")
		}
		p.release()
		if p.bytes() != nil || p.ooo != nil || p.pending != nil {
			t.Error("release kept buffers")
		}
	})
}

func TestStreamPrefixInOrderAddDoesNotAllocate(t *testing.T) {
	hello := helloFromGo(t, &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com"})
	var p streamPrefix
	segs := helloSegments(hello, 2)
	run := func() {
		p.reset(77, helloLimit)
		p.add(77, segs[0])
		p.add(77+uint32(len(segs[0])), segs[1])
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("in-order add allocates %v times per stream after warm-up", n)
	}
	outOfOrder := func() {
		p.reset(77, helloLimit)
		p.add(77+uint32(len(segs[0])), segs[1])
		p.add(77, segs[0])
	}
	outOfOrder()
	if n := testing.AllocsPerRun(100, outOfOrder); n != 0 {
		t.Errorf("out-of-order add allocates %v times per stream after warm-up", n)
	}
}

// helloFlowKey names one direction of a TCP connection.
type helloFlowKey struct{ src, dst netip.AddrPort }

// helloCorpusStreams reassembles, for every TCP connection of a shared
// capture whose SYN it holds, the client's first bytes.
func helloCorpusStreams(t *testing.T, name string) map[helloFlowKey]*streamPrefix {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	flows := map[helloFlowKey]*streamPrefix{}
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			if err != io.EOF {
				t.Logf("%s: reading stopped: %v", name, err)
			}
			return flows
		}
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			continue
		}
		var src, dst netip.Addr
		switch ip := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
		default:
			continue
		}
		k := helloFlowKey{netip.AddrPortFrom(src.Unmap(), uint16(tcp.SrcPort)), netip.AddrPortFrom(dst.Unmap(), uint16(tcp.DstPort))}
		if tcp.SYN && !tcp.ACK {
			p := &streamPrefix{}
			p.reset(tcp.Seq+1, helloLimit)
			flows[k] = p
			continue
		}
		if p := flows[k]; p != nil && len(tcp.Payload) > 0 {
			p.add(tcp.Seq, tcp.Payload)
		}
	}
}

// TestClientHelloCorpus checks real hellos against the facts that tshark
// reports for the shared captures (corpus/SOURCES.md).
func TestClientHelloCorpus(t *testing.T) {
	tests := []struct {
		file      string
		skip      int // bytes of another protocol before the hello
		sni       string
		alpn      []string
		versions  []uint16
		keyShares []uint16
		ech       bool
	}{
		{file: "tls-split-client-hello.pcap", sni: "clients2.google.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{4588, 29}, ech: true},
		{file: "dump_mtu300.pcap", sni: "www.google.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0303}},
		{file: "chrome-1250-tls-x25519-kyber.pcap", sni: "lh3.google.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{25497, 29}, ech: true},
		{file: "tls13-ech.pcap", sni: "cloudflare-ech.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{29}, ech: true},
		{file: "curl-enabled-tls13.pcap", sni: "enabled.tls13.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304}, keyShares: []uint16{29}},
		{file: "tls-fragmented-handshake.pcap.gz", sni: "104.236.167.107", versions: []uint16{0x0303}},
		{file: "tls13.pcap", sni: "blog.cloudflare.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x7f12, 0x0303, 0x0302, 0x0301}, keyShares: []uint16{29}},
		{file: "openjdk-25.0.2-zeek.org.pcap", sni: "zeek.org", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{29, 23}},
		// PostgreSQL asks for TLS with an 8-byte SSLRequest first.
		{file: "psql-aws-ssl-require.pcap", skip: 8, sni: "database-1.cyx4x7yvdoay.us-east-1.rds.amazonaws.com", versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{29}},
		{file: "tls_DER-incomplete-header.pcap", versions: []uint16{0x0303}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			flows := helloCorpusStreams(t, tt.file)
			hellos := 0
			for k, p := range flows {
				stream := p.bytes()
				if tt.skip > 0 {
					if _, err := ParseClientHello(stream); err != ErrNotTLS {
						t.Errorf("%v: stream before the skip: %v, want ErrNotTLS", k, err)
					}
					stream = stream[min(tt.skip, len(stream)):]
				}
				got, err := ParseClientHello(stream)
				if err != nil {
					t.Errorf("%v: %v (%d bytes)", k, err, len(stream))
					continue
				}
				hellos++
				if got.SNI != tt.sni || !slices.Equal(got.ALPN, tt.alpn) || !slices.Equal(got.Versions, tt.versions) ||
					!slices.Equal(got.KeyShareGroups, tt.keyShares) || got.ECH != tt.ech {
					t.Errorf("%v: got %+v\nwant SNI %q ALPN %q Versions %#04x KeyShareGroups %v ECH %v", k, got, tt.sni, tt.alpn, tt.versions, tt.keyShares, tt.ech)
				}
			}
			if hellos == 0 {
				t.Error("no ClientHello found")
			}
		})
	}

	t.Run("split hello needs both segments", func(t *testing.T) {
		// SOURCES.md: frame 4 = 1392 B + frame 5 = 337 B of hello.
		for _, p := range helloCorpusStreams(t, "tls-split-client-hello.pcap") {
			if len(p.bytes()) < 1392+337 {
				t.Fatalf("reassembled only %d bytes", len(p.bytes()))
			}
			first := p.bytes()[:1392]
			got, err := ParseClientHello(first)
			if !errors.Is(err, ErrIncomplete) || NeededBytes(first) != 1392+337 {
				t.Errorf("first segment: %+v, %v, NeededBytes %d; want ErrIncomplete, 1729", got, err, NeededBytes(first))
			}
		}
	})
}

// helloTshark is one ClientHello as tshark reads it.
type helloTshark struct {
	sni, alpn, versions, groups string
	ech                         bool
}

// TestClientHelloCorpusMatchesTshark reads every ClientHello of the TLS
// captures, including a Windows browsing session with 40 of them, and
// compares each with tshark's dissection of the same connection.
func TestClientHelloCorpusMatchesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	files := []string{
		"tls-subjectaltname_input.pcap", "tls-split-client-hello.pcap", "dump_mtu300.pcap",
		"chrome-1250-tls-x25519-kyber.pcap", "tls13-ech.pcap", "curl-enabled-tls13.pcap",
		"tls-fragmented-handshake.pcap.gz", "tls13.pcap", "openjdk-25.0.2-zeek.org.pcap",
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			path := testenv.Shared(t, "corpus", file)
			out, err := exec.Command(tshark, "-n", "-r", path, "-Y", "tls.handshake.type == 1", "-T", "fields", "-E", "separator=|",
				"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
				"-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.extensions_alpn_str",
				"-e", "tls.handshake.extensions.supported_version", "-e", "tls.handshake.extensions_key_share_group",
				"-e", "tls.handshake.extension.type", "-e", "tls.handshake.version").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want := map[helloFlowKey]helloTshark{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				f := strings.Split(sc.Text(), "|")
				if len(f) != 12 {
					t.Fatalf("tshark line %q", sc.Text())
				}
				src, dst := f[0]+f[1], f[3]+f[4]
				k := helloFlowKey{netip.AddrPortFrom(netip.MustParseAddr(src), helloPort(t, f[2])), netip.AddrPortFrom(netip.MustParseAddr(dst), helloPort(t, f[5]))}
				if _, dup := want[k]; dup {
					continue // a second hello (after HelloRetryRequest): ours is the first
				}
				versions := helloTsharkNoGREASE(t, f[8], 16)
				if versions == "" {
					versions = helloTsharkNoGREASE(t, f[11], 16)
				}
				want[k] = helloTshark{
					sni: f[6], alpn: f[7], versions: versions, groups: helloTsharkNoGREASE(t, f[9], 10),
					ech: slices.Contains(strings.Split(f[10], ","), strconv.Itoa(helloExtECH)),
				}
			}
			flows := helloCorpusStreams(t, file)
			matched := 0
			for k, p := range flows {
				got, err := ParseClientHello(p.bytes())
				w, ok := want[k]
				if err != nil {
					if ok {
						t.Errorf("%v: tshark saw SNI %q, we got %v", k, w.sni, err)
					}
					continue
				}
				if !ok {
					t.Errorf("%v: we parsed a hello (%q) tshark did not see", k, got.SNI)
					continue
				}
				matched++
				g := helloTshark{sni: got.SNI, alpn: strings.Join(got.ALPN, ","), versions: helloJoin(got.Versions, 16), groups: helloJoin(got.KeyShareGroups, 10), ech: got.ECH}
				if g != w {
					t.Errorf("%v:\n got %+v\nwant %+v", k, g, w)
				}
			}
			if matched == 0 {
				t.Error("no hello compared")
			}
			t.Logf("%d hellos agree with tshark", matched)
		})
	}
}

func helloPort(t *testing.T, s string) uint16 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		t.Fatalf("tshark port %q: %v", s, err)
	}
	return uint16(n)
}

// helloTsharkNoGREASE rewrites a tshark list (0x-hex or decimal) in base
// base, without GREASE values.
func helloTsharkNoGREASE(t *testing.T, list string, base int) string {
	t.Helper()
	if list == "" {
		return ""
	}
	var vs []uint16
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.ParseUint(s, 0, 16)
		if err != nil {
			t.Fatalf("tshark value %q: %v", s, err)
		}
		if v&0x0f0f != 0x0a0a || v>>8 != v&0xff {
			vs = append(vs, uint16(v))
		}
	}
	return helloJoin(vs, base)
}

func helloJoin(vs []uint16, base int) string {
	var s []string
	for _, v := range vs {
		if base == 16 {
			s = append(s, fmt.Sprintf("%#04x", v))
		} else {
			s = append(s, strconv.Itoa(int(v)))
		}
	}
	return strings.Join(s, ",")
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

func BenchmarkStreamPrefixAdd(b *testing.B) {
	hello := helloFromGo(b, &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com"})
	segs := helloSegments(hello, 2)
	var p streamPrefix
	b.Run("in order", func(b *testing.B) {
		b.SetBytes(int64(len(hello)))
		b.ReportAllocs()
		for b.Loop() {
			p.reset(1<<32-100, helloLimit)
			p.add(1<<32-100, segs[0])
			p.add(1<<32-100+uint32(len(segs[0])), segs[1])
		}
	})
	b.Run("reversed with a duplicate", func(b *testing.B) {
		b.SetBytes(int64(len(hello)))
		b.ReportAllocs()
		for b.Loop() {
			p.reset(1<<32-100, helloLimit)
			p.add(1<<32-100+uint32(len(segs[0])), segs[1])
			p.add(1<<32-100+uint32(len(segs[0])), segs[1])
			p.add(1<<32-100, segs[0])
		}
	})
}

// discard moves the stream's start past bytes already used (a parsed DNS
// message) and keeps what was held beyond a gap.
func TestStreamPrefixDiscard(t *testing.T) {
	stream := make([]byte, 60)
	for i := range stream {
		stream[i] = byte(i)
	}
	var p streamPrefix
	p.reset(1000, 100)
	p.add(1000, stream[:10])
	p.add(1040, stream[40:50]) // held, arrived first
	p.add(1020, stream[20:30]) // held
	p.discard(5)
	if !bytes.Equal(p.bytes(), stream[5:10]) || len(p.ooo) != 20 {
		t.Fatalf("after discard: prefix %v, %d bytes held; want stream[5:10] and the 20 held", p.bytes(), len(p.ooo))
	}
	p.add(1010, stream[10:20])
	p.add(1030, stream[30:40])
	if !bytes.Equal(p.bytes(), stream[5:50]) {
		t.Errorf("prefix %v, want stream[5:50]: the held ranges must survive the discard", p.bytes())
	}
}
