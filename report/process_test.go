package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/capture/sockowner"
)

// The text names the owner in the S3 connections table and in the list
// of violations, and a command name from a process is printed safely.
func TestTextNamesProcesses(t *testing.T) {
	uid := int64(1000)
	java := &Process{Status: "found", PID: 4242, Comm: "java", UID: &uid, User: "app", Unit: "app.service"}
	evil := &Process{Status: "found", PID: 7, Comm: "x\x1b[2Jy"}
	f := Flow{Client: "10.0.1.5:51234", Server: "52.219.64.10:443", ConnState: "SF", S3: true, Path: "public-aws", Process: java}
	g := Flow{Client: "10.0.1.5:51235", Server: "52.219.64.10:443", ConnState: "SF", S3: true, Path: "public-aws", Process: evil}
	r := &Report{Verdict: Fail, Reason: "leak", Flows: []Flow{f, g}, Violations: []Flow{f, g},
		Summary: Summary{Flows: 2, S3Flows: 2}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "PROCESS") || !strings.Contains(out, "pid 4242 (java, unit app.service)") || strings.Contains(out, "\x1b") {
		t.Errorf("table:\n%s", out)
	}
	// More S3 connections than the table shows: the violations list them.
	r.Summary.S3Flows = 100
	b.Reset()
	r.WriteText(&b)
	if out := b.String(); !strings.Contains(out, "52.219.64.10:443 SF 0 B - - by pid 4242 (java, unit app.service)") {
		t.Errorf("violations:\n%s", out)
	}
	// Files: no process, no column.
	r.Flows[0].Process, r.Flows[1].Process, r.Summary.S3Flows = nil, nil, 2
	b.Reset()
	r.WriteText(&b)
	if strings.Contains(b.String(), "PROCESS") {
		t.Errorf("a column for nothing:\n%s", b.String())
	}
}

// The connection log's process fields are JSON whatever a process calls
// itself; an unknown owner adds nothing.
func TestConnLogOwner(t *testing.T) {
	o := sockowner.Owner{Status: sockowner.StatusFound, Side: sockowner.SideClient, PID: 42, Comm: "a\"b\\\n\xff", Exe: "/usr/bin/x",
		UID: 0, User: "root", Cgroup: "/system.slice/x.service", Unit: "x.service"}
	line := append(appendOwner([]byte(`{"ts":1`), &o), '}')
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if m["pid"] != float64(42) || m["comm"] != "a\"b\\\n\ufffd" || m["uid"] != float64(0) || m["unit"] != "x.service" ||
		m["process_status"] != "found" || m["local_side"] != "client" {
		t.Errorf("%v", m)
	}
	if got := appendOwner(nil, &sockowner.Owner{}); len(got) != 0 {
		t.Errorf("unknown owner wrote %q", got)
	}
}
