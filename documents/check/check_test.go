package check

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenRules are the rules the documents in testdata/docs are checked
// against for the golden reports.
var goldenRules = Rules{
	MaxDepth:      6,
	MaxAliases:    5,
	MaxRootFields: 4,
	MaxCost:       5000,
	Pagination: config.Pagination{
		Arguments: map[string]int{"limit": 50},
		Coordinates: map[string]int{
			"Query.customers.first":         50,
			"Query.invoices.first":          100,
			"Query.invoiceConnection.first": 25,
			"Customer.invoices.first":       20,
		},
		Default: 100,
	},
}

func loadBilling(t testing.TB) *ast.Schema {
	t.Helper()
	s, err := LoadSchema("testdata/billing.graphql")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadDocs reads the documents of testdata/docs in name order.
func loadDocs(t testing.TB) []Input {
	t.Helper()
	files, err := filepath.Glob("testdata/docs/*.graphql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents in testdata/docs: %v", err)
	}
	slices.Sort(files)
	var in []Input
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, Input{Entry: documents.Entry{ID: documents.SHA256(string(b)), Text: string(b)}, File: filepath.ToSlash(f)})
	}
	return in
}

func input(file, text string) Input {
	return Input{Entry: documents.Entry{ID: documents.SHA256(text), Text: text}, File: file}
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the report (run go test -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestCheckGolden(t *testing.T) {
	r := Check(loadBilling(t), loadDocs(t), goldenRules)
	if !r.Failed() {
		t.Error("Failed() = false for documents that break rules")
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", text.Bytes())
	golden(t, "report.json", js.Bytes())
}

// findings returns the findings of r as "rule severity operation line:col".
func findings(r Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule+" "+f.Severity+" "+f.Operation+" "+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Column))
	}
	return out
}

func TestCheckRules(t *testing.T) {
	billing := loadBilling(t)
	tests := []struct {
		name   string
		schema *ast.Schema
		text   string
		want   []string
	}{
		{"a document within every rule has no finding", billing,
			"query Q { customers(first: 10) { id } }", nil},
		{"a document that does not parse", billing,
			"query Q { customers {", []string{"parse error  1:22"}},
		{"a document without operation", nil,
			"fragment F on Query { a }", []string{"parse error  0:0"}},
		{"an unknown field fails validation", billing,
			"query Q {\n  customer(id: 1) { id balance }\n}", []string{"schema error Q 2:24"}},
		{"a validation error in a fragment names the fragment", billing,
			"query Q { viewer { ...U } }\nfragment U on User { age }", []string{"schema error fragment U 2:22"}},
		{"every validation error is reported", billing,
			"query Q { nope viewer { age } }", []string{"schema error Q 1:11", "schema error Q 1:25"}},
		{"without a schema unknown fields pass", nil,
			"query Q { nope { age } }", nil},
		{"too deep", nil,
			"query Q { a { b { c { d { e { f { g } } } } } } }", []string{"depth error Q 1:1"}},
		{"too many aliases through fragments", nil,
			"query Q { a: x { ...F } b: x { ...F } }\nfragment F on X { c: y d: y }", []string{"aliases error Q 1:1"}},
		{"too many root fields", nil,
			"{ a b c d e }", []string{"root-fields error  1:1"}},
		{"too costly", billing,
			"query Q { invoices(first: 100) { customer { invoices(first: 20) { lines { amount } } } } }", []string{"cost error Q 1:1"}},
		{"a variable without cap", billing,
			"query Q($n: Int!) { topUsers(first: $n) { id } }", []string{"unbounded-pagination error Q 1:37"}},
		{"a variable with a cap", billing,
			"query Q($n: Int) { invoices(first: $n) { id } }", nil},
		{"an input object variable whose pagination member has no cap", billing,
			"query Q($p: PageInput) { invoices(page: $p) { id } }", []string{"unbounded-pagination error Q 1:41"}},
		{"a literal above the cap", billing,
			"query Q { invoices(first: 101) { id } }", []string{"unbounded-pagination error Q 1:27"}},
		{"a variable without cap in a fragment is reported once", billing,
			"query A($n: Int!) { ...T } query B($n: Int!) { ...T }\nfragment T on Query { topUsers(first: $n) { id } }",
			[]string{"unbounded-pagination error A 2:39"}},
		{"a list left to the server's page size is a warning", billing,
			"query Q { customers { id } }", []string{"unset-pagination warning Q 1:11"}},
		{"a schema default sets the page size", billing,
			`query Q { search(term: "x") { __typename } }`, nil},
		{"a deprecated field is a warning", billing,
			"query Q { customer(id: 1) { phone } }", []string{"deprecated warning Q 1:29"}},
		{"a fragment cycle ends", billing,
			"query Q { viewer { ...A } }\nfragment A on User { ...B }\nfragment B on User { ...A }",
			[]string{"schema error fragment B 3:25"}},
	}
	rules := goldenRules
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.schema, []Input{input("q.graphql", tt.text)}, rules)
			got := findings(r)
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings = %q, want %q\n%s", got, tt.want, text(t, r))
			}
			if wantFail := slices.ContainsFunc(tt.want, func(s string) bool { return strings.Contains(s, " error ") }); r.Failed() != wantFail {
				t.Errorf("Failed() = %v, want %v", r.Failed(), wantFail)
			}
		})
	}
}

