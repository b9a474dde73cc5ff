package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/gopacket/gopacket/layers"
	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/tcpdumptext"
)

// Errors wrapped by a Error, so callers can tell kinds of damage apart
// with errors.Is.
var (
	// ErrNotCapture means the input is neither pcap nor pcapng (plain or
	// gzip-compressed): its first bytes are no known magic number.
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrTruncated means the input ends inside a header, a record or a
	// block, or a gzip stream ends before its end marker. It wraps
	// io.ErrUnexpectedEOF.
	ErrTruncated = fmt.Errorf("truncated: %w", io.ErrUnexpectedEOF)
	// ErrOversize means a length field claims more than the reader accepts:
	// a packet over 262144 bytes (libpcap's and Wireshark's limit) or a
	// pcapng block over 16 MiB. Nothing of that size is ever allocated.
	ErrOversize = errors.New("length beyond the allowed maximum")
	// ErrMalformed means a field holds an impossible value: a block length
	// that is not a multiple of 4, a trailing block length that differs from
	// the leading one, a packet for an interface that was never described,
	// a corrupt gzip stream.
	ErrMalformed = errors.New("malformed")
)

// Error is a damaged or unreadable input: where it is and what was wrong.
type Error struct {
	File string
	// Record is the 1-based number of the damaged packet record (pcap) or
	// block (pcapng; the first section header block is block 1); 0 means
	// the file header.
	Record int
	// Offset is the byte offset where that record or block starts, counted
	// in the decompressed data when the file is gzip-compressed.
	Offset int64
	// Err wraps one of ErrNotCapture, ErrTruncated, ErrOversize and
	// ErrMalformed, or is the underlying reader's own error.
	Err error

	block bool // Record counts pcapng blocks
	gzip  bool // Offset counts decompressed bytes
}

// Error says which file, where and what, e.g. "capture.pcap: record 7 at
// byte 5640: header claims a 4325376-byte packet, more than the
// 262144-byte maximum".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Record == 0 {
		b.WriteString("file header")
	} else {
		unit := "record"
		if e.block {
			unit = "block"
		}
		fmt.Fprintf(&b, "%s %d at byte %d", unit, e.Record, e.Offset)
		if e.gzip {
			b.WriteString(" of the decompressed data")
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause, which wraps one of the sentinel errors above or
// is the error of the underlying reader.
func (e *Error) Unwrap() error { return e.Err }

// fileDamage is a cause with its own wording that still matches a sentinel
// (and, for gzip, the decompressor's error) under errors.Is.
type fileDamage struct {
	msg  string
	kind []error
}

func (d *fileDamage) Error() string   { return d.msg }
func (d *fileDamage) Unwrap() []error { return d.kind }

func fileDamagef(kind error, format string, args ...any) error {
	return &fileDamage{msg: fmt.Sprintf(format, args...), kind: []error{kind}}
}

const (
	// fileMaxPacket is libpcap's and Wireshark's bound on one packet.
	fileMaxPacket = 262144
	// fileMaxBlock bounds a pcapng block; real blocks are a packet plus
	// options, far below it.
	fileMaxBlock = 16 << 20
	// fileBufSize holds any pcap record, so pcap packets are handed out
	// straight from the bufio buffer.
	fileBufSize = 1 << 20
	// fileMaxInterfaces bounds the distinct interfaces (name, link type,
	// snap length) of one file. A host has tens; mergecap writes one per
	// input it merged unless they are identical. A file describing more is
	// hostile or broken, and the list would otherwise grow with it.
	fileMaxInterfaces = 4096
	// fileMaxSectionInterfaces bounds the interface description blocks of
	// one section, each of which the section's packets may name (and which
	// must therefore be kept until the section ends).
	fileMaxSectionInterfaces = 1 << 20
	// fileMaxIfName bounds an interface name: names are for the people
	// reading the report, and Linux allows 15 bytes.
	fileMaxIfName = 256

	fileBlockSHB = 0x0A0D0D0A
	fileBlockIDB = 0x00000001
	fileBlockPB  = 0x00000002 // obsolete Packet Block
	fileBlockSPB = 0x00000003
	fileBlockISB = 0x00000005
	fileBlockEPB = 0x00000006
)

// Reader reads packets from a pcap or pcapng file, plain or
// gzip-compressed.
type Reader struct {
	name string
	br   *bufio.Reader
	gz   bool
	ng   bool
	bo   binary.ByteOrder

	off     int64 // stream offset of the next unread record or block
	pending int   // bytes peeked for the last record, discarded on the next call
	buf     []byte
	err     error // sticky: io.EOF or a *Error

	records int // packets returned
	blocks  int // pcapng blocks started, the first section header being 1
	// lastNum and lastOff locate the record (pcap) or block (pcapng) of
	// the packet returned last, for errors found in it later (an
	// unsupported link type).
	lastNum int
	lastOff int64

	// pcap
	fracNs   int64 // nanoseconds per unit of the record's fraction field
	linkType layers.LinkType

	// ifaces are the distinct interfaces met so far, which Frame.Interface
	// indexes; ifaceIndex finds one in it (pcapng only). An interface
	// described again, in a later section or twice in one, is listed once,
	// so the list stays as short as the distinct interfaces are few
	// however many sections and blocks the file has.
	ifaces     []capture.Interface
	ifaceIndex map[capture.Interface]int

	// pcapng
	// sec holds the current section's interfaces by their id in the
	// section; a section header block empties it, as interface ids start
	// again at 0 in each section.
	sec        []fileIfaceInfo
	drops      uint64 // the latest isb_ifdrop plus isb_osdrop of every interface, summed
	dropsKnown bool
	lastTS     time.Time

	// peekLimit, when not 0, is the offset past which Next gives up
	// looking for a packet (errPeekLimit): ReadFiles only wants the first
	// packet's time, at a bounded cost.
	peekLimit int64

	// text reads the input when it is tcpdump's text, not a capture
	// file: its frames are built from the lines.
	text *tcpdumptext.Reader

	// bufs are the read buffers taken from fileBufPool and zr the gzip
	// reader from fileGzipPool, given back by release.
	bufs []*bufio.Reader
	zr   *gzip.Reader
}

// fileIfaceInfo is one interface description block of the current section.
type fileIfaceInfo struct {
	unitsPerSec uint64
	tsOffset    int64
	ifDrop      uint64
	osDrop      uint64
	index       int32 // in Reader.ifaces
	linkType    layers.LinkType
}

// Read buffers and gzip decompressors are reused from one file to the
// next: a run over thousands of small rotated files would otherwise
// allocate (and zero) a MiB or two for each.
var (
	fileBufPool  = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, fileBufSize) }}
	fileGzipPool sync.Pool // *gzip.Reader
)

