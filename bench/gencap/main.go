//go:build ignore

// Command gencap writes synthetic S3 captures (pcap, Ethernet) for the
// benchmarks in bench/run.sh. Nothing is sent: the packets exist only in
// the output file. See bench/README.md.
//
//	go run bench/gencap/main.go -mode small -conns 100000 -out small.pcap
//	go run bench/gencap/main.go -mode bulk -conns 100 -bytes 1100000000 -out bulk.pcap
//	go run bench/gencap/main.go -mode synonly -conns 1000000 -out syn.pcap
//	go run bench/gencap/main.go -mode hello-partial -conns 1000000 -out hello.pcap
//
// The same flags and seed give the same file, byte for byte.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// The scenario: one client host in a VPC, the VPC resolver, the S3
// interface endpoint, and public S3 addresses in ap-south-1.
var (
	clientAddr   = [4]byte{10, 0, 1, 25}
	resolverAddr = [4]byte{10, 0, 0, 2}
	endpointAddr = [4]byte{10, 0, 2, 50}
	publicBase   = [4]byte{52, 219, 64, 0} // a /22 that ip-ranges.json lists as S3 ap-south-1
	clientMAC    = [6]byte{0x02, 0x00, 0x0a, 0x00, 0x01, 0x19}
	gatewayMAC   = [6]byte{0x02, 0x00, 0x0a, 0x00, 0x00, 0x01}
	// The base time is fixed so that a seed gives the same file every day.
	baseTime = time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
)

const (
	mss        = 1448 // MSS 1460 less the 12 bytes of TCP timestamps: the segment size of uploads on a 1500-byte path
	recMax     = 16401
	snapLen    = 262144
	hdrRoom    = 16 + 14 + 20 + 40 // pcap record + Ethernet + IPv4 + TCP with a SYN's options
	ephemeralL = 32768             // Linux's default ip_local_port_range
	ephemeralH = 60999

	flagFIN = 0x01
	flagSYN = 0x02
	flagPSH = 0x08
	flagACK = 0x10
)

type mode int

const (
	modeBulk mode = iota
	modeSmall
	modeSynOnly
	modeHelloPartial
)

var modeNames = map[string]mode{"bulk": modeBulk, "small": modeSmall, "synonly": modeSynOnly, "hello-partial": modeHelloPartial}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "gencap: error: %v\n", err)
		os.Exit(2)
	}
}

