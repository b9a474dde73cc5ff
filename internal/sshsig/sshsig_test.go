package sshsig

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// keygen makes a key pair with ssh-keygen: the private key file and the
// public key's line.
func keygen(t *testing.T, dir, name string, args ...string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	cmd := exec.Command(testenv.Tool(t, "ssh-keygen"), append([]string{"-q", "-N", "", "-C", name, "-f", path}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

func signer(t *testing.T, path string) ssh.Signer {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignVerifiedBySSHKeygen: what Sign makes, ssh-keygen -Y verify
// accepts for the right namespace, identity and message, and refuses
// otherwise; and what ssh-keygen -Y sign makes, Verify accepts.
func TestSignVerifiedBySSHKeygen(t *testing.T) {
	keygenPath := testenv.Tool(t, "ssh-keygen")
	for _, kt := range [][]string{{"-t", "ed25519"}, {"-t", "ecdsa", "-b", "256"}, {"-t", "ecdsa", "-b", "384"}, {"-t", "rsa", "-b", "2048"}} {
		t.Run(strings.Join(kt[1:], "-"), func(t *testing.T) {
			dir := t.TempDir()
			key, pub := keygen(t, dir, "key", kt...)
			msg := []byte("3f0a...  report.json\n")
			msgFile := filepath.Join(dir, "SHA256SUMS")
			os.WriteFile(msgFile, msg, 0o644)
			sig, err := Sign(signer(t, key), "vpce-verify", bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			sigFile := filepath.Join(dir, "SHA256SUMS.sig")
			os.WriteFile(sigFile, sig, 0o644)
			allowed := filepath.Join(dir, "allowed_signers")
			os.WriteFile(allowed, []byte("auditor@example.com "+pub+"\n"), 0o644)
			verify := func(ns, id string, data []byte) error {
				cmd := exec.Command(keygenPath, "-Y", "verify", "-n", ns, "-f", allowed, "-I", id, "-s", sigFile)
				cmd.Stdin = bytes.NewReader(data)
				out, err := cmd.CombinedOutput()
				if err != nil {
					return &exec.ExitError{ProcessState: nil, Stderr: out}
				}
				return nil
			}
			if err := verify("vpce-verify", "auditor@example.com", msg); err != nil {
				t.Fatalf("ssh-keygen -Y verify refuses our signature: %s", err.(*exec.ExitError).Stderr)
			}
			if verify("other", "auditor@example.com", msg) == nil {
				t.Error("ssh-keygen accepts our signature in another namespace")
			}
			if verify("vpce-verify", "mallory@example.com", msg) == nil {
				t.Error("ssh-keygen accepts our signature for another identity")
			}
			if verify("vpce-verify", "auditor@example.com", append([]byte("x"), msg...)) == nil {
				t.Error("ssh-keygen accepts our signature of another message")
			}

			// The other way: ssh-keygen signs, we verify.
			cmd := exec.Command(keygenPath, "-Y", "sign", "-n", "vpce-verify", "-f", key, msgFile)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
			}
			theirs, err := os.ReadFile(msgFile + ".sig")
			if err != nil {
				t.Fatal(err)
			}
			for _, armored := range [][]byte{sig, theirs} {
				s, err := Parse(armored)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Verify("vpce-verify", bytes.NewReader(msg)); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if err := s.Verify("vpce-verify", bytes.NewReader(append(msg, '\n'))); err == nil {
					t.Error("Verify accepts another message")
				}
				if err := s.Verify("git", bytes.NewReader(msg)); err == nil {
					t.Error("Verify accepts another namespace")
				}
				signers, err := ParseAllowedSigners("allowed_signers", strings.NewReader("auditor@example.com "+pub+"\n"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Allowed(signers, "auditor@example.com", s.PublicKey, "vpce-verify", time.Now()); err != nil {
					t.Errorf("Allowed: %v", err)
				}
			}
		})
	}
}

func TestAllowedSigners(t *testing.T) {
	dir := t.TempDir()
	_, pub := keygen(t, dir, "a", "-t", "ed25519")
	_, other := keygen(t, dir, "b", "-t", "ed25519")
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil {
		t.Fatal(err)
	}
	file := "# auditors\n\n" +
		"*@example.com,!mallory@example.com namespaces=\"vpce-verify,file\" " + pub + "\n" +
		"\"ops team\" " + other + "\n" +
		"old@test.org valid-before=\"20200101Z\" " + pub + "\n" +
		"ca@test.org cert-authority " + pub + "\n"
	signers, err := ParseAllowedSigners("allowed_signers", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		id, ns string
		line   int
	}{
		{"auditor@example.com", "vpce-verify", 3},
		{"auditor@example.com", "git", 0},         // namespace not allowed
		{"mallory@example.com", "vpce-verify", 0}, // negated
		{"ops team", "vpce-verify", 0},            // another key
		{"old@test.org", "vpce-verify", 0},        // expired
		{"ca@test.org", "vpce-verify", 0},         // a CA signs certificates only
	} {
		line, err := Allowed(signers, tc.id, key, tc.ns, now)
		if line != tc.line || (tc.line == 0) != (err != nil) {
			t.Errorf("Allowed(%q, %q) = line %d, %v; want line %d", tc.id, tc.ns, line, err, tc.line)
		}
	}
	for _, bad := range []string{"lonely@example.com\n", "x@example.com ssh-ed25519 !!!\n", "x@example.com frobnicate " + pub + "\n"} {
		if _, err := ParseAllowedSigners("allowed_signers", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "allowed_signers:1:") {
			t.Errorf("ParseAllowedSigners(%q): %v, want an error at allowed_signers:1", bad, err)
		}
	}
}

func TestParseDamaged(t *testing.T) {
	for _, in := range []string{"", "hello", armorBeg + "\n!!!\n" + armorEnd, string(armor([]byte("SSHSIG\x00\x00\x00\x02"))),
		string(armor([]byte("SSHSIG\x00\x00\x00\x01\xff\xff\xff\xff")))} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}
