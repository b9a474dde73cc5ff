// Package tcpdumptext reads what tcpdump prints (tcpdump -nn, with or
// without -v, -e, -tt or -tttt) as packets, so that the text a user kept
// instead of the capture can still be analysed: each TCP line becomes a raw
// IP packet with the addresses, ports, flags, sequence and acknowledgement
// numbers, window and payload length the line gives, and each DNS line a
// UDP packet carrying the DNS message it describes.
//
// The text holds no payload: a TCP segment of length N is given as its
// headers with N bytes more on the wire than captured, as a packet cut by
// the snap length is, so that byte counts and connection states come out
// as from the capture itself while no TLS server name or HTTP request can
// be read. Lines of other protocols (ARP, ICMP, UDP other than DNS, ...)
// are skipped and counted.
package tcpdumptext

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/capture"
)

const (
	// Format is what inputs[].format says of a tcpdump text input.
	Format = "tcpdump-text"
	// LinkType is the link type of the frames a Reader gives: raw IP, the
	// version nibble telling IPv4 from IPv6.
	LinkType = layers.LinkTypeRaw
	// DetectSize is how much of an input's start Detect wants to see.
	DetectSize = 4096

	// maxLine bounds one line: tcpdump's longest lines (a DNS response
	// with a hundred answers, -v HTTP headers) are a few kilobytes.
	maxLine = 64 << 10
	// maxRecordLines bounds the lines of one packet that are read: the
	// deepest layout (Geneve with -v) puts the inner transport on the
	// fourth; the rest (-v application headers, -X hex) says nothing used.
	maxRecordLines = 8
	// maxListed bounds the damaged line numbers an Error lists.
	maxListed = 5
)

// Detect reports whether b, the start of an input (DetectSize bytes, or
// all of a shorter one), is text tcpdump printed: its first line that is
// not blank is a packet line with a timestamp, or one of tcpdump's own
// messages ("reading from file ...", "listening on ..."). Text printed
// without timestamps (tcpdump -t) is detected too, so that it is refused
// with a reason rather than taken for an unknown format.
func Detect(b []byte) bool {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimRight(line, "\r")
		if blank(line) {
			continue
		}
		return hasTimestamp(line) || metaLine(line) != metaNone || hasPrefix(line, "IP ") || hasPrefix(line, "IP6 ")
	}
	return false
}

// Error is damage in a tcpdump text input: the first line that could not be
// read (or where reading failed), and the others that could not be read
// either. The lines around them were read.
type Error struct {
	File string
	Line int // 1-based
	Err  error
	// More counts the other lines that could not be read; Lines lists the
	// first few of them.
	More  int
	Lines []int
}

// Error says which file, which line and what, e.g. "x.txt: line 7: seq
// 1:518 does not span length 500 (and 2 more lines that could not be read:
// 9, 12)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "line %d: %v", e.Line, e.Err)
	if e.More > 0 {
		what := "lines"
		if e.More == 1 {
			what = "line"
		}
		fmt.Fprintf(&b, " (and %d more %s that could not be read: ", e.More, what)
		for i, n := range e.Lines {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(n))
		}
		if e.More > len(e.Lines) {
			b.WriteString(", ...")
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Reader reads tcpdump's text and gives its TCP and DNS lines as frames of
// LinkType. It is not safe for concurrent use.
type Reader struct {
	name string
	br   *bufio.Reader
	line int // lines read so far
	end  error

	// ahead is a packet line read while looking for the end of the packet
	// before it; pending is an end or error met there.
	ahead     []byte
	aheadLine int
	haveAhead bool
	pending   error
	// rec is the packet being parsed: its lines after the first one's
	// timestamp, joined by single spaces.
	rec     []byte
	recLine int

	clock clock
	p     parser

	skipped    uint64 // packets of other protocols
	drops      uint64 // tcpdump's "packets dropped by kernel" and "by interface"
	dropsKnown bool

	damage *Error // the first damaged line, and the count of the others
}

// NewReader returns a Reader of r. name is used only in errors and notes.
func NewReader(name string, r io.Reader) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < maxLine {
		br = bufio.NewReaderSize(r, maxLine)
	}
	return &Reader{name: name, br: br, p: newParser()}
}

