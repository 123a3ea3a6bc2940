package documents

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
)

func TestFreeFormGET(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		opName string
		code   envelope.Code
	}{
		{"query over GET runs", "{ a }", "", ""},
		{"named query in a multi-operation document runs", "query A { a } mutation B { b }", "A", ""},
		{"mutation over GET is refused", "mutation { pay }", "", envelope.CodeMutationNotAllowedOverGET},
		{"selected mutation is refused", "query A { a } mutation B { b }", "B", envelope.CodeMutationNotAllowedOverGET},
		{"subscription over GET is refused", "subscription { s }", "", envelope.CodeMutationNotAllowedOverGET},
		{"ambiguous document without operationName", "query A { a } mutation B { b }", "", envelope.CodeOperationNotFound},
		{"unknown operationName", "query A { a }", "Z", envelope.CodeOperationNotFound},
		{"unparseable document", "mutation {", "", envelope.CodeGraphQLParseFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, _, _ := newResolver(Off)
			q := url.Values{"query": {tt.query}}
			if tt.opName != "" {
				q.Set("operationName", tt.opName)
			}
			res := run(t, rs, httptest.NewRequest(http.MethodGet, "/graphql?"+q.Encode(), nil))
			if res.called != (tt.code == "") || res.code != tt.code {
				t.Fatalf("called=%v code=%q, want code %q", res.called, res.code, tt.code)
			}
			if tt.code == envelope.CodeMutationNotAllowedOverGET && (res.status != 405 || res.header.Get("Allow") != "POST") {
				t.Errorf("status %d Allow %q", res.status, res.header.Get("Allow"))
			}
		})
	}
}

func TestParseErrorNamesLine(t *testing.T) {
	_, err := Parse(Entry{Text: "query {\n  a(\n}"})
	var e *envelope.Error
	if !errors.As(err, &e) || e.Code != envelope.CodeGraphQLParseFailed {
		t.Fatalf("got %v", err)
	}
	if want := "(line 3)"; !strings.Contains(e.Message, want) {
		t.Errorf("message %q lacks %q", e.Message, want)
	}
}
