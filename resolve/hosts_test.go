package resolve

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A hosts file as an administrator pins S3 names in it.
const hostsText = `# /etc/hosts
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
52.219.64.10	S3.AP-South-1.amazonaws.com   # pinned to public S3 for a test, then forgotten
10.0.9.9  other.example
2406:da60:a000::10 s3-alias s3.ap-south-1.amazonaws.com
fe80::1%eth0	s3.ap-south-1.amazonaws.com
not-an-address	s3.ap-south-1.amazonaws.com
127.1	s3.ap-south-1.amazonaws.com
#52.219.64.11	s3.ap-south-1.amazonaws.com
52.219.64.12 #s3.ap-south-1.amazonaws.com
52.219.64.13	x s3.ap-south-1.amazonaws.com.
52.219.64.14	mybucket.s3.ap-south-1.amazonaws.com
10.0.2.50	s3.ap-south-1.amazonaws.com` // no final newline

func TestHostsAddrs(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		// Canonical name and alias, any ASCII case, IPv4 and IPv6, in file order;
		// zones, unreadable addresses, comments, a trailing dot and names
		// under the name do not count.
		{"s3.ap-south-1.amazonaws.com", []string{"52.219.64.10", "2406:da60:a000::10", "10.0.2.50"}},
		{"S3-ALIAS", []string{"2406:da60:a000::10"}},
		{"localhost", []string{"127.0.0.1", "::1"}},
		{"s3.ap-south-1.amazonaws.com.", []string{"52.219.64.13"}},
		{"s3.eu-west-1.amazonaws.com", nil},
		{"127.0.0.1", nil},
		// strcasecmp folds ASCII only.
		{"other.exampl\u212a", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, a := range HostsAddrs([]byte(hostsText), tc.name) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := HostsAddrs([]byte("10.0.0.1 a\r\n10.0.0.2\ta\r\n"), "a"); len(got) != 2 {
		t.Errorf("CRLF lines: %v", got)
	}
}

func TestReadHosts(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadHosts(filepath.Join(dir, "missing"), "a"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
	p := filepath.Join(dir, "hosts")
	os.WriteFile(p, []byte(hostsText), 0o644)
	if got, err := ReadHosts(p, "s3.ap-south-1.amazonaws.com"); err != nil || len(got) != 3 {
		t.Errorf("got %v %v", got, err)
	}
}

func FuzzHostsAddrs(f *testing.F) {
	f.Add([]byte(hostsText), "s3.ap-south-1.amazonaws.com")
	f.Add([]byte("::ffff:1.2.3.4 a\n1.2.3.4\n\n#\n"), "a")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		for _, a := range HostsAddrs(data, name) {
			if !a.IsValid() || a.Zone() != "" {
				t.Fatalf("address %v", a)
			}
			if !strings.Contains(strings.ToLower(string(data)), strings.ToLower(name)) {
				t.Fatalf("%v for %q, which the data does not hold", a, name)
			}
		}
	})
}

