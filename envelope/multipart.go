package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// MediaTypeMultipart is the media type of file uploads.
const MediaTypeMultipart = "multipart/form-data"

// parseMultipart reads a file upload as the GraphQL multipart request spec
// has it: an operations field (a request, or a batch), a map field (file
// field name → object paths in operations), then one part per file. The
// files are held in memory, bounded by the upload limit.
func parseMultipart(r *http.Request, boundary string, lim Limits) (*Batch, error) {
	if lim.MaxUploadFiles <= 0 {
		return nil, Errorf(CodeUnsupportedMediaType,
			"file uploads (multipart/form-data) are disabled on this endpoint; send application/json, or ask the operator to enable graphql.uploads")
	}
	if boundary == "" {
		return nil, Errorf(CodeBadRequest, "the multipart/form-data Content-Type has no boundary parameter")
	}
	max := lim.MaxUploadBytes
	if max <= 0 {
		max = DefaultMaxUploadBytes
	}
	if r.ContentLength > max {
		return nil, uploadTooLarge(max)
	}
	mr := multipart.NewReader(http.MaxBytesReader(nil, r.Body, max), boundary)
	m := multipartParse{mr: mr, max: max, fieldMax: lim.maxBody()}
	ops, err := m.field("operations", "first")
	if err != nil {
		return nil, err
	}
	b, err := parseBody(ops, lim.MaxBatch)
	if err != nil {
		return nil, inOperations(err)
	}
	rawMap, err := m.field("map", "second")
	if err != nil {
		return nil, err
	}
	entries, err := decodeMap(rawMap, lim.MaxUploadFiles)
	if err != nil {
		return nil, err
	}
	u := &Uploads{Map: rawMap}
	if err := u.place(b, entries); err != nil {
		return nil, err
	}
	if err := m.files(u, entries); err != nil {
		return nil, err
	}
	b.Uploads = u
	return b, nil
}

func uploadTooLarge(max int64) *Error {
	return Errorf(CodePayloadTooLarge, "the file upload is larger than the limit of %d bytes", max)
}

// inOperations says that a refusal of the JSON request is about the
// operations field.
func inOperations(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Message = "in the operations field: " + e.Message
	return &c
}

// multipartParse reads the parts of one file upload.
type multipartParse struct {
	mr *multipart.Reader
	// max bounds the whole body, fieldMax the operations and map fields.
	max, fieldMax int64
}

// next returns the next part, nil at the end of the body.
func (m *multipartParse) next() (*multipart.Part, error) {
	// Raw: a transfer encoding is refused rather than decoded (see check).
	p, err := m.mr.NextRawPart()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, m.readError(err)
	}
	if err := checkPart(p); err != nil {
		return nil, err
	}
	return p, nil
}

func (m *multipartParse) readError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return uploadTooLarge(m.max)
	}
	return &Error{Code: CodeBadRequest, Message: "the request body is not valid multipart/form-data", Err: err}
}

// checkPart refuses a part whose content the gateway and the upstream could
// read differently. RFC 7578 forbids Content-Transfer-Encoding in form data;
// some servers decode it and others do not.
func checkPart(p *multipart.Part) error {
	switch cte := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))); cte {
	case "", "7bit", "8bit", "binary":
		return nil
	default:
		return Errorf(CodeBadRequest, "the part %s has Content-Transfer-Encoding %q; send every part as binary, without a transfer encoding", quoteName(p.FormName()), truncate(cte, 32))
	}
}

// field reads the text field name, which must be the part at position pos.
func (m *multipartParse) field(name, pos string) ([]byte, error) {
	p, err := m.next()
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, Errorf(CodeBadRequest, "the file upload has no %s field; the %s part must be %s (GraphQL multipart request spec)", name, pos, name)
	}
	if got := p.FormName(); got != name {
		return nil, Errorf(CodeBadRequest, "the %s part of a file upload must be the %s field, not %s (GraphQL multipart request spec)", pos, name, quoteName(got))
	}
	data, err := io.ReadAll(io.LimitReader(p, m.fieldMax+1))
	if err != nil {
		return nil, m.readError(err)
	}
	if int64(len(data)) > m.fieldMax {
		return nil, Errorf(CodePayloadTooLarge, "the %s field is larger than the limit of %d bytes", name, m.fieldMax)
	}
	return data, nil
}

