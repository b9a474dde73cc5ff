//go:build ignore && linux

// Command live measures the live capture on loopback: it sends UDP
// datagrams to 127.0.0.1 at a fixed rate while a child process captures
// them, then prints what was sent, captured and dropped, and the CPU time
// the capturing process used. See README.md.
//
//	go run ./bench/live -mode match -rate 200000 -seconds 10
//	go run ./bench/live -mode nomatch -rate 200000 -seconds 10
//	go run ./bench/live -conns -rate 200000 -seconds 60   # a new connection per datagram: RSS over time
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	gpafpacket "github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	netbpf "golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/afpacket"
	"github.com/vpce-verify/vpce-verify/capture/bpf"
	"github.com/vpce-verify/vpce-verify/capture/flow"
)

// The filter keeps VXLAN (UDP 4789); the non-matching traffic goes to the
// next port.
const (
	matchPort   = 4789
	nomatchPort = 4790
)

// result is what the capturing child reports.
type result struct {
	Captured uint64 `json:"captured"`
	Received uint64 `json:"received"`
	Dropped  uint64 `json:"dropped"`
	// CPU and wall time from the moment the capture was ready.
	UserSec float64 `json:"user_s"`
	SysSec  float64 `json:"sys_s"`
	WallSec float64 `json:"wall_s"`
	// MaxGapMs is the longest time the capture loop took for 64 packets;
	// Preempted counts involuntary context switches. Both tell whether the
	// capturing process was starved of CPU.
	MaxGapMs  float64 `json:"max_gap_ms"`
	Preempted int64   `json:"preempted"`
	Flows     int     `json:"flows,omitempty"`
	Tunneled  uint64  `json:"tunneled,omitempty"`
	// With -conns: connections finished (streamed, as the command does)
	// and the capturing process's resident memory, sampled every second.
	Finished uint64    `json:"finished,omitempty"`
	RSSMB    []float64 `json:"rss_mb,omitempty"`
}