func run() error {
	var (
		conns       = flag.Int("conns", 0, "connections (default: bulk 100, small 100000, synonly and hello-partial 1000000)")
		modeName    = flag.String("mode", "small", "bulk, small, synonly or hello-partial")
		out         = flag.String("out", "", "pcap file to write (- for standard output)")
		public      = flag.Float64("public", 0.1, "share of connections to public S3 addresses (52.219.64.0/22) instead of the endpoint 10.0.2.50")
		seed        = flag.Uint64("seed", 1, "random seed: the same flags and seed give the same file")
		total       = flag.Int64("bytes", 1_100_000_000, "bulk: upload bytes over all connections (the default makes a file of about 1.2 GB)")
		concurrency = flag.Int("concurrency", 64, "connections open at once")
		names       = flag.Int("names", 50, "bucket names in the pool (bNNN.s3.ap-south-1.amazonaws.com)")
		tsUnit      = flag.String("ts", "ns", "timestamp resolution: ns or us")
		gap         = flag.Duration("gap", 0, "mean time between packets (default: bulk 10us, small 20us, synonly and hello-partial 5us)")
		helloBytes  = flag.Int("hello-bytes", 0, "hello-partial: pad the ClientHello record to this size (0: as crypto/tls builds it)")
	)
	flag.Parse()
	m, ok := modeNames[*modeName]
	switch {
	case !ok:
		return fmt.Errorf("unknown -mode %q: use bulk, small, synonly or hello-partial", *modeName)
	case *out == "":
		return errors.New("-out is required")
	case *tsUnit != "ns" && *tsUnit != "us":
		return fmt.Errorf("unknown -ts %q: use ns or us", *tsUnit)
	case *public < 0 || *public > 1:
		return fmt.Errorf("-public %v is not a fraction between 0 and 1", *public)
	case *names < 1 || *names > 999:
		return fmt.Errorf("-names %d is not between 1 and 999", *names)
	case *conns < 0:
		return fmt.Errorf("-conns %d is negative", *conns)
	case *concurrency < 1:
		return fmt.Errorf("-concurrency %d is less than 1", *concurrency)
	case *helloBytes > 5+16384:
		return fmt.Errorf("-hello-bytes %d is more than a TLS record holds (16389)", *helloBytes)
	}
	if *conns == 0 {
		*conns = map[mode]int{modeBulk: 100, modeSmall: 100000, modeSynOnly: 1000000, modeHelloPartial: 1000000}[m]
	}
	if *gap == 0 {
		*gap = map[mode]time.Duration{modeBulk: 10 * time.Microsecond, modeSmall: 20 * time.Microsecond}[m]
		if *gap == 0 {
			*gap = 5 * time.Microsecond
		}
	}
	if *gap < time.Microsecond {
		return fmt.Errorf("-gap %v is less than 1us (timestamps must increase at microsecond resolution too)", *gap)
	}
	// Hostile connections never close, so each needs its own 4-tuple: 15
	// client addresses' worth of ports per million.
	if (m == modeSynOnly || m == modeHelloPartial) && *conns > 200*64512 {
		return fmt.Errorf("-conns %d: at most %d hostile connections have distinct 4-tuples", *conns, 200*64512)
	}

	start := time.Now()
	g, err := newGen(m, *seed, *names, *helloBytes)
	if err != nil {
		return err
	}
	g.public = *public
	g.meanGap = int64(*gap)
	if m == modeBulk {
		// Whole records, so the stream tshark reassembles ends where a
		// record does.
		per := *total / int64(*conns)
		g.uploadRecs = max(1, int((per+int64(g.recLen)/2)/int64(g.recLen)))
	}

	var w io.Writer = os.Stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	g.w = bufio.NewWriterSize(w, 4<<20)
	g.nanos = *tsUnit == "ns"
	g.fileHeader()
	g.generate(*conns, *concurrency)
	if err := g.w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", *out, err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("%s: %w", *out, err)
		}
	}
	el := time.Since(start)
	// One line that bench/run.sh reads for its table.
	fmt.Fprintf(os.Stderr, "gencap: mode=%s conns=%d public_conns=%d packets=%d bytes=%d span=%s elapsed=%.2fs rate=%.0fMB/s\n",
		*modeName, *conns, g.publicConns, g.packets, g.bytes,
		time.Duration(g.ts).Round(time.Millisecond), el.Seconds(), float64(g.bytes)/1e6/el.Seconds())
	return nil
}

// A phase is one side's bytes between two turns of the other side.
type phase struct {
	fromClient bool
	data       []byte // the phase's bytes, or nil when it repeats gen.record
	n          int
}

type stage int

const (
	stDNSQuery stage = iota
	stDNSAnswer
	stSYN
	stSYNACK
	stACK
	stData
	stFIN
	stFINACK
	stLastACK
)

// conn is one connection's script and where it is in it. A slot's conn is
// reused for the next connection, buf included, so that steady-state
// generation allocates nothing.
type conn struct {
	client, server [4]byte
	cport          uint16
	dnsPort, dnsID uint16
	name           int
	public         bool
	cseq, sseq     uint32 // next sequence number each side sends
	tsClient       uint32 // each side's TCP timestamp offset
	tsServer       uint32
	stage          stage
	phases         []phase
	pi, off, segs  int
	ackDue         bool
	ackFromClient  bool
	buf            []byte
}

