package savefile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

var writerIfaces = []capture.Interface{
	{Name: "lo", LinkType: layers.LinkTypeEthernet, SnapLen: 262144},
	{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLen: 96},
}

// writerFrames are frames of both interfaces with nanosecond timestamps;
// the third was cut by the snap length.
func writerFrames(t testing.TB) []capture.Frame {
	serialize := func(ls ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		return slices.Clone(buf.Bytes())
	}
	ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{10, 0, 1, 25}, DstIP: []byte{10, 0, 2, 50}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, Seq: 1000, Window: 64240}
	if err := tcp.SetNetworkLayerForChecksum(ip4); err != nil {
		t.Fatal(err)
	}
	e := serialize(&layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 0x25}, DstMAC: []byte{2, 0, 0, 0, 0, 0x50}, EthernetType: layers.EthernetTypeIPv4}, ip4, tcp, gopacket.Payload("request"))
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP,
		SrcIP: netip.MustParseAddr("fd00:10:0:1::25").AsSlice(), DstIP: netip.MustParseAddr("fd00:ec2::253").AsSlice()}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 53}
	if err := udp.SetNetworkLayerForChecksum(ip6); err != nil {
		t.Fatal(err)
	}
	v6 := serialize(ip6, udp, gopacket.Payload("a query"))
	base := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	return []capture.Frame{
		{TS: base.Add(1), Data: e, WireLen: len(e), LinkType: layers.LinkTypeEthernet, Interface: 0},
		{TS: base.Add(1500 * time.Microsecond), Data: v6, WireLen: len(v6), LinkType: layers.LinkTypeRaw, Interface: 1},
		{TS: base.Add(2*time.Second + 999_999_999), Data: e[:40], WireLen: len(e), LinkType: layers.LinkTypeEthernet, Interface: 0},
	}
}

// writerTshark lists what tshark reads in the file: one line per packet
// with the interface name, wire and captured length and the epoch time.
func writerTshark(t *testing.T, path string) []string {
	t.Helper()
	return testenv.Tshark(t, "-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch")
}

