package demo

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gqlguard/gqlguard/internal/certs"
)

type examples struct {
	host, https, http, admin string
	ca                       *certs.DevCA
	upstream                 string
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
	post := func(body string) string {
		return "curl -sS " + ca + " " + endpoint + " -H 'Content-Type: application/json' -d " + shellQuote(body)
	}
	get := func(query string) string {
		return "curl -sS " + ca + " -H 'Accept: application/graphql-response+json' -w '\\nHTTP %{http_code}\\n' " +
			shellQuote(endpoint+"?query="+url.QueryEscape(query))
	}
	return []Example{
		{"A query, over HTTPS only", post(`{"query":"{ invoices(first: 3) { number amountCents status customer { name } } }"}`)},
		{"A query with GET (cacheable)", get("{ status { ok version } }")},
		{"A mutation with variables (POST only)", post(`{"query":"mutation Create($input: CreateInvoiceInput!) { createInvoice(input: $input) { number status amountCents } }","variables":{"input":{"customerId":"c1","amountCents":4200}}}`)},
		{"Refused: a mutation over GET (a link or <img> must never change state)", get(`mutation { payInvoice(id: "i1", amountCents: 100) { id } }`)},
		{"Refused: a body that is not a GraphQL request", "curl -sS " + ca + " " + endpoint + " -H 'Content-Type: application/json' -H 'Accept: application/graphql-response+json' -w '\\nHTTP %{http_code}\\n' -d '[1,2]'"},
		{"The security headers on every answer", "curl -sS -o /dev/null -D - " + ca + " " + endpoint + " -H 'Content-Type: application/json' -d '{\"query\":\"{ status { ok } }\"}'"},
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
