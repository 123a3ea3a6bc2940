//go:build unix

package main

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/documents/capture"
	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/testutil/testcert"
	"github.com/gqlguard/gqlguard/internal/testutil/tokenissuer"
)

// adminToken is the admin API token of the gateways these tests start.
const adminToken = "docs-e2e-admin-token-0123456789abcdef"

// queryUpstream is a GraphQL upstream that records the document text of
// every request except the gateway's readiness probe.
type queryUpstream struct {
	url     string
	mu      sync.Mutex
	queries []string
}

func newQueryUpstream(t *testing.T) *queryUpstream {
	t.Helper()
	u := &queryUpstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Query string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		if req.Query != "{ __typename }" {
			u.mu.Lock()
			u.queries = append(u.queries, req.Query)
			u.mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"ok":true}}`)
	}))
	t.Cleanup(srv.Close)
	u.url = srv.URL + "/graphql"
	return u
}

// received returns the document texts the upstream was sent, in order.
func (u *queryUpstream) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.queries)
}

// docsGateway is a running gqlguard serve and how to reach it.
type docsGateway struct {
	proc         *process
	https, admin string
	client       *http.Client
	configFile   string
}

// startDocsGateway writes a config with every listener on an ephemeral
// loopback port, the dev CA's certificate, the upstream and the documents
// and admin sections given as YAML, and starts gqlguard serve with it.
func startDocsGateway(t *testing.T, ca *certs.DevCA, up *queryUpstream, sections string) *docsGateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gqlguard.yaml")
	yaml := "listen: {https: \"127.0.0.1:0\", http: \"127.0.0.1:0\", admin: \"127.0.0.1:0\"}\n" +
		fmt.Sprintf("tls: {cert_file: %q, key_file: %q}\n", ca.CertFile, ca.KeyFile) +
		fmt.Sprintf("upstream: {url: %q}\n", up.url) + "server: {shutdown_delay: 0s}\n" + sections
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, nil, "serve", "-c", path)
	g := &docsGateway{proc: p, client: httpsClient(t, ca.CAFile), configFile: path}
	log := p.waitFor(t, p.stderr, `"msg":"gqlguard serving"`, 10*time.Second)
	for _, rec := range logRecords(log) {
		if rec["msg"] == "gqlguard serving" {
			g.https, _ = rec["https"].(string)
			g.admin, _ = rec["admin"].(string)
		}
	}
	for _, addr := range []string{g.https, g.admin} {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
			t.Fatalf("serving line has address %q, want a bound host:port:\n%s", addr, log)
		}
	}
	return g
}

// post sends a GraphQL-over-HTTP POST and returns the status, the body and
// the error code of the first error, if any.
func (g *docsGateway) post(t *testing.T, body string, header ...string) (status int, answer, code string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "https://"+g.https+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := g.client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", body, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Errors []struct{ Extensions struct{ Code string } }
	}
	if json.Unmarshal(data, &e) == nil && len(e.Errors) > 0 {
		code = e.Errors[0].Extensions.Code
	}
	return res.StatusCode, string(data), code
}

// byID is the body of a request for a trusted document.
func byID(hexHash string) string {
	return `{"documentId":"sha256:` + hexHash + `"}`
}

// withVariables adds variables to a request body.
func withVariables(body, variables string) string {
	return strings.TrimSuffix(body, "}") + `,"variables":` + variables + "}"
}

// freeForm is the body of a request with a free-form document.
func freeForm(text string) string {
	b, _ := json.Marshal(map[string]string{"query": text})
	return string(b)
}

func newDevCA(t *testing.T) *certs.DevCA {
	t.Helper()
	ca, err := certs.EnsureDevCA(t.TempDir(), certs.DefaultHosts(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestDocsPushRegistersWithARunningGateway(t *testing.T) {
	up := newQueryUpstream(t)
	store := t.TempDir()
	g := startDocsGateway(t, newDevCA(t), up, fmt.Sprintf("documents: {mode: strict, dir: %q, rules: {max_depth: 4}}\n", store)+
		fmt.Sprintf("admin: {token: %q}\n", adminToken))
	url := "http://" + g.admin + "/v1/documents"
	env := envWithout("GQLGUARD_ADMIN_TOKEN")
	invoices := fileHash(t, invoicesFile)

	// A wrong token stores nothing.
	res := runCommand(t, env, "docs", "push", "--url", url, "--token", "not-the-token", billingDir)
	if res.code != 1 || !strings.Contains(res.stderr, "403") || !strings.Contains(res.stderr, "the admin token is not valid") {
		t.Errorf("push with a wrong token: exit %d, stderr %q; want 1 with the gateway's message", res.code, res.stderr)
	}
	if status, body, code := g.post(t, byID(invoices)); status != http.StatusBadRequest || code != "PERSISTED_DOCUMENT_NOT_FOUND" {
		t.Errorf("after a refused push, Invoices answers %d %s; want 400 PERSISTED_DOCUMENT_NOT_FOUND", status, body)
	}

	res = runCommand(t, env, "docs", "push", "--url", url, "--token", adminToken, billingDir)
	if res.code != 0 || res.stdout != "registered 3 documents\n" {
		t.Fatalf("push: exit %d, stdout %q, stderr %q; want 0 and \"registered 3 documents\"", res.code, res.stdout, res.stderr)
	}
	for _, req := range []string{byID(invoices), withVariables(byID(fileHash(t, topUsersFile)), `{"limit":10}`)} {
		if status, body, _ := g.post(t, req); status != http.StatusOK || body != `{"data":{"ok":true}}` {
			t.Errorf("%s: %d %s, want 200 and the upstream's answer", req, status, body)
		}
	}
	// The default cap of first holds at run time too.
	tooMany := withVariables(byID(fileHash(t, topUsersFile)), `{"limit":1000}`)
	if status, body, code := g.post(t, tooMany); status != http.StatusBadRequest || code != "LIMIT_EXCEEDED" {
		t.Errorf("%s: %d %s, want 400 LIMIT_EXCEEDED", tooMany, status, body)
	}
	if got, want := up.received(), []string{readText(t, invoicesFile), readText(t, topUsersFile)}; !slices.Equal(got, want) {
		t.Errorf("upstream received %q, want the documents' texts %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(store, invoices+".graphql")); err != nil {
		t.Errorf("the pushed document is not in the store folder: %v", err)
	}

	// A document deeper than documents.rules.max_depth is refused whole.
	res = runCommand(t, env, "docs", "push", "--url", url, "--token", adminToken, deepDir)
	if res.code != 1 || !strings.Contains(res.stderr, "break the safety rules, nothing was stored") ||
		!strings.Contains(res.stderr, "Deep: depth: the operation is 5 levels deep; the limit is 4") {
		t.Errorf("push of a document that breaks the rules: exit %d, stderr %q; want 1 naming the rule", res.code, res.stderr)
	}
	deep := fileHash(t, filepath.Join(deepDir, "Deep.graphql"))
	if status, body, code := g.post(t, byID(deep)); status != http.StatusBadRequest || code != "PERSISTED_DOCUMENT_NOT_FOUND" {
		t.Errorf("refused document by its documentId: %d %s; want 400 PERSISTED_DOCUMENT_NOT_FOUND", status, body)
	}
	if _, err := os.Stat(filepath.Join(store, deep+".graphql")); err == nil {
		t.Error("the refused document was written to the store folder")
	}
	if n := len(up.received()); n != 2 {
		t.Errorf("upstream received %d documents, want the 2 trusted ones", n)
	}
}

func TestDocsPushWithAClientCertificate(t *testing.T) {
	up := newQueryUpstream(t)
	ca := newDevCA(t)
	dir := t.TempDir()
	pushCA := writeClientCA(t, dir, "push client CA")
	ciCert, ciKey := pushCA.issue(t, dir, "ci-pipeline")
	laptopCert, laptopKey := pushCA.issue(t, dir, "laptop")
	// The admin listener serves HTTPS with the dev CA's certificate and
	// accepts client certificates of pushCA.
	g := startDocsGateway(t, ca, up, fmt.Sprintf("documents: {mode: strict, dir: %q}\n", t.TempDir())+
		fmt.Sprintf("admin: {token: %q, tls: {cert_file: %q, key_file: %q, client_ca_file: %q}, client_names: [ci-pipeline]}\n",
			adminToken, ca.CertFile, ca.KeyFile, pushCA.file))
	url := "https://" + g.admin + "/v1/documents"
	env := envWithout("GQLGUARD_ADMIN_TOKEN")
	invoices := fileHash(t, invoicesFile)

	res := runCommand(t, env, "docs", "push", "--url", url, "--cacert", ca.CAFile, "--cert", laptopCert, "--key", laptopKey, billingDir)
	if res.code != 1 || !strings.Contains(res.stderr, "403") {
		t.Errorf("push with a certificate whose name is not allowed: exit %d, stderr %q; want 1 and 403", res.code, res.stderr)
	}
	res = runCommand(t, env, "docs", "push", "--url", url, "--token", adminToken, billingDir)
	if res.code != 1 || !strings.Contains(res.stderr, "certificate") {
		t.Errorf("push without --cacert to a private CA: exit %d, stderr %q; want 1 and a certificate error", res.code, res.stderr)
	}
	if status, body, code := g.post(t, byID(invoices)); status != http.StatusBadRequest || code != "PERSISTED_DOCUMENT_NOT_FOUND" {
		t.Errorf("after refused pushes, Invoices answers %d %s; want 400 PERSISTED_DOCUMENT_NOT_FOUND", status, body)
	}

	res = runCommand(t, env, "docs", "push", "--url", url, "--cacert", ca.CAFile, "--cert", ciCert, "--key", ciKey, billingDir)
	if res.code != 0 || res.stdout != "registered 3 documents\n" {
		t.Fatalf("push with an allowed certificate: exit %d, stdout %q, stderr %q; want 0", res.code, res.stdout, res.stderr)
	}
	if status, body, _ := g.post(t, byID(invoices)); status != http.StatusOK {
		t.Errorf("pushed document: %d %s, want 200", status, body)
	}
	res = runCommand(t, env, "docs", "push", "--url", url, "--cacert", ca.CAFile, "--token", adminToken, billingDir)
	if res.code != 0 {
		t.Errorf("push with the token over admin TLS: exit %d, stderr %q; want 0", res.code, res.stderr)
	}
}

// clientCA issues client certificates for tests.
type clientCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	file string // the CA certificate, PEM
}

// writeClientCA makes a CA and writes its certificate into dir.
func writeClientCA(t *testing.T, dir, name string) *clientCA {
	t.Helper()
	cert, key := testcert.CA(t, name)
	ca := &clientCA{cert: cert, key: key, file: filepath.Join(dir, "client-ca.pem")}
	testcert.WritePEM(t, ca.file, testcert.CertBlock(cert))
	return ca
}

// issue writes a client certificate named cn and its key into dir.
func (ca *clientCA) issue(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	cert, key := testcert.Issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, ca.key, nil)
	certFile, keyFile = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+"-key.pem")
	testcert.WritePEM(t, certFile, testcert.CertBlock(cert))
	testcert.WritePEM(t, keyFile, testcert.KeyBlock(t, key))
	return certFile, keyFile
}

// The free-form documents the capture tests send.
const (
	capturedInvoices = "query Invoices { invoices(first: 10) { number } }"
	capturedMe       = "query Me { me { id name } }"
)

func TestDocsCapturedAndPromote(t *testing.T) {
	up := newQueryUpstream(t)
	ca := newDevCA(t)
	trusted, captured := filepath.Join(t.TempDir(), "trusted"), filepath.Join(t.TempDir(), "captured")
	g := startDocsGateway(t, ca, up, fmt.Sprintf("documents: {mode: capture, dir: %q, capture: {dir: %q, flush_interval: 100ms}}\n", trusted, captured))
	for range 3 {
		if status, body, _ := g.post(t, freeForm(capturedInvoices), "apollographql-client-name", "web"); status != http.StatusOK {
			t.Fatalf("capture mode refused a free-form query: %d %s", status, body)
		}
	}
	if status, body, _ := g.post(t, freeForm(capturedMe)); status != http.StatusOK {
		t.Fatalf("capture mode refused a free-form query: %d %s", status, body)
	}
	invoices, me := sha256Hex(capturedInvoices), sha256Hex(capturedMe)
	// The final counts must be on disk before SIGTERM: the flush on
	// shutdown is not waited for (see TestCaptureModeFlushesOnShutdown).
	waitCaptured(t, captured, map[string]int64{"sha256:" + invoices: 3, "sha256:" + me: 1})
	if code := g.proc.terminate(t, 10*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0\nstderr:\n%s", code, g.proc.stderr)
	}

	res := runCommand(t, nil, "docs", "captured", "-c", g.configFile)
	if res.code != 0 {
		t.Fatalf("captured: exit %d\nstderr:\n%s", res.code, res.stderr)
	}
	rows := capturedRows(res.stdout)
	if got := rows["sha256:"+invoices]; len(got) < 4 || got[2] != "web" || got[3] != "3" {
		t.Errorf("captured row of Invoices = %v, want client web and count 3:\n%s", got, res.stdout)
	}
	if got := rows["sha256:"+me]; len(got) < 4 || got[2] != "-" || got[3] != "1" {
		t.Errorf("captured row of Me = %v, want no client and count 1:\n%s", got, res.stdout)
	}
	if !strings.Contains(res.stdout, "2 captured documents in "+captured) {
		t.Errorf("captured lacks its summary line:\n%s", res.stdout)
	}

	recs := capturedJSON(t, g.configFile)
	if len(recs) != 2 || string(recs[0].ID) != "sha256:"+invoices || recs[0].Count != 3 || !slices.Equal(recs[0].Clients, []string{"web"}) ||
		string(recs[1].ID) != "sha256:"+me || recs[1].Count != 1 || len(recs[1].Clients) != 0 {
		t.Errorf("captured --format json = %+v, want Invoices (3, web) then Me (1)", recs)
	}
	if len(recs) > 0 && (recs[0].FirstSeen.IsZero() || recs[0].LastSeen.Before(recs[0].FirstSeen)) {
		t.Errorf("captured times: first %v, last %v", recs[0].FirstSeen, recs[0].LastSeen)
	}

	res = runCommand(t, nil, "docs", "promote", "-c", g.configFile, me)
	if res.code != 0 || !strings.Contains(res.stdout, "promoted sha256:"+me) {
		t.Fatalf("promote Me: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	if got := readText(t, filepath.Join(trusted, me+".graphql")); got != capturedMe {
		t.Errorf("promoted file holds %q, want the exact text %q", got, capturedMe)
	}
	if recs := capturedJSON(t, g.configFile); len(recs) != 1 || string(recs[0].ID) != "sha256:"+invoices {
		t.Errorf("after promoting Me, captured lists %+v, want Invoices only", recs)
	}

	res = runCommand(t, nil, "docs", "promote", "-c", g.configFile, "--all")
	if res.code != 0 || !strings.Contains(res.stdout, "promoted sha256:"+invoices) || !strings.Contains(res.stdout, "1 documents are now trusted in "+trusted) {
		t.Fatalf("promote --all: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	if got := readText(t, filepath.Join(trusted, invoices+".graphql")); got != capturedInvoices {
		t.Errorf("promoted file holds %q, want the exact text %q", got, capturedInvoices)
	}
	if recs := capturedJSON(t, g.configFile); len(recs) != 0 {
		t.Errorf("after promote --all, captured lists %+v", recs)
	}
	if res := runCommand(t, nil, "docs", "promote", "-c", g.configFile, "--all"); res.code != 1 || !strings.Contains(res.stderr, "nothing to promote") {
		t.Errorf("promote --all with nothing captured: exit %d, stderr %q; want 1 and \"nothing to promote\"", res.code, res.stderr)
	}

	// The promoted documents are now the only ones a strict gateway runs.
	strictUp := newQueryUpstream(t)
	strict := startDocsGateway(t, ca, strictUp, fmt.Sprintf("documents: {mode: strict, dir: %q}\n", trusted))
	for _, h := range []string{invoices, me} {
		if status, body, _ := strict.post(t, byID(h)); status != http.StatusOK {
			t.Errorf("promoted document %s by its documentId: %d %s, want 200", h, status, body)
		}
	}
	if got, want := strictUp.received(), []string{capturedInvoices, capturedMe}; !slices.Equal(got, want) {
		t.Errorf("upstream received %q, want %q", got, want)
	}
	if status, body, code := strict.post(t, freeForm(capturedInvoices)); status != http.StatusBadRequest || code != "PERSISTED_DOCUMENT_REQUIRED" {
		t.Errorf("free-form text in strict mode: %d %s, want 400 PERSISTED_DOCUMENT_REQUIRED", status, body)
	}
}

// sha256Hex is the hex SHA-256 of a document's text: its id without the
// sha256: prefix.
func sha256Hex(text string) string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:])
}

// capturedRows maps the id column of docs captured's table to the row's
// columns: id, operations, clients, count, first seen, last seen.
func capturedRows(out string) map[string][]string {
	rows := map[string][]string{}
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) == 6 && strings.HasPrefix(f[0], "sha256:") {
			rows[f[0]] = f
		}
	}
	return rows
}

// capturedJSON runs docs captured --format json.
func capturedJSON(t *testing.T, configFile string) []capture.Record {
	t.Helper()
	res := runCommand(t, nil, "docs", "captured", "-c", configFile, "--format", "json")
	if res.code != 0 {
		t.Fatalf("captured --format json: exit %d\nstderr:\n%s", res.code, res.stderr)
	}
	var recs []capture.Record
	if err := json.Unmarshal([]byte(res.stdout), &recs); err != nil {
		t.Fatalf("captured --format json is not JSON: %v\n%s", err, res.stdout)
	}
	return recs
}

// waitCaptured waits until the capture folder dir holds the counts want, by
// document id, as the periodic flush writes them.
func waitCaptured(t *testing.T, dir string, want map[string]int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs, err := capture.Read(dir)
		got := map[string]int64{}
		for _, r := range recs {
			got[string(r.ID)] = r.Count
		}
		if err == nil && maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("capture folder holds %v (%v), want %v", got, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCaptureModeFlushesOnShutdown(t *testing.T) {
	up := newQueryUpstream(t)
	trusted, captured := filepath.Join(t.TempDir(), "trusted"), filepath.Join(t.TempDir(), "captured")
	// No periodic flush runs while the test does: only shutdown writes.
	g := startDocsGateway(t, newDevCA(t), up, fmt.Sprintf("documents: {mode: capture, dir: %q, capture: {dir: %q, flush_interval: 1h}}\n", trusted, captured))
	if status, body, _ := g.post(t, freeForm(capturedMe)); status != http.StatusOK {
		t.Fatalf("capture mode refused a free-form query: %d %s", status, body)
	}
	if code := g.proc.terminate(t, 10*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d, want 0\nstderr:\n%s", code, g.proc.stderr)
	}
	recs := capturedJSON(t, g.configFile)
	if len(recs) != 1 || string(recs[0].ID) != "sha256:"+sha256Hex(capturedMe) || recs[0].Count != 1 {
		t.Errorf("captured after SIGTERM = %+v, want Me with count 1", recs)
	}
}

// startIssuer runs the demo's token issuer on loopback and returns its URL.
func startIssuer(t *testing.T) string {
	t.Helper()
	base, _ := tokenissuer.Start(t, "billing-api")
	return base
}

// writeFiles writes files (name to content) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDocsPushKeepsMetadata(t *testing.T) {
	const (
		status   = "query Status { status { ok } }"
		invoices = "query Invoices { invoices { number } }"
		byHand   = "query Health { health }"
	)
	statusHash, invoicesHash, byHandHash := sha256Hex(status), sha256Hex(invoices), sha256Hex(byHand)
	const statusMeta = `{"public":true,"clients":["web"]}` + "\n"
	// The folder CI pushes: Status public, Invoices without a sidecar.
	src := t.TempDir()
	writeFiles(t, src, map[string]string{
		statusHash + ".graphql": status, statusHash + ".json": statusMeta,
		invoicesHash + ".graphql": invoices,
	})
	// The gateway's store already holds a public document an operator
	// registered by hand.
	store := t.TempDir()
	writeFiles(t, store, map[string]string{byHandHash + ".graphql": byHand, byHandHash + ".json": `{"public":true}`})

	g := startDocsGateway(t, newDevCA(t), newQueryUpstream(t),
		fmt.Sprintf("documents: {mode: strict, dir: %q}\n", store)+
			fmt.Sprintf("admin: {token: %q}\n", adminToken)+
			fmt.Sprintf("auth: {jwt: {issuers: [{issuer: %q}], audiences: [billing-api]}}\n", startIssuer(t)))
	url := "http://" + g.admin + "/v1/documents"
	env := envWithout("GQLGUARD_ADMIN_TOKEN")

	// The folder is pushed twice; then the same documents without any
	// metadata, as a manifest, and the document registered by hand.
	manifestFile := filepath.Join(t.TempDir(), "manifest.json")
	bare := runCommand(t, nil, "docs", "manifest", src)
	if bare.code != 0 {
		t.Fatalf("docs manifest: exit %d, stderr %q", bare.code, bare.stderr)
	}
	writeFiles(t, filepath.Dir(manifestFile), map[string]string{"manifest.json": bare.stdout})
	handFile := filepath.Join(t.TempDir(), "Health.graphql")
	writeFiles(t, filepath.Dir(handFile), map[string]string{"Health.graphql": byHand})
	for _, input := range []string{src, src, manifestFile, handFile} {
		if res := runCommand(t, env, "docs", "push", "--url", url, "--token", adminToken, input); res.code != 0 {
			t.Fatalf("push %s: exit %d, stderr %q", input, res.code, res.stderr)
		}
		if got := readText(t, filepath.Join(store, statusHash+".json")); got != statusMeta {
			t.Errorf("after pushing %s, Status's sidecar holds %q, want %q", input, got, statusMeta)
		}
		if _, err := os.Stat(filepath.Join(store, invoicesHash+".json")); err == nil {
			t.Errorf("after pushing %s, Invoices has a sidecar; it was pushed without one", input)
		}
		if got := readText(t, filepath.Join(store, byHandHash+".json")); got != `{"public":true}` {
			t.Errorf("after pushing %s, the sidecar written by hand holds %q", input, got)
		}
		// Anonymous callers still run the public documents, and only them.
		for _, h := range []string{statusHash, byHandHash} {
			if code, body, _ := g.post(t, byID(h)); code != http.StatusOK {
				t.Errorf("after pushing %s, anonymous request for public %s: %d %s, want 200", input, h, code, body)
			}
		}
		if code, body, errCode := g.post(t, byID(invoicesHash)); code != http.StatusUnauthorized || errCode != "UNAUTHENTICATED" {
			t.Errorf("after pushing %s, anonymous request for private Invoices: %d %s, want 401 UNAUTHENTICATED", input, code, body)
		}
	}

	// A sidecar changed in the pushed folder replaces the stored one.
	writeFiles(t, src, map[string]string{statusHash + ".json": `{"clients":["web"]}`})
	if res := runCommand(t, env, "docs", "push", "--url", url, "--token", adminToken, src); res.code != 0 {
		t.Fatalf("push: exit %d, stderr %q", res.code, res.stderr)
	}
	if code, body, _ := g.post(t, byID(statusHash)); code != http.StatusUnauthorized {
		t.Errorf("Status pushed as no longer public still runs anonymously: %d %s", code, body)
	}
}

func TestDocsPromoteRunsTheRegistrationChecks(t *testing.T) {
	const (
		good    = "query Good { me { id } }"
		deep    = "query Deep { invoices(first: 5) { customer { invoices(first: 5) { customer { name } } } } }"
		unknown = "query Unknown { me { email } }"
	)
	trusted, captured := filepath.Join(t.TempDir(), "trusted"), filepath.Join(t.TempDir(), "captured")
	rec, err := capture.Open(captured, capture.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{good, deep, unknown} {
		rec.Record(documents.SHA256(text), text, "", "", time.Now())
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	schema, err := filepath.Abs(docsSchema)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "gqlguard.yaml")
	writeFiles(t, filepath.Dir(cfgFile), map[string]string{"gqlguard.yaml": fmt.Sprintf(
		"documents: {dir: %q, schema: %q, capture: {dir: %q}, rules: {max_depth: 3}}\n", trusted, schema, captured)})
	trustedFiles := func() []string {
		names, _ := filepath.Glob(filepath.Join(trusted, "*.graphql"))
		return names
	}

	res := runCommand(t, nil, "docs", "promote", "-c", cfgFile, "--all")
	deepFile := filepath.Join(captured, sha256Hex(deep)+".graphql")
	unknownFile := filepath.Join(captured, sha256Hex(unknown)+".graphql")
	for _, want := range []string{
		deepFile + ":1:1: Deep: depth: the operation is 5 levels deep; the limit is 3",
		unknownFile + ":1:22: Unknown: schema: the document does not validate against the schema: Cannot query field \"email\" on type \"User\".",
		"FAILED: 3 documents, 2 errors",
		"nothing was promoted",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("promote --all of documents that fail: stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	if res.code != 1 || len(trustedFiles()) != 0 {
		t.Errorf("promote --all of documents that fail: exit %d, trusted %v; want 1 and nothing promoted", res.code, trustedFiles())
	}
	if recs := capturedJSON(t, cfgFile); len(recs) != 3 {
		t.Errorf("after a refused promote, %d documents are captured, want 3", len(recs))
	}

	res = runCommand(t, nil, "docs", "promote", "-c", cfgFile, "sha256:"+sha256Hex(good))
	if res.code != 0 || !strings.Contains(res.stdout, "promoted sha256:"+sha256Hex(good)) || len(trustedFiles()) != 1 {
		t.Errorf("promote of a document that passes: exit %d, stdout %q, stderr %q, trusted %v", res.code, res.stdout, res.stderr, trustedFiles())
	}

	res = runCommand(t, nil, "docs", "promote", "-c", cfgFile, "--force", "--all")
	if res.code != 0 || !strings.Contains(res.stderr, "Deep: depth") || !strings.Contains(res.stderr, "--force") || len(trustedFiles()) != 3 {
		t.Errorf("promote --force: exit %d, stderr %q, trusted %v; want 0, the report, and all promoted", res.code, res.stderr, trustedFiles())
	}
}