func main() {
	mode := flag.String("mode", "match", "match: traffic the filter keeps; nomatch: traffic it rejects")
	rate := flag.Int("rate", 200000, "datagrams per second")
	seconds := flag.Float64("seconds", 10, "how long to send")
	size := flag.Int("size", 64, "UDP payload bytes: VXLAN and a mirrored TCP segment, padded")
	impl := flag.String("impl", "ring", "ring: afpacket.Source; afpacket or ethernet: gopacket's afpacket or pcapgo.EthernetHandle, for comparison")
	analyze := flag.Bool("analyze", false, "also feed every frame to flow.Analyzer")
	conns := flag.Bool("conns", false, "every datagram mirrors the SYN of a new connection (implies -analyze): the analyzer streams finished\nconnections as the command does, under its memory limit, and the capturer's RSS is sampled every second")
	idle := flag.Duration("idle", flow.DefaultIdleTimeout, "with -conns: the analyzer's idle timeout (--idle-timeout)")
	child := flag.Bool("child", false, "internal: be the capturing process")
	flag.Parse()
	if *conns {
		*analyze = true
		newConns, idleTimeout = true, *idle
	}
	if *child {
		if err := capturer(*impl, *analyze); err != nil {
			fmt.Fprintln(os.Stderr, "live bench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*mode, *rate, *seconds, *size, *impl, *analyze); err != nil {
		fmt.Fprintln(os.Stderr, "live bench:", err)
		os.Exit(1)
	}
}

func run(mode string, rate int, seconds float64, size int, impl string, analyze bool) error {
	port := matchPort
	switch mode {
	case "match":
	case "nomatch":
		port = nomatchPort
	default:
		return fmt.Errorf("unknown -mode %q", mode)
	}
	// A bound socket that never reads: the kernel drops the datagrams at
	// its full queue instead of answering with ICMP port unreachable.
	sink, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	defer sink.Close()

	cmd := exec.Command(os.Args[0], "-child", "-impl", impl, fmt.Sprintf("-analyze=%v", analyze),
		fmt.Sprintf("-conns=%v", newConns), "-idle", idleTimeout.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	out := bufio.NewReader(stdout)
	if line, err := out.ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("child did not start: %q %v", line, err)
	}

	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	sent, elapsed, err := send(port, rate, seconds, size)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	// Let the kernel hand over its last block before the child stops.
	time.Sleep(10 * afpacket.BlockTimeout)
	stdin.Close()
	var res result
	decErr := json.NewDecoder(out).Decode(&res)
	waitErr := cmd.Wait()
	if err != nil {
		return err
	}
	if decErr != nil || waitErr != nil {
		return fmt.Errorf("child: %v %v", decErr, waitErr)
	}

	genCPU := cpu(after) - cpu(before)
	fmt.Printf("mode %s, impl %s, analyze %v, %d-byte UDP payloads to 127.0.0.1:%d\n", mode, impl, analyze, max(size, 62), port)
	fmt.Printf("sent      %d datagrams in %.2f s = %.0f/s (sender CPU %.2f s)\n", sent, elapsed, float64(sent)/elapsed, genCPU)
	fmt.Printf("captured  %d\n", res.Captured)
	fmt.Printf("kernel    received by filter %d, dropped %d\n", res.Received, res.Dropped)
	fmt.Printf("capturer  CPU user %.3f s + sys %.3f s over %.2f s wall = %.1f%% of one core\n",
		res.UserSec, res.SysSec, res.WallSec, 100*(res.UserSec+res.SysSec)/res.WallSec)
	if impl == "ring" && res.Captured > 0 {
		fmt.Printf("reader    longest time for 64 packets %.1f ms, preempted %d times\n", res.MaxGapMs, res.Preempted)
	}
	if analyze {
		fmt.Printf("analyzer  %d VXLAN packets decapsulated, %d flows\n", res.Tunneled, res.Flows)
	}
	if newConns {
		fmt.Printf("conns     %d finished and streamed, %d open at the end (idle timeout %v)\n", res.Finished, res.Flows, idleTimeout)
		var b strings.Builder
		peak := 0.0
		for i, mb := range res.RSSMB {
			peak = max(peak, mb)
			if i%5 == 4 {
				fmt.Fprintf(&b, " %ds:%.0f", i+1, mb)
			}
		}
		fmt.Printf("RSS (MB)  peak %.0f; every 5 s:%s\n", peak, b.String())
	}
	return nil
}

func cpu(r syscall.Rusage) float64 {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano()).Seconds()
}

// send writes datagrams in batches (sendmmsg), paced to rate per second.
func send(port, rate int, seconds float64, size int) (int, float64, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	dst := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	payload, err := vxlanPayload(size)
	if err != nil {
		return 0, 0, err
	}
	for i := range msgs {
		p := payload
		if newConns {
			p = append([]byte(nil), payload...)
		}
		msgs[i] = ipv4.Message{Buffers: [][]byte{p}, Addr: dst}
	}
	total := int(float64(rate) * seconds)
	start := time.Now()
	sent := 0
	for sent < total {
		due := min(int(float64(rate)*time.Since(start).Seconds()), total)
		if due-sent <= 0 {
			time.Sleep(200 * time.Microsecond)
			continue
		}
		n := min(due-sent, batch)
		if newConns {
			for i := range n {
				nextConn(msgs[i].Buffers[0], sent+i)
			}
		}
		w, err := pc.WriteBatch(msgs[:n], 0)
		if err != nil {
			return sent, time.Since(start).Seconds(), fmt.Errorf("send: %w", err)
		}
		sent += w
	}
	return sent, time.Since(start).Seconds(), nil
}

// vxlanPayload is what VPC Traffic Mirroring would deliver: a VXLAN header
// and a mirrored Ethernet frame holding a TCP segment of one connection,
// padded so that the UDP payload is size bytes (at least 62).
func vxlanPayload(size int) ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x25}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 0x50}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 1, 25}, DstIP: net.IP{10, 0, 2, 50}}
	tcp := &layers.TCP{SrcPort: 43528, DstPort: 443, ACK: true, PSH: true, Seq: 1000, Ack: 2000, Window: 500}
	if newConns {
		tcp = &layers.TCP{SrcPort: 43528, DstPort: 443, SYN: true, Seq: 1000, Window: 64240}
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	err := gopacket.SerializeLayers(buf, opts, &layers.VXLAN{ValidIDFlag: true, VNI: 42}, eth, ip, tcp, gopacket.Payload(make([]byte, max(size-62, 0))))
	return buf.Bytes(), err
}

