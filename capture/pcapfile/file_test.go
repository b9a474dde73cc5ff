package pcapfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// The builders below write capture files byte by byte from the format
// specifications (pcap: draft-ietf-opsawg-pcap, pcapng:
// draft-ietf-opsawg-pcapng), so each test states exactly what its input
// holds.

// fileOrder is binary.LittleEndian or binary.BigEndian.
type fileOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// filePcap builds a pcap file.
type filePcap struct {
	bo   fileOrder
	nano bool
	buf  bytes.Buffer
}

func newFilePcap(bo fileOrder, nano bool, network, snaplen uint32) *filePcap {
	p := &filePcap{bo: bo, nano: nano}
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	p.u32(magic)
	p.u16(2)
	p.u16(4)
	p.u32(0) // thiszone
	p.u32(0) // sigfigs
	p.u32(snaplen)
	p.u32(network)
	return p
}

func (p *filePcap) u16(v uint16) { p.buf.Write(p.bo.AppendUint16(nil, v)) }
func (p *filePcap) u32(v uint32) { p.buf.Write(p.bo.AppendUint32(nil, v)) }

// record appends a packet record; wire is the original length.
func (p *filePcap) record(ts time.Time, data []byte, wire int) *filePcap {
	p.u32(uint32(ts.Unix()))
	if p.nano {
		p.u32(uint32(ts.Nanosecond()))
	} else {
		p.u32(uint32(ts.Nanosecond() / 1000))
	}
	p.u32(uint32(len(data)))
	p.u32(uint32(wire))
	p.buf.Write(data)
	return p
}

// rawRecord appends a record header with any lengths, and body as is.
func (p *filePcap) rawRecord(sec, frac, caplen, origlen uint32, body []byte) *filePcap {
	p.u32(sec)
	p.u32(frac)
	p.u32(caplen)
	p.u32(origlen)
	p.buf.Write(body)
	return p
}

func (p *filePcap) bytes() []byte { return bytes.Clone(p.buf.Bytes()) }

// fileNg builds a pcapng file; each section may have its own byte order.
type fileNg struct {
	bo  fileOrder
	buf bytes.Buffer
}

// fileOpt is one pcapng option.
type fileOpt struct {
	code uint16
	val  []byte
}

