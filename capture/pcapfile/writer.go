package pcapfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/vpce-verify/vpce-verify/capture"
)

// A Writer keeps whole records in memory and writes them to the file at
// least this often, and whenever this many bytes are waiting: a capture
// killed at any moment leaves a file that ends on a record boundary and
// holds everything up to the previous write.
const (
	writerFlushEvery = time.Second
	writerFlushBytes = 1 << 20
)

// Writer saves frames to a pcapng or pcap file, chosen by the file's
// extension. A pcapng file keeps each interface's name and link type (one
// interface description block each) and, at Close, its kernel counters; a
// pcap file holds one link type. Timestamps keep their nanoseconds. Its
// methods may be called from several goroutines.
type Writer struct {
	path   string
	ifaces []capture.Interface

	mu     sync.Mutex
	file   *os.File
	buf    bytes.Buffer // whole records not yet in the file
	ng     *pcapgo.NgWriter
	pcap   *pcapgo.Writer
	dirty  bool
	err    error // the first failure; every later call returns it
	closed bool
	sum    hash.Hash // of every byte in the file
	// closedOK is set when Close wrote and closed the file without error.
	closedOK bool

	stop chan struct{}
	done chan struct{}
}

// WriterOptions are what a pcapng file says of itself besides the packets:
// its section header's comment, shb_os, shb_hardware and shb_userappl,
// and each interface's if_description and if_filter (Wireshark's capture
// file properties show them). A pcap file has no place for them.
type WriterOptions struct {
	// Comment is the section's comment (opt_comment): what the file is.
	Comment string
	// OS is shb_os, e.g. "Linux 6.1.0-18-amd64 x86_64"; default
	// runtime.GOOS.
	OS string
	// Application is shb_userappl, e.g. "vpce-verify v1.2.0"; default
	// "vpce-verify".
	Application string
	// Descriptions are if_description, by interface index (missing or ""
	// for none).
	Descriptions []string
	// Filter is if_filter of every interface: the capture filter in use.
	Filter string
}

// NewWriter creates (or truncates) path and writes the file header and, for
// pcapng, one interface block per interface; Frame.Interface indexes
// ifaces. A .pcap file needs all interfaces to share one link type.
func NewWriter(path string, ifaces []capture.Interface) (*Writer, error) {
	return NewWriterOptions(path, ifaces, WriterOptions{})
}

// NewWriterOptions is NewWriter with what a pcapng file says of itself.
func NewWriterOptions(path string, ifaces []capture.Interface, o WriterOptions) (*Writer, error) {
	if len(ifaces) == 0 {
		return nil, fmt.Errorf("write %s: no interface", path)
	}
	w := &Writer{path: path, ifaces: ifaces, sum: sha256.New(), stop: make(chan struct{}), done: make(chan struct{})}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".pcapng":
		if o.OS == "" {
			o.OS = runtime.GOOS
		}
		if o.Application == "" {
			o.Application = "vpce-verify"
		}
		opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Hardware: runtime.GOARCH, OS: o.OS, Application: o.Application, Comment: o.Comment,
		}}
		ng, err := pcapgo.NewNgWriterInterface(&w.buf, writerNgInterface(ifaces[0], 0, o), opts)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		for i, ifc := range ifaces[1:] {
			if _, err := ng.AddInterface(writerNgInterface(ifc, i+1, o)); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
		}
		if err := ng.Flush(); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		w.ng = ng
	case ".pcap":
		snap := 0
		for _, ifc := range ifaces {
			if ifc.LinkType != ifaces[0].LinkType {
				return nil, fmt.Errorf("write %s: a pcap file holds one link type, but %s is %s and %s is %s: write to a .pcapng file",
					path, ifaces[0].Name, capture.LinkTypeName(ifaces[0].LinkType), ifc.Name, capture.LinkTypeName(ifc.LinkType))
			}
			snap = max(snap, writerSnap(ifc))
		}
		w.pcap = pcapgo.NewWriterNanos(&w.buf)
		if err := w.pcap.WriteFileHeader(uint32(snap), ifaces[0].LinkType); err != nil {
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("write %s: unknown extension %q: name the file .pcapng or .pcap", path, ext)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	w.file = f
	if err := w.flushLocked(); err != nil {
		f.Close()
		return nil, err
	}
	go w.flusher()
	return w, nil
}

// writerSnap is the snap length written for an interface: libpcap's
// default when the interface does not say.
func writerSnap(ifc capture.Interface) int {
	if ifc.SnapLen <= 0 {
		return 262144
	}
	return ifc.SnapLen
}

