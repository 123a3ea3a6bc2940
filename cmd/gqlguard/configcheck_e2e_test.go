//go:build unix

package main

import (
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	const secret = "s3cr3t-value"

	t.Run("secrets from the environment are redacted and weak choices warned", func(t *testing.T) {
		res := runCommand(t, append(envWithout("TEST_API_KEY"), "TEST_API_KEY="+secret),
			"config", "check", "-c", "testdata/secret-header.yaml")
		if res.code != 0 {
			t.Fatalf("exit code = %d, want 0\nstderr:\n%s", res.code, res.stderr)
		}
		if !strings.Contains(res.stdout, "[redacted]") {
			t.Errorf("stdout lacks [redacted]:\n%s", res.stdout)
		}
		if !strings.Contains(res.stdout, "http://127.0.0.1:4000/graphql") {
			t.Errorf("stdout lacks the effective upstream.url:\n%s", res.stdout)
		}
		if strings.Contains(res.stdout+res.stderr, secret) {
			t.Errorf("output reveals the secret header value:\nstdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
		}
		if !hasLine(res.stderr, "warning: tls.min_version") {
			t.Errorf("stderr lacks a warning about tls.min_version:\n%s", res.stderr)
		}
	})

	t.Run("credentials in the upstream URL are redacted", func(t *testing.T) {
		res := runCommand(t, append(envWithout("TEST_API_KEY"), "TEST_API_KEY="+secret),
			"config", "check", "-c", "testdata/secret-url.yaml")
		if res.code != 0 {
			t.Fatalf("exit code = %d, want 0\nstderr:\n%s", res.code, res.stderr)
		}
		if strings.Contains(res.stdout+res.stderr, secret) {
			t.Errorf("output reveals the secret:\nstdout:\n%s\nstderr:\n%s", res.stdout, res.stderr)
		}
		if !strings.Contains(res.stdout, "https://[redacted]@127.0.0.1:4000/graphql?api_key=[redacted]") {
			t.Errorf("stdout lacks the redacted upstream.url:\n%s", res.stdout)
		}
	})

	t.Run("an unset environment variable is an error", func(t *testing.T) {
		res := runCommand(t, envWithout("TEST_API_KEY"), "config", "check", "-c", "testdata/secret-header.yaml")
		if res.code != 1 {
			t.Errorf("exit code = %d, want 1\nstderr:\n%s", res.code, res.stderr)
		}
		if want := "line 3: environment variable TEST_API_KEY is not set"; !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	})

	t.Run("every problem is reported at once", func(t *testing.T) {
		res := runCommand(t, nil, "config", "check", "-c", "testdata/two-problems.yaml")
		if res.code != 1 {
			t.Errorf("exit code = %d, want 1\nstderr:\n%s", res.code, res.stderr)
		}
		for _, want := range []string{`tls.min_version: "1.0"`, `log.format: "xml"`, "tls.cert_file: open testdata/no-such-cert.pem", "tls.key_file: open testdata/no-such-key.pem"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
			}
		}
		if res.stdout != "" {
			t.Errorf("an invalid file printed a configuration:\n%s", res.stdout)
		}
	})
}

func TestVersion(t *testing.T) {
	res := runCommand(t, nil, "version")
	if res.code != 0 {
		t.Fatalf("exit code = %d, want 0\nstderr:\n%s", res.code, res.stderr)
	}
	if !strings.HasPrefix(res.stdout, "gqlguard ") {
		t.Errorf("stdout = %q, want it to start with %q", res.stdout, "gqlguard ")
	}
}

// hasLine reports whether a line of s starts with prefix.
func hasLine(s, prefix string) bool {
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}
