package savefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"

	"github.com/vpce-verify/vpce-verify/capture"
)

// File is one file a Writer wrote and closed.
type File struct {
	Name   string // as created ("-" for standard output)
	Format string // pcap or pcapng
	Gzip   bool
	// Size is the bytes in the file as stored (compressed when Gzip).
	Size int64
	// SHA256 is the hex digest of those bytes, taken as they were
	// written; "" when the file could not be written whole (Err).
	SHA256  string
	Packets uint64
	// Started is when the file was opened.
	Started time.Time
	Err     error
}

// stored is where a segment's bytes go, hashed and counted on the way.
type stored struct {
	w   io.Writer
	sum hash.Hash
	n   int64
}

func (s *stored) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.sum.Write(p[:n])
	s.n += int64(n)
	return n, err
}

// segment is one open output file: the records are encoded into buf, and
// moved whole to the file (through gzip when asked) at each flush, so that
// the file always ends on a record boundary.
type segment struct {
	name    string
	file    *os.File // nil for standard output
	out     stored
	gz      *gzip.Writer
	buf     bytes.Buffer // whole records not yet in the file
	ng      *pcapgo.NgWriter
	pcap    *pcapgo.Writer
	ifaces  []capture.Interface
	dirty   bool
	raw     int64 // uncompressed bytes moved to the file
	pending int64 // record bytes encoded since (an estimate for pcapng until flushed)
	packets uint64
	started time.Time
}

// openSegment encodes the file header into a new segment, then creates
// the file (or takes dst, standard output) and writes the header, so that
// even a file that never gets a packet is a valid capture.
func openSegment(name, format string, gz bool, ifaces []capture.Interface, dst io.Writer, now time.Time, m Meta) (*segment, error) {
	s := &segment{name: name, ifaces: ifaces, started: now}
	switch format {
	case "pcapng":
		if m.OS == "" {
			m.OS = runtime.GOOS
		}
		if m.Application == "" {
			m.Application = "vpce-verify"
		}
		opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Hardware: runtime.GOARCH, OS: m.OS, Application: m.Application, Comment: m.Comment,
		}}
		ng, err := pcapgo.NewNgWriterInterface(&s.buf, ngInterface(ifaces[0], 0, m), opts)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
		for i, ifc := range ifaces[1:] {
			if _, err := ng.AddInterface(ngInterface(ifc, i+1, m)); err != nil {
				return nil, fmt.Errorf("write %s: %w", name, err)
			}
		}
		s.ng = ng
	default:
		snap := 0
		for _, ifc := range ifaces {
			if ifc.LinkType != ifaces[0].LinkType {
				return nil, fmt.Errorf("write %s: a pcap file holds one link type, but %s is %s and %s is %s: write to a .pcapng file",
					name, ifaces[0].Name, capture.LinkTypeName(ifaces[0].LinkType), ifc.Name, capture.LinkTypeName(ifc.LinkType))
			}
			snap = max(snap, snapLen(ifc))
		}
		s.pcap = pcapgo.NewWriterNanos(&s.buf)
		if err := s.pcap.WriteFileHeader(uint32(snap), ifaces[0].LinkType); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	if dst == nil {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("write: %w", err)
		}
		s.file, dst = f, f
	}
	s.out = stored{w: dst, sum: sha256.New()}
	if gz {
		s.gz = gzip.NewWriter(&s.out)
	}
	if err := s.flush(); err != nil {
		if s.file != nil {
			s.file.Close()
		}
		return nil, err
	}
	return s, nil
}

// snapLen is the snap length written for an interface: libpcap's default
// when the interface does not say.
func snapLen(ifc capture.Interface) int {
	if ifc.SnapLen <= 0 {
		return 262144
	}
	return ifc.SnapLen
}

func ngInterface(ifc capture.Interface, i int, m Meta) pcapgo.NgInterface {
	desc := ""
	if i < len(m.Descriptions) {
		desc = m.Descriptions[i]
	}
	return pcapgo.NgInterface{
		Name:                ifc.Name,
		Description:         desc,
		Filter:              m.Filter,
		OS:                  m.OS,
		LinkType:            ifc.LinkType,
		SnapLength:          uint32(snapLen(ifc)),
		TimestampResolution: 9,
	}
}