// newConns and idleTimeout are -conns and -idle, for the sender and the
// child alike.
var (
	newConns    bool
	idleTimeout time.Duration
)

// Offsets in the VXLAN payload of the mirrored packet's IPv4 source
// address and TCP source port: after the VXLAN (8) and Ethernet (14)
// headers and, for the port, the 20-byte IPv4 header. The analyzer does
// not check the inner checksums, so they are patched without fixing them.
const (
	innerSrcIP   = 8 + 14 + 12
	innerSrcPort = 8 + 14 + 20
)

// nextConn makes p the SYN of connection i: 10.1.x.y:port, ports 1024 to
// 65023, then the next address.
func nextConn(p []byte, i int) {
	port, host := 1024+i%64000, i/64000
	p[innerSrcIP], p[innerSrcIP+1], p[innerSrcIP+2], p[innerSrcIP+3] = 10, 1, byte(host>>8), byte(host)
	p[innerSrcPort], p[innerSrcPort+1] = byte(port>>8), byte(port)
}

// rssMB is this process's resident memory (VmRSS) in MB.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// capturer captures on lo until its standard input closes, then prints a
// result as JSON.
func capturer(impl string, analyze bool) error {
	spec := bpf.Spec{TCPPorts: []uint16{443}, DNS: true, VXLAN: true}
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	signal.Ignore(os.Interrupt)
	var a *flow.Analyzer
	var res result
	var sampler sync.WaitGroup
	if newConns {
		// As the command runs: finished connections streamed (and
		// forgotten here), its memory limit.
		debug.SetMemoryLimit(128 << 20)
		a = flow.NewAnalyzer(flow.Options{IdleTimeout: idleTimeout,
			OnFlow: func(*flow.Flow) { res.Finished++ }, OnDNS: func(*flow.DNSTransaction) {}})
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					res.RSSMB = append(res.RSSMB, rssMB())
				}
			}
		}()
	} else if analyze {
		a = flow.NewAnalyzer(flow.Options{})
	}
	var start time.Time
	var ru0 syscall.Rusage
	ready := func() {
		fmt.Println("ready")
		start = time.Now()
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	}
	switch impl {
	case "ring":
		src, err := afpacket.Open(afpacket.Options{Interfaces: []string{"lo"}, Filter: spec})
		if err != nil {
			return err
		}
		go func() {
			<-stop
			src.Close()
		}()
		ready()
		var f capture.Frame
		last := time.Now()
		for {
			err := src.Next(&f)
			if errors.Is(err, capture.ErrClosed) {
				break
			}
			if err != nil {
				return err
			}
			res.Captured++
			if res.Captured%64 == 0 {
				// A clock read per packet would cost more than the capture.
				now := time.Now()
				if gap := now.Sub(last); res.Captured > 64 && gap.Seconds()*1000 > res.MaxGapMs {
					res.MaxGapMs = gap.Seconds() * 1000
				}
				last = now
			}
			if a != nil {
				a.Add(&f)
			}
		}
		st := src.Stats()
		res.Received, res.Dropped = st.Received, st.Dropped
	case "afpacket":
		if err := afpacketCapture(spec, stop, ready, a, &res); err != nil {
			return err
		}
	case "ethernet":
		if err := ethernetCapture(spec, stop, ready, a, &res); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown -impl %q", impl)
	}
	sampler.Wait()
	res.WallSec = time.Since(start).Seconds()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	res.UserSec = time.Duration(ru.Utime.Nano() - ru0.Utime.Nano()).Seconds()
	res.SysSec = time.Duration(ru.Stime.Nano() - ru0.Stime.Nano()).Seconds()
	res.Preempted = ru.Nivcsw - ru0.Nivcsw
	if a != nil {
		r := a.Result()
		res.Flows, res.Tunneled = len(r.Flows), r.Stats.Tunneled
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// afpacketCapture does the same with gopacket's afpacket, with the same
// ring geometry, block timeout and filter. Its reads cannot be interrupted
// by Close, so it polls with a timeout and checks stop in between.
func afpacketCapture(spec bpf.Spec, stop chan struct{}, ready func(), a *flow.Analyzer, res *result) error {
	tp, err := gpafpacket.NewTPacket(gpafpacket.OptInterface("lo"), gpafpacket.TPacketVersion3,
		gpafpacket.OptBlockSize(512<<10), gpafpacket.OptFrameSize(2048), gpafpacket.OptNumBlocks(64),
		gpafpacket.OptBlockTimeout(afpacket.BlockTimeout), gpafpacket.OptPollTimeout(50*time.Millisecond))
	if err != nil {
		return err
	}
	defer tp.Close()
	prog, err := loopbackProgram(spec)
	if err != nil {
		return err
	}
	if err := tp.SetBPF(prog); err != nil {
		return err
	}
	ready()
	var f capture.Frame
	for {
		data, ci, err := tp.ZeroCopyReadPacketData()
		if errors.Is(err, gpafpacket.ErrTimeout) {
			select {
			case <-stop:
				_, st, err := tp.SocketStats()
				if err != nil {
					return err
				}
				res.Received, res.Dropped = uint64(st.Packets()), uint64(st.Drops())
				return nil
			default:
				continue
			}
		}
		if err != nil {
			return err
		}
		res.Captured++
		if a != nil {
			f = capture.Frame{TS: ci.Timestamp, Data: data, WireLen: ci.Length, LinkType: layers.LinkTypeEthernet}
			a.Add(&f)
		}
	}
}

// loopbackProgram is spec's program for lo with the guard that drops
// loopback's outgoing copy of each packet, as afpacket.Source does.
func loopbackProgram(spec bpf.Spec) ([]netbpf.RawInstruction, error) {
	prog, err := spec.Program(layers.LinkTypeEthernet)
	if err != nil {
		return nil, err
	}
	guard, err := netbpf.Assemble([]netbpf.Instruction{
		netbpf.LoadExtension{Num: netbpf.ExtType},
		netbpf.JumpIf{Cond: netbpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
		netbpf.RetConstant{Val: 0},
	})
	return append(guard, prog...), err
}

// ethernetCapture does the same with pcapgo.EthernetHandle: one recvmsg per
// packet through Go's poller, in the socket's default receive buffer.
func ethernetCapture(spec bpf.Spec, stop chan struct{}, ready func(), a *flow.Analyzer, res *result) error {
	h, err := pcapgo.NewEthernetHandle("lo")
	if err != nil {
		return err
	}
	prog, err := loopbackProgram(spec)
	if err != nil {
		return err
	}
	if err := h.SetBPF(prog); err != nil {
		return err
	}
	h.Stats() // the counters reset on read: start from zero
	var stats unix.TpacketStats
	go func() {
		<-stop
		if st, err := h.Stats(); err == nil {
			stats = *st
		}
		h.Close()
	}()
	ready()
	var f capture.Frame
	for {
		data, ci, err := h.ZeroCopyReadPacketData()
		if err != nil {
			break // closed
		}
		res.Captured++
		if a != nil {
			f = capture.Frame{TS: ci.Timestamp, Data: data, WireLen: ci.Length, LinkType: layers.LinkTypeEthernet}
			a.Add(&f)
		}
	}
	res.Received, res.Dropped = uint64(stats.Packets), uint64(stats.Drops)
	return nil
}