type gen struct {
	mode        mode
	rng         *rand.Rand
	public      float64
	meanGap     int64
	uploadRecs  int
	names       []string
	hellos      [][]byte // per name: the ClientHello record
	serverHello [][]byte // per name: a ServerHello record that fits it
	dnsQuery    [][]byte // per name, ID zero
	dnsPublic   [][]byte // per name: CNAME to s3-r-w..., then A (last 4 bytes)
	dnsEndpoint [][]byte // per name: A 10.0.2.50
	pool        []byte   // random bytes that encrypted records are cut from
	record      []byte   // one full application_data record, then its first mss bytes again
	recLen      int      // len of the record proper
	closeNotify []byte

	portInUse [65536]bool
	nextPort  int

	w              *bufio.Writer
	nanos          bool
	ts             int64 // since baseTime
	buf            []byte
	ipID           uint16
	packets, bytes int64
	publicConns    int
}

func newGen(m mode, seed uint64, names, helloBytes int) (*gen, error) {
	g := &gen{
		mode:     m,
		rng:      rand.New(rand.NewPCG(seed, 0x5e3d)),
		buf:      make([]byte, hdrRoom+70000),
		nextPort: ephemeralL,
	}
	g.pool = make([]byte, 1<<16)
	for i := range g.pool {
		g.pool[i] = byte(g.rng.Uint32())
	}
	g.recLen = 5 + recMax
	g.record = g.appendRecord(nil, 0x17, recMax)
	g.record = append(g.record, g.record[:mss]...)
	g.closeNotify = g.appendRecord(nil, 0x17, 19)

	for i := range names {
		name := fmt.Sprintf("b%03d.s3.ap-south-1.amazonaws.com", i)
		g.names = append(g.names, name)
		if m == modeSynOnly {
			continue
		}
		// Even names get the post-quantum hello (two segments), odd ones
		// the classic one (one segment), as a mix of SDK versions would.
		pq := i%2 == 0 || m == modeHelloPartial
		hello, sid, group, err := g.clientHello(name, pq)
		if err != nil {
			return nil, fmt.Errorf("building the ClientHello for %s: %w", name, err)
		}
		if m == modeHelloPartial && helloBytes > len(hello) {
			hello = padHello(hello, helloBytes)
		}
		g.hellos = append(g.hellos, hello)
		g.serverHello = append(g.serverHello, g.buildServerHello(sid, group))
		q := dnsName(name)
		g.dnsQuery = append(g.dnsQuery, dnsMessage(0x0100, q, nil))
		g.dnsEndpoint = append(g.dnsEndpoint, dnsMessage(0x8180, q, [][]byte{rr(0xc00c, 1, 60, endpointAddr[:])}))
		// The CNAME's target starts 12 bytes into its record, itself
		// right after the question.
		target := dnsName("s3-r-w.ap-south-1.amazonaws.com")
		ptr := uint16(0xc000 | (12 + len(q) + 4 + 12))
		g.dnsPublic = append(g.dnsPublic, dnsMessage(0x8180, q, [][]byte{rr(0xc00c, 5, 5, target), rr(ptr, 1, 5, publicBase[:])}))
	}
	return g, nil
}