func TestWriterPcapng(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.pcapng")
	w, err := NewWriter(path, writerIfaces)
	if err != nil {
		t.Fatal(err)
	}
	frames := writerFrames(t)
	for i := range frames {
		if err := w.Write(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	stats := []capture.Counts{{Received: 10, Dropped: 2}, {Received: 5}}
	if err := w.Close(stats); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(nil); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// The digest the report gives is the file's, taken as it was written.
	if data, err := os.ReadFile(path); err != nil || w.SHA256() != fmt.Sprintf("%x", sha256.Sum256(data)) {
		t.Errorf("SHA256 %q is not the digest of the file (%v)", w.SHA256(), err)
	}
	if err := w.Write(&frames[0]); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Write after Close: %v, want an error saying closed", err)
	}

	t.Run("pcapgo reader", func(t *testing.T) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		type stat struct{ recv, drop uint64 }
		var got []stat
		r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true, StatisticsCallback: func(i int, s pcapgo.NgInterfaceStatistics) {
			got = append(got, stat{s.PacketsReceived, s.PacketsDropped})
		}})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range frames {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			if !bytes.Equal(data, want.Data) || ci.Length != want.WireLen || !ci.Timestamp.Equal(want.TS) || ci.InterfaceIndex != want.Interface {
				t.Errorf("packet %d: %d bytes of %d at %v on %d, want %d of %d at %v on %d",
					i, len(data), ci.Length, ci.Timestamp, ci.InterfaceIndex, len(want.Data), want.WireLen, want.TS, want.Interface)
			}
		}
		if _, _, err := r.ReadPacketData(); err != io.EOF {
			t.Fatalf("after the packets: %v, want EOF", err)
		}
		if r.NInterfaces() != 2 {
			t.Fatalf("%d interfaces, want 2", r.NInterfaces())
		}
		for i, want := range writerIfaces {
			ifc, _ := r.Interface(i)
			if ifc.Name != want.Name || ifc.LinkType != want.LinkType || int(ifc.SnapLength) != want.SnapLen {
				t.Errorf("interface %d: %s %v %d, want %s %v %d", i, ifc.Name, ifc.LinkType, ifc.SnapLength, want.Name, want.LinkType, want.SnapLen)
			}
		}
		if want := []stat{{10, 2}, {5, 0}}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("interface statistics %v, want %v", got, want)
		}
	})
	t.Run("tshark", func(t *testing.T) {
		got := writerTshark(t, path)
		want := []string{
			"lo\t61\t61\t1793613600.000000001",
			"tun0\t55\t55\t1793613600.001500000",
			"lo\t61\t40\t1793613602.999999999",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("tshark reads\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestWriterPcap(t *testing.T) {
	dir := t.TempDir()
	t.Run("one link type", func(t *testing.T) {
		path := filepath.Join(dir, "out.pcap")
		w, err := NewWriter(path, writerIfaces[:1])
		if err != nil {
			t.Fatal(err)
		}
		frames := writerFrames(t)
		for _, i := range []int{0, 2} {
			if err := w.Write(&frames[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Write(&frames[1]); err == nil {
			t.Error("a frame of an interface the file does not have was written")
		}
		if err := w.Close([]capture.Counts{{Received: 1}}); err != nil {
			t.Fatal(err)
		}
		if data, err := os.ReadFile(path); err != nil || w.SHA256() != fmt.Sprintf("%x", sha256.Sum256(data)) {
			t.Errorf("SHA256 %q is not the digest of the file (%v)", w.SHA256(), err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if r.LinkType() != layers.LinkTypeEthernet || r.Snaplen() != 262144 || r.Resolution() != gopacket.TimestampResolutionNanosecond {
			t.Errorf("header: %v snap %d resolution %v", r.LinkType(), r.Snaplen(), r.Resolution())
		}
		got := writerTshark(t, path)
		// A pcap file names no interface.
		want := []string{"\t61\t61\t1793613600.000000001", "\t61\t40\t1793613602.999999999"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("tshark reads %q, want %q", got, want)
		}
	})
	for _, tc := range []struct {
		name, file string
		ifaces     []capture.Interface
		want       string
	}{
		{"two link types", "two.pcap", writerIfaces, "a pcap file holds one link type, but lo is EN10MB and tun0 is RAW: write to a .pcapng file"},
		{"no interface", "none.pcapng", nil, "no interface"},
		{"missing directory", "nodir/out.pcap", writerIfaces[:1], "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			_, err := NewWriter(path, tc.ifaces)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "write") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(path); err == nil {
				t.Errorf("%s was created", path)
			}
		})
	}
}

// TestWriterKilled kills a process that writes a capture with SIGKILL and
// checks that tshark reads the file without complaint up to the last
// flush: what was written a second before the kill is in the file, and the
// file ends on a record boundary even when the kill comes while records
// are being written fast.
func TestWriterKilled(t *testing.T) {
	if mode := os.Getenv("VPCE_WRITER_CHILD"); mode != "" {
		writerChild(t, mode)
		return
	}
	testenv.Tool(t, "tshark")
	for _, mode := range []string{"idle", "busy"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "killed.pcapng")
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriterKilled$", "-test.v")
			cmd.Env = append(os.Environ(), "VPCE_WRITER_CHILD="+mode, "VPCE_WRITER_PATH="+path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			flushed := -1
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "flushed "); ok {
					flushed, _ = strconv.Atoi(n)
					break
				}
			}
			if mode == "busy" {
				time.Sleep(300 * time.Millisecond) // kill while it writes
			}
			cmd.Process.Kill()
			cmd.Wait()
			if flushed < 0 {
				t.Fatal("the child did not report")
			}
			got := writerTshark(t, path)
			if mode == "idle" && len(got) != flushed {
				t.Errorf("tshark reads %d packets, want the %d written before the last flush", len(got), flushed)
			}
			if mode == "busy" && len(got) < flushed {
				t.Errorf("tshark reads %d packets, want at least %d", len(got), flushed)
			}
			t.Logf("%s: tshark read %d packets of a file killed after %d were flushed", mode, len(got), flushed)
		})
	}
}

// writerChild writes frames to VPCE_WRITER_PATH until it is killed. idle:
// five frames, a wait for the timed flush, then three more that no flush
// will reach. busy: frames in bursts of 100 every millisecond, reporting
// once two size flushes must have happened.
func writerChild(t *testing.T, mode string) {
	w, err := NewWriter(os.Getenv("VPCE_WRITER_PATH"), writerIfaces)
	if err != nil {
		t.Fatal(err)
	}
	frames := writerFrames(t)
	switch mode {
	case "idle":
		for i := range 5 {
			w.Write(&frames[i%len(frames)])
		}
		time.Sleep(writerFlushEvery + writerFlushEvery/2)
		for i := range 3 {
			w.Write(&frames[i])
		}
		fmt.Println("flushed 5")
		select {}
	case "busy":
		for n := 0; ; n++ {
			if err := w.Write(&frames[n%len(frames)]); err != nil {
				t.Fatal(err)
			}
			if n == 30000 { // about 2.7 MB: at least two size flushes
				fmt.Println("flushed 20000")
			}
			if n%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
}

func BenchmarkWriterWrite(b *testing.B) {
	for _, tc := range []struct {
		ext   string
		flush bool
	}{{"pcapng", false}, {"pcap", false}, {"pcap.gz", false}, {"pcapng.gz", false}, {"pcap", true}, {"pcap.gz", true}} {
		name := tc.ext
		if tc.flush {
			name += "-U"
		}
		b.Run(name, func(b *testing.B) {
			w, err := Open(Options{Name: filepath.Join(b.TempDir(), "bench."+tc.ext), Flush: tc.flush}, writerIfaces[:1])
			if err != nil {
				b.Fatal(err)
			}
			f := writerFrames(b)[0]
			b.ReportAllocs()
			b.SetBytes(int64(len(f.Data)))
			for b.Loop() {
				if err := w.Write(&f); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := w.Close(nil); err != nil && !errors.Is(err, os.ErrClosed) {
				b.Fatal(err)
			}
		})
	}
}

// TestWriterMetadata: what a pcapng file says of itself (section comment,
// shb_os, shb_userappl, if_description, if_filter) and packet comments
// are what capinfos and tshark show.
func TestWriterMetadata(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.pcapng")
	w, err := Open(Options{Name: path, Meta: Meta{
		Comment: "vpce-verify v9.9.9: verdict FAIL", OS: "Linux 6.1.0-test x86_64", Application: "vpce-verify v9.9.9",
		Descriptions: []string{"loopback, vpce-verify capture", "the tunnel"}, Filter: "tcp port 443 or port 53",
	}}, writerIfaces)
	if err != nil {
		t.Fatal(err)
	}
	frames := writerFrames(t)
	if err := w.WriteComment(&frames[0], "public-aws AMAZON+S3 us-east-1 52.216.0.0/15: FAIL"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(frames); i++ {
		if err := w.Write(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	got := testenv.Tshark(t, "-r", path, "-T", "fields", "-e", "frame.number", "-e", "frame.comment")
	want := []string{"1\tpublic-aws AMAZON+S3 us-east-1 52.216.0.0/15: FAIL", "2\t", "3\t"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tshark reads the comments\n%q\nwant\n%q", got, want)
	}
	out, err := exec.Command(testenv.Tool(t, "capinfos"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Capture oper-sys:    Linux 6.1.0-test x86_64",
		"Capture application: vpce-verify v9.9.9",
		"Capture comment:     vpce-verify v9.9.9: verdict FAIL",
		"Description = loopback, vpce-verify capture",
		"Description = the tunnel",
		"Filter string = tcp port 443 or port 53",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("capinfos does not say %q:\n%s", want, out)
		}
	}
}