func (n *fileNg) opts(opts []fileOpt) []byte {
	if len(opts) == 0 {
		return nil
	}
	var b []byte
	for _, o := range opts {
		b = n.bo.AppendUint16(b, o.code)
		b = n.bo.AppendUint16(b, uint16(len(o.val)))
		b = append(b, o.val...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return append(b, 0, 0, 0, 0) // opt_endofopt
}

// block appends a block of type typ whose body is body, padded to 32 bits.
func (n *fileNg) block(typ uint32, body []byte) *fileNg {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	l := uint32(12 + len(body))
	b := n.bo.AppendUint32(nil, typ)
	b = n.bo.AppendUint32(b, l)
	b = append(b, body...)
	b = n.bo.AppendUint32(b, l)
	n.buf.Write(b)
	return n
}

func (n *fileNg) shb(bo fileOrder) *fileNg {
	n.bo = bo
	b := bo.AppendUint32(nil, 0x1a2b3c4d)
	b = bo.AppendUint16(b, 1)
	b = bo.AppendUint16(b, 0)
	b = bo.AppendUint64(b, 0xffffffffffffffff) // section length unknown
	return n.block(0x0A0D0D0A, b)
}

func (n *fileNg) idb(link uint16, snaplen uint32, opts ...fileOpt) *fileNg {
	b := n.bo.AppendUint16(nil, link)
	b = n.bo.AppendUint16(b, 0)
	b = n.bo.AppendUint32(b, snaplen)
	return n.block(1, append(b, n.opts(opts)...))
}

func fileOptName(s string) fileOpt  { return fileOpt{2, []byte(s)} }
func fileOptTsresol(v byte) fileOpt { return fileOpt{9, []byte{v}} }

func (n *fileNg) optTsoffset(sec int64) fileOpt {
	return fileOpt{14, n.bo.AppendUint64(nil, uint64(sec))}
}

func (n *fileNg) epb(iface uint32, ts uint64, data []byte, wire int, opts ...fileOpt) *fileNg {
	b := n.bo.AppendUint32(nil, iface)
	b = n.bo.AppendUint32(b, uint32(ts>>32))
	b = n.bo.AppendUint32(b, uint32(ts))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = n.bo.AppendUint32(b, uint32(wire))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return n.block(6, append(b, n.opts(opts)...))
}

// pb appends an obsolete Packet Block (type 2).
func (n *fileNg) pb(iface uint16, ts uint64, data []byte, wire int) *fileNg {
	b := n.bo.AppendUint16(nil, iface)
	b = n.bo.AppendUint16(b, 0) // drops count
	b = n.bo.AppendUint32(b, uint32(ts>>32))
	b = n.bo.AppendUint32(b, uint32(ts))
	b = n.bo.AppendUint32(b, uint32(len(data)))
	b = n.bo.AppendUint32(b, uint32(wire))
	return n.block(2, append(b, data...))
}

func (n *fileNg) spb(data []byte, wire int) *fileNg {
	return n.block(3, append(n.bo.AppendUint32(nil, uint32(wire)), data...))
}

// isb appends interface statistics; a negative count is left out.
func (n *fileNg) isb(iface uint32, ifdrop, osdrop int64) *fileNg {
	b := n.bo.AppendUint32(nil, iface)
	b = append(b, make([]byte, 8)...)
	var opts []fileOpt
	if ifdrop >= 0 {
		opts = append(opts, fileOpt{5, n.bo.AppendUint64(nil, uint64(ifdrop))})
	}
	if osdrop >= 0 {
		opts = append(opts, fileOpt{7, n.bo.AppendUint64(nil, uint64(osdrop))})
	}
	opts = append(opts, fileOpt{4, n.bo.AppendUint64(nil, 1000)}) // isb_ifrecv, ignored
	return n.block(5, append(b, n.opts(opts)...))
}

// nrb appends a name resolution block with one IPv4 record.
func (n *fileNg) nrb() *fileNg {
	b := n.bo.AppendUint16(nil, 1)
	b = n.bo.AppendUint16(b, 4+12)
	b = append(b, 192, 0, 2, 1)
	b = append(b, "example.com\x00"...)
	b = append(b, 0, 0, 0, 0) // nrb_record_end
	return n.block(4, b)
}

func (n *fileNg) bytes() []byte { return bytes.Clone(n.buf.Bytes()) }

// fileGzip compresses data, as one gzip member per part.
func fileGzip(parts ...[]byte) []byte {
	var out bytes.Buffer
	for _, p := range parts {
		zw := gzip.NewWriter(&out)
		zw.Write(p)
		zw.Close()
	}
	return out.Bytes()
}

// filePayload is n bytes that differ between packets.
func filePayload(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// fileGot is what a test keeps of a Frame: a copy, since Data is reused.
type fileGot struct {
	TS        time.Time
	Data      []byte
	WireLen   int
	LinkType  layers.LinkType
	Interface int
}

// fileReadAll reads every packet of data, returning the reader (nil when
// the header failed) and the error that ended the reading (nil at a clean
// end of file).
func fileReadAll(t testing.TB, name string, data []byte) ([]fileGot, *Reader, error) {
	t.Helper()
	r, err := NewReader(name, bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	var got []fileGot
	var f capture.Frame
	for {
		err := r.Next(&f)
		if err == io.EOF {
			return got, r, nil
		}
		if err != nil {
			if again := r.Next(&f); again != err {
				t.Errorf("after %v, the next call returned %v", err, again)
			}
			return got, r, err
		}
		got = append(got, fileGot{f.TS, bytes.Clone(f.Data), f.WireLen, f.LinkType, f.Interface})
		if r.Records() != len(got) {
			t.Fatalf("Records() = %d after %d packets", r.Records(), len(got))
		}
	}
}

// fileEqual compares what was read with what a case expects.
func fileEqual(t *testing.T, got, want []fileGot) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("read %d packets, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if !g.TS.Equal(w.TS) || g.TS.Location() != time.UTC {
			t.Errorf("packet %d: TS %v, want %v (UTC)", i+1, g.TS, w.TS)
		}
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("packet %d: data %d bytes % x..., want %d bytes % x...", i+1, len(g.Data), g.Data[:min(8, len(g.Data))], len(w.Data), w.Data[:min(8, len(w.Data))])
		}
		if g.WireLen != w.WireLen || g.LinkType != w.LinkType || g.Interface != w.Interface {
			t.Errorf("packet %d: wire %d link %d interface %d, want wire %d link %d interface %d", i+1, g.WireLen, g.LinkType, g.Interface, w.WireLen, w.LinkType, w.Interface)
		}
	}
}

// fileCase is an input built in the test and everything a reader should
// report about it.
type fileCase struct {
	name       string
	data       []byte
	format     string
	ifaces     []capture.Interface
	frames     []fileGot
	drops      uint64
	dropsKnown bool
	sections   int
}

func fileBuiltCases() []fileCase {
	le, be := binary.LittleEndian, binary.BigEndian
	base := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)
	p1, p2, p3 := filePayload(1, 60), filePayload(2, 1514), filePayload(3, 61)
	var cases []fileCase

	for _, bo := range []fileOrder{le, be} {
		for _, nano := range []bool{false, true} {
			ts := base.Truncate(time.Microsecond)
			name := fmt.Sprintf("pcap-us-%v", bo)
			if nano {
				ts, name = base, fmt.Sprintf("pcap-ns-%v", bo)
			}
			// The network field's upper bits say "4 bytes of FCS" (bits
			// 26-28): the link type is only the low 16 bits.
			p := newFilePcap(bo, nano, 1|1<<28|2<<26, 200).
				record(ts, p1, 60).
				record(ts.Add(time.Second), p2[:200], 1514).
				record(ts.Add(2*time.Second), p3, 61)
			cases = append(cases, fileCase{
				name: name, data: p.bytes(), format: "pcap", sections: 1,
				ifaces: []capture.Interface{{LinkType: 1, SnapLen: 200}},
				frames: []fileGot{
					{ts, p1, 60, 1, 0},
					{ts.Add(time.Second), p2[:200], 1514, 1, 0},
					{ts.Add(2 * time.Second), p3, 61, 1, 0},
				},
			})
		}
	}

	// Two sections of opposite byte orders; interface ids restart in the
	// second one.
	for _, bos := range [][2]fileOrder{{le, be}, {be, le}} {
		sec := base.Unix()
		ng := &fileNg{}
		ng.shb(bos[0])
		ng.idb(1, 0, fileOptName("eth0"), fileOptTsresol(9))
		// 2^-20 s units, timestamps counted from an offset one hour back.
		ng.idb(113, 262144, fileOptName("lo"), fileOptTsresol(0x80|20), ng.optTsoffset(3600))
		ng.nrb()
		ng.epb(0, uint64(base.UnixNano()), p1, 60, fileOpt{1, []byte("a comment")})
		ng.epb(1, uint64(sec-3600)<<20|1<<19, p2, 1514)
		ng.isb(0, 3, 2)
		ng.block(0x00000BAD, []byte("custom, copyable"))
		ng.block(0x40000BAD, []byte("custom, not copyable"))
		ng.block(0x12345, []byte("unknown"))
		// One unit of 2^-20 s is 953.67 ns: truncated to 953.
		ng.epb(1, uint64(sec-3600)<<20|1<<19+1, p3[:40], 61)
		ng.pb(1, uint64(sec-3600)<<20|1<<19+3, p1, 60)
		ng.spb(p3, 61)
		ng.isb(0, 5, 4)
		ng.shb(bos[1])
		ng.idb(101, 64)
		ng.spb(p2[:64], 1514)
		ng.epb(0, uint64(sec+10)*1e6, p1, 60)
		ng.isb(0, 10, -1)
		t1 := time.Unix(sec, 5e8).UTC()
		cases = append(cases, fileCase{
			name: fmt.Sprintf("pcapng-sections-%v-%v", bos[0], bos[1]), data: ng.bytes(), format: "pcapng", sections: 2,
			ifaces: []capture.Interface{{Name: "eth0", LinkType: 1, SnapLen: 0}, {Name: "lo", LinkType: 113, SnapLen: 262144}, {Name: "", LinkType: 101, SnapLen: 64}},
			frames: []fileGot{
				{base, p1, 60, 1, 0},
				{t1, p2, 1514, 113, 1},
				{t1.Add(953), p3[:40], 61, 113, 1},
				{t1.Add(2861), p1, 60, 113, 1},
				{t1.Add(2861), p3, 61, 1, 0}, // simple packet block: no timestamp of its own
				{t1.Add(2861), p2[:64], 1514, 101, 2},
				{time.Unix(sec+10, 0), p1, 60, 101, 2},
			},
			drops: 5 + 4 + 10, dropsKnown: true,
		})
	}

	ng := (&fileNg{}).shb(le).idb(1, 65535)
	cases = append(cases, fileCase{
		name: "pcapng-no-packets", data: ng.bytes(), format: "pcapng", sections: 1,
		ifaces: []capture.Interface{{Name: "", LinkType: 1, SnapLen: 65535}},
	})
	return cases
}

