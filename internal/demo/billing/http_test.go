package billing

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestHTTP(t *testing.T) {
	srv := newServer(t)
	get := func(q url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"?"+q.Encode(), nil)
		return req
	}
	postBody := func(contentType, body string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		return req
	}
	withAccept := func(req *http.Request, accept string) *http.Request {
		req.Header.Set("Accept", accept)
		return req
	}
	tests := []struct {
		name            string
		req             *http.Request
		wantStatus      int
		wantContentType string
		wantAllow       string
		wantData        string
		wantCode        string
	}{
		{
			name:       "GET runs a query with variables",
			req:        get(url.Values{"query": {`query C($id: ID!) { customer(id: $id) { name } }`}, "variables": {`{"id":"c1"}`}}),
			wantStatus: http.StatusOK, wantContentType: mediaJSON,
			wantData: `{"customer":{"name":"Ada Lovelace"}}`,
		},
		{
			name:       "GET refuses a mutation without running it",
			req:        get(url.Values{"query": {`mutation { payInvoice(id: "i2", amountCents: 4500) { id } }`}}),
			wantStatus: http.StatusMethodNotAllowed, wantContentType: mediaJSON, wantAllow: "POST",
		},
		{
			name:       "the mutation refused over GET left the invoice open",
			req:        get(url.Values{"query": {`{ invoice(id: "i2") { status } }`}}),
			wantStatus: http.StatusOK, wantContentType: mediaJSON,
			wantData: `{"invoice":{"status":"OPEN"}}`,
		},
		{
			name:       "GET with malformed variables is a bad request",
			req:        get(url.Values{"query": {`{ status { ok } }`}, "variables": {`{`}}),
			wantStatus: http.StatusBadRequest, wantContentType: mediaJSON, wantCode: "BAD_REQUEST",
		},
		{
			name:       "a request without a query is a bad request",
			req:        postBody("application/json", `{"variables":{}}`),
			wantStatus: http.StatusBadRequest, wantContentType: mediaJSON, wantCode: "BAD_REQUEST",
		},
		{
			name:       "a body that is not JSON is a bad request",
			req:        postBody("application/json", `query { status { ok } }`),
			wantStatus: http.StatusBadRequest, wantContentType: mediaJSON, wantCode: "BAD_REQUEST",
		},
		{
			name:       "a body with data after the JSON object is a bad request",
			req:        postBody("application/json", `{"query":"{ status { ok } }"} {}`),
			wantStatus: http.StatusBadRequest, wantContentType: mediaJSON, wantCode: "BAD_REQUEST",
		},
		{
			name:       "a text/plain body is refused as an unsupported media type",
			req:        postBody("text/plain", `{"query":"{ status { ok } }"}`),
			wantStatus: http.StatusUnsupportedMediaType, wantContentType: mediaJSON, wantCode: "UNSUPPORTED_MEDIA_TYPE",
		},
		{
			name:       "a body over 1 MiB is refused",
			req:        postBody("application/json", `{"query":"`+strings.Repeat(" ", maxBodyBytes)+`{ status { ok } }"}`),
			wantStatus: http.StatusRequestEntityTooLarge, wantContentType: mediaJSON, wantCode: "PAYLOAD_TOO_LARGE",
		},
		{
			name: "PUT is not allowed",
			req: func() *http.Request {
				req := postBody("application/json", `{"query":"{ status { ok } }"}`)
				req.Method = http.MethodPut
				return req
			}(),
			wantStatus: http.StatusMethodNotAllowed, wantContentType: mediaJSON, wantAllow: "GET, POST", wantCode: "METHOD_NOT_ALLOWED",
		},
		{
			name:       "a client accepting graphql-response+json gets that media type",
			req:        withAccept(postBody("application/json; charset=utf-8", `{"query":"{ status { ok } }"}`), "application/graphql-response+json, application/json;q=0.9"),
			wantStatus: http.StatusOK, wantContentType: mediaGraphQLResponse,
			wantData: `{"status":{"ok":true}}`,
		},
		{
			name:       "a client accepting graphql-response+json gets 400 for an invalid document",
			req:        withAccept(postBody("application/json", `{"query":"{ nope }"}`), "application/graphql-response+json"),
			wantStatus: http.StatusBadRequest, wantContentType: mediaGraphQLResponse,
		},
		{
			name:       "a client accepting only application/json gets 200 for an invalid document",
			req:        withAccept(postBody("application/json", `{"query":"{ nope }"}`), "application/json"),
			wantStatus: http.StatusOK, wantContentType: mediaJSON,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, tt.req)
			if res.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (errors %+v)", res.status, tt.wantStatus, res.Errors)
			}
			if want := tt.wantContentType + "; charset=utf-8"; res.contentType != want {
				t.Errorf("Content-Type = %q, want %q", res.contentType, want)
			}
			if res.allow != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", res.allow, tt.wantAllow)
			}
			if tt.wantData != "" {
				assertJSON(t, res.Data, tt.wantData)
			} else if len(res.Errors) == 0 {
				t.Errorf("no errors in the response")
			}
			if tt.wantCode != "" && (len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != tt.wantCode) {
				t.Errorf("errors = %+v, want code %s", res.Errors, tt.wantCode)
			}
		})
	}
}

func TestNewRefusesAnInvalidUserHeader(t *testing.T) {
	for _, h := range []string{"X User", "X-User:", "é"} {
		if _, err := New(Options{UserHeader: h}); err == nil {
			t.Errorf("New(UserHeader: %q) succeeded, want an error", h)
		}
	}
}