// Next fills f with the next frame. f.Data is valid until the next call. It
// returns io.EOF at the end of a text read whole; an *Error when some lines
// could not be read (at the end, after every other line was read, or when
// reading failed); every later call returns the same.
func (r *Reader) Next(f *capture.Frame) error {
	for r.end == nil {
		if !r.record() {
			break
		}
		ts, dated, n := parseTimestamp(r.rec)
		if n == 0 {
			r.bad(r.recLine, errors.New("no timestamp at the start of the line (tcpdump -t is not supported: print the timestamps)"))
			continue
		}
		ts = r.clock.place(ts, dated)
		// The line is parsed in place (no copy per packet): what the
		// parser keeps beyond this call is cloned (a query's name).
		line := r.rec[n:]
		kind, err := r.p.parse(unsafe.String(unsafe.SliceData(line), len(line)), ts)
		switch {
		case err != nil:
			r.bad(r.recLine, err)
			continue
		case kind == kindOther:
			r.skipped++
			continue
		}
		if err := r.p.frame(f, kind); err != nil {
			r.bad(r.recLine, err)
			continue
		}
		f.TS = ts
		return nil
	}
	return r.end
}

// Drops is what tcpdump said it dropped, when its closing counts are in the
// text (tcpdump ... >FILE 2>&1): packets dropped by the kernel and by the
// interface. known is false when the text does not say.
func (r *Reader) Drops() (n uint64, known bool) { return r.drops, r.dropsKnown }

// Skipped counts the packets of other protocols that were skipped: ARP,
// ICMP, UDP other than DNS, fragments after the first, ...
func (r *Reader) Skipped() uint64 { return r.skipped }

// Note says what the report must say about this input: that it carries no
// TLS server names or payload, when its times have no date, and how many
// lines of other protocols were skipped so far.
func (r *Reader) Note() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s is tcpdump text: no TLS server names or payload, the verdict rests on addresses and DNS answers", r.name)
	if r.clock.undated {
		b.WriteString("; its times carry no date and are placed on 1970-01-01 (tcpdump -tttt or -tt prints dates)")
	}
	if r.skipped > 0 {
		fmt.Fprintf(&b, "; %d packets of other protocols (ARP, ICMP, UDP other than DNS, ...) were skipped", r.skipped)
	}
	return b.String()
}

// bad records a line that could not be read. Lines are not always found in
// order (a tcpdump message inside a packet's lines is met before the
// packet is parsed): the first one is the error, the next few are listed.
func (r *Reader) bad(line int, err error) {
	d := r.damage
	if d == nil {
		r.damage = &Error{File: r.name, Line: line, Err: err}
		return
	}
	d.More++
	if line < d.Line {
		line, d.Line, d.Err = d.Line, line, err
	}
	i, _ := slices.BinarySearch(d.Lines, line)
	if i < maxListed {
		d.Lines = slices.Insert(d.Lines, i, line)
		d.Lines = d.Lines[:min(len(d.Lines), maxListed)]
	}
}

// finish ends the reading: err is io.EOF at the text's end, else the read
// error.
func (r *Reader) finish(err error) {
	if err == io.EOF {
		if r.damage != nil {
			r.end = r.damage
		} else {
			r.end = io.EOF
		}
		return
	}
	e := &Error{File: r.name, Line: r.line + 1, Err: err}
	if d := r.damage; d != nil {
		// The read error ends the text; the damage before it is counted.
		e.More = d.More + 1
		e.Lines = append([]int{d.Line}, d.Lines...)
		e.Lines = e.Lines[:min(len(e.Lines), maxListed)]
	}
	r.end = e
}