func TestFileReaderBuilt(t *testing.T) {
	for _, c := range fileBuiltCases() {
		for _, gz := range []bool{false, true} {
			name, data := c.name, c.data
			if gz {
				name, data = name+".gz", fileGzip(data)
			}
			t.Run(name, func(t *testing.T) {
				got, r, err := fileReadAll(t, name, data)
				if err != nil {
					t.Fatal(err)
				}
				fileEqual(t, got, c.frames)
				if r.Format() != c.format || r.Gzip() != gz {
					t.Errorf("Format() %q Gzip() %v, want %q %v", r.Format(), r.Gzip(), c.format, gz)
				}
				if !reflect.DeepEqual(r.Interfaces(), c.ifaces) {
					t.Errorf("Interfaces() = %+v, want %+v", r.Interfaces(), c.ifaces)
				}
				if n, known := r.Drops(); n != c.drops || known != c.dropsKnown {
					t.Errorf("Drops() = %d, %v; want %d, %v", n, known, c.drops, c.dropsKnown)
				}
			})
		}
	}
}

// A gzip file may hold several members (cat a.gz b.gz); a cut between
// members may fall in the middle of a record.
func TestFileReaderGzipMembers(t *testing.T) {
	c := fileBuiltCases()[0]
	for _, cut := range []int{2, 24, 24 + 16 + 30, len(c.data) - 1} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			got, r, err := fileReadAll(t, "x.pcap.gz", fileGzip(c.data[:cut], c.data[cut:]))
			if err != nil {
				t.Fatal(err)
			}
			fileEqual(t, got, c.frames)
			if !r.Gzip() {
				t.Error("Gzip() = false")
			}
		})
	}
}

// fileCorpus is the shared corpus with the packet counts capinfos gives
// (the shared corpus's notes).
var fileCorpus = []struct {
	name     string
	packets  int
	format   string
	link     layers.LinkType
	sections int
}{
	{"vxlan-decoder-03_vxlan.pcap", 100, "pcap", 1, 1},
	{"psql-aws-ssl-require.pcap", 30, "pcap", 1, 1},
	{"tls-split-client-hello.pcap", 35, "pcap", 1, 1},
	{"dump_mtu300.pcap", 62, "pcap", 1, 1},
	{"curl-enabled-tls13.pcap", 35, "pcap", 1, 1},
	{"tls13-ech.pcap", 69, "pcap", 1, 1},
	{"chrome-1250-tls-x25519-kyber.pcap", 15, "pcap", 1, 1},
	{"openjdk-25.0.2-zeek.org.pcap", 6, "pcap", 276, 1},
	{"tls13.pcap", 6, "pcap", 1, 1},
	{"tls-fragmented-handshake.pcap.gz", 416, "pcap", 1, 1},
	{"tls-subjectaltname_input.pcap", 3138, "pcap", 1, 1},
	{"nmap-vsn.pcap", 547, "pcap", 1, 1},
	{"irc-353.pcap", 12, "pcap", 0, 1},
	{"no-syn-ack.pcap", 10, "pcap", 1, 1},
	{"rotation.pcap", 20, "pcap", 101, 1},
	{"tcp-handshake-nano.pcap", 3, "pcap", 113, 1},
	{"pcapng-multi-interface.pcapng", 6, "pcapng", 1, 1},
	{"dns-edns-ecs.pcap", 89, "pcap", 1, 1},
	{"dns_tcp.pcap", 11, "pcap", 1, 1},
	{"dns_udp_2.pcap", 2, "pcap", 1, 1},
	{"LINKTYPE_IPV6.pcap", 1, "pcap", 229, 1},
	{"http-vlan-0.pcap", 14, "pcap", 1, 1},
	{"vxlan-encapsulated-http.pcap", 12, "pcap", 1, 1},
	{"geneve.pcap", 6, "pcap", 1, 1},
	{"test202-le.pcapng", 8, "pcapng", 0, 3}, // per-packet link types
	{"test202-be.pcapng", 8, "pcapng", 0, 3},
	{"tls_DER-incomplete-header.pcap", 6, "pcap", 1, 1}, // then damage
	{"trunc-hdr.pcap", 1, "pcap", 1, 1},
	{"empty.pcapng", 0, "pcapng", 1, 1},
	{"bigendian.pcap", 2, "pcap", 1, 1},
}

func TestFileReaderCorpus(t *testing.T) {
	dir := testenv.Shared(t, "corpus")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, c := range fileCorpus {
		listed[c.name] = true
	}
	for _, e := range entries {
		if n := e.Name(); n != "SOURCES.md" && !listed[n] {
			t.Errorf("corpus file %s has no entry in fileCorpus", n)
		}
	}
	for _, c := range fileCorpus {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, c.name))
			if err != nil {
				t.Fatal(err)
			}
			got, r, err := fileReadAll(t, c.name, data)
			if c.name != "tls_DER-incomplete-header.pcap" && err != nil {
				t.Fatal(err)
			}
			if len(got) != c.packets {
				t.Errorf("read %d packets, capinfos counts %d", len(got), c.packets)
			}
			if r.Format() != c.format || r.Gzip() != strings.HasSuffix(c.name, ".gz") {
				t.Errorf("Format() %q Gzip() %v", r.Format(), r.Gzip())
			}
			for i, f := range got {
				if c.sections == 1 && f.LinkType != c.link {
					t.Errorf("packet %d: link type %d, want %d", i+1, f.LinkType, c.link)
				}
				if len(f.Data) > f.WireLen {
					t.Errorf("packet %d: %d bytes captured of %d on the wire", i+1, len(f.Data), f.WireLen)
				}
			}
		})
	}

	t.Run("record 7 claims 4 MiB", func(t *testing.T) {
		const name = "tls_DER-incomplete-header.pcap"
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = fileReadAll(t, name, data)
		// Record 7 starts after the 24-byte file header and six records of
		// 16-byte header plus 74, 74, 66, 361, 66 and 4274 bytes (hexdump).
		const off = 24 + 16*6 + 74 + 74 + 66 + 361 + 66 + 4274
		want := fmt.Sprintf("%s: record 7 at byte %d: header claims a 4325376-byte packet, more than the 262144-byte maximum", name, off)
		var fe *Error
		if !errors.As(err, &fe) || fe.Record != 7 || fe.Offset != off || !errors.Is(err, ErrOversize) || err.Error() != want {
			t.Errorf("got %v (%#v), want %s", err, fe, want)
		}
	})

	t.Run("trunc-hdr.pcap cut by snaplen", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "trunc-hdr.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := fileReadAll(t, "trunc-hdr.pcap", data)
		if err != nil || len(got) != 1 || len(got[0].Data) != 8 || got[0].WireLen != 78 {
			t.Fatalf("got %d packets, err %v; want one of 8 bytes, 78 on the wire", len(got), err)
		}
		if !bytes.Equal(got[0].Data, data[40:48]) {
			t.Errorf("data % x, want the file's last 8 bytes % x", got[0].Data, data[40:48])
		}
	})

	// test202 has three sections (a python dump of the blocks: SHB, IDB
	// eth0, NRB, IDB null1, ..., SHB, IDB "silly ethernet interface 2",
	// ..., SHB, NRB, IDB eth0, custom, IDB null1, ...), and its second
	// section's byte order differs from the first's.
	for _, name := range []string{"test202-le.pcapng", "test202-be.pcapng"} {
		t.Run(name+" interfaces across sections", func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			got, r, err := fileReadAll(t, name, data)
			if err != nil {
				t.Fatal(err)
			}
			// Section 3 describes eth0 and null1 again, exactly as
			// section 1 did: they are listed once, and section 3's
			// packets on null1 carry section 1's index.
			wantIfaces := []capture.Interface{{Name: "eth0", LinkType: 1, SnapLen: 96}, {Name: "null1", LinkType: 0, SnapLen: 0}, {Name: "silly ethernet interface 2", LinkType: 1, SnapLen: 128}}
			if !reflect.DeepEqual(r.Interfaces(), wantIfaces) {
				t.Errorf("Interfaces() = %+v, want %+v", r.Interfaces(), wantIfaces)
			}
			var ids []int
			for _, f := range got {
				ids = append(ids, f.Interface)
			}
			if want := []int{0, 0, 1, 2, 2, 2, 2, 1}; !slices.Equal(ids, want) {
				t.Errorf("interfaces of the packets %v, want %v", ids, want)
			}
			// Its statistics blocks: section 2's interface drops 10
			// (isb_ifdrop), section 3's first interface 1 (isb_ifdrop) and
			// 42 (isb_osdrop).
			if n, known := r.Drops(); n != 10+1+42 || !known {
				t.Errorf("Drops() = %d, %v; want 53, true", n, known)
			}
		})
	}
}