// newBuf takes a read buffer from the pool for r.
func (r *Reader) newBuf(rd io.Reader) *bufio.Reader {
	br := fileBufPool.Get().(*bufio.Reader)
	br.Reset(rd)
	r.bufs = append(r.bufs, br)
	return br
}

// release gives the reader's buffers back for the next file. The reader is
// unusable afterwards, and so is the Data of the last Frame it filled.
func (r *Reader) release() {
	for _, br := range r.bufs {
		br.Reset(nil)
		fileBufPool.Put(br)
	}
	r.bufs, r.br, r.text = nil, nil, nil
	if r.zr != nil {
		fileGzipPool.Put(r.zr)
		r.zr = nil
	}
	if r.err == nil {
		r.err = errFileReleased
	}
}

var (
	errFileReleased = errors.New("reader released")
	errPeekLimit    = errors.New("no packet near the start")
)

// NewReader reads the file header from r. name is used only in errors.
// The format is detected from the magic bytes, never from the name; gzip
// (1f 8b) is detected the same way and decompressed transparently,
// multi-member streams too.
func NewReader(name string, r io.Reader) (*Reader, error) {
	fr := &Reader{name: name}
	if err := fr.open(r); err != nil {
		fr.release()
		return nil, err
	}
	return fr, nil
}

