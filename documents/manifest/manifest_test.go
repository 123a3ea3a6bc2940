package manifest

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/documents"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/<name>.golden, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
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
		t.Errorf("%s differs from the golden file (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// result renders what an import returned, for golden files.
func result(t *testing.T, entries []documents.Entry, format Format, err error) []byte {
	t.Helper()
	if err != nil {
		return []byte("error: " + err.Error() + "\n")
	}
	out, err := json.MarshalIndent(struct {
		Format  Format            `json:"format,omitempty"`
		Entries []documents.Entry `json:"entries"`
	}{format, entries}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

func TestReadFormats(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		count  int
	}{
		{"apollo.json", FormatApollo, 3},
		{"relay.json", FormatRelay, 3},
		{"codegen.json", FormatCodegen, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			entries, format, err := ReadFile(filepath.Join("testdata", tt.file))
			golden(t, tt.file, result(t, entries, format, err))
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format || len(entries) != tt.count {
				t.Errorf("format %q with %d entries, want %q with %d", format, len(entries), tt.format, tt.count)
			}
			for _, e := range entries {
				if err := e.ID.Verify(e.Text); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestReadDir(t *testing.T) {
	t.Run("a folder laid out by id", func(t *testing.T) {
		entries, err := ReadDir(filepath.Join("testdata", "dir"))
		golden(t, "dir", result(t, entries, "", err))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 4 {
			t.Fatalf("%d entries, want 4 (README.md is not a document)", len(entries))
		}
		public := 0
		for _, e := range entries {
			if e.Meta.Public {
				public++
				if !slices.Equal(e.Meta.Clients, []string{"web"}) {
					t.Errorf("clients %v, want [web]", e.Meta.Clients)
				}
			}
		}
		if public != 1 {
			t.Errorf("%d public entries, want the one with a sidecar", public)
		}
	})
	t.Run("a folder of arbitrary .graphql files", func(t *testing.T) {
		dir := filepath.Join("testdata", "arbitrary")
		entries, err := ReadDir(dir)
		golden(t, "arbitrary", result(t, entries, "", err))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"GetUser.graphql", "ListOrders.graphql"} {
			text, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(entries, func(e documents.Entry) bool {
				return e.ID == documents.SHA256(string(text)) && e.Text == string(text)
			}) {
				t.Errorf("%s is not imported under the SHA-256 of its bytes", name)
			}
		}
	})
	t.Run("a folder without documents", func(t *testing.T) {
		if _, err := ReadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .graphql files") {
			t.Errorf("err = %v, want one saying there are no .graphql files", err)
		}
	})
	t.Run("a sidecar that is not metadata", func(t *testing.T) {
		dir := t.TempDir()
		text := "{ a }"
		hash := documents.SHA256(text).Hash()
		write(t, filepath.Join(dir, hash+".graphql"), text)
		write(t, filepath.Join(dir, hash+".json"), `{"pubilc":true}`)
		if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), hash+".json") {
			t.Errorf("err = %v, want one naming the sidecar", err)
		}
	})
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedEntriesAreRefused(t *testing.T) {
	tests := []struct {
		name     string
		read     func() ([]documents.Entry, error)
		id       string // the id as written
		position string
		file     string
	}{
		{
			name:     "apollo-tampered.json",
			read:     readFile("apollo-tampered.json"),
			id:       documents.SHA256("mutation Pay($amount: Int!) {\n  pay(amount: $amount) { id }\n}").Hash(),
			position: "operations[1]",
		},
		{
			name:     "relay-tampered.json",
			read:     readFile("relay-tampered.json"),
			id:       "5fa22b05ff9cbc3a37073ff2d4961f6c",
			position: "line 4",
		},
		{
			name:     "codegen-tampered.json",
			read:     readFile("codegen-tampered.json"),
			position: "line 3",
		},
		{
			name: "dir-tampered",
			read: func() ([]documents.Entry, error) { return ReadDir(filepath.Join("testdata", "dir-tampered")) },
			id:   "a4ff13ad5b6203898d16fb7afe05189e592a4696229305c09dc2ca32adc71574",
			file: filepath.Join("testdata", "dir-tampered", "a4ff13ad5b6203898d16fb7afe05189e592a4696229305c09dc2ca32adc71574.graphql"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := tt.read()
			golden(t, tt.name, result(t, entries, "", err))
			if entries != nil {
				t.Errorf("entries %v returned with the error", entries)
			}
			var entryErr *EntryError
			if !errors.As(err, &entryErr) {
				t.Fatalf("err = %v, want an *EntryError", err)
			}
			if tt.id == "" {
				tt.id = entryErr.ID
			}
			if entryErr.ID != tt.id || !strings.Contains(err.Error(), tt.id) {
				t.Errorf("err = %v, want it to name id %s", err, tt.id)
			}
			if !strings.Contains(err.Error(), tt.position) {
				t.Errorf("err = %v, want it to name position %q", err, tt.position)
			}
			if tt.file == "" {
				tt.file = filepath.Join("testdata", tt.name)
			}
			if entryErr.File != tt.file || !strings.Contains(err.Error(), tt.file) {
				t.Errorf("err = %v, want it to name file %s", err, tt.file)
			}
		})
	}
}

func readFile(name string) func() ([]documents.Entry, error) {
	return func() ([]documents.Entry, error) {
		entries, _, err := ReadFile(filepath.Join("testdata", name))
		return entries, err
	}
}

func TestUnknownShapesAreRefused(t *testing.T) {
	hash := documents.SHA256("{ a }").Hash()
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"empty input", " \n", "the input is empty"},
		{"not JSON", "query { a }", "not JSON"},
		{"truncated JSON", `{"` + hash + `": "{ a }"`, "not JSON"},
		{"an array", `[{"id":"` + hash + `","body":"{ a }"}]`, "the input is an array"},
		{"a string", `"{ a }"`, "the input is a string"},
		{"null", `null`, "the input is null"},
		{"another format", `{"format":"persisted-operations","version":1,"operations":[]}`, `format "persisted-operations"`},
		{"a later apollo version", `{"format":"apollo-persisted-query-manifest","version":2,"operations":[]}`, "version 2"},
		{"an apollo manifest without operations", `{"format":"apollo-persisted-query-manifest","version":1}`, "no operations list"},
		{"an apollo operation with a misspelt field", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"` + hash + `","boby":"{ a }"}]}`, `unknown field "boby"`},
		{"a map of objects", `{"` + hash + `": {"body": "{ a }"}}`, "is an object, not a document text"},
		{"a map of numbers", `{"` + hash + `": 42}`, "is a number, not a document text"},
		{"a map of lists", `{"` + hash + `": ["{ a }"]}`, "is an array, not a document text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, _, err := Read(strings.NewReader(tt.input))
			if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrUnknownFormat saying %q", err, tt.want)
			}
			if entries != nil {
				t.Errorf("entries = %v", entries)
			}
		})
	}
}

func TestBadEntriesAreRefused(t *testing.T) {
	hash := documents.SHA256("{ a }").Hash()
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"an id of no accepted form", `{"not-an-id": "{ a }"}`, `"not-an-id"`},
		{"an apollo operation without an id", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"name":"A","type":"query","body":"{ a }"}]}`, "operations[0]"},
		{"an empty text", `{"x-empty": ""}`, "empty"},
		{"an upper-case algorithm", `{"SHA256:` + hash + `": "{ a }"}`, "line 1"},
		{"a custom id listed twice with different texts", `{"x-a": "{ a }", "x-a": "{ b }"}`, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, _, err := Read(strings.NewReader(tt.input))
			var entryErr *EntryError
			if !errors.As(err, &entryErr) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want an *EntryError saying %q", err, tt.want)
			}
			if entries != nil {
				t.Errorf("entries = %v", entries)
			}
		})
	}
}