// clientHello returns the first record crypto/tls writes for name, with its
// random fields (client random, session ID, key shares) replaced by bytes
// from the seed: crypto/tls no longer takes its key shares from
// Config.Rand, and the file must not change between runs.
func (g *gen) clientHello(name string, pq bool) (rec, sid []byte, group uint16, err error) {
	cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	if !pq {
		cfg.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256}
	}
	cl, sv := net.Pipe()
	done := make(chan struct{})
	go func() {
		_ = tls.Client(cl, cfg).Handshake() // fails when sv closes: only its first write is wanted
		close(done)
	}()
	rec = make([]byte, 5)
	if _, err = io.ReadFull(sv, rec); err == nil {
		rec = append(rec, make([]byte, binary.BigEndian.Uint16(rec[3:5]))...)
		_, err = io.ReadFull(sv, rec[5:])
	}
	sv.Close()
	cl.Close()
	<-done
	if err != nil {
		return nil, nil, 0, err
	}
	if rec[0] != 0x16 || rec[5] != 1 {
		return nil, nil, 0, errors.New("crypto/tls's first record is not a ClientHello")
	}
	body := rec[9:]
	g.fill(body[2:34]) // client random
	sid = body[35 : 35+int(body[34])]
	g.fill(sid)
	p := 35 + len(sid)
	p += 2 + int(binary.BigEndian.Uint16(body[p:]))
	p += 1 + int(body[p])
	end := p + 2 + int(binary.BigEndian.Uint16(body[p:]))
	for p += 2; p+4 <= end; {
		typ, n := binary.BigEndian.Uint16(body[p:]), int(binary.BigEndian.Uint16(body[p+2:]))
		ext := body[p+4 : p+4+n]
		if typ == 51 { // key_share: client_shares<group, key_exchange>
			for q := 2; q+4 <= len(ext); {
				k := int(binary.BigEndian.Uint16(ext[q+2:]))
				if group == 0 {
					group = binary.BigEndian.Uint16(ext[q:])
				}
				g.fill(ext[q+4 : q+4+k])
				q += 4 + k
			}
		}
		p += 4 + n
	}
	if group == 0 {
		return nil, nil, 0, errors.New("the ClientHello has no key share")
	}
	return rec, sid, group, nil
}

// padHello appends a padding extension (RFC 7685) so that the record is
// size bytes long, as some clients do to get past broken middleboxes.
func padHello(rec []byte, size int) []byte {
	n := max(0, size-len(rec)-4)
	out := append(rec[:len(rec):len(rec)], 0, 21, byte(n>>8), byte(n))
	out = append(out, make([]byte, n)...)
	grow := len(out) - len(rec)
	binary.BigEndian.PutUint16(out[3:], binary.BigEndian.Uint16(out[3:])+uint16(grow))
	hs := int(out[6])<<16 | int(out[7])<<8 | int(out[8]) + grow
	out[6], out[7], out[8] = byte(hs>>16), byte(hs>>8), byte(hs)
	body := out[9:]
	p := 35 + int(body[34])
	p += 2 + int(binary.BigEndian.Uint16(body[p:]))
	p += 1 + int(body[p])
	binary.BigEndian.PutUint16(body[p:], binary.BigEndian.Uint16(body[p:])+uint16(grow))
	return out
}

// buildServerHello returns a TLS 1.3 ServerHello record that answers a
// hello with session ID sid and first key share group, so that tshark
// dissects the server's first record as a real one.
func (g *gen) buildServerHello(sid []byte, group uint16) []byte {
	share := 32 // X25519
	if group == 0x11ec {
		share = 1088 + 32 // X25519MLKEM768: ML-KEM ciphertext, then X25519
	}
	b := []byte{0x16, 3, 3, 0, 0, 2, 0, 0, 0, 3, 3}
	b = append(b, g.pool[:32]...)
	b = append(b, byte(len(sid)))
	b = append(b, sid...)
	b = append(b, 0x13, 0x01, 0) // TLS_AES_128_GCM_SHA256, no compression
	ext := []byte{0, 43, 0, 2, 3, 4, 0, 51}
	ext = binary.BigEndian.AppendUint16(ext, uint16(4+share))
	ext = binary.BigEndian.AppendUint16(ext, group)
	ext = binary.BigEndian.AppendUint16(ext, uint16(share))
	ext = append(ext, g.pool[100:100+share]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ext)))
	b = append(b, ext...)
	binary.BigEndian.PutUint16(b[3:], uint16(len(b)-5))
	hs := len(b) - 9
	b[6], b[7], b[8] = byte(hs>>16), byte(hs>>8), byte(hs)
	return b
}

func (g *gen) fill(b []byte) {
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
}

