package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestParseFillsDefaults(t *testing.T) {
	cfg, err := Parse([]byte("upstream:\n  url: http://127.0.0.1:4000/graphql\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.HTTPS != ":8443" || cfg.Listen.HTTP != ":8080" || cfg.Listen.Admin != "127.0.0.1:9090" ||
		cfg.GraphQL.MaxBodyBytes != 1<<20 || cfg.TLS.MinVersion != "1.2" || cfg.Upstream.Timeout != 30*time.Second ||
		cfg.Server.ShutdownGrace != 30*time.Second || cfg.Server.ShutdownDelay != 5*time.Second || cfg.Server.MaxConnections != 0 || cfg.TLS.HSTS.MaxAge != 31536000 || !cfg.TLS.HSTS.IncludeSubdomains ||
		cfg.Documents.Capture.MaxDocuments != 100_000 || cfg.Documents.Capture.MaxTextBytes != 64<<10 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestUploadsAreOffByDefaultAndValidWhenEnabled(t *testing.T) {
	cfg, err := Parse([]byte("upstream:\n  url: http://127.0.0.1:4000/graphql\ngraphql:\n  uploads:\n    enabled: true\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if u := cfg.GraphQL.Uploads; !u.Enabled || u.MaxBytes != 10<<20 || u.MaxFiles != 10 {
		t.Errorf("uploads = %+v, want enabled with 10 MiB and 10 files", u)
	}
	if u := Default().GraphQL.Uploads; u.Enabled {
		t.Errorf("uploads are enabled by default: %+v", u)
	}
}

func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	yml := `listen:
  https: ":8443"
  admn: "127.0.0.1:9090"
upstrem:
  url: http://x
upstream:
  timeout: soon
tls:
  min_version: "1.0"
graphql:
  path: graphql
`
	_, err := Parse([]byte(yml), env(nil))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		`line 3: unknown key "admn"`,
		`line 4: unknown key "upstrem"`,
		"line 7: `soon` is not a duration such as 30s",
		`tls.min_version: "1.0" is not "1.2" or "1.3"`,
		`graphql.path: "graphql" must be a path like /graphql`,
		`upstream.url: is required`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
}

func TestDecodeErrorsSayWhatIsWrongInWords(t *testing.T) {
	for _, tt := range []struct{ name, yml, want, not string }{
		{"a list for a mapping", "upstream: {url: http://127.0.0.1:1/graphql}\nlisten: [1]\n",
			"line 2: a list where a mapping of keys (see docs/configuration.md) belongs", "config.Listen"},
		{"a mapping for a list", "upstream: {url: http://127.0.0.1:1/graphql}\ncors:\n  allowed_origins: {a: b}\n",
			"line 3: a mapping where a list belongs", "[]string"},
		// yaml decodes nothing of a mapping with a repeated key, so the
		// set upstream.url must not be reported missing.
		{"a repeated key", "upstream:\n  url: http://127.0.0.1:1/graphql\ntls: {}\ntls: {}\n",
			`line 4: mapping key "tls" already defined at line 3`, "upstream.url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yml), env(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.not) {
				t.Errorf("err = %v\nwant %q, without %q", err, tt.want, tt.not)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	yml := "upstream:\n  url: ${UP}\n  headers:\n    X-Api-Key: ${KEY}\n    X-Literal: a$$b\n"
	cfg, err := Parse([]byte(yml), env(map[string]string{"UP": "http://127.0.0.1:1/graphql", "KEY": "s3cr3t"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upstream.URL != "http://127.0.0.1:1/graphql" || cfg.Upstream.Headers["X-Api-Key"].Reveal() != "s3cr3t" || cfg.Upstream.Headers["X-Literal"].Reveal() != "a$b" {
		t.Errorf("got %+v", cfg.Upstream)
	}
	out, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cr3t") || !strings.Contains(string(out), "[redacted]") {
		t.Errorf("secret not redacted:\n%s", out)
	}
}

func TestEnvExpansionErrors(t *testing.T) {
	yml := "upstream:\n  url: ${MISSING}\n  headers:\n    X-A: ${NL}\n"
	_, err := Parse([]byte(yml), env(map[string]string{"NL": "a\nevil: 1"}))
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"line 2: environment variable MISSING is not set", "line 4: environment variable NL contains a line break"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestSyntaxErrorIsReportedAlone(t *testing.T) {
	_, err := Parse([]byte("upstream:\n  url: [\n"), env(nil))
	if err == nil || strings.Contains(err.Error(), "upstream.url: is required") {
		t.Errorf("got %v; want only the syntax error", err)
	}
}

func TestGraphQLPathMustBeAPlainPath(t *testing.T) {
	for _, p := range []string{"/graph{ql", "/graph ql", "/graphql/", "/api/{x}", "graphql", "/a//b", "/a/../b"} {
		c := Default()
		c.Upstream.URL = "http://127.0.0.1/"
		c.GraphQL.Path = p
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "graphql.path") {
			t.Errorf("path %q accepted", p)
		}
	}
	for _, p := range []string{"/", "/graphql", "/api/v1/graphql", "/g.q-l_~"} {
		c := Default()
		c.Upstream.URL = "http://127.0.0.1/"
		c.GraphQL.Path = p
		if err := c.Validate(); err != nil {
			t.Errorf("path %q refused: %v", p, err)
		}
	}
}

func TestUpstreamPasswordIsRedactedWhenPrinted(t *testing.T) {
	c := Default()
	c.Upstream.URL = "http://admin:hunter2@127.0.0.1:4000/graphql"
	out, err := Marshal(c)
	if err != nil || strings.Contains(string(out), "hunter2") {
		t.Errorf("printed %s (%v)", out, err)
	}
	if c.Upstream.URL != "http://admin:hunter2@127.0.0.1:4000/graphql" {
		t.Error("Marshal changed the config")
	}
}

func TestEnvValuesAreReadBackExactly(t *testing.T) {
	secrets := map[string]string{
		"HASH":  "abc #def",
		"STAR":  "*not-an-alias",
		"QUOTE": `he said "hi" and 'bye'`,
		"COLON": "a: b",
		"AT":    "@handle",
		"PCT":   "%25",
	}
	yml := "upstream:\n  url: http://127.0.0.1/ # was ${OLD_URL}\n  headers:\n"
	for k := range secrets {
		yml += "    X-" + k + ": ${" + k + "}\n"
	}
	yml += "    X-Quoted: \"pre-${QUOTE}\"\n    X-Single: 'pre-${QUOTE}'\n"
	cfg, err := Parse([]byte(yml), env(secrets))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range secrets {
		if got := cfg.Upstream.Headers["X-"+k].Reveal(); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	if got := cfg.Upstream.Headers["X-Quoted"].Reveal(); got != "pre-"+secrets["QUOTE"] {
		t.Errorf("in double quotes: %q", got)
	}
	if got := cfg.Upstream.Headers["X-Single"].Reveal(); got != "pre-"+secrets["QUOTE"] {
		t.Errorf("in single quotes: %q", got)
	}
	_, err = Parse([]byte("upstream:\n  url: http://x/${HASH}\n"), env(secrets))
	if err == nil || !strings.Contains(err.Error(), "put \"${HASH}\" in double quotes") {
		t.Errorf("embedded unsafe value: %v", err)
	}
}

func TestEnvInCommentsIsIgnored(t *testing.T) {
	if _, err := Parse([]byte("# ${NOT_SET}\nupstream:\n  url: http://127.0.0.1:1\n"), env(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesKeys(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"cert without key", func(c *Config) { c.TLS.CertFile = "a.pem" }, "tls: cert_file and key_file go together"},
		{"upstream not http", func(c *Config) { c.Upstream.URL = "ftp://x" }, "upstream.url"},
		{"upstream password is not echoed", func(c *Config) { c.Upstream.URL = "gopher://u:hunter2@x" }, "gopher://[redacted]@x is not an http or https URL"},
		{"bad trusted proxy", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "nope"} }, "server.trusted_proxies[1]"},
		{"zero timeout", func(c *Config) { c.Upstream.Timeout = 0 }, "upstream.timeout"},
		{"negative shutdown delay", func(c *Config) { c.Server.ShutdownDelay = -time.Second }, "server.shutdown_delay"},
		{"negative connection cap", func(c *Config) { c.Server.MaxConnections = -1 }, "server.max_connections"},
		{"public host with a port", func(c *Config) { c.Server.PublicHosts = []string{"api.example.com", "api.example.com:443"} }, "server.public_hosts[1]"},
		{"public host with a scheme", func(c *Config) { c.Server.PublicHosts = []string{"https://api.example.com"} }, "server.public_hosts[0]"},
		{"public host wildcard", func(c *Config) { c.Server.PublicHosts = []string{"*.example.com"} }, "server.public_hosts[0]"},
		{"batching without size", func(c *Config) { c.GraphQL.Batching = Batching{Enabled: true} }, "graphql.batching.max_size"},
		{"uploads without a file count", func(c *Config) { c.GraphQL.Uploads = Uploads{Enabled: true, MaxBytes: 10 << 20} }, "graphql.uploads.max_files"},
		{"uploads with a negative file count", func(c *Config) { c.GraphQL.Uploads = Uploads{Enabled: true, MaxBytes: 10 << 20, MaxFiles: -1} }, "graphql.uploads.max_files"},
		{"uploads bounded below the JSON body limit", func(c *Config) { c.GraphQL.Uploads.Enabled, c.GraphQL.Uploads.MaxBytes = true, 1<<20-1 }, "graphql.uploads.max_bytes"},
		{"uploads without a size bound", func(c *Config) { c.GraphQL.Uploads.Enabled, c.GraphQL.Uploads.MaxBytes = true, 0 }, "graphql.uploads.max_bytes"},
		{"bad header name", func(c *Config) { c.Upstream.Headers = map[string]Secret{"Bad Name": "x"} }, "upstream.headers"},
		{"bad listen address", func(c *Config) { c.Listen.Admin = "9090" }, "listen.admin"},
		{"bad log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"client auth without CA", func(c *Config) { c.TLS.ClientAuth.Mode = "require" }, "tls.client_auth.ca_file"},
		{"client auth mode", func(c *Config) { c.TLS.ClientAuth.Mode = "maybe" }, "tls.client_auth.mode"},
		{"ACME wildcard", func(c *Config) { c.TLS.ACME.Domains = []string{"*.example.com"} }, "tls.acme.domains[0]"},
		{"ACME plus files", func(c *Config) {
			c.TLS.CertFile, c.TLS.KeyFile, c.TLS.ACME.Domains = "c", "k", []string{"example.com"}
		}, "choose one certificate source"},
		{"ACME http-01 without HTTP listener", func(c *Config) { c.TLS.ACME.Domains, c.Listen.HTTP = []string{"example.com"}, "" }, "http-01 needs"},
		{"ACME plain-http directory", func(c *Config) {
			c.TLS.ACME.Domains, c.TLS.ACME.CA = []string{"example.com"}, "http://acme.example/dir"
		}, "tls.acme.ca"},
		{"bad pin", func(c *Config) { c.Upstream.URL, c.Upstream.TLS.Pins = "https://up", []string{"sha1/abc"} }, "upstream.tls.pins[0]"},
		{"upstream TLS on http", func(c *Config) { c.Upstream.TLS.CAFile = "ca.pem" }, "applies only to an https"},
		{"issuer without audience", func(c *Config) { c.Auth.JWT.Issuers = []Issuer{{Issuer: "https://id.example.com"}} }, "auth.jwt.audiences"},
		{"issuer listed twice", func(c *Config) {
			c.Auth.JWT.Issuers = []Issuer{{Issuer: "https://id.example.com/"}, {Issuer: "https://id.example.com/"}}
			c.Auth.JWT.Audiences = []string{"api"}
		}, "auth.jwt.issuers[1].issuer: \"https://id.example.com/\" is listed twice"},
		{"empty audience", func(c *Config) {
			c.Auth.JWT.Issuers = []Issuer{{Issuer: "https://id.example.com/"}}
			c.Auth.JWT.Audiences = []string{""}
		}, "auth.jwt.audiences"},
		{"HMAC algorithm", func(c *Config) { c.Auth.JWT.Algorithms = []string{"HS256"} }, "auth.jwt.algorithms[0]"},
		{"none algorithm", func(c *Config) { c.Auth.JWT.Algorithms = []string{"none"} }, "auth.jwt.algorithms[0]"},
		{"keys over plain http off loopback", func(c *Config) {
			c.Auth.JWT.Issuers, c.Auth.JWT.Audiences = []Issuer{{Issuer: "http://id.example.com"}}, []string{"api"}
		}, "must be fetched over https"},
		{"cookie token without CSRF prevention", func(c *Config) { c.Auth.JWT.Cookie, c.CSRF.Enabled = "session", false }, "auth.jwt.cookie"},
		{"CORS wildcard with credentials", func(c *Config) { c.CORS.AllowedOrigins, c.CORS.AllowCredentials = []string{"*"}, true }, "cors.allowed_origins[0]"},
		{"CORS null origin", func(c *Config) { c.CORS.AllowedOrigins = []string{"null"} }, "never allowed"},
		{"CORS origin with a path", func(c *Config) { c.CORS.AllowedOrigins = []string{"https://app.example.com/"} }, "cors.allowed_origins[0]"},
		{"CORS bare wildcard pattern", func(c *Config) { c.CORS.AllowedOrigins = []string{"https://*.com"} }, "registrable domain"},
		{"admin certificate without key", func(c *Config) { c.Admin.TLS.CertFile = "admin.pem" }, "admin.tls: cert_file and key_file go together"},
		{"admin key without certificate", func(c *Config) { c.Admin.TLS.KeyFile = "admin-key.pem" }, "admin.tls: cert_file and key_file go together"},
		{"admin client CA without a certificate", func(c *Config) { c.Admin.TLS.ClientCAFile = "ca.pem" }, "admin.tls.client_ca_file"},
		{"admin client names without a client CA", func(c *Config) {
			c.Admin.TLS = AdminTLS{CertFile: "c", KeyFile: "k"}
			c.Admin.ClientNames = []string{"ci"}
		}, "admin.client_names"},
		{"empty admin client name", func(c *Config) {
			c.Admin.TLS = AdminTLS{CertFile: "c", KeyFile: "k", ClientCAFile: "ca"}
			c.Admin.ClientNames = []string{"ci", " "}
		}, "admin.client_names[1]"},
		{"no captured documents", func(c *Config) { c.Documents.Capture.MaxDocuments = 0 }, "documents.capture.max_documents"},
		{"captured texts of no size", func(c *Config) { c.Documents.Capture.MaxTextBytes = -1 }, "documents.capture.max_text_bytes"},
		{"second certificate without key", func(c *Config) {
			c.TLS.CertFile, c.TLS.KeyFile, c.TLS.Certificates = "c", "k", []CertPair{{CertFile: "rsa.pem"}}
		}, "tls.certificates[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Upstream.URL = "http://127.0.0.1:4000/graphql"
			tt.mut(c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want mention of %q", err, tt.want)
			}
			if strings.Contains(tt.name, "password") && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("password echoed: %v", err)
			}
		})
	}
}

func TestPublicHostsAcceptNamesAndAddresses(t *testing.T) {
	c := Default()
	c.Upstream.URL = "http://127.0.0.1:4000/graphql"
	c.Server.PublicHosts = []string{"api.example.com", "localhost", "192.0.2.7", "::1"}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate = %v; want host names and IP addresses accepted", err)
	}
}

func TestInputFieldCoordinateNeedsTheSchema(t *testing.T) {
	c := Default()
	c.Upstream.URL = "http://127.0.0.1:4000/graphql"
	c.Limits.Pagination.Coordinates = map[string]int{"PageInput.first": 10}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "limits.pagination.coordinates.PageInput.first: names an input type's field (InputType.field), which needs the schema (documents.schema); an argument is named PageInput.first.<argument>") {
		t.Errorf("Validate = %v; want the refusal serve would give", err)
	}
}

func TestValidatePaginationCoordinates(t *testing.T) {
	for _, tt := range []struct {
		coord string
		ok    bool
	}{
		{"Query.invoices.first", true},
		{"PageInput.first", true},
		{"Query", false},
		{"Query.invoices.first.x", false},
		{".first", false},
		{"PageInput.", false},
		{"Query..first", false},
	} {
		t.Run(tt.coord, func(t *testing.T) {
			c := Default()
			c.Upstream.URL = "http://127.0.0.1:4000/graphql"
			c.Limits.Pagination.Coordinates = map[string]int{tt.coord: 10}
			c.Documents.Schema = "schema.graphql" // input-field coordinates need one
			err := c.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want := `limits.pagination.coordinates: "` + tt.coord + `" is not a schema coordinate Type.field.argument or InputType.field`
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Fatalf("Validate = %v, want %q", err, want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	c := Default()
	c.Upstream.URL = "http://10.1.2.3/graphql"
	c.Server.TrustedProxies = []string{"0.0.0.0/0"}
	c.GraphQL.Batching.Enabled = true
	c.GraphQL.Uploads.Enabled = true
	c.CORS.AllowedOrigins = []string{"*"}
	c.CSRF.Enabled = false
	got := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{"tls.min_version", "upstream.url: plain http", "server.trusted_proxies", "graphql.batching.enabled", "graphql.uploads.enabled", "tls.cert_file",
		"cors.allowed_origins", "csrf.enabled", "auth.jwt.issuers"} {
		if !strings.Contains(got, want) {
			t.Errorf("no warning about %s in:\n%s", want, got)
		}
	}
	c = Default()
	c.CORS.AllowedOrigins = []string{"http://app.example.com", "https://*.example.com", "http://localhost:3000"}
	c.CORS.AllowCredentials = true
	c.CORS.AllowedHeaders = []string{"Content-Type", "Apollo-Require-Preflight"}
	got = strings.Join(c.Warnings(), "\n")
	for _, want := range []string{"http://app.example.com is plain http", "https://*.example.com with cors.allow_credentials", "lacks the CSRF header X-Apollo-Operation-Name", "lacks the CSRF header GraphQL-Require-Preflight"} {
		if !strings.Contains(got, want) {
			t.Errorf("no warning %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "localhost:3000") || strings.Contains(got, "CSRF header Apollo-Require-Preflight") {
		t.Errorf("warned about a loopback origin or a listed header:\n%s", got)
	}
	c = Default()
	c.CORS.AllowedOrigins = []string{"https://app.example.com"}
	c.CORS.AllowCredentials = true
	c.Upstream.URL = "http://127.0.0.1/graphql"
	c.TLS.CertFile, c.TLS.KeyFile, c.TLS.MinVersion = "c", "k", "1.3"
	c.Auth.JWT.Issuers, c.Auth.JWT.Audiences = []Issuer{{Issuer: "https://id.example.com/"}}, []string{"api"}
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("strong config warned: %v", w)
	}
}

func TestAdminListenerOffLoopbackWarns(t *testing.T) {
	tests := []struct {
		name, listen string
		tls          AdminTLS
		want         string
	}{
		{"plain HTTP off loopback", "0.0.0.0:9090", AdminTLS{}, "listen.admin: the admin listener is reachable from other hosts over plain HTTP"},
		{"plain HTTP on every interface", ":9090", AdminTLS{}, "set admin.tls"},
		{"HTTPS off loopback", "10.0.0.5:9090", AdminTLS{CertFile: "c", KeyFile: "k"}, "/metrics answer without credentials"},
		{"plain HTTP on loopback", "127.0.0.1:9090", AdminTLS{}, ""},
	}
	for _, tt := range tests {
		c := Default()
		c.Listen.Admin, c.Admin.TLS = tt.listen, tt.tls
		var got []string
		for _, w := range c.Warnings() {
			if strings.HasPrefix(w, "listen.admin") {
				got = append(got, w)
			}
		}
		if tt.want == "" && len(got) > 0 || tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)) {
			t.Errorf("%s: listen.admin warnings %q, want one with %q", tt.name, got, tt.want)
		}
		if tt.tls.CertFile != "" && len(got) == 1 && strings.Contains(got[0], "plain HTTP") {
			t.Errorf("%s: warned about plain HTTP with admin.tls set", tt.name)
		}
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(path, []byte("bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, env(nil))
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `unknown key "bogus"`) {
		t.Errorf("got %v", err)
	}
}

func TestRedactURLHidesEveryCredential(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://up.internal/graphql", "https://up.internal/graphql"},
		{"https://user:pa55@up.internal/graphql", "https://[redacted]@up.internal/graphql"},
		{"https://tok3n@up.internal/graphql", "https://[redacted]@up.internal/graphql"},
		{"https://up.internal/graphql?api_key=tok3n&tenant=acme", "https://up.internal/graphql?api_key=[redacted]&tenant=[redacted]"},
		{"https://up.internal/graphql#tok3n", "https://up.internal/graphql"},
		{"http://[::1%zz/", "[redacted: not a URL]"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A bad value is reported once, though both the package's rule and the
// served config's tighter bound refuse it.
func TestOneProblemPerBadValue(t *testing.T) {
	c := Default()
	c.Auth.JWT.CacheSize = -1
	c.Auth.JWT.ClockSkew = -time.Second
	c.Auth.JWT.MaxTokenBytes = -1
	c.Auth.JWT.JWKSRefresh = -time.Second
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"cache_size", "clock_skew", "max_token_bytes", "jwks_refresh"} {
		if n := strings.Count(err.Error(), "auth.jwt."+key+":"); n != 1 {
			t.Errorf("auth.jwt.%s reported %d times:\n%v", key, n, err)
		}
	}
}

func TestListenersThatShareAPortAreRefused(t *testing.T) {
	for _, tt := range []struct {
		https, http, admin string
		clash              bool
	}{
		{":8443", ":8080", "127.0.0.1:9090", false},
		{":8443", ":8080", ":8443", true},
		{"127.0.0.1:8443", ":8080", "0.0.0.0:8443", true},
		{"127.0.0.1:8443", "", "127.0.0.2:8443", false},
		{"[::1]:8443", "[::]:8443", "", true},
		{"0.0.0.0:8443", "[::1]:8443", "", false},
		{"0.0.0.0:8443", "", "127.0.0.1:8443", true},
		{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", false},
	} {
		cfg := Default()
		cfg.Upstream.URL = "http://127.0.0.1:1/graphql"
		cfg.Listen.HTTPS, cfg.Listen.HTTP, cfg.Listen.Admin = tt.https, tt.http, tt.admin
		err := cfg.Validate()
		if got := err != nil && strings.Contains(err.Error(), "they share the port"); got != tt.clash {
			t.Errorf("%q %q %q: err = %v, want a clash: %v", tt.https, tt.http, tt.admin, err, tt.clash)
		}
	}
}

func TestCheckFilesTellsFilesFromFolders(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Documents.Dir = file
	cfg.Documents.Capture.Dir = filepath.Join(dir, "not-yet") // created when needed
	cfg.TLS.CertFile, cfg.TLS.KeyFile = dir, file
	err := cfg.CheckFiles()
	for _, want := range []string{"documents.dir: " + file + " is a file, not a folder", "tls.cert_file: " + dir + " is a folder, not a file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "capture") || strings.Contains(err.Error(), "key_file")) {
		t.Errorf("a missing folder or a good file was reported: %v", err)
	}
}

// The CORS stage compares origins as exact strings, so an entry spelt
// otherwise than browsers send origins is refused with the spelling to
// write, naming the key.
func TestNonCanonicalAllowedOriginsAreRefused(t *testing.T) {
	for entry, canon := range map[string]string{
		"https://APP.example.com":      "https://app.example.com",
		"HTTPS://app.example.com":      "https://app.example.com",
		"https://app.example.com:443":  "https://app.example.com",
		"http://localhost:80":          "http://localhost",
		"https://app.example.com/":     "https://app.example.com",
		"https://app.example.com/path": "https://app.example.com",
		"https://*.Example.com":        "https://*.example.com",
	} {
		t.Run(entry, func(t *testing.T) {
			c := Default()
			c.Upstream.URL = "http://127.0.0.1:4000/graphql"
			c.CORS.AllowedOrigins = []string{"https://ok.example.com", entry}
			want := `cors.allowed_origins[1]: "` + entry + `" is not spelt as browsers send an origin`
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `write "`+canon+`"`) {
				t.Fatalf("Validate = %v, want %q naming %q", err, want, canon)
			}
		})
	}
	c := Default()
	c.Upstream.URL = "http://127.0.0.1:4000/graphql"
	c.CORS.AllowedOrigins = []string{"https://app.example.com", "https://*.example.com:8443", "http://localhost:3000", "http://[::1]:3000", "http://127.0.0.1:3000"}
	if err := c.Validate(); err != nil {
		t.Errorf("canonical origins refused: %v", err)
	}
}

// A token over auth.jwt.max_token_bytes gets the gateway's 401 only if the
// HTTP stack lets its header through, so server.max_header_bytes must leave
// room for it.
func TestHeaderLimitLeavesRoomForAnOversizedToken(t *testing.T) {
	for _, tt := range []struct {
		name              string
		issuers           bool
		maxHeader, maxTok int
		ok                bool
	}{
		{"defaults", true, 65536, 8192, true},
		{"just enough room", true, 8192 + TokenHeaderRoom, 8192, true},
		{"header limit equal to the token limit", true, 8192, 8192, false},
		{"header limit just short", true, 8192 + TokenHeaderRoom - 1, 8192, false},
		{"token limit raised past the header limit", true, 65536, 65536, false},
		{"no tokens verified", false, 8192, 8192, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Upstream.URL = "http://127.0.0.1:4000/graphql"
			if tt.issuers {
				c.Auth.JWT.Issuers, c.Auth.JWT.Audiences = []Issuer{{Issuer: "https://id.example.com/"}}, []string{"api"}
			}
			c.Server.MaxHeaderBytes, c.Auth.JWT.MaxTokenBytes = tt.maxHeader, tt.maxTok
			err := c.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want := fmt.Sprintf("server.max_header_bytes: %d leaves no room for a token of auth.jwt.max_token_bytes (%d) and the request's other headers; set it to at least %d", tt.maxHeader, tt.maxTok, tt.maxTok+TokenHeaderRoom)
			if !tt.ok && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Fatalf("Validate = %v, want %q", err, want)
			}
		})
	}
}