// record reads the next packet into r.rec: a line that begins with a
// timestamp, joined with the lines that continue it. It returns false at
// the end, with r.end set.
func (r *Reader) record() bool {
	r.rec = r.rec[:0]
	lines := 0
	if r.haveAhead {
		r.rec = append(r.rec, r.ahead...)
		r.recLine, lines, r.haveAhead = r.aheadLine, 1, false
	}
	for {
		line, err := r.readLine()
		if err != nil {
			if lines > 0 {
				// The packet is whole; the end is met again next time.
				r.pending = err
				return true
			}
			r.finish(err)
			return false
		}
		switch {
		case blank(line):
			continue
		case hasTimestamp(line):
			if lines > 0 {
				r.ahead = append(r.ahead[:0], line...)
				r.aheadLine, r.haveAhead = r.line, true
				return true
			}
			r.rec = append(r.rec, line...)
			r.recLine, lines = r.line, 1
			continue
		}
		if m := metaLine(line); m != metaNone {
			r.meta(m, line)
			continue
		}
		if lines == 0 {
			if hasPrefix(line, "IP ") || hasPrefix(line, "IP6 ") {
				// Printed without timestamps (tcpdump -t): refused when
				// parsed, with the lines that follow it.
				r.rec = append(r.rec, line...)
				r.recLine, lines = r.line, 1
				continue
			}
			r.bad(r.line, fmt.Errorf("not a line tcpdump prints for a packet: %q", cut(string(line))))
			continue
		}
		if line[0] != ' ' && line[0] != '\t' && !bytes.Contains(r.rec, []byte(" VXLAN, ")) && !bytes.Contains(r.rec, []byte(" OTV, ")) {
			// tcpdump indents the lines that continue a packet, but for
			// the packet inside VXLAN: this is no part of one (a line
			// whose timestamp was damaged, or other output).
			r.bad(r.line, fmt.Errorf("not a line tcpdump prints for a packet: %q", cut(string(line))))
			continue
		}
		if lines < maxRecordLines {
			r.rec = append(r.rec, ' ')
			r.rec = append(r.rec, trimLeftSpace(line)...)
		}
		lines++
	}
}

// readLine returns the next line without its end of line, valid until the
// next call; io.EOF at the end. A line longer than maxLine is damage: it
// is skipped to its end and the next one is returned.
func (r *Reader) readLine() ([]byte, error) {
	if err := r.pending; err != nil {
		r.pending = nil
		return nil, err
	}
	for {
		line, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			r.line++
			n := r.line
			for err == bufio.ErrBufferFull {
				_, err = r.br.ReadSlice('\n')
			}
			r.bad(n, fmt.Errorf("the line is longer than %d bytes", maxLine))
			if err != nil {
				return nil, err
			}
			continue
		}
		if len(line) == 0 || (err != nil && err != io.EOF) {
			// At the end, or a read error inside a line, which is then
			// not whole.
			if err == nil {
				err = io.EOF
			}
			return nil, err
		}
		r.line++
		if len(line) > maxLine+2 {
			// A buffer larger than maxLine (the capture reader's) held it.
			r.bad(r.line, fmt.Errorf("the line is longer than %d bytes", maxLine))
			continue
		}
		if line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		return line, nil
	}
}

// text is what the line helpers read: a line as read, or a string.
type text interface{ ~string | ~[]byte }

func hasPrefix[S text](s S, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

func blank[S text](s S) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

func trimLeftSpace[S text](s S) S {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[i:]
}

// hasTimestamp reports whether s begins with a timestamp.
func hasTimestamp[S text](s S) bool {
	_, _, n := parseTimestamp(s)
	return n > 0
}

type metaKind uint8

const (
	metaNone metaKind = iota
	metaIgnore
	metaDropsKernel
	metaDropsInterface
	metaFailure
)

// metaLine recognises tcpdump's own messages, which a user keeps with
// 2>&1: the banners, the closing counts and the failures.
func metaLine[S text](s S) metaKind {
	switch {
	case hasPrefix(s, "reading from file "), hasPrefix(s, "listening on "),
		hasPrefix(s, "Warning: "), hasPrefix(s, "dropped privs to "),
		hasPrefix(s, "tcpdump: verbose output suppressed"), hasPrefix(s, "tcpdump: listening on "):
		return metaIgnore
	case hasPrefix(s, "tcpdump: "):
		return metaFailure
	case (hasPrefix(s, "$ ") || hasPrefix(s, "# ") || hasPrefix(s, "sudo ")) && bytes.Contains([]byte(s), []byte("tcpdump ")):
		// The command itself, pasted into a ticket with its output.
		return metaIgnore
	}
	_, rest, ok := leadingNumber(s)
	if !ok {
		return metaNone
	}
	switch string(rest) {
	case " packets captured", " packet captured", " packets received by filter", " packet received by filter":
		return metaIgnore
	case " packets dropped by kernel", " packet dropped by kernel":
		return metaDropsKernel
	case " packets dropped by interface", " packet dropped by interface":
		return metaDropsInterface
	}
	return metaNone
}

func (r *Reader) meta(m metaKind, line []byte) {
	switch m {
	case metaDropsKernel, metaDropsInterface:
		n, _, _ := leadingNumber(line)
		r.drops += n
		r.dropsKnown = true
	case metaFailure:
		// tcpdump could not read its capture to the end: the text is not
		// the whole evidence.
		r.bad(r.line, fmt.Errorf("tcpdump reported a failure: %q", cut(string(line))))
	}
}

// leadingNumber parses the decimal number s begins with (at most 19
// digits, so that it fits).
func leadingNumber[S text](s S) (uint64, S, bool) {
	i := 0
	var n uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i == 19 {
			return 0, s, false
		}
		n = n*10 + uint64(s[i]-'0')
		i++
	}
	return n, s[i:], i > 0
}