// fileTsharkRow is one frame as tshark reports it.
type fileTsharkRow struct {
	wire, caplen int
	ts           string // frame.time_epoch, empty when the frame has none
	iface        string // frame.interface_id, empty for pcap
	encap        string // wiretap encapsulation number, empty for a pcapng custom block
	md5          string
}

// fileTshark reads path with tshark. A damaged file makes tshark print the
// frames before the damage and fail: damaged says whether that is expected.
func fileTshark(t *testing.T, tshark, path string, damaged bool) []fileTsharkRow {
	t.Helper()
	cmd := exec.Command(tshark, "-n", "-r", path, "-o", "frame.generate_md5_hash:TRUE",
		"-T", "fields", "-E", "separator=/t", "-e", "frame.len", "-e", "frame.cap_len",
		"-e", "frame.time_epoch", "-e", "frame.interface_id", "-e", "frame.encap_type", "-e", "frame.md5_hash")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if (err != nil) != damaged {
		t.Fatalf("tshark: %v, damaged file %v: %s", err, damaged, stderr.Bytes())
	}
	var rows []fileTsharkRow
	for line := range strings.Lines(string(out)) {
		fields := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(fields) != 6 {
			t.Fatalf("tshark line %q", line)
		}
		var row fileTsharkRow
		row.wire, _ = strconv.Atoi(fields[0])
		row.caplen, _ = strconv.Atoi(fields[1])
		row.ts, row.iface, row.encap, row.md5 = fields[2], fields[3], fields[4], fields[5]
		rows = append(rows, row)
	}
	return rows
}

// fileEncapLinkTypes maps wiretap encapsulations (frame.encap_type) to the
// link types of the files that use them (wiretap's pcap-common.c table).
var fileEncapLinkTypes = map[string]layers.LinkType{
	"1":   1,   // WTAP_ENCAP_ETHERNET
	"7":   101, // WTAP_ENCAP_RAW_IP
	"15":  0,   // WTAP_ENCAP_NULL
	"25":  113, // WTAP_ENCAP_SLL
	"130": 229, // WTAP_ENCAP_RAW_IP6
	"210": 276, // WTAP_ENCAP_SLL2
}

// fileCompareTshark checks our packets against tshark's frames. Deliberate
// differences, each checked for what we do instead:
//   - tshark shows pcapng custom blocks as frames; they hold no packet
//     (their encapsulation is empty), so they are not compared.
//   - a simple packet block has no timestamp and tshark shows none; we give
//     it the previous packet's.
//   - a record whose original length is less than its captured length
//     keeps tshark's frame.len = original length; our WireLen is the
//     captured length, so WireLen >= len(Data) always holds.
//   - tshark 4.0 reports interface ids local to the pcapng section (and
//     names them after the first section's interfaces); ours index all
//     interfaces of the file, so ids are compared for one-section files
//     only (TestFileReaderCorpus checks test202's three sections).
func fileCompareTshark(t *testing.T, rows []fileTsharkRow, got []fileGot, sections int) {
	t.Helper()
	rows = slices.DeleteFunc(rows, func(r fileTsharkRow) bool { return r.encap == "" })
	if len(rows) != len(got) {
		t.Fatalf("tshark shows %d packets, we read %d", len(rows), len(got))
	}
	for i, row := range rows {
		g := got[i]
		if row.caplen != len(g.Data) || fmt.Sprintf("%x", md5.Sum(g.Data)) != row.md5 {
			t.Errorf("packet %d: %d bytes md5 %x, tshark %d bytes md5 %s", i+1, len(g.Data), md5.Sum(g.Data), row.caplen, row.md5)
		}
		if wantWire := max(row.wire, row.caplen); g.WireLen != wantWire {
			t.Errorf("packet %d: WireLen %d, tshark frame.len %d cap_len %d", i+1, g.WireLen, row.wire, row.caplen)
		}
		if row.ts == "" {
			if i == 0 || !g.TS.Equal(got[i-1].TS) {
				t.Errorf("packet %d has no timestamp in tshark: TS %v should repeat the previous packet's", i+1, g.TS)
			}
		} else {
			secs, frac, _ := strings.Cut(row.ts, ".")
			sec, err1 := strconv.ParseInt(secs, 10, 64)
			nsec, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("tshark time %q", row.ts)
			}
			if want := time.Unix(sec, nsec); !g.TS.Equal(want) {
				t.Errorf("packet %d: TS %v, tshark %v", i+1, g.TS.Format(time.RFC3339Nano), want.UTC().Format(time.RFC3339Nano))
			}
		}
		if link, ok := fileEncapLinkTypes[row.encap]; !ok {
			t.Errorf("packet %d: tshark encapsulation %s is not in fileEncapLinkTypes", i+1, row.encap)
		} else if g.LinkType != link {
			t.Errorf("packet %d: link type %d, tshark encapsulation %s (link type %d)", i+1, g.LinkType, row.encap, link)
		}
		if sections == 1 {
			id, _ := strconv.Atoi(row.iface) // empty for pcap: interface 0
			if g.Interface != id {
				t.Errorf("packet %d: interface %d, tshark %s", i+1, g.Interface, row.iface)
			}
		}
	}
}

func TestFileReaderMatchesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	t.Run("corpus", func(t *testing.T) {
		dir := testenv.Shared(t, "corpus")
		for _, c := range fileCorpus {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(dir, c.name)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := fileReadAll(t, c.name, data)
				fileCompareTshark(t, fileTshark(t, tshark, path, err != nil), got, c.sections)
			})
		}
	})
	t.Run("built", func(t *testing.T) {
		dir := t.TempDir()
		for _, c := range fileBuiltCases() {
			for _, gz := range []bool{false, true} {
				name, data := c.name+"."+c.format, c.data
				if gz {
					name, data = name+".gz", fileGzip(data)
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					path := filepath.Join(dir, name)
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					got, _, err := fileReadAll(t, name, data)
					if err != nil {
						t.Fatal(err)
					}
					fileCompareTshark(t, fileTshark(t, tshark, path, false), got, c.sections)
				})
			}
		}
	})
	t.Run("caplen over origlen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.pcap")
		data := newFilePcap(binary.LittleEndian, false, 1, 65535).record(time.Unix(1700000000, 0), filePayload(1, 60), 40).bytes()
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, _, err := fileReadAll(t, "x.pcap", data)
		if err != nil || len(got) != 1 || got[0].WireLen != 60 {
			t.Fatalf("got %+v, %v; want one packet with WireLen 60", got, err)
		}
		rows := fileTshark(t, tshark, path, false)
		if len(rows) != 1 || rows[0].wire != 40 {
			t.Fatalf("tshark %+v: frame.len should be the record's 40", rows)
		}
		fileCompareTshark(t, rows, got, 1)
	})
}

func TestFileReaderDamage(t *testing.T) {
	le := binary.LittleEndian
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	p1, p2 := filePayload(1, 60), filePayload(2, 60)
	good := newFilePcap(le, false, 1, 65535).record(ts, p1, 60).record(ts, p2, 60)
	goodFrames := []fileGot{{ts, p1, 60, 1, 0}, {ts, p2, 60, 1, 0}}
	const rec3 = 24 + 2*(16+60) // where a third record starts
	// pcapng: SHB (28 bytes), IDB (20), EPB (32+60): block 4 starts at 140.
	ngGood := func() *fileNg {
		n := (&fileNg{}).shb(le).idb(1, 0)
		n.epb(0, uint64(ts.UnixMicro()), p1, 60)
		return n
	}
	const blk4 = 28 + 20 + 92
	ngFrames := goodFrames[:1]
	with := func(b []byte, tail ...[]byte) []byte { return slices.Concat(append([][]byte{b}, tail...)...) }
	epb := (&fileNg{bo: le}).epb(0, 0, p2, 60).bytes()
	patched := func(b []byte, at int, v uint32) []byte {
		b = bytes.Clone(b)
		le.PutUint32(b[at:], v)
		return b
	}

	cases := []struct {
		name    string
		data    []byte
		frames  []fileGot
		kind    error
		record  int
		offset  int64
		message string // the whole of Error(), when given
	}{
		{"empty file", nil, nil, ErrTruncated, 0, 0, "x: file header: the file is empty"},
		{"three bytes", []byte{0xd4, 0xc3, 0xb2}, nil, ErrTruncated, 0, 0, "x: file header: the data is only 3 bytes long, too short for a capture file header"},
		{"html page", []byte("<!DOCTYPE html><html><body>403 Forbidden</body></html>"), nil, ErrNotCapture, 0, 0, "x: file header: not a pcap or pcapng file (magic 3c 21 44 4f)"},
		{"truncated file header", good.bytes()[:10], nil, ErrTruncated, 0, 0, "x: file header: the pcap file header is 24 bytes but the file ends after 10"},
		{"pcap version 1", patched(good.bytes(), 4, 0x00000001), nil, ErrMalformed, 0, 0, "x: file header: unsupported pcap version 1.0"},
		{"truncated record header", with(good.bytes(), make([]byte, 7)), goodFrames, ErrTruncated, 3, rec3, "x: record 3 at byte 176: the file ends 7 bytes into the 16-byte record header"},
		{"truncated record body", newFilePcap(le, false, 1, 65535).record(ts, p1, 60).record(ts, p2, 60).rawRecord(1, 2, 100, 100, p1[:30]).bytes(), goodFrames, ErrTruncated, 3, rec3,
			"x: record 3 at byte 176: the record holds a 100-byte packet but the file ends after 30 of its bytes"},
		{"record claims gigabytes", with(good.bytes(), newFilePcap(le, false, 1, 0).rawRecord(1, 2, 3<<30, 3<<30, p1).bytes()[24:]), goodFrames, ErrOversize, 3, rec3,
			"x: record 3 at byte 176: header claims a 3221225472-byte packet, more than the 262144-byte maximum"},
		{"pcapng truncated section header", ngGood().bytes()[:20], nil, ErrTruncated, 0, 0, "x: file header: section header block claims 28 bytes but the file ends after 20"},
		{"pcapng bad byte-order magic", patched(ngGood().bytes(), 8, 0x11223344), nil, ErrMalformed, 0, 0, "x: file header: section header block has byte-order magic 44 33 22 11, not 1a 2b 3c 4d"},
		{"pcapng version 2", patched(ngGood().bytes(), 12, 2), nil, ErrMalformed, 0, 0, "x: file header: unsupported pcapng version 2.0"},
		{"pcapng block length mismatch", with(ngGood().bytes(), patched(epb, len(epb)-4, 999)), ngFrames, ErrMalformed, 4, blk4,
			"x: block 4 at byte 140: enhanced packet block ends with length 999, not the 92 it starts with"},
		{"pcapng unknown interface", with(ngGood().bytes(), patched(epb, 8, 3)), ngFrames, ErrMalformed, 4, blk4,
			"x: block 4 at byte 140: enhanced packet block names interface 3 but its section describes 1"},
		{"pcapng block length not a multiple of 4", with(ngGood().bytes(), patched(epb, 4, 93)), ngFrames, ErrMalformed, 4, blk4,
			"x: block 4 at byte 140: enhanced packet block length 93 is not a multiple of 4"},
		{"pcapng block length under 12", with(ngGood().bytes(), []byte{0x99, 0, 0, 0, 8, 0, 0, 0}), ngFrames, ErrMalformed, 4, blk4,
			"x: block 4 at byte 140: block of type 0x99 length 8 is less than its 12-byte minimum"},
		{"pcapng block claims 60 MB", with(ngGood().bytes(), patched(epb, 4, 60_000_000)), ngFrames, ErrOversize, 4, blk4,
			"x: block 4 at byte 140: enhanced packet block claims 60000000 bytes, more than the 16777216-byte maximum"},
		{"pcapng truncated block", with(ngGood().bytes(), epb[:50]), ngFrames, ErrTruncated, 4, blk4,
			"x: block 4 at byte 140: enhanced packet block claims 92 bytes but the file ends after 50"},
		{"pcapng truncated skipped block", with(ngGood().bytes(), (&fileNg{bo: le}).block(0xBAD, p1).bytes()[:40]), ngFrames, ErrTruncated, 4, blk4,
			"x: block 4 at byte 140: block of type 0xbad claims 72 bytes but the file ends after 40"},
		{"pcapng skipped block length mismatch", with(ngGood().bytes(), patched((&fileNg{bo: le}).block(0xBAD, p1).bytes(), 68, 76)), ngFrames, ErrMalformed, 4, blk4,
			"x: block 4 at byte 140: block of type 0xbad ends with length 76, not the 72 it starts with"},
		{"pcapng truncated block header", with(ngGood().bytes(), epb[:5]), ngFrames, ErrTruncated, 4, blk4,
			"x: block 4 at byte 140: the file ends 5 bytes into the block header"},
		{"pcapng packet beyond its block", with(ngGood().bytes(), patched(epb, 20, 61)), ngFrames, ErrMalformed, 4, blk4,
			"x: block 4 at byte 140: enhanced packet block claims a 61-byte packet but has room for 60"},
		{"pcapng packet claims gigabytes", with(ngGood().bytes(), patched(epb, 20, 1<<30)), ngFrames, ErrOversize, 4, blk4,
			"x: block 4 at byte 140: enhanced packet block claims a 1073741824-byte packet, more than the 262144-byte maximum"},
		{"pcapng simple packet before any interface", (&fileNg{}).shb(le).spb(p1, 60).bytes(), nil, ErrMalformed, 2, 28,
			"x: block 2 at byte 28: simple packet block before any interface description block of its section"},
		{"pcapng if_tsresol too fine", (&fileNg{}).shb(le).idb(1, 0, fileOptTsresol(20)).bytes(), nil, ErrMalformed, 2, 28,
			"x: block 2 at byte 28: if_tsresol 10^-20 is finer than this reader supports"},
		{"pcapng option beyond its block", with((&fileNg{}).shb(le).bytes(), patched((&fileNg{bo: le}).idb(1, 0, fileOptName("eth0")).bytes(), 18, 0xff)), nil, ErrMalformed, 2, 28,
			"x: block 2 at byte 28: interface description block option 2 claims 255 bytes but only 8 remain"},
		{"pcapng statistics of an unknown interface", with(ngGood().bytes(), (&fileNg{bo: le}).isb(1, 1, 1).bytes()), ngFrames, ErrMalformed, 4, blk4,
			"x: block 4 at byte 140: interface statistics block names interface 1 but its section describes 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := fileReadAll(t, "x", c.data)
			fileEqual(t, got, c.frames)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			if !errors.Is(err, c.kind) || fe.Record != c.record || fe.Offset != c.offset || fe.File != "x" {
				t.Errorf("got %v: record %d offset %d; want %v at record %d offset %d", err, fe.Record, fe.Offset, c.kind, c.record, c.offset)
			}
			if c.message != "" && err.Error() != c.message {
				t.Errorf("message\n%s\nwant\n%s", err, c.message)
			}
			if errors.Is(err, ErrTruncated) != errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("ErrTruncated and io.ErrUnexpectedEOF disagree for %v", err)
			}
		})
	}
}

