package report

import (
	"bufio"
	"encoding/binary"
	"hash/fnv"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/sockowner"
)

// ConnLog writes one JSON line per connection as it is finished, with the
// field names of Zeek's conn.log (ts, uid, id.orig_h, id.orig_p, id.resp_h,
// id.resp_p, proto, service, duration, orig_bytes, resp_bytes, missed_bytes, conn_state,
// history, orig_pkts, resp_pkts) and this tool's judgment beside them (sni,
// http_host, dns_names, s3, s3_kind, path, aws_service, aws_region,
// aws_prefix), so that jq and zeek-cut style tools read it. Nothing is kept
// in memory: a line is written when the connection ends.
type ConnLog struct {
	w     *bufio.Writer
	buf   []byte
	lines uint64
	err   error
}

// NewConnLog writes the log to w.
func NewConnLog(w io.Writer) *ConnLog {
	return &ConnLog{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 1024)}
}

// Lines says how many connections were written.
func (l *ConnLog) Lines() uint64 { return l.lines }

// Flush writes what is buffered; it returns the first error of any write.
func (l *ConnLog) Flush() error {
	if l.err == nil {
		l.err = l.w.Flush()
	}
	return l.err
}

func (l *ConnLog) write(f *flow.Flow, c *conn, names []string) {
	if l.err != nil {
		return
	}
	b := l.buf[:0]
	b = append(b, `{"ts":`...)
	b = strconv.AppendFloat(b, float64(f.FirstTS.UnixNano())/1e9, 'f', 6, 64)
	b = append(b, `,"uid":`...)
	b = appendJSONString(b, connUID(f))
	b = append(b, `,"id.orig_h":`...)
	b = appendJSONString(b, f.Client.Addr().String())
	b = append(b, `,"id.orig_p":`...)
	b = strconv.AppendUint(b, uint64(f.Client.Port()), 10)
	b = append(b, `,"id.resp_h":`...)
	b = appendJSONString(b, f.Server.Addr().String())
	b = append(b, `,"id.resp_p":`...)
	b = strconv.AppendUint(b, uint64(f.Server.Port()), 10)
	b = append(b, `,"proto":"tcp"`...)
	if s := connService(f); s != "" {
		b = append(b, `,"service":`...)
		b = appendJSONString(b, s)
	}
	b = append(b, `,"duration":`...)
	b = strconv.AppendFloat(b, f.LastTS.Sub(f.FirstTS).Seconds(), 'f', 6, 64)
	// Zeek counts bytes by sequence numbers, and the bytes between that
	// the capture did not hold as missed; where the sequence numbers
	// cannot be believed (crafted, corrupt), the payload seen.
	by, missed := c.bytes, uint64(0)
	if span, ok := f.SeqBytes(); ok {
		for i := range 2 {
			by[i] = max(span[i], c.bytes[i])
			missed += by[i] - c.bytes[i]
		}
	}
	b = append(b, `,"orig_bytes":`...)
	b = strconv.AppendUint(b, by[0], 10)
	b = append(b, `,"resp_bytes":`...)
	b = strconv.AppendUint(b, by[1], 10)
	b = append(b, `,"missed_bytes":`...)
	b = strconv.AppendUint(b, missed, 10)
	b = append(b, `,"conn_state":`...)
	b = appendJSONString(b, c.state)
	b = append(b, `,"history":`...)
	b = appendJSONString(b, f.History())
	pk := f.Packets()
	b = append(b, `,"orig_pkts":`...)
	b = strconv.AppendUint(b, pk[0], 10)
	b = append(b, `,"resp_pkts":`...)
	b = strconv.AppendUint(b, pk[1], 10)
	b = append(b, `,"established":`...)
	b = strconv.AppendBool(b, c.established)
	if f.TLS.SNI != "" {
		b = append(b, `,"sni":`...)
		b = appendJSONString(b, f.TLS.SNI)
	}
	if f.HTTP.Host != "" {
		b = append(b, `,"http_host":`...)
		b = appendJSONString(b, f.HTTP.Host)
	}
	if f.HTTP.ProxyHost != "" {
		b = append(b, `,"proxy_target":`...)
		b = appendJSONString(b, joinHostPort(f.HTTP.ProxyHost, f.HTTP.ProxyPort))
	}
	if len(names) > 0 {
		b = append(b, `,"dns_names":[`...)
		for i, n := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n)
		}
		b = append(b, ']')
	}
	b = append(b, `,"s3":`...)
	b = strconv.AppendBool(b, c.s3)
	if c.kind != "" {
		b = append(b, `,"s3_kind":`...)
		b = appendJSONString(b, c.kind)
	}
	b = append(b, `,"path":`...)
	b = appendJSONString(b, string(c.path))
	b = append(b, `,"path_evidence":`...)
	b = appendJSONString(b, c.basis)
	if c.class.InAWS {
		b = append(b, `,"aws_service":[`...)
		for i, s := range c.class.AWS.Services {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, `],"aws_region":`...)
		b = appendJSONString(b, c.class.AWS.Region)
		b = append(b, `,"aws_prefix":`...)
		b = appendJSONString(b, c.class.AWS.Prefix.String())
	}
	b = appendOwner(b, &c.owner)
	b = append(b, "}\n"...)
	l.buf = b
	if _, err := l.w.Write(b); err != nil {
		l.err = err
		return
	}
	l.lines++
}