func text(t *testing.T, r Report) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTopUsersPagination(t *testing.T) {
	const doc = "query TopUsers($limit: Int!) { topUsers(first: $limit) { id } }"
	billing := loadBilling(t)
	tests := []struct {
		name    string
		schema  *ast.Schema
		caps    config.Pagination
		message string
		cost    int
	}{
		{"no cap with a schema is an error naming the coordinate", billing,
			config.Pagination{Default: 100},
			`Query.topUsers.first is fed by $limit and has no cap: set limits.pagination.coordinates["Query.topUsers.first"]`,
			1 + 100},
		{"a cap by coordinate bounds it", billing,
			config.Pagination{Coordinates: map[string]int{"Query.topUsers.first": 50}, Default: 100},
			"", 1 + 50},
		{"a cap by argument name bounds it", billing,
			config.Pagination{Arguments: map[string]int{"first": 10}, Default: 100},
			"", 1 + 10},
		{"the coordinate wins over the name", billing,
			config.Pagination{Arguments: map[string]int{"first": 10}, Coordinates: map[string]int{"Query.topUsers.first": 30}, Default: 100},
			"", 1 + 30},
		{"without a schema a cap by name bounds it", nil,
			config.Pagination{Arguments: map[string]int{"first": 10}, Default: 100},
			"", 1 + 10},
		{"without a schema nor a cap by name first is not known as pagination", nil,
			config.Pagination{Coordinates: map[string]int{"Query.topUsers.first": 50}, Default: 100},
			"", 1 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.schema, []Input{input("top_users.graphql", doc)}, Rules{Pagination: tt.caps})
			var msgs []string
			for _, f := range r.Findings {
				msgs = append(msgs, f.Message)
			}
			if tt.message == "" && len(msgs) > 0 || tt.message != "" && !slices.Equal(msgs, []string{tt.message}) {
				t.Errorf("messages = %q, want %q", msgs, tt.message)
			}
			if tt.message != "" {
				f := r.Findings[0]
				if f.Rule != RuleUnboundedPagination || f.Severity != SeverityError || f.Operation != "TopUsers" || f.File != "top_users.graphql" || f.Line != 1 || f.Column != 48 {
					t.Errorf("finding = %+v", f)
				}
			}
			if len(r.Costs) != 1 || r.Costs[0].Cost != tt.cost || r.Costs[0].Operation != "TopUsers" {
				t.Errorf("costs = %+v, want TopUsers %d", r.Costs, tt.cost)
			}
		})
	}
}

