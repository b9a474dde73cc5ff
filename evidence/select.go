// Package evidence makes and checks evidence bundles (--evidence DIR): it
// picks the packets a verdict rests on into evidence.pcapng, with the
// judgment of each S3 connection as a packet comment, and writes and
// checks SHA256SUMS and its SSH signature.
package evidence

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/savefile"
	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/s3name"
)

// Bounds of what a Selector keeps: evidence of a million connections is a
// sample, the rest counted.
const (
	// MaxConnections is the S3 connections kept that do not fail the
	// verdict; MaxLeaks those that do (kept apart, so that passes cannot
	// crowd out the leaks).
	MaxConnections = 1000
	MaxLeaks       = 1000
	// PerDestination is the connections kept per server and judgment.
	PerDestination = 10
	// MaxDNS is the DNS transactions about S3 names kept.
	MaxDNS = 10000
	// Packets of one connection: the first data packets each way, and at
	// most maxConnPackets in all.
	clientDataPackets = 6
	serverDataPackets = 3
	ackPackets        = 2
	maxConnPackets    = 64
	maxDNSPackets     = 32
)

type pair struct{ client, server netip.AddrPort }

type conn struct {
	first, last time.Time
	comment     string
	data        bool // the client sent payload: the comment goes on its first data packet
	commented   bool
	dataPkts    [2]int
	acks        [2]int // pure ACKs kept after the data began
	packets     int
	closing     bool
}

type dnsKey struct {
	tcp            bool
	client, server netip.AddrPort
	id             uint16
}

type destKey struct {
	server  netip.Addr
	verdict string
}

// Selector learns from the report which connections are S3 and how each
// was judged (OnConn, OnDNS), then writes their packets (Write).
type Selector struct {
	all       bool
	conns     map[pair][]*conn
	dns       map[dnsKey]int // packets written
	perDest   map[destKey]int
	kept      int
	s3        int // of kept and leaks
	leaks     int
	omitted   int
	dnsMissed int
}

// NewSelector makes a Selector; all keeps every packet (--evidence-all),
// still commenting the S3 connections.
func NewSelector(all bool) *Selector {
	return &Selector{all: all, conns: map[pair][]*conn{}, dns: map[dnsKey]int{}, perDest: map[destKey]int{}}
}

// OnConn is report.Config.OnConn: it keeps each S3 connection, within the
// bounds.
func (s *Selector) OnConn(f *flow.Flow, j *report.Judged) {
	// S3 connections, and those to AWS addresses that carried no S3
	// name, and those whose first bytes were cut before any name: a
	// verdict may rest on them too (an unnamed connection to a CloudFront
	// address, or a cut CONNECT to a proxy, keeps a pass from being one).
	if !j.S3 && j.Path != string(resolve.PathPublicAWS) && j.Unread == "" {
		return
	}
	v := j.Verdict()
	if j.Unread != "" {
		v = "UNREAD"
	}
	d := destKey{f.Server.Addr(), v}
	switch {
	case s.perDest[d] >= PerDestination, j.Leak && s.leaks >= MaxLeaks, !j.Leak && s.kept >= MaxConnections:
		s.omitted++
		return
	}
	s.perDest[d]++
	if j.Leak {
		s.leaks++
	} else {
		s.kept++
	}
	p := pair{f.Client, f.Server}
	c := &conn{first: f.FirstTS, last: f.LastTS, data: f.Bytes()[0] > 0}
	if j.S3 {
		c.comment = j.Comment()
		s.s3++
	} else if j.Unread != "" {
		c.comment = j.Comment()
	}
	s.conns[p] = append(s.conns[p], c)
}

// OnDNS keeps the DNS transactions that asked or answered an S3 name. It
// is to be called beside the report's own (report.Builder.AddDNS).
func (s *Selector) OnDNS(tx *flow.DNSTransaction) {
	if len(s.dns) >= MaxDNS {
		s.dnsMissed++
		return
	}
	s3 := isS3(tx.QName)
	for _, a := range tx.Answers {
		if s3 {
			break
		}
		s3 = isS3(a.Name) || isS3(a.Target)
	}
	if !s3 {
		return
	}
	k := dnsKey{tcp: tx.Transport == "tcp", client: tx.Client, server: tx.Server, id: tx.ID}
	if k.tcp {
		k.id = 0 // every packet of the TCP connection
	}
	s.dns[k] = 0
}

