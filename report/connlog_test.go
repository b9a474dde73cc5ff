package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

// The connection log has one JSON line per connection, with Zeek's conn.log
// names and values that agree with the report, and uids that are the same
// from one run to the next.
func TestConnLog(t *testing.T) {
	var buf bytes.Buffer
	cl := NewConnLog(&buf)
	r := build(t, setup{endpointIPs: []string{"10.0.2.50"}, connLog: cl}, "s3-mixed.pcapng", "http-plain.pcap")
	if err := cl.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != r.Summary.Flows || cl.Lines() != uint64(r.Summary.Flows) {
		t.Fatalf("%d lines (%d counted) for %d connections", len(lines), cl.Lines(), r.Summary.Flows)
	}
	uid := regexp.MustCompile(`^C[0-9A-Za-z]{17}$`)
	seen := map[string]bool{}
	for i, line := range lines {
		var c map[string]any
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration",
			"orig_bytes", "resp_bytes", "conn_state", "history", "orig_pkts", "resp_pkts", "s3", "path"} {
			if _, ok := c[k]; !ok {
				t.Errorf("line %d has no %q: %s", i+1, k, line)
			}
		}
		id := c["uid"].(string)
		if !uid.MatchString(id) || seen[id] {
			t.Errorf("line %d: uid %q not Zeek-shaped or repeated", i+1, id)
		}
		seen[id] = true
		// The same connection in the report.
		f := r.Flows[i]
		client := netip.AddrPortFrom(netip.MustParseAddr(c["id.orig_h"].(string)), uint16(c["id.orig_p"].(float64)))
		if f.Client != client.String() ||
			c["conn_state"] != f.ConnState || c["path"] != f.Path || c["s3"] != f.S3 ||
			c["orig_bytes"].(float64) != float64(f.Bytes[0]) || c["resp_bytes"].(float64) != float64(f.Bytes[1]) {
			t.Errorf("line %d disagrees with the report's flow %+v:\n%s", i+1, f, line)
		}
	}
	var plain map[string]any
	for _, line := range lines {
		if strings.Contains(line, `"id.resp_p":80`) && strings.Contains(line, `52.219.64.10`) {
			json.Unmarshal([]byte(line), &plain)
		}
	}
	if plain["service"] != "http" || plain["http_host"] != "my-bucket.s3.ap-south-1.amazonaws.com" || plain["aws_region"] != "ap-south-1" {
		t.Errorf("the plain-HTTP leak's line: %v", plain)
	}

	var again bytes.Buffer
	cl2 := NewConnLog(&again)
	build(t, setup{endpointIPs: []string{"10.0.2.50"}, connLog: cl2}, "s3-mixed.pcapng", "http-plain.pcap")
	cl2.Flush()
	if again.String() != buf.String() {
		t.Errorf("a second run wrote another log")
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain.s3.amazonaws.com", "quote\" back\\slash", "ctl\x01\x1b[2J", "bad\xff\xfeutf8", "<&>", "ünïcödé", "\u2028"} {
		got := appendJSONString(nil, s)
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Errorf("%q: %s, want %s (encoding/json)", s, got, want)
		}
	}
}
