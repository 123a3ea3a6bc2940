package documents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/envelope"
)

// Mode says which documents may run.
type Mode string

// The document modes.
const (
	// Strict runs trusted documents only.
	Strict Mode = "strict"
	// Capture also runs free-form documents, recording each one.
	Capture Mode = "capture"
	// Off runs free-form documents too, bounded only by structural limits.
	Off Mode = "off"
)

// Recorder records free-form documents in capture mode.
type Recorder interface {
	// Record notes one request for the document.
	Record(id ID, text, operationName, client string, at time.Time)
}

// Resolved is what the resolve stage decided for one request of a batch.
type Resolved struct {
	// Document is the document that runs.
	Document *Document
	// Operation is the operation of it that runs.
	Operation *Operation
	// Trusted reports that the document came from the trusted store (and
	// not from the client's query text).
	Trusted bool
}

type resolvedKey struct{}

// ResolvedFrom returns the resolve stage's decisions, one per request of
// the batch, or nil before the stage ran.
func ResolvedFrom(ctx context.Context) []Resolved {
	r, _ := envelope.Attached(ctx, resolvedKey{}).([]Resolved)
	return r
}

// Resolver is the resolve stage. It maps every request of the batch to a
// document: a trusted one looked up by its id (documentId, Apollo's
// extensions.persistedQuery.sha256Hash, Relay's doc_id), or, outside strict
// mode, the client's own query text. It replaces ids by the document text, so
// that any GraphQL server works upstream, selects the operation, refuses
// anything but queries over GET, and passes the decisions on in the context.
type Resolver struct {
	// Mode is Strict, Capture or Off.
	Mode Mode
	// Store holds the trusted documents.
	Store Store
	// Cache keeps parsed trusted documents; required.
	Cache *Cache
	// FreeFormCache keeps parsed free-form documents, apart from trusted
	// ones so that a client's text can never be taken for a trusted
	// document with the same hash; nil parses every free-form request.
	FreeFormCache *Cache
	// Validate, when set, checks every trusted document once, before
	// Prepare: against the upstream's schema, for example. A document that
	// fails is refused with Validate's error, logged once and never
	// forwarded, until the store reports a change to it.
	Validate func(*Document) error
	// Prepare, when set, is called once for every document before it is
	// cached and shared (to precompute Document.Plan). A failure refuses the
	// document.
	Prepare func(*Document) error
	// FreeFormText checks a free-form text before it is parsed (its token
	// count), and FreeForm the parsed document (depth, aliases); nil checks
	// nothing. Both run once per distinct text: a document that passed is
	// cached, one that failed is not.
	FreeFormText func(text string) error
	FreeForm     func(*Document) error
	// Authorize, when set, decides whether the request may run the
	// document, before anything else about the request (operationName,
	// variables) is looked at; its error is the answer.
	Authorize func(r *http.Request, res Resolved) error
	// Recorder records free-form documents in capture mode.
	Recorder Recorder
	// ClientHeader names the header that identifies the client in capture
	// records.
	ClientHeader string
	// Logger receives store failures.
	Logger *slog.Logger
	// Next receives the resolved request.
	Next http.Handler
}

// ServeHTTP implements http.Handler. It is the one stage that rewrites the
// parsed requests (ids become text) before forwarding; later stages only
// read them.
func (rs *Resolver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := envelope.BatchFrom(r.Context())
	if b == nil {
		envelope.WriteError(w, r, errors.New("documents: no parsed request in context"))
		return
	}
	out := make([]Resolved, len(b.Requests))
	for i := range b.Requests {
		res, err := rs.resolve(r, b, &b.Requests[i])
		if err != nil {
			envelope.WriteError(w, r, err)
			return
		}
		out[i] = res
	}
	rs.Next.ServeHTTP(w, envelope.AttachTo(r, resolvedKey{}, out))
}

