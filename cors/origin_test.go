package cors

import "testing"

func TestCanonical(t *testing.T) {
	tests := []struct{ entry, want string }{
		{"https://app.example.com", "https://app.example.com"},
		{"HTTPS://APP.Example.COM", "https://app.example.com"},
		{"https://app.example.com:443", "https://app.example.com"},
		{"https://app.example.com:0443", "https://app.example.com"},
		{"http://app.example.com:80", "http://app.example.com"},
		{"http://app.example.com:443", "http://app.example.com:443"},
		{"https://app.example.com:8443", "https://app.example.com:8443"},
		{"https://app.example.com/", "https://app.example.com"},
		{"https://app.example.com/path?q#f", "https://app.example.com"},
		{"https://user:pw@app.example.com", "https://app.example.com"},
		{"http://[0:0:0:0:0:0:0:1]:3000", "http://[::1]:3000"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
		{"https://*.Example.com", "https://*.example.com"},
		{"https://*.example.com:443", "https://*.example.com"},
		{"http://localhost", "http://localhost"},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
	}
	for _, tt := range tests {
		if got, err := Canonical(tt.entry); err != nil || got != tt.want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", tt.entry, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "app.example.com", "https://", "https:app.example.com", "ftp://app.example.com",
		"https://app.example.com:0", "https://app.example.com:70000", "https://bücher.example", "https://a..example.com",
		"https://*.com", "https://a.*.example.com", "https://*a.example.com", "https://*.*.example.com", "https://*",
		"http://[fe80::1%25eth0]", "http://127.000.0.1", "http://1.2.3", "https://exa mple.com", "https://[::1"} {
		if got, err := Canonical(bad); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", bad, got)
		}
	}
}
