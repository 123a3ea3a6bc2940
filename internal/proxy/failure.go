package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// failureReason names, for the log, why an upstream request failed, in words
// an operator can act on without reading Go error chains. crypto/tls wraps
// certificate errors in *tls.CertificateVerificationError, so the x509 causes
// are looked for through the chain before the TLS wrappers.
func failureReason(err error) string {
	var (
		pin      *PinError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		unknown  x509.UnknownAuthorityError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		op       *net.OpError
		ne       net.Error
	)
	var answer *upstreamAnswerError
	var cut *cutError
	switch {
	case errors.As(err, &answer):
		return "answer refused"
	case errors.As(err, &cut):
		return "answer cut short"
	case errors.As(err, &pin):
		return "pinned key mismatch"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "certificate expired or not yet valid"
	case errors.As(err, &hostname):
		return "certificate name mismatch"
	case errors.As(err, &unknown):
		return "unknown certificate authority"
	case errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert),
		// crypto/tls reports an alert the upstream sent (for example
		// "certificate required" when it wants a client certificate) as a
		// *net.OpError with this Op.
		errors.As(err, &op) && op.Op == "remote error":
		return "tls handshake failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	// An upstream that refuses the gateway after a TLS 1.3 handshake (no or
	// an unaccepted client certificate) sends its alert and closes; whether
	// the gateway reads the alert first or fails writing the request on the
	// closed connection is a matter of timing.
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "request cancelled"
	}
	return "upstream error"
}