func TestInputObjectPagination(t *testing.T) {
	billing := loadBilling(t)
	const (
		whole   = "query ByPage($page: PageInput) { invoices(page: $page) { id } }"
		nested  = "query ByFilter($f: InvoiceFilter) { invoices(filter: $f) { id } }"
		member  = "query ByFirst($n: Int) { invoices(page: {first: $n}) { id } }"
		listed  = `query Listed($p: PageInput) { invoices(filter: {status: OPEN, page: $p}) { id } }`
		literal = "query Literal { invoices(page: {first: 500}) { id } }"
	)
	noCap := config.Pagination{Arguments: map[string]int{"limit": 50}, Default: 100}
	tests := []struct {
		name    string
		schema  *ast.Schema
		caps    config.Pagination
		text    string
		message string
		col     int
		cost    int
	}{
		{"an input object variable whose pagination member has no cap", billing, noCap, whole,
			`Query.invoices.page is fed by $page, whose member PageInput.first has no cap: set limits.pagination.coordinates["PageInput.first"]`,
			49, 1 + 100},
		{"a nested input object variable whose pagination member has no cap", billing, noCap, nested,
			`Query.invoices.filter is fed by $f, whose member PageInput.first has no cap: set limits.pagination.coordinates["PageInput.first"]`,
			54, 1 + 100},
		{"an input object variable inside an object literal", billing, noCap, listed,
			`Query.invoices.filter is fed by $p, whose member PageInput.first has no cap: set limits.pagination.coordinates["PageInput.first"]`,
			69, 1 + 100},
		{"a variable feeding a pagination member of an object literal", billing, noCap, member,
			`PageInput.first is fed by $n and has no cap: set limits.pagination.coordinates["PageInput.first"]`,
			49, 1 + 100},
		{"a cap by input field coordinate bounds the member", billing,
			config.Pagination{Coordinates: map[string]int{"PageInput.first": 20}, Default: 100}, whole, "", 0, 1 + 20},
		{"a cap by name bounds the member", billing,
			config.Pagination{Arguments: map[string]int{"first": 30}, Default: 100}, nested, "", 0, 1 + 30},
		{"a literal member above its cap", billing,
			config.Pagination{Coordinates: map[string]int{"PageInput.first": 20}, Default: 100}, literal,
			`PageInput.first is 500; the cap is 20 (limits.pagination.coordinates["PageInput.first"]): ask for fewer items`,
			40, 1 + 500},
		{"without a schema input objects are not known", nil, noCap, whole, "", 0, 1 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.schema, []Input{input("q.graphql", tt.text)}, Rules{Pagination: tt.caps})
			var msgs []string
			for _, f := range r.Findings {
				msgs = append(msgs, f.Message)
			}
			if tt.message == "" && len(msgs) > 0 || tt.message != "" && !slices.Equal(msgs, []string{tt.message}) {
				t.Fatalf("messages = %q, want %q", msgs, tt.message)
			}
			if tt.message != "" {
				if f := r.Findings[0]; f.Rule != RuleUnboundedPagination || f.Severity != SeverityError || f.Line != 1 || f.Column != tt.col || !r.Failed() {
					t.Errorf("finding = %+v, want an unbounded-pagination error at 1:%d", f, tt.col)
				}
			}
			if len(r.Costs) != 1 || r.Costs[0].Cost != tt.cost {
				t.Errorf("costs = %+v, want %d", r.Costs, tt.cost)
			}
		})
	}
}