func (rs *Resolver) resolve(r *http.Request, b *envelope.Batch, req *envelope.Request) (Resolved, error) {
	id, apq, err := requestID(req)
	if err != nil && !(apq && req.Query != "") {
		return Resolved{}, err
	}
	var res Resolved
	switch {
	case req.Query != "" && apq:
		return res, envelope.Errorf(envelope.CodePersistedQueryUnsupported,
			"automatic persisted queries are not accepted: documents are registered by the API's build, never by clients")
	case req.Query != "" && id != "":
		return res, envelope.Errorf(envelope.CodeBadRequest, "send either query or a document id, not both")
	case req.Query != "" && rs.Mode == Strict:
		return res, envelope.Errorf(envelope.CodePersistedDocumentRequired,
			"this endpoint runs trusted documents only: send documentId (\"sha256:<hash>\") instead of query text")
	case req.Query != "":
		res, err = rs.freeForm(r, req)
	case id != "":
		res, err = rs.trusted(r.Context(), id, b.CacheURL)
	default:
		return res, envelope.Errorf(envelope.CodeBadRequest, "the request names no document: send documentId")
	}
	// The caller must be allowed to run the document, and what is wrong
	// with one (unknown, or stored but refused) is told only to a caller
	// who may run it: otherwise an anonymous caller could tell registered
	// private ids from unknown ones.
	if rs.Authorize != nil && (err == nil || res.Document != nil || isNotFound(err)) {
		if aerr := rs.Authorize(r, res); aerr != nil {
			return res, aerr
		}
	}
	if err != nil {
		return res, err
	}
	if res.Operation, err = res.Document.Operation(req.OperationName); err != nil {
		return res, err
	}
	if b.Method == http.MethodGet && res.Operation.Type != ast.Query {
		return res, mutationOverGET(res.Operation.Type)
	}
	// Capture records what runs, once it is allowed to: a request refused
	// above (an anonymous caller's, say) writes nothing to the folder.
	if !res.Trusted && rs.Mode == Capture && rs.Recorder != nil {
		client := ""
		if rs.ClientHeader != "" {
			client = r.Header.Get(rs.ClientHeader)
		}
		rs.Recorder.Record(res.Document.ID, res.Document.Text, res.Operation.Name, client, time.Now())
	}
	// The upstream gets the text; the ids and the persisted-query extension
	// are the gateway's business.
	req.Query, req.DocumentID, req.DocID = res.Document.Text, "", ""
	if apq {
		req.Extensions = withoutPersistedQuery(req.Extensions)
	}
	return res, nil
}

// isNotFound reports whether err is PERSISTED_DOCUMENT_NOT_FOUND.
func isNotFound(err error) bool {
	var e *envelope.Error
	return errors.As(err, &e) && e.Code == envelope.CodePersistedDocumentNotFound
}

// requestID returns the document id a request names, in any wire format,
// and whether it used Apollo's persistedQuery extension. Two different ids
// are refused.
func requestID(req *envelope.Request) (ID, bool, error) {
	var raw string
	var apq bool
	for _, s := range [...]string{req.DocumentID, req.DocID, apolloHash(req.Extensions, &apq)} {
		if s == "" {
			continue
		}
		if raw != "" && s != raw {
			return "", apq, envelope.Errorf(envelope.CodeBadRequest, "the request names two different document ids")
		}
		raw = s
	}
	if raw == "" {
		return "", apq, nil
	}
	id, err := ParseID(raw)
	return id, apq, err
}

var persistedQueryKey = []byte(`"persistedQuery"`)

// apolloHash reads extensions.persistedQuery.sha256Hash.
func apolloHash(ext json.RawMessage, present *bool) string {
	if ext == nil || !bytes.Contains(ext, persistedQueryKey) {
		return ""
	}
	var e struct {
		PersistedQuery *struct {
			SHA256Hash string `json:"sha256Hash"`
		} `json:"persistedQuery"`
	}
	if json.Unmarshal(ext, &e) != nil || e.PersistedQuery == nil {
		return ""
	}
	*present = true
	return e.PersistedQuery.SHA256Hash
}