// write encodes one frame into the buffer.
func (s *segment) write(f *capture.Frame, comment string) error {
	if f.Interface < 0 || f.Interface >= len(s.ifaces) {
		return fmt.Errorf("write %s: frame of interface %d, the file has %d", s.name, f.Interface, len(s.ifaces))
	}
	ci := gopacket.CaptureInfo{
		Timestamp:      f.TS,
		CaptureLength:  len(f.Data),
		Length:         max(f.WireLen, len(f.Data)),
		InterfaceIndex: f.Interface,
	}
	var err error
	if s.ng != nil {
		var opts pcapgo.NgPacketOptions
		if comment != "" {
			opts.Comments = []string{comment}
			s.pending += 8 + int64(len(comment)+3)&^3
		}
		err = s.ng.WritePacketWithOptions(ci, f.Data, opts)
		s.pending += 32 + int64(len(f.Data)+3)&^3
	} else {
		if f.LinkType != s.ifaces[0].LinkType && f.LinkType != 0 {
			return fmt.Errorf("write %s: a %s frame in a %s pcap file", s.name, capture.LinkTypeName(f.LinkType), capture.LinkTypeName(s.ifaces[0].LinkType))
		}
		err = s.pcap.WritePacket(ci, f.Data)
		s.pending += 16 + int64(len(f.Data))
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", s.name, err)
	}
	s.packets++
	s.dirty = true
	return nil
}

// size is the uncompressed size of the file so far, what -C compares.
func (s *segment) size() int64 { return s.raw + s.pending }

// flush moves the whole records encoded so far to the file; through gzip,
// with a sync flush, so that what is in the file decompresses up to there.
func (s *segment) flush() error {
	if s.ng != nil {
		if err := s.ng.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", s.name, err)
		}
	}
	s.dirty = false
	s.pending = 0
	if s.buf.Len() == 0 {
		return nil
	}
	s.raw += int64(s.buf.Len())
	var err error
	if s.gz != nil {
		if _, err = s.gz.Write(s.buf.Bytes()); err == nil {
			err = s.gz.Flush()
		}
	} else {
		_, err = s.out.Write(s.buf.Bytes())
	}
	s.buf.Reset()
	if err != nil {
		return fmt.Errorf("write %s: %w", s.name, err)
	}
	return nil
}

// close writes what is buffered (and, with stats, a pcapng interface
// statistics block per interface), ends the gzip stream and closes the
// file, and says what the file holds.
func (s *segment) close(stats []capture.Counts, prior error) File {
	f := File{Name: s.name, Packets: s.packets, Started: s.started, Gzip: s.gz != nil, Format: "pcap"}
	if s.ng != nil {
		f.Format = "pcapng"
	}
	err := prior
	if err == nil && s.ng != nil && len(stats) > 0 {
		now := time.Now()
		for i := range s.ifaces {
			if i >= len(stats) {
				break
			}
			st := pcapgo.NgInterfaceStatistics{LastUpdate: now, PacketsReceived: stats[i].Received, PacketsDropped: stats[i].Dropped}
			if e := s.ng.WriteInterfaceStats(i, st); e != nil {
				err = fmt.Errorf("write %s: %w", s.name, e)
				break
			}
		}
	}
	if err == nil {
		err = s.flush()
	}
	if err == nil && s.gz != nil {
		if e := s.gz.Close(); e != nil {
			err = fmt.Errorf("write %s: %w", s.name, e)
		}
	}
	if s.file != nil {
		if err == nil {
			if e := s.file.Sync(); e != nil {
				err = fmt.Errorf("write %s: %w", s.name, e)
			}
		}
		if e := s.file.Close(); e != nil && err == nil {
			err = fmt.Errorf("write %s: %w", s.name, e)
		}
	}
	f.Size = s.out.n
	f.Err = err
	if err == nil {
		f.SHA256 = hex.EncodeToString(s.out.sum.Sum(nil))
	}
	return f
}