// open reads the file header; on error the caller releases fr.
func (fr *Reader) open(r io.Reader) error {
	fr.br = fr.newBuf(r)
	if m, _ := fr.br.Peek(2); len(m) == 2 && m[0] == 0x1f && m[1] == 0x8b {
		fr.gz = true
		fr.zr, _ = fileGzipPool.Get().(*gzip.Reader)
		if fr.zr == nil {
			fr.zr = new(gzip.Reader)
		}
		if err := fr.zr.Reset(fr.br); err != nil {
			return fr.fail(0, 0, fr.readDamage(err, "the gzip header"))
		}
		fr.br = fr.newBuf(fr.zr)
	}
	magic, err := fr.br.Peek(4)
	if len(magic) < 4 {
		if len(magic) == 0 && err == io.EOF {
			what := "the file is empty"
			if fr.gz {
				what = "the decompressed data is empty"
			}
			return fr.fail(0, 0, fileDamagef(ErrTruncated, "%s", what))
		}
		if err != io.EOF {
			return fr.fail(0, 0, fr.readDamage(err, "the file header"))
		}
		return fr.fail(0, 0, fileDamagef(ErrTruncated, "the data is only %d bytes long, too short for a capture file header", len(magic)))
	}
	switch {
	case magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a:
		fr.ng = true
		return fr.readBlock(nil)
	case fileIsPcapMagic(magic):
		if err := fr.readPcapHeader(); err != nil {
			return fr.fail(0, 0, err)
		}
		return nil
	}
	// Not a capture file: the text tcpdump printed from one is read too.
	if head, _ := fr.br.Peek(tcpdumptext.DetectSize); tcpdumptext.Detect(head) {
		fr.text = tcpdumptext.NewReader(fr.name, fr.br)
		fr.ifaces = []capture.Interface{{LinkType: tcpdumptext.LinkType}}
		return nil
	}
	return fr.fail(0, 0, fileDamagef(ErrNotCapture, "not a pcap or pcapng file (magic % x)", magic))
}

func fileIsPcapMagic(m []byte) bool {
	le := binary.LittleEndian.Uint32(m)
	be := binary.BigEndian.Uint32(m)
	for _, v := range []uint32{le, be} {
		if v == 0xa1b2c3d4 || v == 0xa1b23c4d {
			return true
		}
	}
	return false
}

// Format says "pcap", "pcapng" or "tcpdump-text" (tcpdumptext.Format).
func (r *Reader) Format() string {
	if r.text != nil {
		return tcpdumptext.Format
	}
	if r.ng {
		return "pcapng"
	}
	return "pcap"
}

// Gzip reports whether the input was gzip-compressed.
func (r *Reader) Gzip() bool { return r.gz }

// Interfaces lists the distinct capture interfaces described so far: the
// single one of a pcap file, or those of the pcapng interface description
// blocks read so far, across all sections, in order of first description.
// An interface described again with the same name, link type and snap
// length (in a later section, or twice in one) is listed once, and a file
// describing more than 4096 distinct interfaces is refused (ErrOversize).
// Frame.Interface indexes this list.
func (r *Reader) Interfaces() []capture.Interface {
	return slices.Clone(r.ifaces)
}

// Records returns how many packets Next has returned so far.
func (r *Reader) Records() int { return r.records }

// Drops returns the packets the capture lost, as the pcapng interface
// statistics blocks read so far tell it: for each interface description
// block the latest isb_ifdrop plus the latest isb_osdrop, summed over them
// all, in every section. known is false when no block said anything about
// drops (always so for pcap, which has no place to record them).
func (r *Reader) Drops() (n uint64, known bool) {
	if r.text != nil {
		return r.text.Drops()
	}
	return r.drops, r.dropsKnown
}

// Note says what a report must say about the input besides any error: for
// tcpdump's text, that it has no TLS server names or payload (and, when
// so, no dates, and lines of other protocols skipped). "" for a capture
// file.
func (r *Reader) Note() string {
	if r.text != nil {
		return r.text.Note()
	}
	return ""
}

// Next fills f with the next packet. f.Data aliases an internal buffer that
// is valid until the next call. Next returns io.EOF at a clean end of file
// and a *Error otherwise; after either, every later call returns the
// same error.
//
// WireLen is never less than len(Data): a record whose original length is
// smaller than its captured length (a writer's bug) gets the captured
// length. A pcapng simple packet block carries no timestamp: its TS is the
// one of the packet before it (the zero Time if there was none).
func (r *Reader) Next(f *capture.Frame) error {
	if r.err != nil {
		return r.err
	}
	var err error
	switch {
	case r.text != nil:
		err = r.text.Next(f)
	case r.ng:
		err = r.readBlock(f)
	default:
		err = r.nextPcap(f)
	}
	if err != nil {
		r.err = err
		return err
	}
	r.records++
	return nil
}

// fail builds the Error for the record or block starting at off.
func (r *Reader) fail(record int, off int64, err error) error {
	return &Error{File: r.name, Record: record, Offset: off, Err: err, block: r.ng, gzip: r.gz}
}

