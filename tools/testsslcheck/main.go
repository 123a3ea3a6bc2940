// Command testsslcheck decides whether a testssl.sh scan of the gateway
// passed. It reads the scan's JSON report (testssl.sh --jsonfile) and fails
// when the scan did not run through (testssl.sh exited with an error, a
// finding of severity WARN or FATAL, the end-of-scan record or a key finding
// missing, too few findings) or when anything was found of severity MEDIUM or
// worse. It prints the counts per severity, every finding of severity LOW or
// worse, and the key findings.
//
// Usage: testsslcheck [-status N] [-version V] report.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	status := flag.Int("status", 0, "testssl.sh's exit status")
	version := flag.String("version", "", "testssl.sh's version, for the summary")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: testsslcheck [-status N] [-version V] report.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: no testssl.sh report:", err)
		os.Exit(1)
	}
	if !check(os.Stdout, data, *status, *version) {
		os.Exit(1)
	}
}

// finding is one entry of testssl.sh's flat JSON report.
type finding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

// severities in the order the summary counts them.
var severities = []string{"OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL"}

// failing are the severities that fail the scan: MEDIUM or worse is a weak
// configuration; WARN and FATAL mean testssl.sh could not test something.
var failing = map[string]bool{"MEDIUM": true, "HIGH": true, "CRITICAL": true, "WARN": true, "FATAL": true}

// minFindings is well below what a complete scan of the gateway reports
// (about 140) and well above what an aborted one does.
const minFindings = 100

// expectation is a key finding a complete scan reports, and what it must say.
type expectation struct {
	id   string
	want func(finding) bool
	what string
}

func is(s string) func(finding) bool { return func(f finding) bool { return f.Finding == s } }
func startsWith(s string) func(finding) bool {
	return func(f finding) bool { return strings.HasPrefix(f.Finding, s) }
}
func graded(sev string) func(finding) bool { return func(f finding) bool { return f.Severity == sev } }
func present(finding) bool                 { return true }
func notEmpty(f finding) bool              { return strings.TrimSpace(f.Finding) != "" && f.Finding != "--" }

// keyFindings are printed in this order and must all be present with the
// values given: only TLS 1.2 and 1.3, forward-secret AEAD suites only, an
// OCSP staple and HSTS.
var keyFindings = []expectation{
	{"SSLv2", is("not offered"), "not offered"},
	{"SSLv3", is("not offered"), "not offered"},
	{"TLS1", is("not offered"), "not offered"},
	{"TLS1_1", is("not offered"), "not offered"},
	{"TLS1_2", startsWith("offered"), "offered"},
	{"TLS1_3", startsWith("offered"), "offered"},
	{"protocol_negotiated", notEmpty, "a protocol"},
	{"cipher_negotiated", notEmpty, "a cipher suite"},
	{"cipherlist_NULL", is("not offered"), "not offered"},
	{"cipherlist_aNULL", is("not offered"), "not offered"},
	{"cipherlist_EXPORT", is("not offered"), "not offered"},
	{"cipherlist_LOW", is("not offered"), "not offered"},
	{"cipherlist_3DES_IDEA", is("not offered"), "not offered"},
	{"cipherlist_AVERAGE", is("not offered"), "not offered"},
	{"cipherlist_STRONG", is("offered"), "offered"},
	{"PFS", is("offered"), "offered"},
	{"cipherorder_TLSv1_2", notEmpty, "the TLS 1.2 suites"},
	{"PFS_ECDHE_curves", notEmpty, "the curves"},
	{"OCSP_stapling", is("offered"), "offered"},
	{"HSTS_time", graded("OK"), "graded OK (a max-age of at least 180 days)"},
	{"scanTime", present, "present (the scan ran to its end)"},
}

// check prints the summary of the report in data to w and reports whether
// the scan passed.
func check(w io.Writer, data []byte, status int, version string) bool {
	var findings []finding
	var problems []string
	if err := json.Unmarshal(data, &findings); err != nil {
		problems = append(problems, fmt.Sprintf("the report is not testssl.sh JSON: %v", err))
	}
	counts := map[string]int{}
	byID := map[string]finding{}
	for _, f := range findings {
		counts[f.Severity]++
		if _, dup := byID[f.ID]; !dup {
			byID[f.ID] = f
		}
	}
	name := "testssl.sh"
	if version != "" {
		name += " " + version
	}
	parts := make([]string, len(severities))
	for i, s := range severities {
		parts[i] = fmt.Sprintf("%s %d", s, counts[s])
	}
	fmt.Fprintf(w, "%s findings by severity: %s\n", name, strings.Join(parts, ", "))

	if status != 0 {
		problems = append(problems, fmt.Sprintf("testssl.sh exited with status %d (errors or ambiguous results)", status))
	}
	if len(findings) < minFindings {
		problems = append(problems, fmt.Sprintf("only %d findings, a complete scan reports over %d", len(findings), minFindings))
	}
	for _, f := range findings {
		if f.Severity == "OK" || f.Severity == "INFO" {
			continue
		}
		fmt.Fprintf(w, "  %-8s %s: %s\n", f.Severity, f.ID, f.Finding)
		if failing[f.Severity] {
			problems = append(problems, fmt.Sprintf("%s finding %s", f.Severity, f.ID))
		}
	}
	for _, e := range keyFindings {
		f, ok := byID[e.id]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("key finding %s is missing", e.id))
			continue
		case !e.want(f):
			problems = append(problems, fmt.Sprintf("%s is %q, want %s", e.id, f.Finding, e.what))
		}
		if e.id != "scanTime" {
			fmt.Fprintf(w, "  %-8s %s: %s\n", f.Severity, f.ID, f.Finding)
		}
	}
	var noConnection []string
	for _, f := range findings {
		if strings.HasPrefix(f.ID, "clientsimulation-") && f.Finding == "No connection" {
			noConnection = append(noConnection, strings.TrimPrefix(f.ID, "clientsimulation-"))
		}
	}
	if len(noConnection) > 0 {
		fmt.Fprintf(w, "  %-8s clients simulated without a connection: %s\n", "INFO", strings.Join(noConnection, " "))
	}

	if len(problems) > 0 {
		fmt.Fprintln(w, "FAIL:")
		for _, p := range problems {
			fmt.Fprintln(w, "  "+p)
		}
		return false
	}
	fmt.Fprintln(w, "PASS: no finding of severity MEDIUM or worse, and the scan ran through")
	return true
}