func TestFileReaderGzipDamage(t *testing.T) {
	le := binary.LittleEndian
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	p := newFilePcap(le, false, 1, 65535)
	var want []fileGot
	for i := range 200 {
		// Random-looking payloads keep the compressed stream long, so a
		// cut lands among the records.
		data := make([]byte, 200)
		for j := range data {
			data[j] = byte((i*7919 + j*104729) * 2654435761 >> 13)
		}
		p.record(ts, data, 200)
		want = append(want, fileGot{ts, data, 200, 1, 0})
	}
	gz := fileGzip(p.bytes())
	// All the stream's first half decompresses to (io.ReadAll keeps what
	// arrived before the error) must be read before the damage.
	zr, _ := gzip.NewReader(bytes.NewReader(gz[:len(gz)/2]))
	prefix, _ := io.ReadAll(zr)
	whole := (len(prefix) - 24) / 216
	if whole < 10 || whole >= 200 {
		t.Fatalf("half the stream holds %d whole records: the cut should fall among them", whole)
	}
	crcBroken := bytes.Clone(gz)
	crcBroken[len(gz)-8] ^= 0xff

	cases := []struct {
		name     string
		data     []byte
		kind     error
		whole    bool   // every packet comes before the damage
		atLeast  int    // packets that come before it at least
		contains string // part of Error()
	}{
		{"cut stream", gz[:len(gz)/2], ErrTruncated, false, whole, "the gzip stream ends inside"},
		{"bad checksum", crcBroken, gzip.ErrChecksum, true, 200, "x.gz: record 201 at byte 43224 of the decompressed data: gzip: invalid checksum"},
		{"trailing garbage", slices.Concat(gz, []byte("garbage after the stream")), gzip.ErrHeader, true, 200, "x.gz: record 201 at byte 43224 of the decompressed data: gzip: invalid header"},
		{"only the magic", gz[:2], ErrTruncated, false, 0, "x.gz: file header: the gzip stream ends inside the gzip header"},
		{"bad header", []byte{0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0}, gzip.ErrHeader, false, 0, "x.gz: file header: gzip: invalid header"},
		{"html inside", fileGzip([]byte("<html>")), ErrNotCapture, false, 0, "x.gz: file header: not a pcap or pcapng file (magic 3c 68 74 6d)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := fileReadAll(t, "x.gz", c.data)
			if (c.whole && len(got) != len(want)) || len(got) < c.atLeast {
				t.Errorf("read %d packets before the damage, want all %d or at least %d", len(got), len(want), c.atLeast)
			}
			fileEqual(t, got, want[:min(len(got), len(want))])
			var fe *Error
			if !errors.As(err, &fe) || !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.contains) {
				t.Fatalf("got %v, want %v containing %q", err, c.kind, c.contains)
			}
			if c.kind == gzip.ErrChecksum || c.kind == gzip.ErrHeader {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("%v is not ErrMalformed", err)
				}
			}
			if fe.Record != 0 && (fe.Record != len(got)+1 || fe.Offset != int64(24+len(got)*216)) {
				t.Errorf("damage at record %d offset %d after %d packets", fe.Record, fe.Offset, len(got))
			}
		})
	}
}