// readDamage turns an error of the underlying reader met while reading what
// into the cause of a Error.
func (r *Reader) readDamage(err error, what string) error {
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		if r.gz && err == io.ErrUnexpectedEOF {
			return fileDamagef(ErrTruncated, "the gzip stream ends inside %s", what)
		}
		return fileDamagef(ErrTruncated, "the file ends inside %s", what)
	case errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader):
		return &fileDamage{msg: err.Error(), kind: []error{ErrMalformed, err}}
	case errors.As(err, new(flate.CorruptInputError)):
		return &fileDamage{msg: "gzip: " + err.Error(), kind: []error{ErrMalformed, err}}
	}
	return err
}

// peek returns the next n (at most fileBufSize) bytes without consuming
// them, after dropping what the previous call handed out. A short result
// comes with the reader's error.
func (r *Reader) peek(n int) ([]byte, error) {
	r.flush()
	b, err := r.br.Peek(n)
	if len(b) == n {
		return b, nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return b, err
}

// flush drops the bytes handed out by the previous peek or take.
func (r *Reader) flush() {
	if r.pending > 0 {
		// They are buffered already: Discard cannot fail here.
		_, _ = r.br.Discard(r.pending)
		r.pending = 0
	}
}

// take consumes the next n bytes and returns them; they stay valid until
// the next peek or take. Blocks larger than the bufio buffer are copied into
// r.buf, which grows only as bytes arrive, so a length field cannot make
// the reader allocate more than the input holds.
func (r *Reader) take(n int) ([]byte, int, error) {
	if n <= fileBufSize {
		b, err := r.peek(n)
		if len(b) == n {
			r.pending = n
		}
		return b, len(b), err
	}
	r.flush()
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		chunk := min(n-len(r.buf), 64<<10)
		r.buf = slices.Grow(r.buf, chunk)
		got, err := r.br.Read(r.buf[len(r.buf) : len(r.buf)+chunk])
		r.buf = r.buf[:len(r.buf)+got]
		if err != nil && len(r.buf) < n {
			// io.EOF is the data's clean end, anything else the reader's.
			return nil, len(r.buf), err
		}
	}
	return r.buf, n, nil
}

func (r *Reader) readPcapHeader() error {
	h, err := r.peek(24)
	if len(h) < 24 {
		if err != io.EOF {
			return r.readDamage(err, "the 24-byte pcap file header")
		}
		return fileDamagef(ErrTruncated, "the pcap file header is 24 bytes but the file ends after %d", len(h))
	}
	r.bo = binary.LittleEndian
	if binary.BigEndian.Uint32(h) == 0xa1b2c3d4 || binary.BigEndian.Uint32(h) == 0xa1b23c4d {
		r.bo = binary.BigEndian
	}
	r.fracNs = 1000
	if r.bo.Uint32(h) == 0xa1b23c4d {
		r.fracNs = 1
	}
	if major := r.bo.Uint16(h[4:]); major != 2 {
		return fileDamagef(ErrMalformed, "unsupported pcap version %d.%d", major, r.bo.Uint16(h[6:]))
	}
	// The upper bits of the network field carry FCS information.
	r.linkType = layers.LinkType(r.bo.Uint32(h[20:]) & 0xffff)
	r.ifaces = []capture.Interface{{LinkType: r.linkType, SnapLen: int(r.bo.Uint32(h[16:]))}}
	r.pending = 24
	r.off = 24
	return nil
}

func (r *Reader) nextPcap(f *capture.Frame) error {
	rec, start := r.records+1, r.off
	h, err := r.peek(16)
	if len(h) < 16 {
		if len(h) == 0 && err == io.EOF {
			return io.EOF
		}
		if err != io.EOF {
			return r.fail(rec, start, r.readDamage(err, "the record header"))
		}
		return r.fail(rec, start, fileDamagef(ErrTruncated, "the file ends %d bytes into the 16-byte record header", len(h)))
	}
	caplen, origlen := r.bo.Uint32(h[8:]), r.bo.Uint32(h[12:])
	if caplen > fileMaxPacket {
		return r.fail(rec, start, fileDamagef(ErrOversize, "header claims a %d-byte packet, more than the %d-byte maximum", caplen, fileMaxPacket))
	}
	sec, frac := r.bo.Uint32(h[0:]), r.bo.Uint32(h[4:])
	n := 16 + int(caplen)
	b, got, err := r.take(n)
	if got < n {
		if err != io.EOF {
			return r.fail(rec, start, r.readDamage(err, "the packet data"))
		}
		return r.fail(rec, start, fileDamagef(ErrTruncated, "the record holds a %d-byte packet but the file ends after %d of its bytes", caplen, got-16))
	}
	r.off += int64(n)
	r.lastNum, r.lastOff = rec, start
	f.TS = time.Unix(int64(sec), int64(frac)*r.fracNs).UTC()
	f.Data = b[16:n:n]
	f.WireLen = int(max(caplen, origlen))
	f.LinkType = r.linkType
	f.Interface = 0
	return nil
}