// appendRecord appends a TLS record of type typ whose body is n bytes cut
// from the random pool: encrypted records look random.
func (g *gen) appendRecord(b []byte, typ byte, n int) []byte {
	b = append(b, typ, 3, 3, byte(n>>8), byte(n))
	off := g.rng.IntN(len(g.pool) - n)
	return append(b, g.pool[off:off+n]...)
}

func dnsName(s string) []byte {
	var b []byte
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '.' {
			i++
		}
		b = append(b, byte(i))
		b = append(b, s[:i]...)
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return append(b, 0)
}

func rr(namePtr uint16, typ uint16, ttl uint32, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, namePtr)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// dnsMessage builds a message with ID zero (each use sets its own), one A
// question and the given answers.
func dnsMessage(flags uint16, qname []byte, answers [][]byte) []byte {
	b := []byte{0, 0, byte(flags >> 8), byte(flags), 0, 1, 0, byte(len(answers)), 0, 0, 0, 0}
	b = append(b, qname...)
	b = append(b, 0, 1, 0, 1)
	for _, a := range answers {
		b = append(b, a...)
	}
	return b
}

// generate writes n connections, keeping up to concurrency of them open;
// each packet comes from one of the open ones, chosen at random.
func (g *gen) generate(n, concurrency int) {
	open := make([]*conn, 0, concurrency)
	started := 0
	for ; started < n && len(open) < concurrency; started++ {
		c := &conn{buf: make([]byte, 0, 64<<10)}
		g.reset(c, started)
		open = append(open, c)
	}
	for len(open) > 0 {
		i := g.rng.IntN(len(open))
		c := open[i]
		if g.step(c) {
			if g.mode == modeBulk || g.mode == modeSmall {
				g.portInUse[c.cport] = false
			}
			if started < n {
				g.reset(c, started)
				started++
			} else {
				open[i] = open[len(open)-1]
				open = open[:len(open)-1]
			}
		}
		g.ts += 1000 + g.rng.Int64N(2*g.meanGap-1999)
	}
}

