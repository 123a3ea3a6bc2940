package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// testdata/report.json is the report of a complete scan of the default
// configuration (make testssl).
func readReport(t *testing.T) []finding {
	t.Helper()
	data, err := os.ReadFile("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	var findings []finding
	if err := json.Unmarshal(data, &findings); err != nil {
		t.Fatal(err)
	}
	return findings
}

func without(findings []finding, id string) []finding {
	var out []finding
	for _, f := range findings {
		if f.ID != id {
			out = append(out, f)
		}
	}
	return out
}

func with(findings []finding, id, severity, text string) []finding {
	out := without(findings, id)
	return append(out, finding{ID: id, Severity: severity, Finding: text})
}

func TestCheck(t *testing.T) {
	complete := readReport(t)
	tests := []struct {
		name     string
		findings []finding
		raw      string // the report as written, instead of findings
		status   int
		pass     bool
		says     string
	}{
		{"a complete scan of the default configuration passes", complete, "", 0, true, "OK 47, INFO 89, LOW 2, MEDIUM 0"},
		{"a scan testssl.sh could not run is refused", with(complete, "scanProblem", "FATAL", "Can't connect to 127.0.0.1:8443"), "", 0, false, "FATAL finding scanProblem"},
		{"a WARN finding is refused", with(complete, "engine_problem", "WARN", "No engine or GOST support via engine"), "", 0, false, "WARN finding engine_problem"},
		{"a MEDIUM finding is refused", with(complete, "BREACH", "MEDIUM", "potentially VULNERABLE, gzip HTTP compression detected"), "", 0, false, "MEDIUM finding BREACH"},
		{"a HIGH finding is refused", with(complete, "cert_revocation", "HIGH", "No CRL nor OCSP URI provided"), "", 0, false, "HIGH finding cert_revocation"},
		{"an error exit of testssl.sh is refused", complete, "", 246, false, "exited with status 246"},
		{"a scan cut short is refused", complete[:30], "", 0, false, "only 30 findings"},
		{"a scan without its end-of-scan record is refused", without(complete, "scanTime"), "", 0, false, "key finding scanTime is missing"},
		{"a report without the TLS 1.3 line is refused", without(complete, "TLS1_3"), "", 0, false, "key finding TLS1_3 is missing"},
		{"a report without the negotiated cipher is refused", without(complete, "cipher_negotiated"), "", 0, false, "key finding cipher_negotiated is missing"},
		{"a report without HSTS is refused", without(complete, "HSTS_time"), "", 0, false, "key finding HSTS_time is missing"},
		{"TLS 1.1 offered is refused", with(complete, "TLS1_1", "LOW", "offered (deprecated)"), "", 0, false, `TLS1_1 is "offered (deprecated)", want not offered`},
		{"a weak HSTS max-age is refused", with(complete, "HSTS_time", "LOW", "1 days (=86400 seconds) < 15552000 seconds"), "", 0, false, "HSTS_time is"},
		{"an empty report is refused", nil, "[]", 0, false, "only 0 findings"},
		{"a report that is not JSON is refused", nil, "{\"Invalid", 0, false, "not testssl.sh JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.raw)
			if tt.raw == "" {
				var err error
				if data, err = json.Marshal(tt.findings); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			if got := check(&out, data, tt.status, "3.0.8"); got != tt.pass {
				t.Errorf("check = %v, want %v:\n%s", got, tt.pass, out.String())
			}
			if !strings.Contains(out.String(), tt.says) {
				t.Errorf("output does not say %q:\n%s", tt.says, out.String())
			}
			if verdict := map[bool]string{true: "PASS", false: "FAIL"}[tt.pass]; !strings.Contains(out.String(), "\n"+verdict) {
				t.Errorf("output lacks the verdict %s:\n%s", verdict, out.String())
			}
		})
	}
}

func TestCheckPrintsTheKeyFindings(t *testing.T) {
	var out bytes.Buffer
	data, _ := json.Marshal(readReport(t))
	check(&out, data, 0, "3.0.8")
	for _, want := range []string{
		"testssl.sh 3.0.8 findings by severity: OK 47, INFO 89, LOW 2, MEDIUM 0, HIGH 0, CRITICAL 0, WARN 0, FATAL 0\n",
		"  LOW      TLS_session_ticket: valid for 604800 seconds (>daily)\n",
		"  OK       TLS1_3: offered with final\n",
		"  OK       protocol_negotiated: Default protocol TLS1.3\n",
		"  OK       OCSP_stapling: offered\n",
		"  INFO     clients simulated without a connection: ie_6_xp ie_8_win7 ie_8_xp java_7u25\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
