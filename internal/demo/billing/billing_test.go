package billing

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// response is a GraphQL-over-HTTP response as a client sees it.
type response struct {
	status      int
	contentType string
	allow       string
	Data        json.RawMessage `json:"data"`
	Errors      []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

var testNow = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	api, err := New(Options{UserHeader: "X-User-Id", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), allow: res.Header.Get("Allow")}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("decode response (status %d): %v", res.StatusCode, err)
	}
	return r
}

// post sends query as a JSON POST; user, when set, is the identity header.
func post(t *testing.T, srv *httptest.Server, user, query string, vars map[string]any) response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("X-User-Id", user)
	}
	return do(t, req)
}

func assertJSON(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("data = %s\nwant   %s", got, want)
	}
}

func TestQueries(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, user, query, want string
	}{
		{
			name:  "customers lists the seeded customers in id order",
			query: `{ customers { id name email } }`,
			want: `{"customers":[
				{"id":"c1","name":"Ada Lovelace","email":"ada@example.com"},
				{"id":"c2","name":"Grace Hopper","email":"grace@example.com"},
				{"id":"c3","name":"Alan Turing","email":"alan@example.com"}]}`,
		},
		{
			name:  "first: 2 returns two customers",
			query: `{ customers(first: 2) { id } }`,
			want:  `{"customers":[{"id":"c1"},{"id":"c2"}]}`,
		},
		{
			name:  "after continues behind the given customer",
			query: `{ customers(after: "c1") { id } }`,
			want:  `{"customers":[{"id":"c2"},{"id":"c3"}]}`,
		},
		{
			name:  "first: 2 returns two invoices",
			query: `{ invoices(first: 2) { number customer { name } amountCents currency status issuedAt } }`,
			want: `{"invoices":[
				{"number":"INV-0001","customer":{"name":"Ada Lovelace"},"amountCents":12000,"currency":"EUR","status":"PAID","issuedAt":"2025-01-06T09:30:00Z"},
				{"number":"INV-0002","customer":{"name":"Grace Hopper"},"amountCents":4500,"currency":"USD","status":"OPEN","issuedAt":"2025-01-13T09:30:00Z"}]}`,
		},
		{
			name:  "first is not capped",
			query: `{ invoices(first: 2147483647) { id } }`,
			want:  `{"invoices":[{"id":"i1"},{"id":"i2"},{"id":"i3"},{"id":"i4"},{"id":"i5"},{"id":"i6"},{"id":"i7"},{"id":"i8"}]}`,
		},
		{
			name:  "invoices can be filtered by status",
			query: `{ invoices(status: PAID) { id payments { id amountCents paidAt invoice { id } } } }`,
			want: `{"invoices":[
				{"id":"i1","payments":[{"id":"p1","amountCents":12000,"paidAt":"2025-01-16T09:30:00Z","invoice":{"id":"i1"}}]},
				{"id":"i4","payments":[{"id":"p2","amountCents":25000,"paidAt":"2025-02-05T09:30:00Z","invoice":{"id":"i4"}}]}]}`,
		},
		{
			name:  "a customer's invoices are nested under it",
			query: `{ customer(id: "c3") { invoices { id } } }`,
			want:  `{"customer":{"invoices":[{"id":"i4"},{"id":"i7"}]}}`,
		},
		{
			name:  "unknown ids resolve to null",
			query: `{ customer(id: "c9") { id } invoice(id: "i99") { id } }`,
			want:  `{"customer":null,"invoice":null}`,
		},
		{
			name:  "without the identity header me is null and every invoice is listed",
			query: `{ me { id } invoices(status: OPEN) { id } }`,
			want:  `{"me":null,"invoices":[{"id":"i2"},{"id":"i3"},{"id":"i6"},{"id":"i7"},{"id":"i8"}]}`,
		},
		{
			name:  "the identity header makes me that customer",
			user:  "c2",
			query: `{ me { id name } }`,
			want:  `{"me":{"id":"c2","name":"Grace Hopper"}}`,
		},
		{
			name:  "the identity header restricts invoices to that customer",
			user:  "c2",
			query: `{ invoices { id customer { id } } }`,
			want:  `{"invoices":[{"id":"i2","customer":{"id":"c2"}},{"id":"i5","customer":{"id":"c2"}},{"id":"i8","customer":{"id":"c2"}}]}`,
		},
		{
			name:  "an identified customer cannot read another customer's invoice",
			user:  "c1",
			query: `{ own: invoice(id: "i1") { id } other: invoice(id: "i2") { id } }`,
			want:  `{"own":{"id":"i1"},"other":null}`,
		},
		{
			name:  "an identified customer sees no invoices nested under another customer",
			user:  "c1",
			query: `{ customer(id: "c2") { name invoices { id } } }`,
			want:  `{"customer":{"name":"Grace Hopper","invoices":[]}}`,
		},
		{
			name:  "an unknown identity sees no invoices",
			user:  "c9",
			query: `{ me { id } invoices { id } }`,
			want:  `{"me":null,"invoices":[]}`,
		},
		{
			name:  "status reports the service as up",
			query: `{ status { ok version } }`,
			want:  `{"status":{"ok":true,"version":"1.0.0"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := post(t, srv, tt.user, tt.query, nil)
			if res.status != http.StatusOK || len(res.Errors) > 0 {
				t.Fatalf("status %d, errors %+v", res.status, res.Errors)
			}
			assertJSON(t, res.Data, tt.want)
		})
	}
}

func TestPayInvoiceMarksTheInvoicePaidOnceCovered(t *testing.T) {
	srv := newServer(t)
	const pay = `mutation Pay($id: ID!, $amount: Int!) {
		payInvoice(id: $id, amountCents: $amount) { id amountCents paidAt invoice { status payments { id } } }
	}`
	res := post(t, srv, "", pay, map[string]any{"id": "i2", "amount": 1000})
	assertJSON(t, res.Data, `{"payInvoice":{"id":"p4","amountCents":1000,"paidAt":"2025-06-01T12:00:00Z",
		"invoice":{"status":"OPEN","payments":[{"id":"p4"}]}}}`)

	res = post(t, srv, "", pay, map[string]any{"id": "i2", "amount": 3500})
	assertJSON(t, res.Data, `{"payInvoice":{"id":"p5","amountCents":3500,"paidAt":"2025-06-01T12:00:00Z",
		"invoice":{"status":"PAID","payments":[{"id":"p4"},{"id":"p5"}]}}}`)

	res = post(t, srv, "", `{ invoice(id: "i2") { status } }`, nil)
	assertJSON(t, res.Data, `{"invoice":{"status":"PAID"}}`)
}

func TestCreateInvoiceIssuesAnOpenInvoice(t *testing.T) {
	srv := newServer(t)
	res := post(t, srv, "c3", `mutation {
		createInvoice(input: {customerId: "c3", amountCents: 990}) { id number customer { id } amountCents currency status issuedAt payments { id } }
	}`, nil)
	assertJSON(t, res.Data, `{"createInvoice":{"id":"i9","number":"INV-0009","customer":{"id":"c3"},
		"amountCents":990,"currency":"EUR","status":"OPEN","issuedAt":"2025-06-01T12:00:00Z","payments":[]}}`)

	res = post(t, srv, "c3", `{ me { invoices { id } } }`, nil)
	assertJSON(t, res.Data, `{"me":{"invoices":[{"id":"i4"},{"id":"i7"},{"id":"i9"}]}}`)
}

func TestInvalidInputIsAGraphQLError(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, user, query, wantMessage string
	}{
		{"paying nothing", "", `mutation { payInvoice(id: "i2", amountCents: 0) { id } }`, "amountCents must be greater than zero"},
		{"paying an unknown invoice", "", `mutation { payInvoice(id: "i99", amountCents: 100) { id } }`, `invoice "i99": not found`},
		{"paying another customer's invoice", "c1", `mutation { payInvoice(id: "i2", amountCents: 100) { id } }`, `invoice "i2": not found`},
		{"paying more than is due", "", `mutation { payInvoice(id: "i3", amountCents: 5001) { id } }`, "exceeds the 5000 still due"},
		{"paying a void invoice", "", `mutation { payInvoice(id: "i5", amountCents: 100) { id } }`, "only OPEN invoices can be paid"},
		{"invoicing an unknown customer", "", `mutation { createInvoice(input: {customerId: "c9", amountCents: 100}) { id } }`, `customer "c9": not found`},
		{"invoicing a negative amount", "", `mutation { createInvoice(input: {customerId: "c1", amountCents: -5}) { id } }`, "amountCents must be greater than zero"},
		{"invoicing in an invalid currency", "", `mutation { createInvoice(input: {customerId: "c1", amountCents: 5, currency: "euro"}) { id } }`, "not an ISO 4217 code"},
		{"invoicing another customer while identified", "c1", `mutation { createInvoice(input: {customerId: "c2", amountCents: 5}) { id } }`, "you can only invoice yourself"},
		{"a negative first", "", `{ invoices(first: -1) { id } }`, "first must not be negative"},
		{"an unknown cursor", "", `{ customers(after: "zz") { id } }`, `cursor "zz": invalid input`},
		{"an unknown field", "", `{ invoices { total } }`, `Cannot query field "total"`},
		{"a syntax error", "", `{ invoices {`, "syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := post(t, srv, tt.user, tt.query, nil)
			if res.status != http.StatusOK {
				t.Errorf("status = %d, want 200", res.status)
			}
			if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Message, tt.wantMessage) {
				t.Errorf("errors = %+v, want one containing %q", res.Errors, tt.wantMessage)
			}
		})
	}
}

func TestWithoutUserHeaderTheIdentityHeaderIsIgnored(t *testing.T) {
	api, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	res := post(t, srv, "c1", `{ me { id } invoices(first: 3) { id } }`, nil)
	assertJSON(t, res.Data, `{"me":null,"invoices":[{"id":"i1"},{"id":"i2"},{"id":"i3"}]}`)
}

func TestSchemaIsTheServedSDL(t *testing.T) {
	sdl := Schema()
	for _, want := range []string{"type Query", "type Mutation", "enum InvoiceStatus", "input CreateInvoiceInput"} {
		if !strings.Contains(sdl, want) {
			t.Errorf("Schema() lacks %q", want)
		}
	}
}

func TestFirstMayBeLeftOut(t *testing.T) {
	srv := newServer(t)
	ada := `{"invoices":[{"number":"INV-0001"},{"number":"INV-0003"},{"number":"INV-0006"}]}`
	tests := []struct {
		name, query string
		vars        map[string]any
		want        string
	}{
		{"an omitted $first means the default", `query Invoices($first: Int) { invoices(first: $first) { number } }`, nil, ada},
		{"a null $first means the default", `query Invoices($first: Int) { invoices(first: $first) { number } }`, map[string]any{"first": nil}, ada},
		{"an omitted $first on customers", `query C($first: Int) { customers(first: $first) { id } }`, nil, `{"customers":[{"id":"c1"},{"id":"c2"},{"id":"c3"}]}`},
		{"an omitted $first on a customer's invoices", `query C($first: Int) { customer(id: "c1") { invoices(first: $first) { number } } }`, nil, `{"customer":` + ada + `}`},
		{"first: 0 is an empty list, not null", `{ invoices(first: 0) { number } customer(id: "c1") { invoices(first: 0) { number } } }`, nil, `{"invoices":[],"customer":{"invoices":[]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := post(t, srv, "c1", tt.query, tt.vars)
			if res.status != http.StatusOK || len(res.Errors) > 0 {
				t.Fatalf("status %d, errors %+v", res.status, res.Errors)
			}
			assertJSON(t, res.Data, tt.want)
		})
	}
}

func TestDefaultFirstIsTheSchemaDefault(t *testing.T) {
	defaults := regexp.MustCompile(`first: Int = (\d+)`).FindAllStringSubmatch(Schema(), -1)
	if len(defaults) != 3 {
		t.Fatalf("%d first arguments with a default in the schema, want 3", len(defaults))
	}
	for _, d := range defaults {
		if d[1] != strconv.Itoa(defaultFirst) {
			t.Errorf("schema default first: %s, resolvers use %d", d[1], defaultFirst)
		}
	}
}