func writerNgInterface(ifc capture.Interface, i int, o WriterOptions) pcapgo.NgInterface {
	desc := ""
	if i < len(o.Descriptions) {
		desc = o.Descriptions[i]
	}
	return pcapgo.NgInterface{
		Name:                ifc.Name,
		Description:         desc,
		Filter:              o.Filter,
		OS:                  o.OS,
		LinkType:            ifc.LinkType,
		SnapLength:          uint32(writerSnap(ifc)),
		TimestampResolution: 9,
	}
}

func (w *Writer) flusher() {
	defer close(w.done)
	t := time.NewTicker(writerFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			if w.dirty && w.err == nil && !w.closed {
				w.err = w.flushLocked()
			}
			w.mu.Unlock()
		}
	}
}

// flushLocked moves the whole records written so far to the file.
func (w *Writer) flushLocked() error {
	if w.ng != nil {
		if err := w.ng.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	w.dirty = false
	if w.buf.Len() == 0 {
		return nil
	}
	_, err := w.file.Write(w.buf.Bytes())
	w.sum.Write(w.buf.Bytes())
	w.buf.Reset()
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// Write adds one frame. Its data is copied before Write returns.
func (w *Writer) Write(f *capture.Frame) error { return w.WriteComment(f, "") }

// WriteComment adds one frame with a packet comment (opt_comment, what
// Wireshark shows as frame.comment) when comment is not "" and the file is
// pcapng; a pcap file has no place for it.
func (w *Writer) WriteComment(f *capture.Frame, comment string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("write %s: %w", w.path, errWriterClosed)
	}
	if f.Interface < 0 || f.Interface >= len(w.ifaces) {
		return fmt.Errorf("write %s: frame of interface %d, the file has %d", w.path, f.Interface, len(w.ifaces))
	}
	ci := gopacket.CaptureInfo{
		Timestamp:      f.TS,
		CaptureLength:  len(f.Data),
		Length:         max(f.WireLen, len(f.Data)),
		InterfaceIndex: f.Interface,
	}
	var err error
	if w.ng != nil {
		var opts pcapgo.NgPacketOptions
		if comment != "" {
			opts.Comments = []string{comment}
		}
		err = w.ng.WritePacketWithOptions(ci, f.Data, opts)
	} else {
		if f.LinkType != w.ifaces[0].LinkType && f.LinkType != 0 {
			return fmt.Errorf("write %s: a %s frame in a %s pcap file", w.path, capture.LinkTypeName(f.LinkType), capture.LinkTypeName(w.ifaces[0].LinkType))
		}
		err = w.pcap.WritePacket(ci, f.Data)
	}
	if err != nil {
		w.err = fmt.Errorf("write %s: %w", w.path, err)
		return w.err
	}
	w.dirty = true
	if w.buf.Len() >= writerFlushBytes {
		w.err = w.flushLocked()
	}
	return w.err
}

var errWriterClosed = errors.New("writer closed")

// SHA256 returns the hex SHA-256 of the file once Close succeeded, without
// reading it again; "" before that or after a failure, when the file may
// not hold what was meant for it.
func (w *Writer) SHA256() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closedOK {
		return ""
	}
	return hex.EncodeToString(w.sum.Sum(nil))
}

// Close writes what is still buffered and closes the file. With stats, one
// per interface in the order of the writer's interfaces (a live capture's
// kernel counters), a pcapng file also gets an interface statistics block
// per interface, with the packets the kernel received (isb_ifrecv) and
// dropped (isb_ifdrop). A second Close does nothing.
func (w *Writer) Close(stats []capture.Counts) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done

	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.err
	if err == nil && w.ng != nil {
		now := time.Now()
		for i := range w.ifaces {
			if i >= len(stats) {
				break
			}
			c := stats[i]
			st := pcapgo.NgInterfaceStatistics{LastUpdate: now, PacketsReceived: c.Received, PacketsDropped: c.Dropped}
			if e := w.ng.WriteInterfaceStats(i, st); e != nil {
				err = fmt.Errorf("write %s: %w", w.path, e)
				break
			}
		}
	}
	if err == nil {
		err = w.flushLocked()
	}
	if err == nil {
		if e := w.file.Sync(); e != nil {
			err = fmt.Errorf("write: %w", e)
		}
	}
	if e := w.file.Close(); e != nil && err == nil {
		err = fmt.Errorf("write: %w", e)
	}
	w.closedOK = err == nil
	return err
}