func TestEntriesListedTwiceAreReturnedOnce(t *testing.T) {
	hash := documents.SHA256("{ a }").Hash()
	entries, _, err := Read(strings.NewReader(`{"` + hash + `": "{ a }", "sha256:` + hash + `": "{ a }"}`))
	if err != nil || len(entries) != 1 {
		t.Errorf("Read = %v, %v; want one entry", entries, err)
	}
}

// roundTripEntries covers every kind of id and an anonymous operation.
func roundTripEntries(t *testing.T) []documents.Entry {
	t.Helper()
	relay, _, err := ReadFile(filepath.Join("testdata", "relay.json"))
	if err != nil {
		t.Fatal(err)
	}
	apollo, _, err := ReadFile(filepath.Join("testdata", "apollo.json"))
	if err != nil {
		t.Fatal(err)
	}
	sha1Text := "subscription OnPrice { price }"
	sum := sha1.Sum([]byte(sha1Text))
	extra := []documents.Entry{
		{ID: "x-checkout", Text: "query Checkout { cart { total } }\n", Meta: documents.Meta{Public: true}},
		{ID: documents.SHA256("{ anonymous }"), Text: "{ anonymous }"},
		{ID: documents.ID("sha1:" + hex.EncodeToString(sum[:])), Text: sha1Text},
	}
	return slices.Concat(relay, apollo, extra)
}

