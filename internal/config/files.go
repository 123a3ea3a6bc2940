package config

import (
	"errors"
	"fmt"
	"os"
)

// CheckFiles reports every file the configuration names that cannot be
// read, and every folder it names that is not one, each with its key.
// Unlike Validate it touches the disk; `config check` and `serve` run it so
// that a missing certificate is reported with every other problem at once.
func (c *Config) CheckFiles() error {
	var errs []error
	check := func(key, path string) {
		if path == "" {
			return
		}
		f, err := os.Open(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			errs = append(errs, fmt.Errorf("%s: %s is a folder, not a file", key, path))
		}
		_ = f.Close()
	}
	// Folders are created when missing; one that is there must be a folder.
	folder := func(key, path string) {
		if st, err := os.Stat(path); path != "" && err == nil && !st.IsDir() {
			errs = append(errs, fmt.Errorf("%s: %s is a file, not a folder", key, path))
		}
	}
	folder("documents.dir", c.Documents.Dir)
	folder("documents.capture.dir", c.Documents.Capture.Dir)
	folder("tls.acme.storage", c.TLS.ACME.Storage)
	check("tls.cert_file", c.TLS.CertFile)
	check("tls.key_file", c.TLS.KeyFile)
	for i, p := range c.TLS.Certificates {
		check(fmt.Sprintf("tls.certificates[%d].cert_file", i), p.CertFile)
		check(fmt.Sprintf("tls.certificates[%d].key_file", i), p.KeyFile)
	}
	if c.TLS.ClientAuth.Mode != "off" {
		check("tls.client_auth.ca_file", c.TLS.ClientAuth.CAFile)
	}
	check("tls.acme.ca_root_file", c.TLS.ACME.CARootFile)
	check("upstream.tls.ca_file", c.Upstream.TLS.CAFile)
	check("upstream.tls.cert_file", c.Upstream.TLS.CertFile)
	check("upstream.tls.key_file", c.Upstream.TLS.KeyFile)
	check("documents.schema", c.Documents.Schema)
	check("admin.tls.cert_file", c.Admin.TLS.CertFile)
	check("admin.tls.key_file", c.Admin.TLS.KeyFile)
	check("admin.tls.client_ca_file", c.Admin.TLS.ClientCAFile)
	for i, is := range c.Auth.JWT.Issuers {
		check(fmt.Sprintf("auth.jwt.issuers[%d].ca_file", i), is.CAFile)
	}
	return errors.Join(errs...)
}

// RequireCertificate reports a configuration that cannot serve HTTPS: no
// certificate files and no ACME domains.
func (c *Config) RequireCertificate() error {
	if c.TLS.CertFile == "" && len(c.TLS.ACME.Domains) == 0 {
		return errors.New("tls: no certificate configured: set tls.cert_file and tls.key_file (or --cert and --key), or tls.acme.domains; GraphQL is served over HTTPS only (try `gqlguard demo` for a development certificate)")
	}
	return nil
}