// connService names the protocol as Zeek's service field does: what the
// client's first bytes were.
func connService(f *flow.Flow) string {
	switch {
	case f.TLS.Hello == flow.HelloComplete || f.TLS.Hello == flow.HelloIncomplete:
		if f.HTTP.Method == "CONNECT" {
			return "http,ssl"
		}
		return "ssl"
	case f.HTTP.Request == flow.HTTPComplete || f.HTTP.Request == flow.HTTPIncomplete:
		return "http"
	}
	return ""
}

// connUID names a connection as Zeek's uid does ("C" and 17 letters and
// digits), derived from its endpoints and first packet, so that the same
// capture gives the same uids.
func connUID(f *flow.Flow) string {
	h := fnv.New128a()
	var b [8]byte
	h.Write(f.Client.Addr().AsSlice())
	h.Write(f.Server.Addr().AsSlice())
	binary.BigEndian.PutUint16(b[:2], f.Client.Port())
	binary.BigEndian.PutUint16(b[2:4], f.Server.Port())
	h.Write(b[:4])
	binary.BigEndian.PutUint64(b[:], uint64(f.FirstTS.UnixNano()))
	h.Write(b[:])
	sum := h.Sum(nil)
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var id [18]byte
	id[0] = 'C'
	n := binary.BigEndian.Uint64(sum[:8])
	m := binary.BigEndian.Uint64(sum[8:])
	for i := 1; i < len(id); i++ {
		if i == 11 {
			n = m // ten letters from each half of the hash, the rest from the other
		}
		id[i] = digits[n%62]
		n /= 62
	}
	return string(id[:])
}

// appendJSONString appends s as a JSON string: names from the wire may
// hold any bytes, and invalid UTF-8 becomes U+FFFD as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendOwner adds who owned the connection on this host (live capture):
// process_status always, the rest when known.
func appendOwner(b []byte, o *sockowner.Owner) []byte {
	if !o.Known() {
		return b
	}
	field := func(name, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = appendJSONString(b, v)
		}
	}
	field("process_status", string(o.Status))
	field("local_side", string(o.Side))
	if o.PID > 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(o.PID), 10)
	}
	field("comm", o.Comm)
	field("exe", o.Exe)
	if o.UID >= 0 {
		b = append(b, `,"uid":`...)
		b = strconv.AppendInt(b, o.UID, 10)
	}
	field("user", o.User)
	field("cgroup", o.Cgroup)
	field("unit", o.Unit)
	field("container", o.Container)
	return b
}