func TestWriteApolloRoundTrip(t *testing.T) {
	entries := roundTripEntries(t)
	var out bytes.Buffer
	if err := WriteApollo(&out, entries); err != nil {
		t.Fatal(err)
	}
	golden(t, "write-apollo.json", out.Bytes())

	reversed := slices.Clone(entries)
	slices.Reverse(reversed)
	var again bytes.Buffer
	if err := WriteApollo(&again, append(reversed, entries[0])); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("WriteApollo output depends on the order of its input")
	}

	back, format, err := Read(&out)
	if err != nil || format != FormatApollo {
		t.Fatalf("Read of the written manifest = %q, %v", format, err)
	}
	if len(back) != len(entries) {
		t.Fatalf("%d entries read back, want %d", len(back), len(entries))
	}
	for _, e := range entries {
		i := slices.IndexFunc(back, func(b documents.Entry) bool { return b.ID == e.ID })
		if i < 0 || back[i].Text != e.Text {
			t.Errorf("%s did not round-trip", e.ID)
		}
	}
}

func TestWriteApolloRefusesBadEntries(t *testing.T) {
	tests := []struct {
		name  string
		entry documents.Entry
	}{
		{"a text that does not hash to its id", documents.Entry{ID: documents.SHA256("{ a }"), Text: "{ b }"}},
		{"a text that does not parse", documents.Entry{ID: documents.SHA256("query {"), Text: "query {"}},
		{"a text without an operation", documents.Entry{ID: documents.SHA256("fragment F on T { a }"), Text: "fragment F on T { a }"}},
		{"an id not in canonical form", documents.Entry{ID: documents.ID(documents.SHA256("{ a }").Hash()), Text: "{ a }"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteApollo(&out, []documents.Entry{tt.entry}); err == nil {
				t.Error("WriteApollo succeeded")
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q", out.String())
			}
		})
	}
}

