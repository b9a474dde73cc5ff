// Package ssm_test checks deploy/ssm/vpce-verify.json, the Systems Manager
// document that runs vpce-verify on a fleet: its fields against the
// document schema (version 2.2, aws:runShellScript), its parameters'
// patterns, and its shell script, by bash -n, shellcheck, and by running
// it the way SSM Agent does, with stand-ins for vpce-verify, curl and the
// AWS CLI on PATH. Nothing here reaches AWS or any network.
package ssm_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

type parameter struct {
	Type              string   `json:"type"`
	Description       string   `json:"description"`
	Default           *string  `json:"default"`
	AllowedValues     []string `json:"allowedValues"`
	AllowedPattern    string   `json:"allowedPattern"`
	InterpolationType string   `json:"interpolationType"`
}

type step struct {
	Action       string              `json:"action"`
	Name         string              `json:"name"`
	Precondition map[string][]string `json:"precondition"`
	Inputs       struct {
		RunCommand     []string `json:"runCommand"`
		TimeoutSeconds string   `json:"timeoutSeconds"`
	} `json:"inputs"`
}

type document struct {
	SchemaVersion string               `json:"schemaVersion"`
	Description   string               `json:"description"`
	Parameters    map[string]parameter `json:"parameters"`
	MainSteps     []step               `json:"mainSteps"`
}

// keys are the fields the schema defines at each level (the SSM
// documentation's "Data elements and parameters" and the aws:runShellScript
// plugin's inputs): a misspelt one would be rejected by CreateDocument.
var (
	topKeys   = []string{"schemaVersion", "description", "parameters", "mainSteps", "files"}
	paramKeys = []string{"type", "description", "default", "allowedValues", "allowedPattern", "displayType",
		"minItems", "maxItems", "minChars", "maxChars", "interpolationType"}
	stepKeys   = []string{"action", "name", "inputs", "precondition", "description", "onFailure", "maxAttempts", "timeoutSeconds", "isEnd", "nextStep", "isCritical"}
	inputKeys  = []string{"runCommand", "timeoutSeconds", "workingDirectory"}
	paramTypes = []string{"String", "StringList", "Boolean", "Integer", "MapList", "StringMap"}
)

func load(t *testing.T) (document, []byte) {
	t.Helper()
	b, err := os.ReadFile("vpce-verify.json")
	if err != nil {
		t.Fatal(err)
	}
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("vpce-verify.json is not JSON: %v", err)
	}
	return d, b
}