func TestCost(t *testing.T) {
	billing := loadBilling(t)
	caps := config.Pagination{Arguments: map[string]int{"first": 50}, Default: 100}
	tests := []struct {
		name   string
		schema *ast.Schema
		text   string
		cost   int
	}{
		{"every field costs one outside lists", billing, "{ viewer { id name } }", 3},
		{"a literal page size multiplies", billing, "{ customers(first: 20) { id name } }", 1 + 20*2},
		{"a variable takes the cap", billing, "query($n: Int) { customers(first: $n) { id } }", 1 + 50},
		{"a list without page size takes the default", billing, "{ customer(id: 1) { contacts { kind value } } }", 1 + 1 + 100*2},
		{"nested lists multiply", billing, "{ customers(first: 10) { invoices(first: 5) { lines { amount } } } }", 1 + 10 + 10*5 + 10*5*100},
		{"fragments count where they are spread", billing,
			"{ customers(first: 10) { ...C } } fragment C on Customer { id name }", 1 + 10*2},
		{"a connection hands its page size to its edges", billing,
			"{ invoiceConnection(first: 7) { edges { node { id } } pageInfo { hasNextPage } } }", 1 + 1 + 7 + 7 + 1 + 1},
		{"a schema default is a page size", billing, `{ search(term: "x") { __typename } }`, 1 + 20},
		{"without a schema a paginated field is a list", nil, "{ things(first: 30) { id name } }", 1 + 30*2},
		{"without a schema other fields are not lists", nil, "{ things { id name } }", 3},
		{"a negative page size is empty", billing, "{ customers(first: -5) { id } }", 1},
		{"costs saturate", billing,
			"{ customers(first: 99999999999) { invoices(first: 99999999999) { lines { amount } } } }", costCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Check(tt.schema, []Input{input("q.graphql", tt.text)}, Rules{Pagination: caps})
			if len(r.Costs) != 1 || r.Costs[0].Cost != tt.cost {
				t.Errorf("costs = %+v, want %d\n%s", r.Costs, tt.cost, text(t, r))
			}
		})
	}
}

func TestCostWithZeroRulesAssumesDefaultListSize(t *testing.T) {
	r := Check(loadBilling(t), []Input{input("q.graphql", "{ customer(id: 1) { contacts { kind } } }")}, Rules{})
	if want := 1 + 1 + DefaultListSize; len(r.Costs) != 1 || r.Costs[0].Cost != want {
		t.Errorf("costs = %+v, want %d", r.Costs, want)
	}
}

func TestCostOfExponentialFragmentsStaysLinear(t *testing.T) {
	// Each fragment spreads the next twice inside a list: expanded, the
	// document would hold 2^40 fields. The check must not expand it.
	var b strings.Builder
	b.WriteString("query Q { customers(first: 2) { ...F0 } }\n")
	const n = 40
	for i := range n {
		b.WriteString("fragment F" + strconv.Itoa(i) + " on Customer { a: invoices(first: 2) { customer { ...F" + strconv.Itoa(i+1) + " } } b: invoices(first: 2) { customer { ...F" + strconv.Itoa(i+1) + " } } }\n")
	}
	b.WriteString("fragment F" + strconv.Itoa(n) + " on Customer { id }\n")
	r := Check(loadBilling(t), []Input{input("q.graphql", b.String())}, Rules{MaxCost: 1000, Pagination: config.Pagination{Default: 100}})
	if len(r.Costs) != 1 || r.Costs[0].Cost != costCap {
		t.Errorf("costs = %+v, want the cap %d", r.Costs, costCap)
	}
	if !slices.Contains(findings(r), "cost error Q 1:1") {
		t.Errorf("findings = %q, want a cost error", findings(r))
	}
}

func TestSchemaChangeBreaksDocument(t *testing.T) {
	sdl, err := os.ReadFile("testdata/billing.graphql")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(sdl), "  email: String\n", "", 1)
	if changed == string(sdl) {
		t.Fatal("testdata/billing.graphql has no Customer.email to remove")
	}
	path := filepath.Join(t.TempDir(), "billing.graphql")
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	without, err := LoadSchema(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := loadDocs(t)
	i := slices.IndexFunc(docs, func(in Input) bool { return in.File == "testdata/docs/customers.graphql" })
	docs = docs[i : i+1]

	if r := Check(loadBilling(t), docs, goldenRules); r.Failed() {
		t.Fatalf("customers.graphql fails against the current schema:\n%s", text(t, r))
	}
	r := Check(without, docs, goldenRules)
	if !r.Failed() {
		t.Fatal("removing Customer.email does not fail the document that selects it")
	}
	f := r.Findings[0]
	if f.Rule != RuleSchema || f.File != "testdata/docs/customers.graphql" || f.Document != docs[0].Entry.ID ||
		f.Operation != "Customers" || f.Line != 6 || !strings.Contains(f.Message, `"email"`) {
		t.Errorf("finding = %+v, want a schema error naming the document and email", f)
	}
	want := `testdata/docs/customers.graphql:6:5: Customers: schema: the document does not validate against the schema: Cannot query field "email" on type "Customer".`
	if got := text(t, r); !strings.Contains(got, want+"\n") {
		t.Errorf("text report lacks %q:\n%s", want, got)
	}
}

