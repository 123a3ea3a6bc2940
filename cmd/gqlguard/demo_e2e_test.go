//go:build unix

package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoBannerEnd is the last line the demo prints before it serves.
const demoBannerEnd = "Press Ctrl-C to stop."

// example is one copy-paste command printed by the demo.
type example struct {
	title, command string
}

// expectation is what a demo example must print.
type expectation struct {
	// contains lists the texts its output must hold.
	contains []string
	// foldCase compares case-insensitively (HTTP header names).
	foldCase bool
	// absent lists texts its output must not hold.
	absent []string
	// retryFor repeats the command while its output is not yet as expected:
	// for state the demo reaches shortly after it starts.
	retryFor time.Duration
}

// demoExpectations maps each example title the demo prints to what its
// command must output. A new example needs an entry here.
func demoExpectations(httpsPort string) map[string]expectation {
	return map[string]expectation{
		"Ada signs in at the token issuer and sees only her invoices (a trusted query by its documentId)": {
			contains: []string{`"number":"INV-0001"`, `"name":"Ada Lovelace"`, "HTTP 200"}, absent: []string{"Grace Hopper"},
		},
		"Grace, with her own token, sees only hers": {
			contains: []string{`"number":"INV-0002"`, `"name":"Grace Hopper"`, "HTTP 200"}, absent: []string{"Ada Lovelace"},
		},
		"A public document runs without a token; GET on its cache URL (ETag, Cache-Control)": {
			contains: []string{"HTTP/2 200", "etag: \"", "cache-control: private, max-age=60", "vary: origin, accept, accept-encoding, authorization, cookie", `"ok":true`},
			foldCase: true,
		},
		"A trusted mutation with variables (POST only)": {contains: []string{`"createInvoice"`, `"amountCents":4200`, "HTTP 200"}},
		"Refused: no token for a private document (401, whatever operationName says)": {
			contains: []string{"HTTP/2 401", `www-authenticate: Bearer realm="GraphQL"`, "UNAUTHENTICATED"}, foldCase: true,
		},
		"Refused: a forged token": {
			contains: []string{"HTTP/2 401", `error="invalid_token"`, "UNAUTHENTICATED"}, foldCase: true,
		},
		"Refused: a free-form query (only the client's registered documents run)": {
			contains: []string{"PERSISTED_DOCUMENT_REQUIRED", "HTTP 400"},
		},
		"Refused: an attacker's first: 2147483647 in a trusted document's variables": {
			contains: []string{"LIMIT_EXCEEDED", "2147483647", "HTTP 400"},
		},
		"Refused: a mutation over GET (a link or <img> must never change state)": {
			contains: []string{"MUTATION_NOT_ALLOWED_OVER_GET", "HTTP 405"},
		},
		"Refused: a cross-site form post (CSRF: no preflight, so it never runs)": {
			contains: []string{"CSRF_PREFLIGHT_REQUIRED", "Apollo-Require-Preflight", "HTTP 400"},
		},
		"Refused: a body that is not a GraphQL request": {contains: []string{"BAD_REQUEST", "HTTP 400"}},
		"The security headers on every answer": {
			contains: []string{"strict-transport-security: max-age=31536000; includeSubDomains", "x-content-type-options: nosniff"},
			foldCase: true,
		},
		"Plain HTTP only redirects to HTTPS (308), it never serves GraphQL": {
			contains: []string{"HTTP 308 -> https://localhost:" + httpsPort + "/graphql"},
		},
		"Readiness, on the admin listener (loopback only)": {contains: []string{"upstream: ok", "tls: ok", "auth: ok"}},
	}
}

