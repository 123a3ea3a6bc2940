package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/documents/capture"
	"github.com/gqlguard/gqlguard/documents/check"
	"github.com/gqlguard/gqlguard/documents/dirstore"
	"github.com/gqlguard/gqlguard/documents/manifest"
	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/admin"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/limits"
)

// documentStages are the resolve and limits stages and what they run on.
type documentStages struct {
	store    *dirstore.Store
	recorder *capture.Recorder
	resolver *documents.Resolver
	limits   *limits.Limits
	schema   *ast.Schema
	cfg      config.Documents
}

// newDocumentStages opens the trusted store (and, in capture mode, the
// capture folder), loads the optional schema, and builds the resolve stage
// (with authorize as its Authorize hook, nil for none), then the limits
// stage, then next.
func newDocumentStages(cfg *config.Config, logger *slog.Logger, authorize func(*http.Request, documents.Resolved) error, next http.Handler) (*documentStages, error) {
	d := &documentStages{cfg: cfg.Documents}
	var err error
	if cfg.Documents.Schema != "" {
		if d.schema, err = check.LoadSchema(cfg.Documents.Schema); err != nil {
			return nil, errors.Join(errors.New("documents.schema"), err)
		}
	}
	if d.limits, err = limits.New(cfg.Limits, d.schema); err != nil {
		return nil, err
	}
	if d.store, err = dirstore.Open(cfg.Documents.Dir, dirstore.Options{PollInterval: cfg.Documents.PollInterval, Logger: logger}); err != nil {
		return nil, errors.Join(errors.New("documents.dir"), err)
	}
	mode := documents.Mode(cfg.Documents.Mode)
	if mode == documents.Capture {
		c := cfg.Documents.Capture
		if d.recorder, err = capture.Open(c.Dir, capture.Options{MaxDocuments: c.MaxDocuments, MaxTextBytes: c.MaxTextBytes, Logger: logger}); err != nil {
			return nil, err
		}
	}
	freeForm := cfg.Documents.FreeForm
	d.resolver = &documents.Resolver{
		Mode:          mode,
		Store:         d.store,
		Cache:         documents.NewCache(cfg.Documents.CacheSize),
		FreeFormCache: documents.NewCache(max(cfg.Documents.CacheSize/10, 100)),
		Prepare:       d.limits.Prepare,
		FreeFormText: func(text string) error {
			_, err := documents.MeasureText(text, freeForm.MaxTokens)
			return err
		},
		FreeForm:     func(doc *documents.Document) error { return documents.MeasureStructure(doc).Check(freeForm) },
		ClientHeader: cfg.Documents.Capture.ClientHeader,
		Logger:       logger,
		Next:         d.limits.Handler(next),
	}
	d.resolver.Authorize = authorize
	if d.schema != nil {
		schema := d.schema
		d.resolver.Validate = func(doc *documents.Document) error { return validateTrusted(schema, doc) }
	}
	if d.recorder != nil {
		d.resolver.Recorder = d.recorder
	}
	d.store.OnChange(d.resolver.Cache.Remove)
	return d, nil
}

// run watches the store and flushes captures until ctx is done, and returns
// after the recorder's final flush.
func (d *documentStages) run(ctx context.Context) {
	var wg sync.WaitGroup
	if d.recorder != nil {
		wg.Go(func() { d.recorder.Run(ctx, d.cfg.Capture.FlushInterval) })
	}
	d.store.Run(ctx)
	wg.Wait()
}

// validateTrusted validates a trusted document against the upstream's
// schema, as registration does, so that a document copied into the folder
// that the upstream cannot run is refused at the gateway. The client is told
// the document is invalid; the problems, which name schema fields, go to the
// log only.
func validateTrusted(schema *ast.Schema, doc *documents.Document) error {
	errs := validator.ValidateWithRules(schema, doc.AST, nil)
	if len(errs) == 0 {
		return nil
	}
	return &envelope.Error{Code: envelope.CodeGraphQLValidationFailed,
		Message: "the trusted document " + string(doc.ID) + " does not validate against the upstream's schema; the gateway log names the problems: fix the document and register it again",
		Err:     errs}
}

// registration is the admin API that stores checked documents. Callers
// present admin.token or, with admin.tls.client_ca_file, an allowed client
// certificate.
func (d *documentStages) registration(cfg config.Admin, rules check.Rules, logger *slog.Logger) *admin.Registration {
	return &admin.Registration{
		Store:              d.store,
		Token:              cfg.Token.Reveal(),
		ClientCertificates: cfg.TLS.ClientCAFile != "",
		ClientNames:        cfg.ClientNames,
		Decode: func(r io.Reader) ([]documents.Entry, error) {
			entries, _, err := manifest.Read(r)
			return entries, err
		},
		Check: func(entries []documents.Entry) error {
			report := check.Entries(d.schema, entries, rules, func(documents.ID) string { return "manifest" })
			if !report.Failed() {
				return nil
			}
			var b strings.Builder
			_ = report.WriteText(&b)
			return errors.New(b.String())
		},
		Logger: logger,
	}
}

// RegistrationRules are the safety rules documents must pass to be
// registered, from the config. A document may be no larger than a request
// body: one no client could send as a query is not one a build produced.
func RegistrationRules(cfg *config.Config) check.Rules {
	r := cfg.Documents.Rules
	return check.Rules{MaxBytes: int(cfg.GraphQL.MaxBodyBytes), MaxDepth: r.MaxDepth, MaxAliases: r.MaxAliases, MaxRootFields: r.MaxRootFields, MaxCost: r.MaxCost, Pagination: cfg.Limits.Pagination}
}