func TestCheckFillsMissingIDs(t *testing.T) {
	r := Check(nil, []Input{{Entry: documents.Entry{Text: "{ a { "}}}, Rules{})
	if len(r.Findings) != 1 || r.Findings[0].Document != documents.SHA256("{ a { ") {
		t.Fatalf("findings = %+v, want one naming the text's SHA-256", r.Findings)
	}
	if got := text(t, r); !strings.HasPrefix(got, string(documents.SHA256("{ a { "))+":1:7: parse: ") {
		t.Errorf("without a file the id names the document:\n%s", got)
	}
}

func TestReportFailedOnlyOnErrors(t *testing.T) {
	r := Check(loadBilling(t), []Input{input("q.graphql", "{ customer(id: 1) { phone } }")}, Rules{})
	if len(r.Findings) != 1 || r.Failed() {
		t.Errorf("a warning alone must not fail the check: %+v", r.Findings)
	}
	if !strings.HasSuffix(text(t, r), "\nok: 1 document, 0 errors, 1 warning\n") {
		t.Errorf("summary:\n%s", text(t, r))
	}
	if r := Check(nil, nil, Rules{}); r.Failed() || text(t, r) != "\nok: 0 documents, 0 errors, 0 warnings\n" {
		t.Errorf("empty report: %q", text(t, r))
	}
}

func TestLoadSchema(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("query.graphql", "type Query { user: User }")
	write("user.graphqls", "type User { id: ID! }")
	write("notes.txt", "not SDL")
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "broken.graphql"), []byte("type Query { user: Missing }"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSchema(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Types["User"] == nil || s.Query == nil {
		t.Error("a folder's SDL files make one schema")
	}

	for _, tt := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"no file", nil, "no SDL file given"},
		{"a missing file", []string{filepath.Join(dir, "missing.graphql")}, "missing.graphql"},
		{"an empty folder", []string{t.TempDir()}, "holds no .graphql"},
		{"an invalid schema names the file", []string{bad}, "broken.graphql"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSchema(tt.paths...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadSchema(%q) = %v, want an error containing %q", tt.paths, err, tt.want)
			}
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	schema := loadBilling(b)
	docs := loadDocs(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = Check(schema, docs, goldenRules)
	}
}

func FuzzCheck(f *testing.F) {
	for _, in := range loadDocs(f) {
		f.Add(in.Entry.Text)
	}
	f.Add("query A($n: Int!) { ...T } fragment T on Query { topUsers(first: $n) { ...U } } fragment U on User { ...U }")
	schema := loadBilling(f)
	f.Fuzz(func(t *testing.T, text string) {
		r := Check(schema, []Input{input("f.graphql", text)}, goldenRules)
		for _, c := range r.Costs {
			if c.Cost < 0 || c.Cost > costCap {
				t.Fatalf("cost %d out of range", c.Cost)
			}
		}
		_ = Usage(schema, []Input{input("f.graphql", text)})
	})
}

func TestDocumentLargerThanTheLimitIsRefusedUnparsed(t *testing.T) {
	small := "query Small { customers(first: 5) { name } }"
	big := "query Big { customers(first: 5) { name } } # " + strings.Repeat("x", 100)
	broken := "query Broken { " + strings.Repeat("x ", 100)
	report := Check(nil, []Input{input("small.graphql", small), input("big.graphql", big), input("broken.graphql", broken)}, Rules{MaxBytes: 100})
	var got []string
	for _, f := range report.Findings {
		got = append(got, f.File+" "+f.Rule)
		if f.Rule == RuleSize && !strings.Contains(f.Message, "the limit is 100") {
			t.Errorf("message %q", f.Message)
		}
	}
	// The broken document is refused for its size alone: it is not parsed.
	if want := []string{"big.graphql size", "broken.graphql size"}; !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
	if !report.Failed() {
		t.Error("the report did not fail")
	}
}