func isS3(name string) bool {
	if name == "" {
		return false
	}
	_, ok := s3name.Parse(name)
	return ok
}

// Counts says how many S3 connections were kept, and how many
// connections the bounds left out.
func (s *Selector) Counts() (kept, omitted int) { return s.s3, s.omitted }

// Write reads src again (the same packets the report was made from) and
// writes to path what the selection keeps: for each S3 connection kept,
// its handshake, first data packets each way and close, the first client
// data packet commented with the connection's judgment; and the DNS
// exchanges about S3 names. With all, every packet. It returns the packets
// written, and closes src.
func (s *Selector) Write(path string, src capture.Source, ifaces []capture.Interface, m savefile.Meta) (uint64, error) {
	defer src.Close()
	w, err := savefile.Open(savefile.Options{Name: path, Meta: m}, ifaces)
	if err != nil {
		return 0, err
	}
	pk := flow.NewPeeker()
	var f capture.Frame
	var n uint64
	for {
		err := src.Next(&f)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			w.Close(nil)
			return n, fmt.Errorf("reading the packets again: %w", err)
		}
		keep, comment := s.all, ""
		if p, ok := pk.Peek(&f); ok {
			k, c := s.decide(&p, f.TS)
			keep, comment = keep || k, c
		}
		if !keep {
			continue
		}
		if err := w.WriteComment(&f, comment); err != nil {
			w.Close(nil)
			return n, err
		}
		n++
	}
	return n, w.Close(nil)
}

// decide says whether a packet is kept, and its comment.
func (s *Selector) decide(p *flow.Peeked, ts time.Time) (bool, string) {
	if !p.TCP {
		if len(p.Payload) < 2 {
			return false, ""
		}
		id := binary.BigEndian.Uint16(p.Payload)
		for _, k := range []dnsKey{{false, p.Src, p.Dst, id}, {false, p.Dst, p.Src, id}} {
			if n, ok := s.dns[k]; ok && n < maxDNSPackets {
				s.dns[k] = n + 1
				return true, ""
			}
		}
		return false, ""
	}
	for _, k := range []dnsKey{{true, p.Src, p.Dst, 0}, {true, p.Dst, p.Src, 0}} {
		if n, ok := s.dns[k]; ok && n < maxDNSPackets {
			s.dns[k] = n + 1
			return true, ""
		}
	}
	dir := 0
	c := s.find(pair{p.Src, p.Dst}, ts)
	if c == nil {
		if c = s.find(pair{p.Dst, p.Src}, ts); c == nil {
			return false, ""
		}
		dir = 1
	}
	if c.packets >= maxConnPackets {
		return false, ""
	}
	keep := false
	switch {
	case p.SYN || p.FIN || p.RST:
		keep = true
		c.closing = c.closing || p.FIN || p.RST
	case p.PayloadLen > 0:
		limit := clientDataPackets
		if dir == 1 {
			limit = serverDataPackets
		}
		keep = c.dataPkts[dir] < limit
		c.dataPkts[dir]++
	default: // an ACK: of the handshake, of the first data (an upload's
		// server sends only these), or of the close
		switch {
		case c.closing || c.dataPkts[0]+c.dataPkts[1] == 0:
			keep = true
		case c.acks[dir] < ackPackets:
			keep = true
			c.acks[dir]++
		}
	}
	if !keep {
		return false, ""
	}
	c.packets++
	comment := ""
	if !c.commented && (!c.data || (dir == 0 && p.PayloadLen > 0)) {
		c.commented, comment = true, c.comment
	}
	return true, comment
}

// find is the kept connection between the pair whose time span holds ts.
func (s *Selector) find(k pair, ts time.Time) *conn {
	for _, c := range s.conns[k] {
		if !ts.Before(c.first) && !ts.After(c.last) {
			return c
		}
	}
	return nil
}