// reset makes c the id-th connection.
func (g *gen) reset(c *conn, id int) {
	c.name = g.rng.IntN(len(g.names))
	c.public = g.rng.Float64() < g.public
	if c.public {
		g.publicConns++
		c.server = publicBase
		h := 1 + g.rng.IntN(1022)
		c.server[2] += byte(h >> 8)
		c.server[3] = byte(h)
	} else {
		c.server = endpointAddr
	}
	c.cseq, c.sseq = g.rng.Uint32(), g.rng.Uint32()
	c.tsClient, c.tsServer = g.rng.Uint32(), g.rng.Uint32()
	c.dnsPort = uint16(1024 + g.rng.IntN(65536-1024))
	c.dnsID = uint16(g.rng.Uint32())
	c.pi, c.off, c.segs, c.ackDue = 0, 0, 0, false
	c.phases = c.phases[:0]
	c.buf = c.buf[:0]

	if g.mode == modeSynOnly || g.mode == modeHelloPartial {
		// A distinct 4-tuple each: ports 1024-65535 of 10.0.1.25, then of
		// the next address.
		a := binary.BigEndian.Uint32(clientAddr[:]) + uint32(id/64512)
		binary.BigEndian.PutUint32(c.client[:], a)
		c.cport = uint16(1024 + id%64512)
		c.stage = stSYN
		if g.mode == modeHelloPartial {
			h := g.hellos[c.name]
			c.phases = append(c.phases, phase{fromClient: true, data: h[:len(h)/2], n: len(h) / 2})
		}
		return
	}

	// Ephemeral ports in turn, as Linux hands them out, skipping any still
	// open.
	c.client = clientAddr
	for g.portInUse[g.nextPort] {
		g.nextPort = nextEphemeral(g.nextPort)
	}
	c.cport = uint16(g.nextPort)
	g.portInUse[c.cport] = true
	g.nextPort = nextEphemeral(g.nextPort)
	c.stage = stDNSQuery

	hello := g.hellos[c.name]
	c.phases = append(c.phases, phase{fromClient: true, data: hello, n: len(hello)})
	// The server's first flight: ServerHello, ChangeCipherSpec, then
	// EncryptedExtensions to Finished (mostly the certificate chain) in
	// one encrypted record.
	c.buf = append(c.buf, g.serverHello[c.name]...)
	c.buf = append(c.buf, 0x14, 3, 3, 0, 1, 1)
	c.buf = g.appendRecord(c.buf, 0x17, 2400+g.rng.IntN(1000))
	c.addPhase(false, 0)
	// The client's ChangeCipherSpec and Finished, then its first request.
	mark := len(c.buf)
	c.buf = append(c.buf, 0x14, 3, 3, 0, 1, 1)
	c.buf = g.appendRecord(c.buf, 0x17, 53)
	if g.mode == modeBulk {
		c.buf = g.appendRecord(c.buf, 0x17, 350+g.rng.IntN(200)) // PUT headers
		c.addPhase(true, mark)
		c.phases = append(c.phases, phase{fromClient: true, n: g.uploadRecs * g.recLen})
		mark = len(c.buf)
		c.buf = g.appendRecord(c.buf, 0x17, 250) // session ticket
		c.buf = g.appendRecord(c.buf, 0x17, 250+g.rng.IntN(100))
		c.addPhase(false, mark)
		return
	}
	// S3 SDKs keep connections alive for a few small requests.
	k := 1 + g.rng.IntN(9)
	for i := range k {
		c.buf = g.appendRecord(c.buf, 0x17, 120+g.rng.IntN(600))
		c.addPhase(true, mark)
		mark = len(c.buf)
		if i == 0 {
			c.buf = g.appendRecord(c.buf, 0x17, 250) // session ticket
		}
		c.buf = g.appendRecord(c.buf, 0x17, 100+g.rng.IntN(800))
		c.addPhase(false, mark)
		mark = len(c.buf)
	}
}

// addPhase makes c.buf[from:] the next phase. A later append that moves
// buf leaves the phase pointing at the old array, whose bytes are the same.
func (c *conn) addPhase(fromClient bool, from int) {
	c.phases = append(c.phases, phase{fromClient: fromClient, data: c.buf[from:len(c.buf):len(c.buf)], n: len(c.buf) - from})
}

func nextEphemeral(p int) int {
	if p == ephemeralH {
		return ephemeralL
	}
	return p + 1
}

// step writes c's next packet and reports whether c is finished.
func (g *gen) step(c *conn) bool {
	switch c.stage {
	case stDNSQuery:
		g.dns(c, g.dnsQuery[c.name], true)
	case stDNSAnswer:
		if c.public {
			g.dns(c, g.dnsPublic[c.name], false)
		} else {
			g.dns(c, g.dnsEndpoint[c.name], false)
		}
	case stSYN:
		g.tcp(c, true, flagSYN, nil)
		c.cseq++
		if g.mode == modeSynOnly {
			return true
		}
	case stSYNACK:
		g.tcp(c, false, flagSYN|flagACK, nil)
		c.sseq++
	case stACK:
		g.tcp(c, true, flagACK, nil)
	case stData:
		return g.data(c)
	case stFIN:
		// close_notify and FIN together, as a client that closes right
		// after its last response does.
		g.tcp(c, true, flagFIN|flagPSH|flagACK, g.closeNotify)
		c.cseq += uint32(len(g.closeNotify)) + 1
	case stFINACK:
		g.tcp(c, false, flagFIN|flagACK, nil)
		c.sseq++
	case stLastACK:
		g.tcp(c, true, flagACK, nil)
		return true
	}
	c.stage++
	return false
}

