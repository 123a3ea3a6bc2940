package server

import (
	"log/slog"
	"net/http"

	"github.com/gqlguard/gqlguard/auth"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/proxy"
	"github.com/gqlguard/gqlguard/limits"
)

// authentication is the authenticate stage and what it runs on.
type authentication struct {
	cfg      config.Auth
	verifier *auth.Verifier // nil with client certificates only
	limiter  *limits.FailureLimiter
	// anonymous requests may continue to the public-document check: only in
	// strict mode, where a public document is a trusted one.
	anonymous bool
}

// newAuthentication builds the stage, or returns nil when no
// authentication is configured.
func newAuthentication(cfg *config.Config, logger *slog.Logger) (*authentication, error) {
	if len(cfg.Auth.JWT.Issuers) == 0 && !cfg.Auth.ClientCertificates {
		return nil, nil
	}
	a := &authentication{
		cfg:       cfg.Auth,
		limiter:   limits.NewFailureLimiter(cfg.Auth.FailureLimit.Rate, cfg.Auth.FailureLimit.Burst, nil),
		anonymous: cfg.Documents.Mode == "strict",
	}
	if len(cfg.Auth.JWT.Issuers) > 0 {
		v, err := auth.NewVerifier(cfg.Auth.JWT, auth.VerifierOptions{Logger: logger})
		if err != nil {
			return nil, err
		}
		a.verifier = v
	}
	return a, nil
}

func (a *authentication) stage(next http.Handler) http.Handler {
	var v auth.TokenVerifier
	if a.verifier != nil {
		v = a.verifier
	}
	return &auth.Authenticator{
		Verifier:           v,
		Cookie:             a.cfg.JWT.Cookie,
		MaxTokenBytes:      a.cfg.JWT.MaxTokenBytes,
		ClientCertificates: a.cfg.ClientCertificates,
		Anonymous:          a.anonymous,
		Limiter:            a.limiter,
		Next:               next,
	}
}

// ready fails until every issuer's keys are loaded.
func (a *authentication) ready() error {
	if a == nil || a.verifier == nil {
		return nil
	}
	return a.verifier.Ready()
}

// identityOptions says which identity headers the upstream gets.
func identityOptions(cfg *config.Config) proxy.Identity {
	on := len(cfg.Auth.JWT.Issuers) > 0 || cfg.Auth.ClientCertificates
	return proxy.Identity{
		Enabled:      on,
		ClaimHeaders: cfg.Auth.JWT.Headers,
		ClaimsHeader: cfg.Auth.JWT.ClaimsHeader,
		ForwardToken: cfg.Auth.JWT.ForwardToken,
		Cookie:       cfg.Auth.JWT.Cookie,
	}
}