func TestParseHostsOrder(t *testing.T) {
	type src struct {
		name    string
		returns []NSStatus // statuses after which the lookup stops
	}
	plain := func(n string) src { return src{n, []NSStatus{NSSuccess}} }
	tests := []struct {
		name    string
		text    string
		line    string
		def     bool
		sources []src
		warn    []string
	}{
		{"Debian", "passwd: files\nhosts:          files dns\nnetworks: files\n", "files dns", false,
			[]src{plain("files"), plain("dns")}, nil},
		{"no hosts line", "passwd: files\n# hosts: dns files\n", DefaultHostsOrder, true,
			[]src{plain("files"), plain("dns")}, nil},
		{"empty file", "", DefaultHostsOrder, true, []src{plain("files"), plain("dns")}, nil},
		{"Ubuntu with mDNS", "hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n", "files mdns4_minimal [NOTFOUND=return] dns myhostname", false,
			[]src{plain("files"), {"mdns4_minimal", []NSStatus{NSSuccess, NSNotFound}}, plain("dns"), plain("myhostname")}, nil},
		{"systemd-resolved first", "hosts: mymachines resolve [!UNAVAIL=return] files myhostname dns", "mymachines resolve [!UNAVAIL=return] files myhostname dns", false,
			[]src{plain("mymachines"), {"resolve", []NSStatus{NSSuccess, NSNotFound, NSTryAgain}}, plain("files"), plain("myhostname"), plain("dns")}, nil},
		{"dns first, spaces in the brackets, any case", "hosts:\tdns [ notfound = Return\tTRYAGAIN=return ]files\n", "dns [ notfound = Return TRYAGAIN=return ]files", false,
			[]src{{"dns", []NSStatus{NSSuccess, NSNotFound, NSTryAgain}}, plain("files")}, nil},
		{"SUCCESS=continue, merge", "hosts: files [SUCCESS=continue] dns [NOTFOUND=merge]", "files [SUCCESS=continue] dns [NOTFOUND=merge]", false,
			[]src{{"files", nil}, plain("dns")}, nil},
		{"the last hosts line counts", "hosts: dns files\nhosts: files dns\n", "files dns", false,
			[]src{plain("files"), plain("dns")}, []string{"has 2 hosts lines; the C library uses the last (line 2)"}},
		{"no colon", "  hosts files   dns # comment\n", "files dns", false, []src{plain("files"), plain("dns")}, nil},
		{"hostsfoo is another database", "hostsfoo: dns\n", DefaultHostsOrder, true, []src{plain("files"), plain("dns")}, nil},
		{"unknown action", "hosts: files [NOTFOUND=stop] dns", "files [NOTFOUND=stop] dns", false,
			[]src{plain("files"), plain("dns")}, []string{`unknown action "stop"`}},
		{"unknown status", "hosts: files [GONE=return] dns", "files [GONE=return] dns", false,
			[]src{plain("files"), plain("dns")}, []string{`unknown status "GONE"`}},
		{"unclosed bracket", "hosts: files [NOTFOUND=return dns", "files [NOTFOUND=return dns", false,
			[]src{plain("files")}, []string{"has no closing ]"}},
		{"action first", "hosts: [NOTFOUND=return] files", "[NOTFOUND=return] files", false,
			[]src{plain("files")}, []string{"before any source"}},
		{"no sources", "hosts:\n", "", false, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ParseHostsOrder("nss", []byte(tc.text))
			if o.Line != tc.line || o.Default != tc.def {
				t.Errorf("line %q default %v, want %q %v", o.Line, o.Default, tc.line, tc.def)
			}
			if len(o.Sources) != len(tc.sources) {
				t.Fatalf("sources %+v, want %+v", o.Sources, tc.sources)
			}
			for i, s := range o.Sources {
				var returns []NSStatus
				for st := NSSuccess; st <= NSTryAgain; st++ {
					if s.Returns(st) {
						returns = append(returns, st)
					}
				}
				if s.Name != tc.sources[i].name || !slices.Equal(returns, tc.sources[i].returns) {
					t.Errorf("source %d: %s returns on %v, want %s on %v", i, s.Name, returns, tc.sources[i].name, tc.sources[i].returns)
				}
			}
			if len(o.Warnings) != len(tc.warn) {
				t.Fatalf("warnings %q, want %q", o.Warnings, tc.warn)
			}
			for i := range tc.warn {
				if !strings.Contains(o.Warnings[i], tc.warn[i]) {
					t.Errorf("warning %q does not say %q", o.Warnings[i], tc.warn[i])
				}
			}
		})
	}
}

func TestReadHostsOrder(t *testing.T) {
	dir := t.TempDir()
	o, err := ReadHostsOrder(filepath.Join(dir, "missing"))
	if err != nil || !o.Default || o.Line != DefaultHostsOrder || o.String() != "no hosts line in "+filepath.Join(dir, "missing")+`, so "hosts: files dns"` {
		t.Errorf("missing file: %+v %v, want the default", o, err)
	}
	p := filepath.Join(dir, "nsswitch.conf")
	os.WriteFile(p, []byte("hosts: dns files\n"), 0o644)
	o, err = ReadHostsOrder(p)
	if err != nil || o.Default || o.String() != p+` "hosts: dns files"` {
		t.Errorf("got %+v %v (%s)", o, err, o)
	}
	if _, err := ReadHostsOrder(dir); err == nil {
		t.Error("a directory read as nsswitch.conf: no error")
	}
}