// data writes the next segment of c's current phase, or the ACK its
// receiver owes: a delayed ACK every second segment, and one at the end of
// a phase when the same side sends again next (otherwise the answer
// carries the ACK).
func (g *gen) data(c *conn) bool {
	if c.ackDue {
		c.ackDue = false
		g.tcp(c, c.ackFromClient, flagACK, nil)
		return false
	}
	ph := &c.phases[c.pi]
	n := min(mss, ph.n-c.off)
	var payload []byte
	if ph.data != nil {
		payload = ph.data[c.off : c.off+n]
	} else {
		o := c.off % g.recLen
		payload = g.record[o : o+n]
	}
	last := c.off+n == ph.n
	flags := byte(flagACK)
	if last {
		flags |= flagPSH
	}
	g.tcp(c, ph.fromClient, flags, payload)
	if ph.fromClient {
		c.cseq += uint32(n)
	} else {
		c.sseq += uint32(n)
	}
	c.off += n
	c.segs++
	switch {
	case !last:
		if c.segs%2 == 0 {
			c.ackDue, c.ackFromClient = true, !ph.fromClient
		}
		return false
	case c.pi+1 == len(c.phases):
		if g.mode == modeHelloPartial {
			return true // and nothing more, ever
		}
		c.stage = stFIN
		return false
	}
	c.pi++
	c.off, c.segs = 0, 0
	if c.phases[c.pi].fromClient == ph.fromClient {
		c.ackDue, c.ackFromClient = true, !ph.fromClient
	}
	return false
}

// dns writes a DNS message of c's lookup: the query from the client, or
// the resolver's answer.
func (g *gen) dns(c *conn, tmpl []byte, query bool) {
	b := g.buf[16+14+20+8:]
	n := copy(b, tmpl)
	binary.BigEndian.PutUint16(b, c.dnsID)
	if !query && c.public {
		copy(b[n-4:n], c.server[:])
	}
	src, dst, sport, dport := c.client, resolverAddr, c.dnsPort, uint16(53)
	if !query {
		src, dst, sport, dport = dst, src, dport, sport
	}
	u := g.buf[16+14+20:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+n))
	u[6], u[7] = 0, 0
	sum := g.pseudo(src, dst, 17, 8+n)
	ck := fold(csum(sum, u[:8+n]))
	if ck == 0 {
		ck = 0xffff // zero means "no checksum" in UDP
	}
	binary.BigEndian.PutUint16(u[6:], ck)
	g.ip(src, dst, 17, 8+n, query)
}

// tcp writes one segment of c from the client (or the server) with the
// current sequence numbers; every segment but the first SYN acknowledges
// all the peer sent. Options are Linux's: MSS 1460, SACK permitted,
// timestamps and window scale 7 on SYNs, timestamps on every other segment
// (which is why full segments carry 1448 bytes).
func (g *gen) tcp(c *conn, fromClient bool, flags byte, payload []byte) {
	src, dst, sport, dport, seq, ack := c.client, c.server, c.cport, uint16(443), c.cseq, c.sseq
	win := uint16(501)
	tsval, tsecr := c.tsClient, c.tsServer
	if !fromClient {
		src, dst, sport, dport, seq, ack = dst, src, dport, sport, c.sseq, c.cseq
		win = 443
		tsval, tsecr = tsecr, tsval
	}
	ms := uint32(g.ts / 1e6) // Linux's timestamp clock ticks each millisecond
	tsval += ms
	tsecr += ms
	t := g.buf[16+14+20:]
	hl := 32
	o := t[20:]
	if flags&flagSYN != 0 {
		win = 64240
		hl = 40
		copy(o, []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10})
		binary.BigEndian.PutUint32(o[8:], tsval)
		binary.BigEndian.PutUint32(o[12:], tsecr)
		copy(o[16:], []byte{1, 3, 3, 7})
		if flags&flagACK == 0 {
			binary.BigEndian.PutUint32(o[12:], 0)
		}
	} else {
		o[0], o[1], o[2], o[3] = 1, 1, 8, 10
		binary.BigEndian.PutUint32(o[4:], tsval)
		binary.BigEndian.PutUint32(o[8:], tsecr)
	}
	if flags&flagACK == 0 {
		ack = 0
	}
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12] = byte(hl/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], win)
	t[16], t[17], t[18], t[19] = 0, 0, 0, 0
	copy(t[hl:], payload)
	n := hl + len(payload)
	binary.BigEndian.PutUint16(t[16:], fold(csum(g.pseudo(src, dst, 6, n), t[:n])))
	g.ip(src, dst, 6, n, fromClient)
}