// readBlock reads pcapng blocks until one holds a packet, which it puts in
// f. With f nil it reads only the section header block that opens the file.
func (r *Reader) readBlock(f *capture.Frame) error {
	for {
		if r.peekLimit > 0 && r.off > r.peekLimit && f != nil {
			return errPeekLimit
		}
		r.blocks++
		start := r.off
		num := r.blocks
		if num == 1 {
			num = 0 // the file header
		}
		fail := func(err error) error { return r.fail(num, start, err) }

		h, err := r.peek(8)
		if len(h) < 8 {
			if len(h) == 0 && err == io.EOF && f != nil {
				r.blocks--
				return io.EOF
			}
			if err != io.EOF {
				return fail(r.readDamage(err, "the block header"))
			}
			return fail(fileDamagef(ErrTruncated, "the file ends %d bytes into the block header", len(h)))
		}
		typ := binary.LittleEndian.Uint32(h) // the section header type reads the same either way
		bo := r.bo
		if typ == fileBlockSHB {
			h, err = r.peek(12)
			if len(h) < 12 {
				if err != io.EOF {
					return fail(r.readDamage(err, "the section header block"))
				}
				return fail(fileDamagef(ErrTruncated, "the file ends %d bytes into the section header block", len(h)))
			}
			switch binary.LittleEndian.Uint32(h[8:]) {
			case 0x1a2b3c4d:
				bo = binary.LittleEndian
			case 0x4d3c2b1a:
				bo = binary.BigEndian
			default:
				return fail(fileDamagef(ErrMalformed, "section header block has byte-order magic % x, not 1a 2b 3c 4d", h[8:12]))
			}
		} else {
			typ = bo.Uint32(h)
		}
		length := bo.Uint32(h[4:])
		name := fileBlockName(typ)
		if length > fileMaxBlock {
			return fail(fileDamagef(ErrOversize, "%s claims %d bytes, more than the %d-byte maximum", name, length, fileMaxBlock))
		}
		if least := fileBlockMin(typ); length < least {
			return fail(fileDamagef(ErrMalformed, "%s length %d is less than its %d-byte minimum", name, length, least))
		}
		if length%4 != 0 {
			return fail(fileDamagef(ErrMalformed, "%s length %d is not a multiple of 4", name, length))
		}
		n := int(length)

		if fileBlockSkipped(typ) {
			// Name resolution, decryption secrets, custom and unknown blocks
			// say nothing this reader reports: skip them without buffering.
			r.flush()
			skipped, err := r.br.Discard(n - 4)
			var t []byte
			if skipped == n-4 {
				t, err = r.peek(4)
			}
			if len(t) < 4 {
				if err != io.EOF {
					return fail(r.readDamage(err, name))
				}
				return fail(fileDamagef(ErrTruncated, "%s claims %d bytes but the file ends after %d", name, n, skipped+len(t)))
			}
			if trail := bo.Uint32(t); trail != length {
				return fail(fileDamagef(ErrMalformed, "%s ends with length %d, not the %d it starts with", name, trail, length))
			}
			r.pending = 4
			r.off += int64(n)
			continue
		}

		b, got, err := r.take(n)
		if got < n {
			if err != io.EOF {
				return fail(r.readDamage(err, name))
			}
			return fail(fileDamagef(ErrTruncated, "%s claims %d bytes but the file ends after %d", name, n, got))
		}
		if trail := bo.Uint32(b[n-4:]); trail != length {
			return fail(fileDamagef(ErrMalformed, "%s ends with length %d, not the %d it starts with", name, trail, length))
		}
		r.off += int64(n)
		body := b[8 : n-4]

		switch typ {
		case fileBlockSHB:
			if major := bo.Uint16(body[4:]); major != 1 {
				return fail(fileDamagef(ErrMalformed, "unsupported pcapng version %d.%d", major, bo.Uint16(body[6:])))
			}
			r.bo = bo
			// Interface ids start again at 0: the previous section's
			// interfaces stay listed (deduplicated) in r.ifaces, but
			// nothing can name them by id any more.
			r.sec = r.sec[:0]
			if f == nil {
				return nil
			}
		case fileBlockIDB:
			if err := r.readIDB(body); err != nil {
				return fail(err)
			}
		case fileBlockISB:
			if err := r.readISB(body); err != nil {
				return fail(err)
			}
		case fileBlockEPB, fileBlockPB, fileBlockSPB:
			if err := r.readPacket(typ, body, f); err != nil {
				return fail(err)
			}
			r.lastNum, r.lastOff = num, start
			return nil
		}
	}
}