// A length field must not make the reader allocate what the input does not
// hold: the memory a reader takes is its 1 MiB buffer plus what arrived.
func TestFileReaderAllocationBound(t *testing.T) {
	le := binary.LittleEndian
	ng := (&fileNg{}).shb(le).idb(1, 0).bytes()
	claim := func(typ, length uint32) []byte {
		b := le.AppendUint32(bytes.Clone(ng), typ)
		return append(le.AppendUint32(b, length), make([]byte, 100)...)
	}
	cases := []struct {
		name string
		data []byte
		kind error
	}{
		{"pcap record claims 4 GiB", newFilePcap(le, false, 1, 0).rawRecord(0, 0, 0xfffffff0, 0xfffffff0, make([]byte, 100)).bytes(), ErrOversize},
		{"pcapng block claims 60 MB", claim(6, 60_000_000), ErrOversize},
		{"pcapng packet block claims 15 MiB", claim(6, 15<<20), ErrTruncated},
		{"pcapng custom block claims 16 MiB", claim(0xBAD, 16<<20), ErrTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := fileReadAll(t, "x", c.data)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, c.kind) {
				t.Errorf("got %v, want %v", err, c.kind)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > fileBufSize+256<<10 {
				t.Errorf("allocated %d bytes for a %d-byte input", n, len(c.data))
			}
		})
	}
}

// Blocks larger than the read buffer are read (or skipped) whole.
func TestFileReaderLargeBlocks(t *testing.T) {
	le := binary.LittleEndian
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	p1, p2 := filePayload(1, 1500), filePayload(2, 100)
	// Twenty 60000-byte comments make a 1.2 MB block, beyond the 1 MiB
	// buffer (an option holds at most 65535 bytes).
	var comments []fileOpt
	for i := range 20 {
		comments = append(comments, fileOpt{1, bytes.Repeat([]byte{'a' + byte(i)}, 60000)})
	}
	ng := (&fileNg{}).shb(le).idb(1, 0)
	ng.block(0xBAD, make([]byte, 3<<20))
	ng.epb(0, uint64(ts.UnixMicro()), p1, 1500, comments...)
	ng.epb(0, uint64(ts.UnixMicro()), p2, 100)
	ng.epb(0, uint64(ts.UnixMicro()), p2, 100, comments...)
	ng.epb(0, uint64(ts.UnixMicro()), p1, 1500)
	data := ng.bytes()
	want := []fileGot{{ts, p1, 1500, 1, 0}, {ts, p2, 100, 1, 0}, {ts, p2, 100, 1, 0}, {ts, p1, 1500, 1, 0}}
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprint("gzip ", gz), func(t *testing.T) {
			in := data
			if gz {
				in = fileGzip(data)
			}
			got, _, err := fileReadAll(t, "x", in)
			if err != nil {
				t.Fatal(err)
			}
			fileEqual(t, got, want)
		})
	}
}

// fileSynthetic is a file of n packets of size bytes each.
func fileSynthetic(ng bool, n, size int) []byte {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if ng {
		f := (&fileNg{}).shb(binary.LittleEndian).idb(1, 0)
		for i := range n {
			f.epb(0, uint64(ts.Add(time.Duration(i)*time.Millisecond).UnixMicro()), filePayload(byte(i), size), size)
		}
		return f.bytes()
	}
	p := newFilePcap(binary.LittleEndian, false, 1, 262144)
	for i := range n {
		p.record(ts.Add(time.Duration(i)*time.Millisecond), filePayload(byte(i), size), size)
	}
	return p.bytes()
}

