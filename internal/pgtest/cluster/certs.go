package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CertPair is a PEM certificate and key written to files.
type CertPair struct{ CertFile, KeyFile string }

// writeCerts makes a throwaway CA and a server certificate for localhost and 127.0.0.1, writes the
// server pair into dataDir (server.crt, server.key) and the CA into dir, and returns the CA's path.
func writeCerts(dataDir, dir string) (string, error) {
	ca, caKey, err := newCA()
	if err != nil {
		return "", err
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := writePEM(caFile, "CERTIFICATE", ca.Raw, 0o644); err != nil {
		return "", err
	}
	_, err = IssueCert(ca, caKey, filepath.Join(dataDir, "server"))
	return caFile, err
}

func newCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pgtest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// NewCA makes a throwaway CA in dir (ca.crt) and returns a function that issues leaf certificates
// for localhost/127.0.0.1 under a path prefix (prefix.crt, prefix.key). For proxy TLS tests.
func NewCA(dir string) (caFile string, issue func(prefix string) (CertPair, error), err error) {
	c, err := NewCAIn(dir)
	if err != nil {
		return "", nil, err
	}
	return c.File, func(prefix string) (CertPair, error) { return c.Issue(prefix, "localhost") }, nil
}

// CA is a throwaway certificate authority whose certificate is written to File.
type CA struct {
	File string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCAIn makes a throwaway CA in dir (ca.crt).
func NewCAIn(dir string) (*CA, error) {
	cert, key, err := newCA()
	if err != nil {
		return nil, err
	}
	c := &CA{File: filepath.Join(dir, "ca.crt"), cert: cert, key: key}
	return c, writePEM(c.File, "CERTIFICATE", cert.Raw, 0o644)
}

// Issue writes prefix.crt and prefix.key, a leaf for localhost and 127.0.0.1 whose common name
// is commonName (a user name, for client-certificate logins), signed by c.
func (c *CA) Issue(prefix, commonName string) (CertPair, error) {
	return issueCert(c.cert, c.key, prefix, commonName)
}

// IssueCert writes prefix.crt and prefix.key, a leaf for localhost and 127.0.0.1 signed by ca.
func IssueCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, prefix string) (CertPair, error) {
	return issueCert(ca, caKey, prefix, "localhost")
}

func issueCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, prefix, commonName string) (CertPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CertPair{}, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return CertPair{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return CertPair{}, err
	}
	p := CertPair{CertFile: prefix + ".crt", KeyFile: prefix + ".key"}
	if err := writePEM(p.CertFile, "CERTIFICATE", der, 0o644); err != nil {
		return CertPair{}, err
	}
	return p, writePEM(p.KeyFile, "EC PRIVATE KEY", keyDER, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}
