package capture

import (
	"errors"
	"io"
	"time"
)

// Source is where frames come from: one capture file, several merged in
// time order (pcapfile.Merge), or a live capture (afpacket.Source).
type Source interface {
	// Next reads the next frame into f; f.Data is valid until the next
	// call. It returns io.EOF at the end, or ErrClosed once Close was
	// called; any other error is the source's failure, after which it
	// gives no more frames.
	Next(f *Frame) error
	// Interfaces lists the interfaces seen so far; Frame.Interface indexes
	// the list, which only grows.
	Interfaces() []Interface
	// Inputs describes what was read so far, one entry per file or one for
	// a live capture; final once Next has returned an error.
	Inputs() []Input
	// Close stops the source: a Next blocked in a read returns. It may be
	// called from any goroutine, more than once.
	Close() error
}

// Sink receives the frames of a Source: the analysis.
type Sink interface {
	Add(f *Frame) error
}

// ErrClosed is what Source.Next returns once the source was closed.
var ErrClosed = errors.New("capture closed")

// Input is the evidence one input gave: a capture file, or a live capture.
type Input struct {
	Name string // as the user gave it ("-" for standard input), or live:IFACE,...
	// Format is "pcap", "pcapng", "tcpdump-text" (the text tcpdump printed,
	// read by capture/tcpdumptext) or "live"; "" when a file's header did
	// not parse.
	Format string
	Gzip   bool
	// Note is what a report must say about the input besides its error,
	// "" for none: for tcpdump's text, that it holds no TLS server names
	// or payload, so the verdict rests on addresses and DNS answers.
	Note string
	// SHA256 is the digest of the whole file as stored (compressed bytes
	// when gzip). It is "" when the file could not be read to its end: a
	// read error, a stop, or damage in a stream (standard input, a pipe,
	// a device), which is not read on after the damage since it may never
	// end. A damaged regular file is still hashed to its end.
	SHA256    string
	Size      int64 // bytes read from the file: all of them when SHA256 is set
	LinkTypes []string
	Packets   uint64
	Bytes     uint64 // frame lengths on the wire
	// First and Last are the earliest and the latest packet time given
	// (the capture window); zero without packets.
	First, Last time.Time
	// Drops is what the capturing system said it dropped (pcapng interface
	// statistics, or the kernel for a live capture); DropsKnown is false
	// when the input does not say.
	Drops      uint64
	DropsKnown bool
	// Interrupted says the reading was stopped (Ctrl-C, SIGTERM) before
	// the input's end; such an input has no digest, and the packets read
	// before are the evidence. Err stays nil: a stop is not damage.
	Interrupted bool
	// Err is why the input was not read to its end; nil when it was, or
	// when it was interrupted.
	Err error
}

// done reports whether err ends a source normally.
func done(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, ErrClosed) }

// Counts are a capturing system's counters for one interface or for all.
type Counts struct {
	// Received counts the packets the kernel filter accepted, including
	// those then dropped (tcpdump's "packets received by filter").
	Received uint64
	// Dropped counts the accepted packets lost because the capture did not
	// keep up (tcpdump's "packets dropped by kernel"). When it is not zero
	// the capture is incomplete.
	Dropped uint64
}