func TestFileReaderNoAllocs(t *testing.T) {
	for _, ng := range []bool{false, true} {
		for _, gz := range []bool{false, true} {
			t.Run(fmt.Sprintf("pcapng %v gzip %v", ng, gz), func(t *testing.T) {
				data := fileSynthetic(ng, 3000, 1000)
				if gz {
					data = fileGzip(data)
				}
				r, err := NewReader("x", bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				var f capture.Frame
				allocs := testing.AllocsPerRun(2000, func() {
					if err := r.Next(&f); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Errorf("%v allocations per packet", allocs)
				}
			})
		}
	}
}

func benchmarkFileReader(b *testing.B, ng bool) {
	const packets, size = 100_000, 80
	data := fileSynthetic(ng, packets, size)
	b.SetBytes(int64(len(data) / packets))
	b.ReportAllocs()
	var f capture.Frame
	var r *Reader
	for i := 0; i < b.N; i++ {
		if i%packets == 0 {
			// Opening the file (its 1 MiB buffer) is not per-packet work.
			b.StopTimer()
			var err error
			if r, err = NewReader("bench", bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := r.Next(&f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileReaderPcap reads 80-byte packets from a pcap file in memory;
// one op is one packet.
func BenchmarkFileReaderPcap(b *testing.B) { benchmarkFileReader(b, false) }

// BenchmarkFileReaderPcapng is the same with pcapng enhanced packet blocks.
func BenchmarkFileReaderPcapng(b *testing.B) { benchmarkFileReader(b, true) }

// A block beyond the read buffer that the file cuts short is reported like
// any other truncated block.
func TestFileReaderTruncatedLargeBlock(t *testing.T) {
	le := binary.LittleEndian
	ng := (&fileNg{}).shb(le).idb(1, 0)
	ng.epb(0, 0, filePayload(1, 60), 60, slices.Repeat([]fileOpt{{1, make([]byte, 60000)}}, 20)...)
	data := ng.bytes()
	blockLen := len(data) - 48
	for _, gz := range []bool{false, true} {
		in, name, where := data[:len(data)-1000], "x", "at byte 48"
		if gz {
			in, name, where = fileGzip(in), "x.gz", "at byte 48 of the decompressed data"
		}
		t.Run(name, func(t *testing.T) {
			_, _, err := fileReadAll(t, name, in)
			want := fmt.Sprintf("%s: block 3 %s: enhanced packet block claims %d bytes but the file ends after %d", name, where, blockLen, blockLen-1000)
			if !errors.Is(err, ErrTruncated) || err.Error() != want {
				t.Errorf("got %v\nwant %s", err, want)
			}
		})
	}
}

// Files written by another implementation (Wireshark's wiretap, through
// editcap and mergecap) read the same as their sources.
func TestFileReaderWiretapWritten(t *testing.T) {
	editcap, mergecap := testenv.Tool(t, "editcap"), testenv.Tool(t, "mergecap")
	corpus := testenv.Shared(t, "corpus")
	sources := []string{"irc-353.pcap", "rotation.pcap", "openjdk-25.0.2-zeek.org.pcap", "tcp-handshake-nano.pcap", "bigendian.pcap", "tls-fragmented-handshake.pcap.gz"}
	read := func(t *testing.T, path string) ([]fileGot, *Reader) {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, r, err := fileReadAll(t, filepath.Base(path), data)
		if err != nil {
			t.Fatal(err)
		}
		return got, r
	}
	run := func(t *testing.T, name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v: %s", name, args, err, out)
		}
	}
	dir := t.TempDir()
	for _, src := range sources {
		for _, format := range []string{"pcapng", "nsecpcap", "pcap"} {
			t.Run(src+" as "+format, func(t *testing.T) {
				dst := filepath.Join(dir, src+"."+format)
				run(t, editcap, "-F", format, filepath.Join(corpus, src), dst)
				want, _ := read(t, filepath.Join(corpus, src))
				got, r := read(t, dst)
				if wantFormat := strings.TrimPrefix(format, "nsec"); r.Format() != wantFormat {
					t.Errorf("Format() = %s, want %s", r.Format(), wantFormat)
				}
				if format == "pcap" {
					for i := range want {
						want[i].TS = want[i].TS.Truncate(time.Microsecond) // nanoseconds do not fit
					}
				}
				fileEqual(t, got, want)
			})
		}
	}
	t.Run("merged", func(t *testing.T) {
		dst := filepath.Join(dir, "merged.pcapng")
		var srcs []string
		for _, src := range sources {
			srcs = append(srcs, filepath.Join(corpus, src))
		}
		run(t, mergecap, append([]string{"-F", "pcapng", "-w", dst}, srcs...)...)
		got, r := read(t, dst)
		// mergecap writes one interface per input, packets in time order.
		// Two inputs (bigendian.pcap and tls-fragmented-handshake.pcap.gz)
		// are both unnamed Ethernet with a 65535-byte snap length: one
		// interface to us.
		ifaces := r.Interfaces()
		var distinct []capture.Interface
		var want []fileGot
		for _, src := range sources {
			frames, in := read(t, filepath.Join(corpus, src))
			ifc := in.Interfaces()[0]
			if !slices.Contains(distinct, ifc) {
				distinct = append(distinct, ifc)
			}
			i := slices.Index(ifaces, ifc)
			if i < 0 {
				t.Fatalf("no interface %+v (of %s) among %+v", ifc, src, ifaces)
			}
			for _, f := range frames {
				f.Interface = i
				want = append(want, f)
			}
		}
		if !reflect.DeepEqual(ifaces, distinct) {
			t.Fatalf("interfaces %+v, want the inputs' distinct ones %+v", ifaces, distinct)
		}
		slices.SortStableFunc(want, func(a, b fileGot) int { return a.TS.Compare(b.TS) })
		fileEqual(t, got, want)
	})
}

// A packet of a link type the analyzer does not decode stops its file with
// an error that locates the record or block holding it, as the README's
// errors do.
func TestReadFilesUnsupportedLinkType(t *testing.T) {
	le := binary.LittleEndian
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := filePayload(1, 60)
	// pcapng: SHB (28 bytes), IDB (20), EPB (32+60), IDB (20): the second
	// EPB is block 5 at byte 160.
	ng := (&fileNg{}).shb(le).idb(1, 0)
	ng.epb(0, uint64(ts.UnixMicro()), p, 60).idb(105, 0).epb(1, uint64(ts.UnixMicro()), p, 60)
	tests := []struct {
		name    string
		data    []byte
		packets uint64
		want    string
	}{
		{"pcap", newFilePcap(le, false, 105, 65535).record(ts, p, 60).bytes(), 0,
			"w.pcap: record 1 at byte 24: interface 0: unsupported link type LINKTYPE_105"},
		{"pcapng, second interface", ng.bytes(), 1,
			"w.pcap: block 5 at byte 160: interface 1: unsupported link type LINKTYPE_105"},
		{"gzip", fileGzip(ng.bytes()), 1,
			"w.pcap: block 5 at byte 160 of the decompressed data: interface 1: unsupported link type LINKTYPE_105"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{fileInMemory("w.pcap", tc.data)})
			if in[0].Err == nil || !strings.HasPrefix(in[0].Err.Error(), tc.want) {
				t.Errorf("error %v, want it to start %q", in[0].Err, tc.want)
			}
			if in[0].Packets != tc.packets {
				t.Errorf("%d packets analysed, want %d", in[0].Packets, tc.packets)
			}
		})
	}
}

// A file of many sections, each describing the same interface again (what
// concatenated pcapng files look like), lists that interface once, and
// the drops of every section's interface are summed.
func TestFileReaderManySections(t *testing.T) {
	const sections = 20_000
	le := binary.LittleEndian
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := filePayload(1, 60)
	ng := &fileNg{}
	for i := range sections {
		ng.shb(le).idb(1, 65535, fileOptName("eth0"))
		ng.epb(0, uint64(ts.Add(time.Duration(i)*time.Millisecond).UnixMicro()), p, 60)
		ng.isb(0, 1, 2)
	}
	got, r, err := fileReadAll(t, "x", ng.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if want := []capture.Interface{{Name: "eth0", LinkType: 1, SnapLen: 65535}}; !reflect.DeepEqual(r.Interfaces(), want) {
		t.Errorf("Interfaces() = %d interfaces (%+v...), want %+v", len(r.Interfaces()), r.Interfaces()[:min(3, len(r.Interfaces()))], want)
	}
	if len(got) != sections || got[len(got)-1].Interface != 0 {
		t.Errorf("read %d packets, want %d, all on interface 0", len(got), sections)
	}
	if n, known := r.Drops(); n != 3*sections || !known {
		t.Errorf("Drops() = %d, %v; want %d, true", n, known, 3*sections)
	}
}

// The interfaces a reader keeps are bounded: distinct interfaces beyond
// 4096 in a file, or interface description blocks beyond 2^20 in a
// section, are damage, found where they are, with the packets before them
// read.
func TestFileReaderInterfaceBounds(t *testing.T) {
	le := binary.LittleEndian
	p := filePayload(1, 60)
	distinct := (&fileNg{}).shb(le)
	for i := range fileMaxInterfaces + 1 {
		distinct.idb(1, 65535, fileOptName(fmt.Sprintf("if%04d", i))).epb(uint32(i), uint64(i), p, 60)
	}
	// 2^20 descriptions of the same interface: one distinct interface,
	// but each has its own id in the section.
	same := slices.Concat((&fileNg{}).shb(le).idb(1, 65535).epb(0, 0, p, 60).bytes(),
		bytes.Repeat((&fileNg{bo: le}).idb(1, 65535).bytes(), fileMaxSectionInterfaces))
	const idbLen, epbLen = 36, 92 // with the name option; the packet block
	tests := []struct {
		name    string
		data    []byte
		packets int
		want    string
	}{
		{"distinct interfaces", distinct.bytes(), fileMaxInterfaces,
			fmt.Sprintf("x: block %d at byte %d: interface description block describes a distinct interface beyond the 4096 this reader lists", 2+2*fileMaxInterfaces, 28+fileMaxInterfaces*(idbLen+epbLen))},
		{"descriptions in a section", same, 1,
			fmt.Sprintf("x: block %d at byte %d: the section describes more than 1048576 interfaces", 3+fileMaxSectionInterfaces, 28+epbLen+fileMaxSectionInterfaces*20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := fileReadAll(t, "x", tc.data)
			if len(got) != tc.packets {
				t.Errorf("read %d packets before the damage, want %d", len(got), tc.packets)
			}
			if !errors.Is(err, ErrOversize) || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}