func TestFromFiles(t *testing.T) {
	dir := filepath.Join("testdata", "arbitrary")
	paths := []string{filepath.Join(dir, "GetUser.graphql"), filepath.Join(dir, "ListOrders.graphql")}
	entries, err := FromFiles(append(paths, paths[0]))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2 (a file named twice is one document)", len(entries))
	}
	for i, path := range paths {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if entries[i].ID != documents.SHA256(string(text)) || entries[i].Text != string(text) {
			t.Errorf("%s gave %+v, want its exact bytes under their SHA-256", path, entries[i])
		}
	}
	if _, err := FromFiles([]string{filepath.Join(dir, "notes.txt")}); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("FromFiles of a .txt file = %v, want an error naming it", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.graphql")
	write(t, empty, "")
	if _, err := FromFiles([]string{empty}); err == nil || !strings.Contains(err.Error(), "empty.graphql") {
		t.Errorf("FromFiles of an empty file = %v, want an error naming it", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, name := range []string{"apollo.json", "relay.json", "codegen.json", "apollo-tampered.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"x-a": "{ a }"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, format, err := Read(bytes.NewReader(data))
		if err != nil {
			if entries != nil {
				t.Errorf("entries returned with error %v", err)
			}
			return
		}
		if format == "" {
			t.Error("no format reported")
		}
		for _, e := range entries {
			if err := e.ID.Verify(e.Text); err != nil || e.Text == "" {
				t.Errorf("entry %s does not verify: %v", e.ID, err)
			}
		}
	})
}

func TestApolloMetaExtension(t *testing.T) {
	status, invoices, search := "query Status { status }", "query Invoices { invoices { id } }", "query Search { search }"
	op := func(text, meta string) string {
		b, _ := json.Marshal(text)
		s := `{"id":"` + documents.SHA256(text).Hash() + `","name":"Q","type":"query","body":` + string(b)
		if meta != "" {
			s += `,"meta":` + meta
		}
		return s + "}"
	}
	manifest := func(ops ...string) string {
		return `{"format":"apollo-persisted-query-manifest","version":1,"operations":[` + strings.Join(ops, ",") + `]}`
	}
	entries, _, err := Read(strings.NewReader(manifest(
		op(status, `{"public":true,"clients":["web"]}`), op(invoices, `{}`), op(search, ""))))
	if err != nil {
		t.Fatal(err)
	}
	want := []documents.Entry{
		{ID: documents.SHA256(status), Text: status, Meta: documents.Meta{Public: true, Clients: []string{"web"}}, MetaGiven: true},
		{ID: documents.SHA256(invoices), Text: invoices, MetaGiven: true},
		{ID: documents.SHA256(search), Text: search},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, w := range want {
		if e := entries[i]; e.ID != w.ID || e.MetaGiven != w.MetaGiven || !sameMeta(e.Meta, w.Meta) {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}

	for name, body := range map[string]string{
		"a misspelt metadata field":       manifest(op(status, `{"pubilc":true}`)),
		"metadata that is not an object":  manifest(op(status, `true`)),
		"one id listed with two metadata": manifest(op(status, `{"public":true}`), op(status, `{}`)),
	} {
		if _, _, err := Read(strings.NewReader(body)); err == nil {
			t.Errorf("%s: Read succeeded", name)
		}
	}
}

func TestReadDirTellsSidecarsFromNone(t *testing.T) {
	dir := t.TempDir()
	with, empty, without := "query With { a }", "query Empty { a }", "query Without { a }"
	for _, text := range []string{with, empty, without} {
		write(t, filepath.Join(dir, documents.SHA256(text).Hash()+".graphql"), text)
	}
	write(t, filepath.Join(dir, documents.SHA256(with).Hash()+".json"), `{"public":true}`)
	write(t, filepath.Join(dir, documents.SHA256(empty).Hash()+".json"), `{}`)
	entries, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[documents.ID]documents.Entry{}
	for _, e := range entries {
		got[e.ID] = e
	}
	if e := got[documents.SHA256(with)]; !e.MetaGiven || !e.Meta.Public {
		t.Errorf("a document with a sidecar = %+v, want its metadata given", e)
	}
	if e := got[documents.SHA256(empty)]; !e.MetaGiven || !e.Meta.IsZero() {
		t.Errorf("a document with an empty sidecar = %+v, want zero metadata given", e)
	}
	if e := got[documents.SHA256(without)]; e.CarriesMeta() {
		t.Errorf("a document without a sidecar = %+v, want no metadata carried", e)
	}
}

func TestWriteRegistrationCarriesMetadata(t *testing.T) {
	entries := []documents.Entry{
		{ID: "x-status", Text: "query Status { status }", Meta: documents.Meta{Public: true, Clients: []string{"web"}}},
		{ID: documents.SHA256("query Cleared { a }"), Text: "query Cleared { a }", MetaGiven: true},
		{ID: documents.SHA256("query Bare { a }"), Text: "query Bare { a }"},
	}
	var plain, reg bytes.Buffer
	if err := WriteApollo(&plain, entries); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), `"meta"`) {
		t.Errorf("WriteApollo wrote metadata:\n%s", plain.String())
	}
	if err := WriteRegistration(&reg, entries); err != nil {
		t.Fatal(err)
	}
	back, format, err := Read(&reg)
	if err != nil || format != FormatApollo {
		t.Fatalf("Read of the registration = %q, %v", format, err)
	}
	for _, e := range entries {
		i := slices.IndexFunc(back, func(b documents.Entry) bool { return b.ID == e.ID })
		if i < 0 || back[i].Text != e.Text || back[i].CarriesMeta() != e.CarriesMeta() || !sameMeta(back[i].Meta, e.Meta) {
			t.Errorf("%s read back as %+v, want %+v", e.ID, back, e)
		}
	}
}