func withoutPersistedQuery(ext json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(ext, &m) != nil {
		return nil
	}
	delete(m, "persistedQuery")
	if len(m) == 0 {
		return nil
	}
	out, _ := json.Marshal(m)
	return out
}

func (rs *Resolver) trusted(ctx context.Context, id ID, cacheURL bool) (Resolved, error) {
	if d, ok := rs.Cache.Get(id); ok {
		return trustedResult(d)
	}
	// Read before the store, so that a change the store reports while the
	// document is read keeps it out of the cache.
	gen := rs.Cache.Generation()
	e, err := rs.Store.Get(ctx, id)
	if errors.Is(err, ErrCorrupt) {
		// Reported by the store; to the client it is simply not trusted.
		rs.log().Error("trusted document refused: corrupt entry", "id", string(id), "error", err)
		err = ErrNotFound
	}
	switch {
	case errors.Is(err, ErrNotFound):
		status := 0
		if cacheURL {
			status = http.StatusNotFound
		}
		return Resolved{}, &envelope.Error{Code: envelope.CodePersistedDocumentNotFound, Status: status,
			Message: "no trusted document has the id " + string(id) + "; register it with the API's build (gqlguard docs push)"}
	case err != nil:
		// Logged for every request the outage fails; the gateway's
		// logger bounds lines with a request id that repeat.
		rs.log().Error("document store failed", "id", string(id), "error", err, "request_id", envelope.InfoFrom(ctx).RequestID())
		return Resolved{}, &envelope.Error{Code: envelope.CodeDocumentStoreUnavailable,
			Message: "the trusted document store is unavailable; try again later", Err: err}
	}
	d, err := rs.prepare(e, rs.Validate)
	if err != nil {
		// A trusted document is what its build registered; one that does
		// not parse, validate or prepare is refused as long as it is
		// stored, without being checked and logged on every request.
		rs.log().Error("trusted document refused", "id", string(id), "error", err)
		d = &Document{Entry: e, refused: err}
	}
	return trustedResult(rs.Cache.AddIfCurrent(id, d, gen))
}

// trustedResult is the resolution of a trusted document, with its refusal
// when it is stored but cannot run.
func trustedResult(d *Document) (Resolved, error) {
	return Resolved{Document: d, Trusted: true}, d.refused
}

func (rs *Resolver) freeForm(r *http.Request, req *envelope.Request) (Resolved, error) {
	id := SHA256(req.Query)
	var d *Document
	if rs.FreeFormCache != nil {
		d, _ = rs.FreeFormCache.Get(id)
	}
	if d == nil {
		var err error
		if d, err = rs.checkFreeForm(Entry{ID: id, Text: req.Query}); err != nil {
			return Resolved{}, err
		}
		if rs.FreeFormCache != nil {
			d = rs.FreeFormCache.Add(id, d)
		}
	}
	return Resolved{Document: d}, nil
}

// checkFreeForm bounds, parses and prepares a free-form text.
func (rs *Resolver) checkFreeForm(e Entry) (*Document, error) {
	if rs.FreeFormText != nil {
		if err := rs.FreeFormText(e.Text); err != nil {
			return nil, err
		}
	}
	d, err := rs.prepare(e, nil)
	if err != nil {
		return nil, err
	}
	if rs.FreeForm != nil {
		if err := rs.FreeForm(d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// prepare parses e, checks it with validate (when not nil; trusted
// documents against the schema) and prepares it.
func (rs *Resolver) prepare(e Entry, validate func(*Document) error) (*Document, error) {
	d, err := Parse(e)
	if err != nil {
		return nil, err
	}
	if validate != nil {
		if err := validate(d); err != nil {
			return nil, err
		}
	}
	if rs.Prepare != nil {
		if err := rs.Prepare(d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (rs *Resolver) log() *slog.Logger {
	if rs.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rs.Logger
}