func TestDemoExamplesSucceed(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not on PATH: the demo prints curl commands and this test runs them; install curl")
	}
	stateDir := t.TempDir()
	args := []string{"demo", "--https-port", "0", "--http-port", "0", "--admin-port", "0", "--state-dir", stateDir}

	demo := startProcess(t, nil, args...)
	banner := demo.waitFor(t, demo.stdout, demoBannerEnd, 30*time.Second)
	httpsPort := submatch(t, banner, `gateway \(HTTPS\)\s+https://localhost:(\d+)/graphql`)
	billingURL := submatch(t, banner, `billing API\s+(http://127\.0\.0\.1:\d+/graphql)`)
	fingerprint := submatch(t, banner, `SHA-256 ([0-9A-F]{2}(?::[0-9A-F]{2}){31})\n`)
	if !strings.Contains(banner, "(created now;") {
		t.Errorf("first run with an empty state dir: banner does not say the CA was created now:\n%s", banner)
	}

	examples := parseExamples(t, banner)
	if len(examples) < 14 {
		t.Errorf("demo printed %d examples, want at least 14:\n%s", len(examples), banner)
	}
	want := demoExpectations(httpsPort)
	printed := make(map[string]bool)
	for _, ex := range examples {
		printed[ex.title] = true
		exp, ok := want[ex.title]
		if !ok {
			t.Errorf("example %q has no expectation in demoExpectations; add one", ex.title)
			continue
		}
		t.Run(ex.title, func(t *testing.T) { checkExample(t, ex, exp) })
	}
	for title := range want {
		if !printed[title] {
			t.Errorf("demo no longer prints the example %q", title)
		}
	}

	if code := demo.terminate(t, 10*time.Second); code != 0 {
		t.Errorf("demo exit code after SIGTERM = %d, want 0\nstderr:\n%s", code, demo.stderr)
	}
	if errors.Is(demo.waitErr, exec.ErrWaitDelay) {
		t.Errorf("a child of the demo kept its output open after the demo exited")
	}
	assertRefused(t, billingURL)
	for _, name := range []string{"ca-key.pem", "localhost-key.pem"} {
		info, err := os.Stat(filepath.Join(stateDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, mode)
		}
	}

	again := startProcess(t, nil, args...)
	banner = again.waitFor(t, again.stdout, demoBannerEnd, 30*time.Second)
	if got := submatch(t, banner, `SHA-256 ([0-9A-F:]+)\n`); got != fingerprint {
		t.Errorf("second run: CA fingerprint %s, want the first run's %s (the CA must be reused)", got, fingerprint)
	}
	if strings.Contains(banner, "(created now;") {
		t.Errorf("second run: banner says the CA was created now, want it reused:\n%s", banner)
	}
	if code := again.terminate(t, 10*time.Second); code != 0 {
		t.Errorf("second demo exit code after SIGTERM = %d, want 0\nstderr:\n%s", code, again.stderr)
	}
}

// parseExamples returns the commands of the banner (lines starting with
// "curl "), each titled by the "# title" line before it.
func parseExamples(t *testing.T, banner string) []example {
	t.Helper()
	var examples []example
	lines := strings.Split(banner, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		title, ok := "", false
		if i > 0 {
			title, ok = strings.CutPrefix(lines[i-1], "# ")
		}
		if !ok {
			t.Errorf("command without a # title line before it: %s", line)
			continue
		}
		examples = append(examples, example{title: title, command: line})
	}
	return examples
}

// checkExample runs ex.command with sh and checks its output against exp.
func checkExample(t *testing.T, ex example, exp expectation) {
	deadline := time.Now().Add(exp.retryFor)
	for {
		out, err := runShell(ex.command)
		missing := missingTexts(out, exp)
		if err == nil && len(missing) == 0 {
			return
		}
		if time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Errorf("%s\nfailed: %v\noutput:\n%s", ex.command, err, out)
		}
		for _, m := range missing {
			t.Errorf("%s\noutput lacks %q:\n%s", ex.command, m, out)
		}
		return
	}
}

// runShell runs command with sh -c within 10 s and returns its combined
// output.
func runShell(command string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", command).CombinedOutput()
	return string(out), err
}

// missingTexts returns the texts of exp that out does not contain.
func missingTexts(out string, exp expectation) []string {
	var missing []string
	for _, want := range exp.contains {
		got := out
		if exp.foldCase {
			got, want = strings.ToLower(got), strings.ToLower(want)
		}
		if !strings.Contains(got, want) {
			missing = append(missing, want)
		}
	}
	for _, bad := range exp.absent {
		if strings.Contains(out, bad) {
			missing = append(missing, "(must not contain) "+bad)
		}
	}
	return missing
}

// submatch returns the first group of pattern in s, failing the test when
// it does not match.
func submatch(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", pattern, s)
	}
	return m[1]
}

// assertRefused checks that nothing accepts connections at url any more.
func assertRefused(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Post(url, "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
	if err == nil {
		_ = res.Body.Close()
		t.Fatalf("%s still answers (%s) after the demo exited", url, res.Status)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("%s: %v, want connection refused", url, err)
	}
}