// cut shortens a quoted line for an error message.
func cut(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// parseTimestamp reads the timestamp a packet line begins with: tcpdump's
// default HH:MM:SS.frac (a time of day, no date), -tttt's YYYY-MM-DD
// HH:MM:SS.frac, or -tt's seconds since the epoch. The fraction has 1 to 9
// digits (--nano prints 9). n is the length read, with the space after it;
// 0 when s does not begin with a timestamp. The time is read as UTC.
func parseTimestamp[S text](s S) (ts time.Time, dated bool, n int) {
	if len(s) >= 11 && s[4] == '-' && s[7] == '-' && s[10] == ' ' {
		y, ok1 := fixedDigits(s, 4)
		mo, ok2 := fixedDigits(s[5:], 2)
		d, ok3 := fixedDigits(s[8:], 2)
		if ok1 && ok2 && ok3 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			if tod, k, ok := timeOfDay(s[11:]); ok {
				return time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Add(tod), true, 11 + k
			}
		}
		return time.Time{}, false, 0
	}
	if len(s) >= 3 && s[2] == ':' {
		if tod, k, ok := timeOfDay(s); ok {
			return time.Unix(0, 0).UTC().Add(tod), false, k
		}
		return time.Time{}, false, 0
	}
	// -tt: seconds since the epoch.
	sec, rest, ok := leadingNumber(s)
	if !ok || len(s)-len(rest) > 12 {
		return time.Time{}, false, 0
	}
	ns, k, ok := fraction(rest)
	if !ok {
		return time.Time{}, false, 0
	}
	return time.Unix(int64(sec), int64(ns)).UTC(), true, len(s) - len(rest) + k
}

// fixedDigits reads a k-digit decimal number.
func fixedDigits[S text](s S, k int) (int, bool) {
	if len(s) < k {
		return 0, false
	}
	v := 0
	for i := range k {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// timeOfDay reads HH:MM:SS.frac and the space after it.
func timeOfDay[S text](s S) (time.Duration, int, bool) {
	if len(s) < 9 || s[2] != ':' || s[5] != ':' {
		return 0, 0, false
	}
	h, ok1 := fixedDigits(s, 2)
	m, ok2 := fixedDigits(s[3:], 2)
	sec, ok3 := fixedDigits(s[6:], 2)
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return 0, 0, false
	}
	ns, k, ok := fraction(s[8:])
	if !ok {
		return 0, 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ns), 8 + k, true
}

// fraction reads "." and 1 to 9 digits, and the space after them, as
// nanoseconds.
func fraction[S text](s S) (ns int, n int, ok bool) {
	if len(s) < 3 || s[0] != '.' {
		return 0, 0, false
	}
	i := 1
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i > 9 {
			return 0, 0, false
		}
		ns = ns*10 + int(s[i]-'0')
		i++
	}
	if i == 1 || i >= len(s) || s[i] != ' ' {
		return 0, 0, false
	}
	for k := i; k <= 9; k++ {
		ns *= 10
	}
	return ns, i + 1, true
}

// clock places times of day without a date on a timeline: on 1970-01-01,
// a day later each time the time of day goes back by more than twelve
// hours (a capture that ran past midnight).
type clock struct {
	undated bool
	day     time.Duration
	last    time.Duration // time of day of the last undated packet
	seen    bool
}

func (c *clock) place(ts time.Time, dated bool) time.Time {
	if dated {
		return ts
	}
	c.undated = true
	tod := ts.Sub(time.Unix(0, 0))
	if c.seen && c.last-tod > 12*time.Hour {
		c.day += 24 * time.Hour
	}
	c.last, c.seen = tod, true
	return ts.Add(c.day)
}