func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestDocumentSchema(t *testing.T) {
	d, b := load(t)
	if d.SchemaVersion != "2.2" {
		t.Errorf("schemaVersion %q, want 2.2", d.SchemaVersion)
	}
	if d.Description == "" {
		t.Error("no description")
	}
	var raw struct {
		Parameters map[string]json.RawMessage `json:"parameters"`
		MainSteps  []json.RawMessage          `json:"mainSteps"`
	}
	json.Unmarshal(b, &raw)
	for _, k := range keysOf(t, b) {
		if !slices.Contains(topKeys, k) {
			t.Errorf("top-level field %q is not in the schema", k)
		}
	}
	for name, p := range raw.Parameters {
		for _, k := range keysOf(t, p) {
			if !slices.Contains(paramKeys, k) {
				t.Errorf("parameter %s: field %q is not in the schema", name, k)
			}
		}
	}
	if len(d.MainSteps) == 0 {
		t.Fatal("no mainSteps")
	}
	names := map[string]bool{}
	for i, s := range raw.MainSteps {
		for _, k := range keysOf(t, s) {
			if !slices.Contains(stepKeys, k) {
				t.Errorf("step %d: field %q is not in the schema", i, k)
			}
		}
		var in struct {
			Inputs json.RawMessage `json:"inputs"`
		}
		json.Unmarshal(s, &in)
		for _, k := range keysOf(t, in.Inputs) {
			if !slices.Contains(inputKeys, k) {
				t.Errorf("step %d: input %q is not one of aws:runShellScript's", i, k)
			}
		}
	}
	for _, s := range d.MainSteps {
		if s.Action != "aws:runShellScript" {
			t.Errorf("step %s: action %q", s.Name, s.Action)
		}
		if !regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`).MatchString(s.Name) || names[s.Name] {
			t.Errorf("step name %q: empty, not of [A-Za-z0-9_.-], or repeated", s.Name)
		}
		names[s.Name] = true
		if len(s.Inputs.RunCommand) == 0 {
			t.Errorf("step %s: no runCommand", s.Name)
		}
		if !slices.Equal(s.Precondition["StringEquals"], []string{"platformType", "Linux"}) {
			t.Errorf("step %s: precondition %v, want StringEquals platformType Linux", s.Name, s.Precondition)
		}
	}

	// Every {{ X }} names a parameter, and every parameter is used.
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{\{\s*([A-Za-z0-9_:./-]+)\s*\}\}`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := d.Parameters[m[1]]; !ok {
			t.Errorf("{{%s}} names no parameter", m[1])
		}
		used[m[1]] = true
	}
	for name, p := range d.Parameters {
		if !used[name] {
			t.Errorf("parameter %s is not used", name)
		}
		if !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`).MatchString(name) {
			t.Errorf("parameter %s: not a name SSM_%s can be an environment variable of", name, name)
		}
		if !slices.Contains(paramTypes, p.Type) {
			t.Errorf("parameter %s: type %q", name, p.Type)
		}
		if p.Description == "" {
			t.Errorf("parameter %s: no description", name)
		}
		if p.InterpolationType != "" && p.InterpolationType != "ENV_VAR" {
			t.Errorf("parameter %s: interpolationType %q", name, p.InterpolationType)
		}
		if p.Default == nil {
			t.Errorf("parameter %s: no default (every parameter is optional)", name)
			continue
		}
		if p.AllowedValues != nil && !slices.Contains(p.AllowedValues, *p.Default) {
			t.Errorf("parameter %s: default %q not among %v", name, *p.Default, p.AllowedValues)
		}
		if p.AllowedValues == nil && p.AllowedPattern == "" {
			t.Errorf("parameter %s: neither allowedValues nor allowedPattern", name)
			continue
		}
		if p.AllowedPattern == "" {
			continue
		}
		re, err := regexp.Compile(p.AllowedPattern)
		if err != nil {
			t.Errorf("parameter %s: allowedPattern: %v", name, err)
			continue
		}
		if !re.MatchString(*p.Default) {
			t.Errorf("parameter %s: default %q does not match %s", name, *p.Default, p.AllowedPattern)
		}
		// An older agent pastes the value into the script, inside
		// double quotes: nothing that could end them or expand there.
		for _, bad := range []string{`"`, "$", "`", `\`, "\n", "'", ";", "|", "&&", "$(id)"} {
			if re.MatchString(*p.Default + bad) {
				t.Errorf("parameter %s: allowedPattern %s lets %q through", name, p.AllowedPattern, bad)
			}
		}
	}
}

// script is the step's shell script, with {{X}} replaced by vals[X] (or
// the default) as SSM Agent does.
func script(t *testing.T, d document, vals map[string]string) string {
	t.Helper()
	s := strings.Join(d.MainSteps[0].Inputs.RunCommand, "\n") + "\n"
	return regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`).ReplaceAllStringFunc(s, func(m string) string {
		name := strings.Trim(m, "{} ")
		if v, ok := vals[name]; ok {
			return v
		}
		return *d.Parameters[name].Default
	})
}

func TestScriptSyntax(t *testing.T) {
	d, _ := load(t)
	s := script(t, d, nil)
	if !strings.HasPrefix(s, "#!/bin/bash\n") {
		t.Error("the script does not start with #!/bin/bash: the agent runs it with sh -c, which honours the line")
	}
	p := filepath.Join(t.TempDir(), "_script.sh")
	os.WriteFile(p, []byte(s), 0o755)
	if out, err := exec.Command(testenv.Tool(t, "bash"), "-n", p).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, out)
	}
	if out, err := exec.Command(testenv.Tool(t, "shellcheck"), "-s", "bash", p).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// fakeVV is a stand-in for vpce-verify: it logs its arguments, answers
