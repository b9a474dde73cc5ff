// Package sshsig signs and verifies files in OpenSSH's SSHSIG format (the
// signatures of ssh-keygen -Y sign and -Y verify, PROTOCOL.sshsig), and
// reads ssh-keygen's allowed_signers files. Keys and signatures themselves
// are golang.org/x/crypto/ssh's.
package sshsig

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

const (
	magic    = "SSHSIG"
	version  = 1
	armorBeg = "-----BEGIN SSH SIGNATURE-----"
	armorEnd = "-----END SSH SIGNATURE-----"
	// maxSignature bounds what Parse reads: a signature with the largest
	// RSA key is under 3 kB.
	maxSignature = 64 << 10
)

// Sign signs message for namespace with signer, hashing it with SHA-512 as
// ssh-keygen does, and returns the armored signature ssh-keygen -Y verify
// reads. RSA keys sign with rsa-sha2-512.
func Sign(signer ssh.Signer, namespace string, message io.Reader) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("sshsig: empty namespace")
	}
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, err
	}
	data := signedData(namespace, "sha512", h.Sum(nil))
	var sig *ssh.Signature
	var err error
	if as, ok := signer.(ssh.AlgorithmSigner); ok && signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = signer.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, fmt.Errorf("sshsig: sign: %w", err)
	}
	var blob []byte
	blob = append(blob, magic...)
	blob = binary.BigEndian.AppendUint32(blob, version)
	blob = appendString(blob, signer.PublicKey().Marshal())
	blob = appendString(blob, []byte(namespace))
	blob = appendString(blob, nil) // reserved
	blob = appendString(blob, []byte("sha512"))
	blob = appendString(blob, ssh.Marshal(sig))
	return armor(blob), nil
}

// signedData is what the key signs: the preamble, the namespace, the
// reserved field, the hash's name and the message's hash.
func signedData(namespace, hashAlg string, sum []byte) []byte {
	var b []byte
	b = append(b, magic...)
	b = appendString(b, []byte(namespace))
	b = appendString(b, nil)
	b = appendString(b, []byte(hashAlg))
	return appendString(b, sum)
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// armor wraps blob as ssh-keygen does: base64 in lines of 70 characters.
func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString(armorBeg + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.Bytes()
}

// Signature is a parsed SSHSIG signature.
type Signature struct {
	PublicKey ssh.PublicKey
	Namespace string
	HashAlg   string
	Sig       *ssh.Signature
}

// Parse reads an armored signature.
func Parse(armored []byte) (*Signature, error) {
	if len(armored) > maxSignature {
		return nil, fmt.Errorf("sshsig: %d bytes: too long for a signature", len(armored))
	}
	s := strings.TrimSpace(string(armored))
	if !strings.HasPrefix(s, armorBeg) || !strings.HasSuffix(s, armorEnd) {
		return nil, errors.New("sshsig: not an SSH signature (no BEGIN/END SSH SIGNATURE lines)")
	}
	body := strings.Join(strings.Fields(s[len(armorBeg):len(s)-len(armorEnd)]), "")
	blob, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("sshsig: base64: %w", err)
	}
	if len(blob) < len(magic)+4 || string(blob[:len(magic)]) != magic {
		return nil, errors.New("sshsig: no SSHSIG preamble")
	}
	if v := binary.BigEndian.Uint32(blob[len(magic):]); v != version {
		return nil, fmt.Errorf("sshsig: version %d, want 1", v)
	}
	rest := blob[len(magic)+4:]
	var fields [5][]byte
	for i := range fields {
		if len(rest) < 4 {
			return nil, fmt.Errorf("sshsig: cut short in field %d", i+1)
		}
		n := binary.BigEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-4) {
			return nil, fmt.Errorf("sshsig: field %d says %d bytes, %d left", i+1, n, len(rest)-4)
		}
		fields[i], rest = rest[4:4+n], rest[4+n:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("sshsig: %d bytes after the signature", len(rest))
	}
	pub, err := ssh.ParsePublicKey(fields[0])
	if err != nil {
		return nil, fmt.Errorf("sshsig: public key: %w", err)
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal(fields[4], sig); err != nil {
		return nil, fmt.Errorf("sshsig: signature: %w", err)
	}
	return &Signature{PublicKey: pub, Namespace: string(fields[1]), HashAlg: string(fields[3]), Sig: sig}, nil
}

// Verify checks that s signs message in namespace with its public key.
// Who the key belongs to is for the caller to say (AllowedSigners).
func (s *Signature) Verify(namespace string, message io.Reader) error {
	if s.Namespace != namespace {
		return fmt.Errorf("sshsig: signature of namespace %q, want %q", s.Namespace, namespace)
	}
	var sum []byte
	switch s.HashAlg {
	case "sha512":
		h := sha512.New()
		if _, err := io.Copy(h, message); err != nil {
			return err
		}
		sum = h.Sum(nil)
	case "sha256":
		h := sha256.New()
		if _, err := io.Copy(h, message); err != nil {
			return err
		}
		sum = h.Sum(nil)
	default:
		return fmt.Errorf("sshsig: hash %q: want sha512 or sha256", s.HashAlg)
	}
	if err := s.PublicKey.Verify(signedData(s.Namespace, s.HashAlg, sum), s.Sig); err != nil {
		return fmt.Errorf("sshsig: the signature does not match (%w)", err)
	}
	return nil
}