// files reads the file parts: each one a field the map names, once, with a
// file name; every field the map names must come.
func (m *multipartParse) files(u *Uploads, entries []mapEntry) error {
	index := make(map[string]int, len(entries))
	for i, e := range entries {
		index[e.field] = i
	}
	got := make([]bool, len(entries))
	for {
		p, err := m.next()
		if err != nil {
			return err
		}
		if p == nil {
			break
		}
		name := p.FormName()
		i, ok := index[name]
		switch {
		case !ok:
			return Errorf(CodeBadRequest, "the part %s is not in the map; list every file field in the map, and send nothing else after it", quoteName(name))
		case got[i]:
			return Errorf(CodeBadRequest, "the part %s is sent more than once", quoteName(name))
		}
		got[i] = true
		f, err := m.file(p, name)
		if err != nil {
			return err
		}
		f.Targets = entries[i].targets
		u.Files = append(u.Files, f)
	}
	for i, e := range entries {
		if !got[i] {
			return Errorf(CodeBadRequest, "the map lists the file field %s, but the request has no part of that name", quoteName(e.field))
		}
	}
	return nil
}

// file reads one file part.
func (m *multipartParse) file(p *multipart.Part, name string) (Upload, error) {
	f := Upload{Field: name, Filename: p.FileName()}
	if f.Filename == "" {
		return f, Errorf(CodeBadRequest, "the part %s is not a file: its Content-Disposition has no filename", quoteName(name))
	}
	if hasControl(f.Filename) {
		return f, Errorf(CodeBadRequest, "the file name of the part %s holds control characters", quoteName(name))
	}
	if ct := p.Header.Get("Content-Type"); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return f, Errorf(CodeBadRequest, "the part %s has a malformed Content-Type", quoteName(name))
		}
		f.ContentType = ct
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(p); err != nil {
		return f, m.readError(err)
	}
	f.Data = buf.Bytes()
	return f, nil
}

// mapEntry is one member of the map field.
type mapEntry struct {
	field   string
	paths   []string
	targets []Target
}

// decodeMap reads the map field: a JSON object of file field names to
// non-empty lists of paths. A name given twice is refused: JSON parsers
// disagree on which copy wins, so the gateway and the upstream could put a
// file in different places.
func decodeMap(raw []byte, maxFiles int) ([]mapEntry, error) {
	bad := Errorf(CodeBadRequest, `the map field must be a JSON object of file field names to lists of paths, like {"0": ["variables.file"]}`)
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	var entries []mapEntry
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		field, ok := tok.(string)
		if !ok {
			return nil, bad
		}
		var paths []string
		if err := dec.Decode(&paths); err != nil {
			return nil, bad
		}
		switch {
		case seen[field]:
			return nil, Errorf(CodeBadRequest, "the map lists the file field %s more than once", quoteName(field))
		case field == "" || hasControl(field):
			return nil, Errorf(CodeBadRequest, "the map holds a file field name that is empty or holds control characters")
		case field == "operations" || field == "map":
			return nil, Errorf(CodeBadRequest, "the map may not name the %s field as a file", field)
		case len(paths) == 0:
			return nil, Errorf(CodeBadRequest, "the map gives the file field %s no paths", quoteName(field))
		case len(entries) == maxFiles:
			return nil, Errorf(CodeLimitExceeded, "the file upload carries more than %d files", maxFiles)
		}
		seen[field] = true
		entries = append(entries, mapEntry{field: field, paths: paths})
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad
	}
	return entries, nil
}

// quoteName quotes a client-supplied name for a message, shortened.
func quoteName(s string) string {
	return fmt.Sprintf("%q", truncate(s, 64))
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
