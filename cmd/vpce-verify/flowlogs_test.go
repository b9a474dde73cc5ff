package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/flowlogs/flowlogstest"
)

func flowlogFile(t *testing.T, dir, name string, fields []string, recs []flowlogstest.Rec, extra string) string {
	t.Helper()
	var b bytes.Buffer
	if err := flowlogstest.Text(&b, fields, true, recs); err != nil {
		t.Fatal(err)
	}
	b.WriteString(extra)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFlowlogsVerdicts(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	all := flowlogFile(t, dir, "all.log", flowlogstest.CustomFormat, recs, "")
	endpointOnly := flowlogFile(t, dir, "ok.log", flowlogstest.CustomFormat, recs[1:4], "")
	damaged := flowlogFile(t, dir, "damaged.log", flowlogstest.CustomFormat, recs[1:4], "5 vpc-1 subnet-a\n")
	ep := []string{"--endpoint-ip", flowlogstest.EndpointIPv4, "--endpoint-ip", flowlogstest.EndpointIPv6}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"leak", append(append([]string{"flowlogs"}, ep...), all), exitFail, "FAIL: 4 ENIs of 7 sent S3 traffic on a public path or through the gateway endpoint (", ""},
		{"endpoint only", append(append([]string{"flowlogs"}, ep...), endpointOnly), exitPass, "PASS: all S3 traffic of 1 ENI", ""},
		{"no endpoint known", []string{"flowlogs", endpointOnly}, exitInconclusive, "without --endpoint-ip or --endpoints", ""},
		{"damaged line", append(append([]string{"flowlogs"}, ep...), damaged), exitError, "ERROR (partial result: PASS): the evidence of " + damaged,
			"vpce-verify: error: " + damaged + ": line 5: 3 fields, the header line names 25\n"},
		{"by subnet", append(append([]string{"flowlogs", "--group-by", "subnet"}, ep...), all), exitFail, "S3 traffic by subnet (5):", ""},
		{"bad group", []string{"flowlogs", "--group-by", "host", all}, exitError, "", "--group-by \"host\": want eni, instance, subnet or vpc"},
		{"bad since", []string{"flowlogs", "--since", "yesterday", all}, exitError, "", "--since \"yesterday\": want RFC 3339"},
		{"no file", []string{"flowlogs"}, exitError, "", "flowlogs: no flow log file or folder given"},
		{"missing file", append(append([]string{"flowlogs"}, ep...), filepath.Join(dir, "nope.log"), endpointOnly), exitError, "PASS", "nope.log: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, tc.args...)
			if res.code != tc.code || !strings.Contains(res.stdout, tc.stdout) || !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
		})
	}
}

func TestFlowlogsJSON(t *testing.T) {
	dir := t.TempDir()
	p := flowlogFile(t, dir, "all.log", flowlogstest.CustomFormat, flowlogstest.Records(), "")
	res := runCmd(t, nil, "flowlogs", "--format", "json", "--endpoint-ip", flowlogstest.EndpointIPv4, "--require", "private", p)
	var r struct {
		Schema, Verdict, Policy string
		Groups                  []struct {
			Key, Verdict string
		}
	}
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("%v\n%s", err, res.stdout)
	}
	if res.code != exitFail || r.Schema != "vpce-verify/flowlogs/v1" || r.Policy != "private" {
		t.Errorf("exit %d, %+v", res.code, r)
	}
	for _, g := range r.Groups {
		if g.Key == "eni-0ccc" && g.Verdict != "pass" {
			t.Errorf("the gateway endpoint (traffic-path 7) under --require private: %s", g.Verdict)
		}
	}
}

func TestFlowlogsAthena(t *testing.T) {
	res := runCmd(t, nil, "flowlogs", "athena", "--endpoint-ip", "10.0.2.50", "--format", "parquet", "--table", "fl",
		"--location", "s3://logs/AWSLogs/123456789010/vpcflowlogs/ap-south-1", "--since", "2026-07-01", "--group-by", "instance")
	if res.code != exitPass {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{
		"CREATE EXTERNAL TABLE IF NOT EXISTS `fl` (",
		"STORED AS PARQUET",
		"'projection.day.range' = '2026/06/30,NOW'",
		"'storage.location.template' = 's3://logs/AWSLogs/123456789010/vpcflowlogs/ap-south-1/${day}'",
		"('10.0.2.50/32', 'endpoint')",
		"('52.219.64.0/22', 's3')",
		`coalesce(nullif("instance_id", '-'), '-') AS group_key`,
		"AND day >= '2026/06/30'",
		"contains(k.cidr, CAST(s.server AS IPADDRESS))",
		"path IN ('public-aws', 'gateway-endpoint')",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("no %q in\n%s", want, res.stdout)
		}
	}
	for _, tc := range []struct{ args, want string }{
		{"--format csv", `--format "csv": want text or parquet`},
		{"--location http://x/", "--location \"http://x/\""},
		{"--table a;b", `--table "a;b"`},
		{"--fields version,srcaddr", `--fields: "version,srcaddr" is not a flow log field name`},
		{"--format parquet --fields version", "--fields is for text"},
	} {
		res := runCmd(t, nil, append([]string{"flowlogs", "athena"}, strings.Fields(tc.args)...)...)
		if res.code != exitError || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q", tc.args, res.code, res.stderr)
		}
	}
}
