//go:build unix

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The fixtures of the docs commands: a small billing client, its API's
// schema, and documents that break the rules.
const (
	docsSchema    = "testdata/docs/schema.graphql"
	billingDir    = "testdata/docs/billing"
	invoicesFile  = "testdata/docs/billing/Invoices.graphql"
	topUsersFile  = "testdata/docs/billing/TopUsers.graphql"
	payFile       = "testdata/docs/billing/PayInvoice.graphql"
	deepDir       = "testdata/docs/deep"
	unboundedDir  = "testdata/docs/unbounded"
	limitCapOnly  = "testdata/docs/limit-cap-only.yaml"
	noArgumentCap = "testdata/docs/no-argument-caps.yaml"
	maxDepth4     = "testdata/docs/max-depth-4.yaml"
)

// fileHash returns the hex SHA-256 of a file's bytes, as sha256sum prints it.
func fileHash(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func readText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestDocsHashPrintsTheSHA256OfEachFile(t *testing.T) {
	files := []string{invoicesFile, topUsersFile, payFile}
	res := runCommand(t, nil, append([]string{"docs", "hash"}, files...)...)
	if res.code != 0 {
		t.Fatalf("exit code = %d, want 0\nstderr:\n%s", res.code, res.stderr)
	}
	var want strings.Builder
	for _, f := range files {
		want.WriteString("sha256:" + fileHash(t, f) + "  " + f + "\n")
	}
	if res.stdout != want.String() {
		t.Errorf("stdout:\n%s\nwant:\n%s", res.stdout, want.String())
	}

	missing := runCommand(t, nil, "docs", "hash", "testdata/docs/billing/Missing.graphql")
	if missing.code != 1 || !strings.Contains(missing.stderr, "Missing.graphql") {
		t.Errorf("missing file: exit %d, stderr %q; want 1 naming the file", missing.code, missing.stderr)
	}
}

// apolloManifest is the Apollo persisted query manifest.
type apolloManifest struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Operations []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
		Body string `json:"body"`
	} `json:"operations"`
}