// fileBlockSkipped reports whether a block type carries nothing the reader
// uses.
func fileBlockSkipped(typ uint32) bool {
	switch typ {
	case fileBlockSHB, fileBlockIDB, fileBlockPB, fileBlockSPB, fileBlockISB, fileBlockEPB:
		return false
	}
	return true
}

func fileBlockName(typ uint32) string {
	switch typ {
	case fileBlockSHB:
		return "section header block"
	case fileBlockIDB:
		return "interface description block"
	case fileBlockPB:
		return "packet block"
	case fileBlockSPB:
		return "simple packet block"
	case fileBlockISB:
		return "interface statistics block"
	case fileBlockEPB:
		return "enhanced packet block"
	}
	return fmt.Sprintf("block of type %#x", typ)
}

// fileBlockMin is the smallest valid total length of a block type: header,
// fixed fields and trailing length.
func fileBlockMin(typ uint32) uint32 {
	switch typ {
	case fileBlockSHB:
		return 28
	case fileBlockIDB:
		return 20
	case fileBlockPB, fileBlockEPB:
		return 32
	case fileBlockSPB:
		return 16
	case fileBlockISB:
		return 24
	}
	return 12
}

// fileOptions calls fn for each option in opts, stopping at opt_endofopt.
func (r *Reader) fileOptions(block string, opts []byte, fn func(code uint16, val []byte) error) error {
	for len(opts) >= 4 {
		code, l := r.bo.Uint16(opts), int(r.bo.Uint16(opts[2:]))
		if code == 0 {
			return nil
		}
		if l > len(opts)-4 {
			return fileDamagef(ErrMalformed, "%s option %d claims %d bytes but only %d remain", block, code, l, len(opts)-4)
		}
		if err := fn(code, opts[4:4+l]); err != nil {
			return err
		}
		// Tolerate a last option whose padding is missing.
		opts = opts[min(4+(l+3)&^3, len(opts)):]
	}
	return nil
}

func (r *Reader) readIDB(body []byte) error {
	if len(r.sec) >= fileMaxSectionInterfaces {
		return fileDamagef(ErrOversize, "the section describes more than %d interfaces", fileMaxSectionInterfaces)
	}
	in := capture.Interface{LinkType: layers.LinkType(r.bo.Uint16(body)), SnapLen: int(r.bo.Uint32(body[4:]))}
	info := fileIfaceInfo{unitsPerSec: 1e6, linkType: in.LinkType}
	err := r.fileOptions("interface description block", body[8:], func(code uint16, val []byte) error {
		switch code {
		case 2: // if_name
			val = val[:min(len(val), fileMaxIfName)]
			in.Name = strings.TrimRight(string(val), "\x00")
		case 9: // if_tsresol
			if len(val) != 1 {
				return fileDamagef(ErrMalformed, "if_tsresol option is %d bytes, not 1", len(val))
			}
			exp, base, limit := uint64(val[0]&0x7f), uint64(10), uint64(19)
			if val[0]&0x80 != 0 {
				base, limit = 2, 63
			}
			if exp > limit {
				return fileDamagef(ErrMalformed, "if_tsresol %d^-%d is finer than this reader supports", base, exp)
			}
			info.unitsPerSec = 1
			for range exp {
				info.unitsPerSec *= base
			}
		case 14: // if_tsoffset
			if len(val) != 8 {
				return fileDamagef(ErrMalformed, "if_tsoffset option is %d bytes, not 8", len(val))
			}
			info.tsOffset = int64(r.bo.Uint64(val))
		}
		return nil
	})
	if err != nil {
		return err
	}
	i, ok := r.ifaceIndex[in]
	if !ok {
		if len(r.ifaces) >= fileMaxInterfaces {
			return fileDamagef(ErrOversize, "interface description block describes a distinct interface beyond the %d this reader lists", fileMaxInterfaces)
		}
		if r.ifaceIndex == nil {
			r.ifaceIndex = make(map[capture.Interface]int)
		}
		i = len(r.ifaces)
		r.ifaceIndex[in] = i
		r.ifaces = append(r.ifaces, in)
	}
	info.index = int32(i)
	r.sec = append(r.sec, info)
	return nil
}