func FuzzParseHostsOrder(f *testing.F) {
	f.Add([]byte("hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n"))
	f.Add([]byte("hosts: mymachines resolve [!UNAVAIL=return] files\nhosts:[\n"))
	f.Add([]byte("hosts dns [ notfound = return ]files"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := ParseHostsOrder("fuzz", data)
		for _, s := range o.Sources {
			if s.Name == "" || strings.ContainsAny(s.Name, " \t[") {
				t.Fatalf("source %q", s.Name)
			}
		}
		if o.Default && (len(o.Sources) != 2 || o.File != "fuzz") {
			t.Fatalf("default order %+v", o)
		}
	})
}

// The lookup follows the order of the hosts line: what the hosts file
// says wins when files comes first, DNS's answer when dns comes first, and
// the actions stop it where the C library stops.
func TestHostResolver(t *testing.T) {
	z := s3Zone(t)
	dnsServer := []Server{{Addr: startServer(t, z), Source: "resolv.conf"}}
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte(hostsText), 0o644)
	const name = "s3.ap-south-1.amazonaws.com"
	tests := []struct {
		name      string
		order     string
		hostsFile string
		servers   []Server
		lookup    string
		source    string
		addrs     []string // from the hosts file, or DNS's A then AAAA
		asked     int      // DNS queries
		warn      string
	}{
		{"files first: the pin wins", "hosts: files dns", hosts, dnsServer, name, "files",
			[]string{"52.219.64.10", "2406:da60:a000::10", "10.0.2.50"}, 0, ""},
		{"files first, name not pinned: DNS", "hosts: files dns", hosts, dnsServer, "my-bucket.s3.ap-south-1.amazonaws.com", "dns",
			[]string{"52.219.64.10", "2406:da60:a000::10"}, 2, ""},
		{"dns first: DNS wins over the pin", "hosts: dns files", hosts, dnsServer, name, "dns",
			[]string{"10.0.2.50", "fd00:10:0:2::50"}, 2, ""},
		{"dns NOTFOUND, then files", "hosts: dns files", hosts, dnsServer, "s3-alias", "files",
			[]string{"2406:da60:a000::10"}, 2, ""},
		{"dns NOTFOUND=return: files never asked", "hosts: dns [NOTFOUND=return] files", hosts, dnsServer, "s3-alias", "",
			nil, 2, ""},
		{"files NOTFOUND=return: DNS never asked", "hosts: files [NOTFOUND=return] dns", hosts, dnsServer, "my-bucket.s3.ap-south-1.amazonaws.com", "",
			nil, 0, ""},
		{"no hosts file: DNS", "hosts: files dns", filepath.Join(dir, "missing"), dnsServer, name, "dns",
			[]string{"10.0.2.50", "fd00:10:0:2::50"}, 2, ""},
		{"unreadable hosts file: DNS, and a warning", "hosts: files dns", dir, dnsServer, name, "dns",
			[]string{"10.0.2.50", "fd00:10:0:2::50"}, 2, "the hosts file could not be read"},
		{"resolve [!UNAVAIL=return] stops after systemd-resolved answered", "hosts: mymachines resolve [!UNAVAIL=return] files myhostname dns", hosts, dnsServer, name, "dns",
			[]string{"10.0.2.50", "fd00:10:0:2::50"}, 2, ""},
		{"resolve and dns ask the same servers once", "hosts: resolve files dns", filepath.Join(dir, "missing"), dnsServer, "s3-alias", "",
			nil, 2, ""},
		{"no DNS server, pinned: files", "hosts: dns files", hosts, nil, name, "files",
			[]string{"52.219.64.10", "2406:da60:a000::10", "10.0.2.50"}, 0, "DNS could not be asked"},
		{"mdns4_minimal [NOTFOUND=return] does not stop an S3 name", "hosts: mdns4_minimal [NOTFOUND=return] dns", hosts, dnsServer, name, "dns",
			[]string{"10.0.2.50", "fd00:10:0:2::50"}, 2, ""},
		{"a source that cannot be asked is a warning", "hosts: sss files dns", hosts, dnsServer, name, "files",
			[]string{"52.219.64.10", "2406:da60:a000::10", "10.0.2.50"}, 0, "nsswitch.conf source sss was not asked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(z.seen())
			r := &HostResolver{
				Client: &Client{Timeout: time.Second, Tries: 1}, Order: ParseHostsOrder("nss", []byte(tc.order)),
				HostsFile: tc.hostsFile, Servers: tc.servers,
			}
			l := r.Lookup(context.Background(), tc.lookup)
			var got []string
			if l.Source == "files" {
				for _, a := range l.Hosts {
					got = append(got, a.String())
				}
			} else {
				for _, a := range l.DNS {
					for _, ad := range a.Addresses {
						got = append(got, ad.Addr.String())
					}
				}
			}
			if l.Source != tc.source || !slices.Equal(got, tc.addrs) {
				t.Errorf("source %q addresses %v, want %q %v; steps %q", l.Source, got, tc.source, tc.addrs, l.Steps)
			}
			if n := len(z.seen()) - before; n != tc.asked {
				t.Errorf("%d DNS queries, want %d; steps %q", n, tc.asked, l.Steps)
			}
			if w := strings.Join(l.Warnings, "\n"); (tc.warn == "") != (w == "") || !strings.Contains(w, tc.warn) {
				t.Errorf("warnings %q, want %q", l.Warnings, tc.warn)
			}
		})
	}
}