func TestDocsManifestOfAFolderIsAStableApolloManifest(t *testing.T) {
	first := runCommand(t, nil, "docs", "manifest", billingDir)
	if first.code != 0 {
		t.Fatalf("exit code = %d, want 0\nstderr:\n%s", first.code, first.stderr)
	}
	var m apolloManifest
	if err := json.Unmarshal([]byte(first.stdout), &m); err != nil {
		t.Fatalf("the manifest is not JSON: %v\n%s", err, first.stdout)
	}
	if m.Format != "apollo-persisted-query-manifest" || m.Version != 1 {
		t.Errorf("format %q version %d, want apollo-persisted-query-manifest 1", m.Format, m.Version)
	}
	type op struct{ name, typ, body string }
	want := map[string]op{
		fileHash(t, invoicesFile): {"Invoices", "query", readText(t, invoicesFile)},
		fileHash(t, topUsersFile): {"TopUsers", "query", readText(t, topUsersFile)},
		fileHash(t, payFile):      {"PayInvoice", "mutation", readText(t, payFile)},
	}
	got := map[string]op{}
	var ids []string
	for _, o := range m.Operations {
		got[o.ID] = op{o.Name, o.Type, o.Body}
		ids = append(ids, o.ID)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("operation %s = %+v, want %+v", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d operations, want %d:\n%s", len(got), len(want), first.stdout)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("operations are not sorted by id: %v", ids)
	}

	second := runCommand(t, nil, "docs", "manifest", billingDir)
	if second.stdout != first.stdout {
		t.Errorf("a second run wrote different bytes:\n%s\nthen:\n%s", first.stdout, second.stdout)
	}
}

func TestDocsCheck(t *testing.T) {
	// A schema without Invoice.number, which Invoices and PayInvoice select.
	schema := readText(t, docsSchema)
	withoutNumber := strings.Replace(schema, "  number: String!\n", "", 1)
	if withoutNumber == schema {
		t.Fatalf("%s no longer declares Invoice.number", docsSchema)
	}
	changedSchema := filepath.Join(t.TempDir(), "schema.graphql")
	if err := os.WriteFile(changedSchema, []byte(withoutNumber), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{
			name: "the billing client passes the default rules, whose caps bound first fed by a variable",
			args: []string{"--schema", docsSchema, billingDir},
			want: []string{"ok: 3 documents, 0 errors, 0 warnings"},
		},
		{
			name: "a config naming only the cap of limit keeps the default caps of first and last",
			args: []string{"--schema", docsSchema, "-c", limitCapOnly, billingDir},
			want: []string{"ok: 3 documents, 0 errors"},
		},
		{
			name: "a variable feeding first without a cap fails with unbounded-pagination",
			args: []string{"--schema", docsSchema, "-c", noArgumentCap, billingDir},
			code: 1,
			want: []string{
				":1:48: TopUsers: unbounded-pagination: Query.topUsers.first is fed by $limit and has no cap",
				`limits.pagination.coordinates["Query.topUsers.first"]`,
				":1:47: Invoices: unbounded-pagination: Query.invoices.first is fed by $first",
				"FAILED: 3 documents, 2 errors",
			},
			notWant: []string{"PayInvoice: unbounded-pagination"},
		},
		{
			name: "a finding names the file the document was read from",
			args: []string{"--schema", docsSchema, "-c", noArgumentCap, topUsersFile},
			code: 1,
			want: []string{topUsersFile + ":1:48: TopUsers: unbounded-pagination: "},
		},
		{
			name: "a pagination argument no default cap names fails with the default rules",
			args: []string{"--schema", docsSchema, unboundedDir},
			code: 1,
			want: []string{":1:44: Customers: unbounded-pagination: Query.customers.take is fed by $n and has no cap"},
		},
		{
			name: "a schema change that removes a field fails the documents that select it",
			args: []string{"--schema", changedSchema, billingDir},
			code: 1,
			want: []string{
				`:1:57: Invoices: schema: the document does not validate against the schema: Cannot query field "number" on type "Invoice"`,
				`:3:5: PayInvoice: schema: the document does not validate against the schema: Cannot query field "number" on type "Invoice"`,
				"FAILED: 3 documents, 2 errors",
			},
			notWant: []string{"TopUsers: schema"},
		},
		{
			name: "a document within the default depth passes",
			args: []string{"--schema", docsSchema, deepDir},
			want: []string{"ok: 1 document, 0 errors"},
		},
		{
			name: "a document deeper than documents.rules.max_depth fails with depth",
			args: []string{"--schema", docsSchema, "-c", maxDepth4, deepDir},
			code: 1,
			want: []string{":1:1: Deep: depth: the operation is 5 levels deep; the limit is 4", "FAILED: 1 document, 1 error"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCommand(t, nil, append([]string{"docs", "check"}, tt.args...)...)
			if res.code != tt.code {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tt.code, res.stdout, res.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("report lacks %q:\n%s", w, res.stdout)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(res.stdout, w) {
					t.Errorf("report has %q:\n%s", w, res.stdout)
				}
			}
		})
	}
}

// checkReport is the JSON report of docs check.
type checkReport struct {
	Documents int  `json:"documents"`
	Failed    bool `json:"failed"`
	Errors    int  `json:"errors"`
	Warnings  int  `json:"warnings"`
	Findings  []struct {
		Rule      string `json:"rule"`
		Severity  string `json:"severity"`
		Document  string `json:"document"`
		File      string `json:"file"`
		Operation string `json:"operation"`
		Line      int    `json:"line"`
		Column    int    `json:"column"`
		Message   string `json:"message"`
	} `json:"findings"`
	Costs []struct {
		Document  string `json:"document"`
		Operation string `json:"operation"`
		Cost      int    `json:"cost"`
	} `json:"costs"`
}

func TestDocsCheckJSONReport(t *testing.T) {
	res := runCommand(t, nil, "docs", "check", "--schema", docsSchema, "-c", noArgumentCap, "--format", "json", billingDir)
	if res.code != 1 {
		t.Errorf("exit code = %d, want 1\nstderr:\n%s", res.code, res.stderr)
	}
	var r checkReport
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("the report is not JSON: %v\n%s", err, res.stdout)
	}
	if r.Documents != 3 || !r.Failed || r.Errors != 2 || r.Warnings != 0 || len(r.Findings) != 2 || len(r.Costs) != 3 {
		t.Fatalf("report = %+v, want 3 documents, failed, 2 errors, 2 findings, 3 costs", r)
	}
	byOperation := map[string]int{}
	for i, f := range r.Findings {
		byOperation[f.Operation] = i
	}
	i, ok := byOperation["TopUsers"]
	if !ok {
		t.Fatalf("no finding for TopUsers: %+v", r.Findings)
	}
	f := r.Findings[i]
	if f.Rule != "unbounded-pagination" || f.Severity != "error" || f.Document != "sha256:"+fileHash(t, topUsersFile) ||
		f.Line != 1 || f.Column != 48 || !strings.Contains(f.Message, "$limit") {
		t.Errorf("TopUsers finding = %+v", f)
	}

	clean := runCommand(t, nil, "docs", "check", "--schema", docsSchema, "--format", "json", billingDir)
	var ok2 checkReport
	if err := json.Unmarshal([]byte(clean.stdout), &ok2); err != nil || clean.code != 0 || ok2.Failed || ok2.Findings == nil || len(ok2.Findings) != 0 {
		t.Errorf("clean set: exit %d, report %s (%v), want 0 with \"findings\": []", clean.code, clean.stdout, err)
	}
}

