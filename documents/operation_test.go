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

func TestGETGuard(t *testing.T) {
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
			called := false
			h := &envelope.Handler{Next: GETGuard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))}
			q := url.Values{"query": {tt.query}}
			if tt.opName != "" {
				q.Set("operationName", tt.opName)
			}
			r := httptest.NewRequest(http.MethodGet, "/graphql?"+q.Encode(), nil)
			r.Header.Set("Accept", envelope.MediaTypeGraphQLResponse)
			info := &envelope.Info{}
			r = r.WithContext(envelope.WithInfo(r.Context(), info))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if called != (tt.code == "") || info.Code != tt.code {
				t.Fatalf("called=%v code=%q, want code %q", called, info.Code, tt.code)
			}
			if tt.code == envelope.CodeMutationNotAllowedOverGET && (w.Code != 405 || w.Header().Get("Allow") != "POST") {
				t.Errorf("status %d Allow %q", w.Code, w.Header().Get("Allow"))
			}
		})
	}
}

func TestSelectOperationParseErrorNamesLine(t *testing.T) {
	_, err := SelectOperation("query {\n  a(\n}", "")
	var e *envelope.Error
	if !errors.As(err, &e) || e.Code != envelope.CodeGraphQLParseFailed {
		t.Fatalf("got %v", err)
	}
	if want := "(line 3)"; !strings.Contains(e.Message, want) {
		t.Errorf("message %q lacks %q", e.Message, want)
	}
}