// fileIface returns the current section's interface id.
func (r *Reader) fileIface(block string, id uint32) (*fileIfaceInfo, error) {
	if uint64(id) >= uint64(len(r.sec)) {
		return nil, fileDamagef(ErrMalformed, "%s names interface %d but its section describes %d", block, id, len(r.sec))
	}
	return &r.sec[id], nil
}

func (r *Reader) readISB(body []byte) error {
	info, err := r.fileIface("interface statistics block", r.bo.Uint32(body))
	if err != nil {
		return err
	}
	return r.fileOptions("interface statistics block", body[12:], func(code uint16, val []byte) error {
		if code != 5 && code != 7 { // isb_ifdrop, isb_osdrop
			return nil
		}
		if len(val) != 8 {
			return fileDamagef(ErrMalformed, "interface statistics option %d is %d bytes, not 8", code, len(val))
		}
		// Counters are cumulative: the latest replaces the one before in
		// the sum.
		v := r.bo.Uint64(val)
		if code == 5 {
			r.drops += v - info.ifDrop
			info.ifDrop = v
		} else {
			r.drops += v - info.osDrop
			info.osDrop = v
		}
		r.dropsKnown = true
		return nil
	})
}

func (r *Reader) readPacket(typ uint32, body []byte, f *capture.Frame) error {
	name := fileBlockName(typ)
	if typ == fileBlockSPB {
		// A simple packet block belongs to the section's first interface.
		if len(r.sec) == 0 {
			return fileDamagef(ErrMalformed, "simple packet block before any interface description block of its section")
		}
		info := &r.sec[0]
		origlen := r.bo.Uint32(body)
		caplen := min(uint64(origlen), uint64(len(body)-4))
		if snap := r.ifaces[info.index].SnapLen; snap > 0 {
			caplen = min(caplen, uint64(snap))
		}
		if caplen > fileMaxPacket {
			return fileDamagef(ErrOversize, "%s holds a %d-byte packet, more than the %d-byte maximum", name, caplen, fileMaxPacket)
		}
		f.TS = r.lastTS
		f.Data = body[4 : 4+caplen : 4+caplen]
		f.WireLen = int(max(uint64(origlen), caplen))
		f.LinkType = info.linkType
		f.Interface = int(info.index)
		return nil
	}
	id := r.bo.Uint32(body)
	if typ == fileBlockPB {
		id = uint32(r.bo.Uint16(body))
	}
	info, err := r.fileIface(name, id)
	if err != nil {
		return err
	}
	ts := uint64(r.bo.Uint32(body[4:]))<<32 | uint64(r.bo.Uint32(body[8:]))
	caplen, origlen := r.bo.Uint32(body[12:]), r.bo.Uint32(body[16:])
	if caplen > fileMaxPacket {
		return fileDamagef(ErrOversize, "%s claims a %d-byte packet, more than the %d-byte maximum", name, caplen, fileMaxPacket)
	}
	if room := len(body) - 20; int(caplen) > room {
		return fileDamagef(ErrMalformed, "%s claims a %d-byte packet but has room for %d", name, caplen, room)
	}
	f.TS = fileTime(ts, info.unitsPerSec, info.tsOffset)
	r.lastTS = f.TS
	f.Data = body[20 : 20+caplen : 20+caplen]
	f.WireLen = int(max(caplen, origlen))
	f.LinkType = info.linkType
	f.Interface = int(info.index)
	return nil
}

// fileTime converts a pcapng timestamp of ts units (unitsPerSec to the
// second) plus offset seconds, truncating below the nanosecond.
func fileTime(ts, unitsPerSec uint64, offset int64) time.Time {
	sec, rem := ts/unitsPerSec, ts%unitsPerSec
	hi, lo := bits.Mul64(rem, 1e9)
	nsec, _ := bits.Div64(hi, lo, unitsPerSec) // hi < unitsPerSec as rem < unitsPerSec
	return time.Unix(int64(sec)+offset, int64(nsec)).UTC()
}
