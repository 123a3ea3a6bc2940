package documents

import (
	"errors"
	"strings"
	"testing"

	"github.com/gqlguard/gqlguard/envelope"
)

func TestParseID(t *testing.T) {
	h64, h40, h32 := strings.Repeat("ab", 32), strings.Repeat("cd", 20), strings.Repeat("ef", 16)
	tests := []struct {
		in   string
		want ID
	}{
		{"sha256:" + h64, ID("sha256:" + h64)},
		{"sha256:" + strings.ToUpper(h64), ID("sha256:" + h64)},
		{h64, ID("sha256:" + h64)},
		{h40, ID("sha1:" + h40)},
		{"sha1:" + h40, ID("sha1:" + h40)},
		{h32, ID("md5:" + h32)},
		{"md5:" + h32, ID("md5:" + h32)},
		{"x-invoices.v2", "x-invoices.v2"},
		{"sha256:" + h40, ""},
		{"md5:" + h64, ""},
		{"x-", ""},
		{"x-has space", ""},
		{"x-" + strings.Repeat("a", 127), ""},
		{"", ""},
		{"../../etc/passwd", ""},
		{strings.Repeat("g", 64), ""},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if tt.want == "" {
			var e *envelope.Error
			if !errors.As(err, &e) || e.Code != envelope.CodeInvalidDocumentID {
				t.Errorf("ParseID(%q) = %q, %v; want INVALID_DOCUMENT_ID", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseID(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestVerify(t *testing.T) {
	text := "query Q { a }"
	if err := SHA256(text).Verify(text); err != nil {
		t.Errorf("own hash: %v", err)
	}
	if err := SHA256(text).Verify(text + " "); err == nil {
		t.Error("a changed text verified")
	}
	if err := ID("x-custom").Verify("anything"); err != nil {
		t.Errorf("custom id: %v", err)
	}
	for _, bad := range []ID{ID(SHA256(text).Hash()), "../x", "sha256:ZZ"} {
		if err := bad.Verify(text); err == nil {
			t.Errorf("non-canonical id %q verified", bad)
		}
	}
}