// ip writes the Ethernet and IPv4 headers in front of the n transport
// bytes already in buf, then the record.
func (g *gen) ip(src, dst [4]byte, proto byte, n int, fromClient bool) {
	e := g.buf[16:]
	if fromClient {
		copy(e[0:], gatewayMAC[:])
		copy(e[6:], clientMAC[:])
	} else {
		copy(e[0:], clientMAC[:])
		copy(e[6:], gatewayMAC[:])
	}
	e[12], e[13] = 0x08, 0x00
	h := e[14:34]
	h[0], h[1] = 0x45, 0
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	binary.BigEndian.PutUint16(h[4:], g.ipID)
	g.ipID++
	h[6], h[7] = 0x40, 0 // don't fragment
	h[8] = 64
	if !fromClient {
		h[8] = 250 // a few hops away, from a 255 start
	}
	h[9] = proto
	h[10], h[11] = 0, 0
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	binary.BigEndian.PutUint16(h[10:], fold(csum(0, h)))
	g.writeRecord(14 + 20 + n)
}

// writeRecord writes the pcap record header for the frame of n bytes at
// buf[16:], then the frame.
func (g *gen) writeRecord(n int) {
	t := baseTime.UnixNano() + g.ts
	frac := uint32(t % 1e9)
	if !g.nanos {
		frac /= 1000
	}
	binary.LittleEndian.PutUint32(g.buf[0:], uint32(t/1e9))
	binary.LittleEndian.PutUint32(g.buf[4:], frac)
	binary.LittleEndian.PutUint32(g.buf[8:], uint32(n))
	binary.LittleEndian.PutUint32(g.buf[12:], uint32(n))
	g.w.Write(g.buf[:16+n]) // bufio keeps the first error for Flush
	g.packets++
	g.bytes += int64(n)
}

func (g *gen) fileHeader() {
	var h [24]byte
	magic := uint32(0xa1b2c3d4)
	if g.nanos {
		magic = 0xa1b23c4d
	}
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snapLen)
	binary.LittleEndian.PutUint32(h[20:], 1) // LINKTYPE_ETHERNET
	g.w.Write(h[:])
}

// pseudo is the checksum sum of the IPv4 pseudo-header.
func (g *gen) pseudo(src, dst [4]byte, proto byte, n int) uint64 {
	var p [12]byte
	copy(p[0:], src[:])
	copy(p[4:], dst[:])
	p[9] = proto
	binary.BigEndian.PutUint16(p[10:], uint16(n))
	return csum(0, p[:])
}

// csum adds b, as big-endian 16-bit words, to a one's complement sum kept
// in 64 bits: eight bytes at a time, since end-around carry makes the word
// size irrelevant. b must start at an even offset of the checksummed data.
func csum(sum uint64, b []byte) uint64 {
	var c uint64
	for len(b) >= 8 {
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b), 0)
		sum += c
		b = b[8:]
	}
	var t [8]byte
	copy(t[:], b)
	sum, c = bits.Add64(sum, binary.BigEndian.Uint64(t[:]), 0)
	return sum + c
}

func fold(sum uint64) uint16 {
	sum = sum>>32 + sum&0xffffffff
	sum = sum>>32 + sum&0xffffffff
	sum = sum>>16 + sum&0xffff
	sum = sum>>16 + sum&0xffff
	return ^uint16(sum)
}