func TestDocsCheckOfAFolderNamesEachDocumentsFile(t *testing.T) {
	res := runCommand(t, nil, "docs", "check", "--schema", docsSchema, "-c", noArgumentCap, billingDir)
	for _, w := range []string{topUsersFile + ":1:48: TopUsers: ", invoicesFile + ":1:47: Invoices: "} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("report lacks %q:\n%s", w, res.stdout)
		}
	}
}

// usageReport is the JSON report of docs usage.
type usageReport struct {
	Fields []struct {
		Coordinate string `json:"coordinate"`
		Uses       []struct {
			Document  string `json:"document"`
			Operation string `json:"operation"`
		} `json:"uses"`
	} `json:"fields"`
	Unused []string `json:"unused"`
}

func TestDocsUsageNamesTheFieldsEachDocumentUses(t *testing.T) {
	res := runCommand(t, nil, "docs", "usage", "--schema", docsSchema, "--format", "json", billingDir)
	if res.code != 0 {
		t.Fatalf("exit code = %d, want 0\nstderr:\n%s", res.code, res.stderr)
	}
	var u usageReport
	if err := json.Unmarshal([]byte(res.stdout), &u); err != nil {
		t.Fatalf("the report is not JSON: %v\n%s", err, res.stdout)
	}
	invoices, topUsers, pay := "sha256:"+fileHash(t, invoicesFile), "sha256:"+fileHash(t, topUsersFile), "sha256:"+fileHash(t, payFile)
	want := map[string][]string{
		"Query.invoices":      {invoices + " Invoices"},
		"Query.topUsers":      {topUsers + " TopUsers"},
		"User.id":             {topUsers + " TopUsers"},
		"Mutation.payInvoice": {pay + " PayInvoice"},
		"Invoice.amountCents": {pay + " PayInvoice"},
		"Invoice.number":      {invoices + " Invoices", pay + " PayInvoice"},
	}
	got := map[string][]string{}
	for _, f := range u.Fields {
		for _, use := range f.Uses {
			got[f.Coordinate] = append(got[f.Coordinate], use.Document+" "+use.Operation)
		}
		slices.Sort(got[f.Coordinate])
	}
	for coord, w := range want {
		slices.Sort(w)
		if !slices.Equal(got[coord], w) {
			t.Errorf("uses of %s = %v, want %v", coord, got[coord], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("used fields = %v, want those of %v", got, want)
	}
	wantUnused := []string{"Customer.id", "Customer.invoices", "Customer.name", "Invoice.customer", "Query.customers", "Query.me", "User.name"}
	if !slices.Equal(u.Unused, wantUnused) {
		t.Errorf("unused = %v, want %v", u.Unused, wantUnused)
	}

	text := runCommand(t, nil, "docs", "usage", "--schema", docsSchema, billingDir)
	for _, w := range []string{"Invoice.number (2 operations)\n", ": Invoices\n", ": PayInvoice\n", "unused fields (7):\n  Customer.id\n", "  Query.me\n"} {
		if !strings.Contains(text.stdout, w) {
			t.Errorf("text report lacks %q:\n%s", w, text.stdout)
		}
	}
}

func TestDocsUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", []string{"docs"}, "usage: gqlguard docs COMMAND"},
		{"unknown command", []string{"docs", "nope"}, `unknown command "nope"`},
		{"promote with ids and --all", []string{"docs", "promote", "--all", "sha256:" + strings.Repeat("0", 64)}, "usage: gqlguard docs promote"},
		{"promote with neither ids nor --all", []string{"docs", "promote"}, "usage: gqlguard docs promote"},
		{"hash without files", []string{"docs", "hash"}, "usage: gqlguard docs hash"},
		{"check without documents", []string{"docs", "check", "--schema", docsSchema}, "usage: gqlguard docs check"},
		{"check with an unknown format", []string{"docs", "check", "--format", "xml", billingDir}, "usage: gqlguard docs check"},
		{"usage without a schema", []string{"docs", "usage", billingDir}, "usage: gqlguard docs usage"},
		{"push without a token", []string{"docs", "push", "--url", "http://127.0.0.1:1/v1/documents", billingDir}, "--token is empty and $GQLGUARD_ADMIN_TOKEN is unset"},
		{"push without documents", []string{"docs", "push", "--url", "http://127.0.0.1:1/v1/documents", "--token", "t"}, "usage: gqlguard docs push"},
		{"push with a certificate but no key", []string{"docs", "push", "--url", "https://127.0.0.1:1/v1/documents", "--cert", "c.pem", billingDir}, "--cert and --key go together"},
		{"an unknown flag", []string{"docs", "captured", "--nope"}, "flag provided but not defined"},
	}
	env := envWithout("GQLGUARD_ADMIN_TOKEN")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCommand(t, env, tt.args...)
			if res.code != 2 {
				t.Errorf("exit code = %d, want 2\nstderr:\n%s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, res.stderr)
			}
		})
	}
}

func TestDocsHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		if res := runCommand(t, nil, "docs", arg); res.code != 0 || !strings.Contains(res.stdout, "usage: gqlguard docs COMMAND") || res.stderr != "" {
			t.Errorf("docs %s: exit %d, stdout %q, stderr %q", arg, res.code, res.stdout, res.stderr)
		}
	}
}

func TestDocsCapturedWarnsOfAMissingFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	res := runCommand(t, nil, "docs", "captured", "--dir", missing)
	if res.code != 0 || !strings.Contains(res.stdout, "0 captured documents") || !strings.Contains(res.stderr, "warning: there is no folder "+missing) {
		t.Errorf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	if res := runCommand(t, nil, "docs", "captured", "--dir", t.TempDir()); res.code != 0 || res.stderr != "" {
		t.Errorf("an empty folder: exit %d, stderr %q", res.code, res.stderr)
	}
}

// A URL that is not the registration API gets a reason, not an empty one.
func TestDocsPushToAWrongURLSaysSo(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(ts.Close)
	res := runCommand(t, nil, "docs", "push", "--url", ts.URL+"/v1/docs", "--token", "t", billingDir)
	if res.code != 1 || !strings.Contains(res.stderr, "(404 Not Found): no registration API at this URL") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestDocsCheckWithoutASchemaWarnsThatValidationWasSkipped(t *testing.T) {
	const warning = "warning: schema validation skipped"
	res := runCommand(t, nil, "docs", "check", billingDir)
	if res.code != 0 || !strings.Contains(res.stdout, "ok: 3 documents") || !strings.Contains(res.stderr, warning) {
		t.Errorf("check without a schema: exit %d, stdout %q, stderr %q; want 0, ok and a warning", res.code, res.stdout, res.stderr)
	}
	if res := runCommand(t, nil, "docs", "check", "--schema", docsSchema, billingDir); res.code != 0 || strings.Contains(res.stderr, warning) {
		t.Errorf("check with --schema: exit %d, stderr %q; want 0 and no warning", res.code, res.stderr)
	}

	// The config's documents.schema stands in for --schema.
	schema := strings.Replace(readText(t, docsSchema), "  number: String!\n", "", 1)
	dir := t.TempDir()
	for name, content := range map[string]string{"schema.graphql": schema,
		"gqlguard.yaml": "documents: {schema: " + strconv.Quote(filepath.Join(dir, "schema.graphql")) + "}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res = runCommand(t, nil, "docs", "check", "-c", filepath.Join(dir, "gqlguard.yaml"), billingDir)
	if res.code != 1 || !strings.Contains(res.stdout, `Cannot query field "number" on type "Invoice"`) || strings.Contains(res.stderr, warning) {
		t.Errorf("check with the config's schema: exit %d, stdout %q, stderr %q; want 1 with the schema's findings", res.code, res.stdout, res.stderr)
	}
}