// --version, writes a bundle where --evidence says, and exits $FAKE_EXIT.
const fakeVV = `#!/bin/bash
if [ "$1" = --version ]; then echo "vpce-verify ${FAKE_VERSION:-v1.2.3}"; exit 0; fi
echo "$*" >>"$FAKE_LOG/vpce-verify"
while [ $# -gt 0 ]; do
	if [ "$1" = --evidence ]; then mkdir -p "$2" && echo '{"schema":"vpce-verify/report/v1"}' >"$2/report.json"; fi
	shift
done
echo "PASS: fake"
exit "${FAKE_EXIT:-0}"
`

// fakeAWS logs its arguments; s3 cp of a file copies it (the download of
// the binary); FAKE_AWS_FAIL makes it fail.
const fakeAWS = `#!/bin/bash
echo "$*" >>"$FAKE_LOG/aws"
if [ -n "${FAKE_AWS_FAIL:-}" ]; then echo "upload failed: AccessDenied" >&2; exit 1; fi
`

// fakeCurl "downloads" $FAKE_DOWNLOAD to the -o file.
const fakeCurl = `#!/bin/bash
echo "$*" >>"$FAKE_LOG/curl"
while [ $# -gt 0 ]; do
	if [ "$1" = -o ]; then cp "$FAKE_DOWNLOAD" "$2" || exit 22; fi
	shift
done
`

type run struct {
	code           int
	stdout, stderr string
	logs           map[string]string
	dir            string
}

// runScript runs the document's script as SSM Agent 3.3 does (SSM_*
// environment variables) or as an older one does (newAgent false: the
// values pasted into the script), from the agent's orchestration folder
// for command cmd-1234.
func runScript(t *testing.T, newAgent bool, vals map[string]string, env ...string) run {
	t.Helper()
	d, _ := load(t)
	dir := t.TempDir()
	fake := filepath.Join(dir, "fakebin")
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(fake, 0o755)
	os.MkdirAll(logs, 0o755)
	for name, text := range map[string]string{"aws": fakeAWS, "curl": fakeCurl} {
		os.WriteFile(filepath.Join(fake, name), []byte(text), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "download"), []byte(fakeVV), 0o755)
	if _, ok := vals["OutputDir"]; !ok {
		vals["OutputDir"] = filepath.Join(dir, "out") // never the machine's /var/lib
	}
	orch := filepath.Join(dir, "var/lib/amazon/ssm/i-0abc/document/orchestration/cmd-1234/vpceVerify")
	os.MkdirAll(orch, 0o755)
	var s string
	e := []string{"PATH=" + fake + ":/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "FAKE_LOG=" + logs,
		"FAKE_DOWNLOAD=" + filepath.Join(dir, "download"), "AWS_SSM_INSTANCE_ID=i-0abc", "AWS_SSM_REGION_NAME=eu-west-1"}
	if newAgent {
		s = script(t, d, map[string]string{}) // the defaults stand in the fallbacks; they are not used
		for name, p := range d.Parameters {
			v, ok := vals[name]
			if !ok {
				v = *p.Default
			}
			e = append(e, "SSM_"+name+"="+v)
		}
	} else {
		s = script(t, d, vals)
	}
	sp := filepath.Join(orch, "_script.sh")
	os.WriteFile(sp, []byte(s), 0o755)
	cmd := exec.Command("sh", "-c", sp) // as the agent runs it
	cmd.Dir = orch
	cmd.Env = append(e, env...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatal(err)
	}
	r := run{code: code, stdout: so.String(), stderr: se.String(), logs: map[string]string{}, dir: dir}
	for _, n := range []string{"vpce-verify", "aws", "curl"} {
		b, _ := os.ReadFile(filepath.Join(logs, n))
		r.logs[n] = string(b)
	}
	return r
}

func installFake(t *testing.T, path string) {
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte(fakeVV), 0o755)
}