// A resolver that does not answer is TRYAGAIN, one that cannot be reached
// UNAVAIL: [!UNAVAIL=return] after resolve then stops on the first and
// goes on to the hosts file on the second.
func TestHostResolverDNSFailures(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("52.219.64.10 s3.ap-south-1.amazonaws.com\n"), 0o644)
	silent := []Server{{Addr: startBlackHole(t)}}
	// A port nothing listens on: the kernel refuses at once.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := []Server{{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort()}}
	pc.Close()
	order := ParseHostsOrder("nss", []byte("hosts: resolve [!UNAVAIL=return] files"))
	for _, tc := range []struct {
		name    string
		servers []Server
		source  string
	}{
		{"no reply: TRYAGAIN, the lookup stops", silent, ""},
		{"unreachable: UNAVAIL, the hosts file answers", refused, "files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &HostResolver{Client: &Client{Timeout: 200 * time.Millisecond, Tries: 1}, Order: order, HostsFile: hosts, Servers: tc.servers}
			if l := r.Lookup(context.Background(), "s3.ap-south-1.amazonaws.com"); l.Source != tc.source {
				t.Errorf("source %q, want %q; steps %q", l.Source, tc.source, l.Steps)
			}
		})
	}
}

// verify's time limit bounds the lookup as applications make it: DNS cut
// by the deadline is TRYAGAIN, at once, and the answers say why.
func TestHostResolverDeadline(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644)
	r := &HostResolver{Client: &Client{Timeout: 20 * time.Second, Tries: 2}, Order: ParseHostsOrder("nss", []byte("hosts: files dns")),
		HostsFile: hosts, Servers: []Server{{Addr: startBlackHole(t)}}}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	l := r.Lookup(ctx, "s3.ap-south-1.amazonaws.com")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v after a 300ms deadline", took)
	}
	if l.Source != "" || len(l.DNS) != 2 || !strings.HasSuffix(l.Steps[len(l.Steps)-1], ": TRYAGAIN") {
		t.Fatalf("source %q, %d DNS answers, steps %q; want DNS asked and TRYAGAIN", l.Source, len(l.DNS), l.Steps)
	}
	for _, a := range l.DNS {
		if a.Status != StatusTimeout || !errors.Is(a.Err, context.DeadlineExceeded) || !strings.HasSuffix(a.Err.Error(), "before the command's time limit") {
			t.Errorf("%s %s: %s %v; want a timeout cut by the deadline", a.Name, a.Type, a.Status, a.Err)
		}
	}
}
