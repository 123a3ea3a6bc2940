package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gqlguard/gqlguard/internal/atomicfile"
)

// loadOrCreateKey returns the ES256 signing key kept in path, generating
// and saving one on first run.
//
// A file that exists but does not hold a P-256 key in PKCS#8 PEM is
// replaced by a new key, with a warning that names it. That invalidates
// every token signed with the old key; for the demo, whose tokens last
// minutes and are obtained again with a published password, this is better
// than refusing to start over a damaged state file. A file that cannot be
// read at all (permissions, a directory) is an error, and is left alone.
func loadOrCreateKey(path string, log *slog.Logger) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		key, perr := parseKey(data)
		if perr == nil {
			return key, nil
		}
		log.Warn("demo issuer: signing key file is corrupt; replacing it with a new key, so tokens signed with the old one no longer verify",
			"file", path, "err", perr)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("issuer: signing key: %w", err)
	}
	return createKey(path)
}

// parseKey decodes a PEM "PRIVATE KEY" block holding a PKCS#8 ECDSA P-256
// key.
func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM PRIVATE KEY block")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("key is %T, not ECDSA P-256", parsed)
	}
	return key, nil
}

// createKey generates a P-256 key and writes it to path, readable by its
// owner only.
func createKey(path string) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issuer: generating signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("issuer: encoding signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("issuer: signing key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("issuer: writing signing key %s: %w", path, err)
	}
	return key, nil
}

// jwk is an EC public key as a JSON Web Key (RFC 7517, RFC 7518 section
// 6.2).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// publicJWK describes pub, a P-256 key, as a signing JWK whose kid is its
// RFC 7638 thumbprint.
func publicJWK(pub *ecdsa.PublicKey) (jwk, error) {
	// The uncompressed point is 0x04 || X || Y, each coordinate left-padded
	// to 32 bytes as RFC 7518 section 6.2.1.2 requires.
	point, err := pub.Bytes()
	if err != nil {
		return jwk{}, fmt.Errorf("issuer: public key: %w", err)
	}
	if len(point) != 65 {
		return jwk{}, fmt.Errorf("issuer: public key: %d-byte point, want a P-256 point of 65", len(point))
	}
	x := base64.RawURLEncoding.EncodeToString(point[1:33])
	y := base64.RawURLEncoding.EncodeToString(point[33:])
	return jwk{Kty: "EC", Crv: "P-256", X: x, Y: y, Kid: thumbprint(x, y), Use: "sig", Alg: "ES256"}, nil
}

// thumbprint is the RFC 7638 thumbprint of the P-256 key with coordinates
// x and y (base64url): the base64url SHA-256 of the key's required members
// in lexicographic order with no whitespace. Base64url text needs no JSON
// escaping, so the canonical form is written out as it is.
func thumbprint(x, y string) string {
	canonical := `{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