func TestScriptRuns(t *testing.T) {
	testenv.Tool(t, "bash")
	testenv.Tool(t, "sha256sum")
	sum := sha256.Sum256([]byte(fakeVV))
	goodSHA := hex.EncodeToString(sum[:])

	for _, newAgent := range []bool{false, true} {
		name := map[bool]string{false: "old agent", true: "ENV_VAR agent"}[newAgent]
		t.Run(name, func(t *testing.T) {
			// verify of a bucket's name, the binary already there, the
			// bundle copied beside Run Command's output; verify's exit
			// code (1: fail) is the step's.
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin", "vpce-verify")
			installFake(t, bin)
			r := runScript(t, newAgent, map[string]string{"BinaryPath": bin, "Bucket": "my-bucket", "Region": "ap-south-1",
				"ExtraArguments": "--endpoint-ip 10.0.2.50 --vpc-resolver", "S3Bucket": "audit-bucket", "S3KeyPrefix": "runs/vpce"}, "FAKE_EXIT=1")
			bundle := filepath.Join(r.dir, "out", "cmd-1234")
			if r.code != 1 || r.logs["vpce-verify"] != "verify --evidence "+bundle+" --endpoint-ip 10.0.2.50 --vpc-resolver my-bucket.s3.ap-south-1.amazonaws.com\n" {
				t.Errorf("exit %d, vpce-verify %q\n%s", r.code, r.logs["vpce-verify"], r.stderr)
			}
			if r.logs["aws"] != "s3 cp --recursive --only-show-errors "+bundle+" s3://audit-bucket/runs/vpce/cmd-1234/i-0abc/vpce-verify/\n" {
				t.Errorf("aws %q", r.logs["aws"])
			}
			if _, err := os.Stat(filepath.Join(bundle, "report.json")); err != nil {
				t.Error(err)
			}
			if !strings.Contains(r.stdout, "PASS: fake") || r.logs["curl"] != "" {
				t.Errorf("stdout %q, curl %q", r.stdout, r.logs["curl"])
			}

			// capture, the binary missing: downloaded, checked, installed.
			bin2 := filepath.Join(t.TempDir(), "sbin", "vpce-verify")
			r = runScript(t, newAgent, map[string]string{"Mode": "capture", "Duration": "5m", "Interface": "ens5", "BinaryPath": bin2,
				"BinaryURL": "https://downloads.example/vpce-verify-linux-amd64", "BinarySHA256": goodSHA})
			if r.code != 0 || r.logs["vpce-verify"] != "capture -i ens5 --duration 5m --evidence "+filepath.Join(r.dir, "out", "cmd-1234")+"\n" || r.logs["aws"] != "" {
				t.Errorf("capture: exit %d, vpce-verify %q, aws %q\n%s", r.code, r.logs["vpce-verify"], r.logs["aws"], r.stderr)
			}
			if !strings.Contains(r.logs["curl"], "--proto =https") || !strings.Contains(r.stderr, "installed "+bin2) {
				t.Errorf("curl %q, stderr %s", r.logs["curl"], r.stderr)
			}
			if b, _ := os.ReadFile(bin2); string(b) != fakeVV {
				t.Error("the binary was not installed")
			}

			// A download whose SHA-256 differs is not installed: exit 2.
			bin3 := filepath.Join(t.TempDir(), "vpce-verify")
			r = runScript(t, newAgent, map[string]string{"BinaryPath": bin3, "BinaryURL": "https://downloads.example/x",
				"BinarySHA256": strings.Repeat("0", 64)})
			if _, err := os.Stat(bin3); r.code != 2 || err == nil || !strings.Contains(r.stderr, "not installed") || r.logs["vpce-verify"] != "" {
				t.Errorf("bad sha: exit %d, stderr %s", r.code, r.stderr)
			}

			// The wrong version and no URL: exit 2, said why.
			r = runScript(t, newAgent, map[string]string{"BinaryPath": bin, "Version": "v2.0.0"})
			if r.code != 2 || !strings.Contains(r.stderr, "is version v1.2.3, not v2.0.0; give BinaryURL and BinarySHA256") {
				t.Errorf("version: exit %d, stderr %s", r.code, r.stderr)
			}

			// A pass whose bundle cannot be copied is not a pass: exit 2.
			// The name defaults to the instance's region.
			r = runScript(t, newAgent, map[string]string{"BinaryPath": bin, "S3Bucket": "audit-bucket"}, "FAKE_AWS_FAIL=1")
			if r.code != 2 || !strings.Contains(r.stderr, "could not copy") || !strings.HasSuffix(r.logs["vpce-verify"], " s3.eu-west-1.amazonaws.com\n") {
				t.Errorf("copy failure: exit %d, vpce-verify %q, stderr %s", r.code, r.logs["vpce-verify"], r.stderr)
			}
		})
	}
}
