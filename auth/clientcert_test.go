package auth

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
)

func TestClientCertificate(t *testing.T) {
	spiffe, _ := url.Parse("spiffe://example.org/billing")
	cert := &x509.Certificate{
		Subject:        pkix.Name{CommonName: "billing-worker", Organization: []string{"Example"}},
		DNSNames:       []string{"worker.internal"},
		URIs:           []*url.URL{spiffe},
		EmailAddresses: []string{"ops@example.org"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.7")},
	}
	tests := []struct {
		name  string
		state *tls.ConnectionState
		want  *envelope.Principal
	}{
		{"no TLS", nil, nil},
		{"TLS without a client certificate", &tls.ConnectionState{}, nil},
		{"unverified certificate identifies nobody", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}, nil},
		{"verified certificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert}}},
			&envelope.Principal{Method: "mtls", Subject: "CN=billing-worker,O=Example",
				Names: []string{"DNS:worker.internal", "URI:spiffe://example.org/billing", "email:ops@example.org", "IP:10.0.0.7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *envelope.Principal
			h := ClientCertificate(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = envelope.PrincipalFrom(r.Context()) }))
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.TLS = tt.state
			h.ServeHTTP(httptest.NewRecorder(), r)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
