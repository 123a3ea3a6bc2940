package demo

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/certs"
)

type examples struct {
	host, https, http, admin string
	ca                       *certs.DevCA
	upstream                 string
	docs                     map[string]documents.Entry
	docsDir                  string
	issuer                   string
}

// Example is one copy-paste command the demo prints.
type Example struct {
	// Title says what the command shows.
	Title string
	// Command is a shell command line.
	Command string
}

func (e examples) list() []Example {
	ca := "--cacert " + shellQuote(e.ca.CAFile)
	endpoint := "https://" + e.host + ":" + e.https + "/graphql"
	// token signs in at the issuer, as the client's login page would, and
	// prints the access token.
	token := func(user string) string {
		return "$(curl -sS " + e.issuer + "/token -d grant_type=password -d username=" + user + " -d password=" + user +
			"-demo-password | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
	}
	post := func(user, body string) string {
		auth := ""
		if user != "" {
			auth = ` -H "Authorization: Bearer ` + token(user) + `"`
		}
		return "curl -sS " + ca + " " + endpoint + auth + " -H 'Content-Type: application/json' -H 'Accept: application/graphql-response+json' -w '\\nHTTP %{http_code}\\n' -d " + shellQuote(body)
	}
	id := func(op string) string { return string(e.docs[op].ID) }
	return []Example{
		{"Ada signs in at the token issuer and sees only her invoices (a trusted query by its documentId)",
			post("ada", `{"documentId":"`+id("Invoices")+`","variables":{"first":5}}`)},
		{"Grace, with her own token, sees only hers",
			post("grace", `{"documentId":"`+id("Invoices")+`","variables":{"first":5}}`)},
		{"A public document runs without a token; GET on its cache URL (ETag, Cache-Control)",
			"curl -sS -D - " + ca + " -H 'Apollo-Require-Preflight: true' " + endpoint + "/" + e.docs["Status"].ID.Hash() + "/Status"},
		{"A trusted mutation with variables (POST only)",
			post("ada", `{"documentId":"`+id("CreateInvoice")+`","variables":{"input":{"customerId":"c1","amountCents":4200}}}`)},
		{"Refused: no token for a private document (401, whatever operationName says)",
			"curl -sS -D - " + ca + " " + endpoint + " -H 'Content-Type: application/json' -d " + shellQuote(`{"documentId":"`+id("Invoices")+`","operationName":"Status"}`)},
		{"Refused: a forged token",
			"curl -sS -D - " + ca + " " + endpoint + " -H 'Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJjMSJ9.' -H 'Content-Type: application/json' -d " + shellQuote(`{"documentId":"`+id("Invoices")+`"}`)},
		{"Refused: a free-form query (only the client's registered documents run)",
			post("ada", `{"query":"{ customers(first: 100) { email invoices { amountCents } } }"}`)},
		{"Refused: an attacker's first: 2147483647 in a trusted document's variables",
			post("ada", `{"documentId":"`+id("Invoices")+`","variables":{"first":2147483647}}`)},
		{"Refused: a mutation over GET (a link or <img> must never change state)",
			"curl -sS " + ca + ` -H "Authorization: Bearer ` + token("ada") + `"` + " -H 'Accept: application/graphql-response+json' -H 'Apollo-Require-Preflight: true' -w '\\nHTTP %{http_code}\\n' " +
				shellQuote(endpoint+"?documentId="+url.QueryEscape(id("PayInvoice"))+"&variables="+url.QueryEscape(`{"id":"i2","amountCents":100}`))},
		{"Refused: a cross-site form post (CSRF: no preflight, so it never runs)",
			"curl -sS " + ca + " " + endpoint + " -H 'Content-Type: text/plain' -H 'Accept: application/graphql-response+json' -w '\\nHTTP %{http_code}\\n' -d " + shellQuote(`{"documentId":"`+id("CreateInvoice")+`","variables":{"input":{"customerId":"c1","amountCents":1}}}`)},
		{"Refused: a body that is not a GraphQL request", post("", `[1,2]`)},
		{"The security headers on every answer", "curl -sS -o /dev/null -D - " + ca + " " + endpoint + " -H 'Content-Type: application/json' -d " + shellQuote(`{"documentId":"`+id("Status")+`"}`)},
		{"Plain HTTP only redirects to HTTPS (308), it never serves GraphQL", "curl -sS -o /dev/null -w 'HTTP %{http_code} -> %{redirect_url}\\n' http://" + e.host + ":" + e.http + "/graphql"},
		{"Readiness, on the admin listener (loopback only)", "curl -sS http://127.0.0.1:" + e.admin + "/readyz"},
	}
}

func printExamples(w io.Writer, e examples) {
	var b strings.Builder
	fmt.Fprintf(&b, "\ngqlguard demo is running.\n\n")
	fmt.Fprintf(&b, "  gateway (HTTPS)     https://%s:%s/graphql\n", e.host, e.https)
	fmt.Fprintf(&b, "  redirect (HTTP)     http://%s:%s\n", e.host, e.http)
	fmt.Fprintf(&b, "  admin               http://127.0.0.1:%s/healthz, /readyz\n", e.admin)
	fmt.Fprintf(&b, "  billing API         %s (loopback only, reached through the gateway)\n", e.upstream)
	fmt.Fprintf(&b, "  development CA      %s\n", e.ca.CAFile)
	fmt.Fprintf(&b, "                      SHA-256 %s\n", e.ca.CAFingerprint)
	if e.ca.CACreated {
		fmt.Fprintf(&b, "                      (created now; kept and reused on later runs)\n")
	}
	fmt.Fprintf(&b, "  token issuer        %s (users ada and grace; password <name>-demo-password)\n", e.issuer)
	fmt.Fprintf(&b, "  trusted documents   %s (%d registered for the example client)\n", e.docsDir, len(e.docs))
	fmt.Fprintf(&b, "\nTry these in another terminal:\n")
	for _, ex := range e.list() {
		fmt.Fprintf(&b, "\n# %s\n%s\n", ex.Title, ex.Command)
	}
	fmt.Fprintf(&b, "\nPress Ctrl-C to stop.\n\n")
	_, _ = io.WriteString(w, b.String())
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
