package envelope

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Uploads are the files of a file upload: a multipart/form-data request of
// the GraphQL multipart request spec
// (https://github.com/jaydenseric/graphql-multipart-request-spec).
//
// In such a request the operations hold null wherever a file goes, and the
// map field says which file goes where. Parse puts UploadPlaceholder at each
// of those places, so that the stages after it (document resolution,
// authentication, variable limits) check an ordinary request whose file
// variables have a value: variable coercion accepts any value for a custom
// scalar such as Upload, and refuses null for Upload!. The forward stage
// puts null back (see Nulled) and sends the files on.
type Uploads struct {
	// Map is the map field as the client sent it.
	Map json.RawMessage
	// Files are the file parts, in the order sent.
	Files []Upload
}

// Upload is one file of a file upload.
type Upload struct {
	// Field is the part's form field name, a key of the map.
	Field string
	// Filename is the file name the client gave, without directories.
	Filename string
	// ContentType is the part's Content-Type; empty when it had none.
	ContentType string
	// Data is the file's content.
	Data []byte
	// Targets are the places in the operations the file goes to.
	Targets []Target
}

// Target is one place a file goes to: a path inside the variables of one
// request of the batch.
type Target struct {
	// Request is the index of the request in Batch.Requests (0 when the
	// operations are a single request).
	Request int
	// Path is the path inside the request's variables: ["file"] for the map
	// path variables.file, ["files", "1"] for variables.files.1.
	Path []string
}

// UploadPlaceholder is the JSON value Parse puts where a file goes.
const UploadPlaceholder = `"(uploaded file)"`

// maxPathSegments bounds a map path; files sit a few levels deep at most.
const maxPathSegments = 64

// Nulled returns vars, the variables of request i of the batch (as the
// stages after Parse left them), with null wherever a file goes, as the
// upstream must receive them. It fails when coercion moved such a place (a
// single value given for a list is wrapped in one).
func (u *Uploads) Nulled(i int, vars json.RawMessage) (json.RawMessage, error) {
	var paths [][]string
	for _, f := range u.Files {
		for _, t := range f.Targets {
			if t.Request == i {
				paths = append(paths, t.Path)
			}
		}
	}
	if len(paths) == 0 {
		return vars, nil
	}
	spans, bad, _ := findSpans(vars, paths)
	if bad >= 0 {
		return nil, Errorf(CodeBadRequest,
			"the place of a file (variables.%s) moved when the variables were coerced; send a list as a JSON array, with null for each file in it", strings.Join(paths[bad], "."))
	}
	return splice(vars, spans, null), nil
}

// place checks that every path of the map points at a null inside the
// variables of an operation, and puts UploadPlaceholder there. It records
// each entry's targets.
func (u *Uploads) place(b *Batch, entries []mapEntry) error {
	type located struct {
		path   string
		target Target
	}
	perRequest := make([][]located, len(b.Requests))
	seen := map[string]bool{}
	for i := range entries {
		e := &entries[i]
		for _, p := range e.paths {
			if seen[p] {
				return Errorf(CodeBadRequest, "the map lists the path %s twice; each place holds one file", quoteName(p))
			}
			seen[p] = true
			t, err := parseTarget(b, p)
			if err != nil {
				return err
			}
			e.targets = append(e.targets, t)
			perRequest[t.Request] = append(perRequest[t.Request], located{p, t})
		}
	}
	for i, locs := range perRequest {
		if len(locs) == 0 {
			continue
		}
		paths := make([][]string, len(locs))
		for k, l := range locs {
			paths[k] = l.target.Path
		}
		vars := b.Requests[i].Variables
		spans, bad, repeated := findSpans(vars, paths)
		switch {
		case repeated:
			return Errorf(CodeBadRequest, "the map path %s goes through an object of the operations that repeats a member name", quoteName(locs[bad].path))
		case bad >= 0:
			return Errorf(CodeBadRequest, "the map path %s leads to no value in the operations; put null where the file goes", quoteName(locs[bad].path))
		}
		for k, s := range spans {
			if !bytes.Equal(vars[s.start:s.end], null) {
				return Errorf(CodeBadRequest, "the map path %s leads to a value that is not null; put null where the file goes", quoteName(locs[k].path))
			}
		}
		b.Requests[i].Variables = splice(vars, spans, []byte(UploadPlaceholder))
	}
	return nil
}

// parseTarget reads a map path: variables.<path> for a single request,
// <index>.variables.<path> for a batch.
func parseTarget(b *Batch, p string) (Target, error) {
	example := "variables.file"
	if b.Array {
		example = "0.variables.file"
	}
	segs := strings.Split(p, ".")
	var t Target
	if b.Array {
		n, err := strconv.Atoi(segs[0])
		if err != nil || n < 0 || strconv.Itoa(n) != segs[0] {
			return t, Errorf(CodeBadRequest, "the map path %s must start with the index of an operation of the batch, like %s", quoteName(p), example)
		}
		if n >= len(b.Requests) {
			return t, Errorf(CodeBadRequest, "the map path %s names operation %d; the batch has %d", quoteName(p), n, len(b.Requests))
		}
		t.Request, segs = n, segs[1:]
	}
	if len(segs) < 2 || segs[0] != "variables" {
		return t, Errorf(CodeBadRequest, "the map path %s must point inside the variables of an operation, like %s", quoteName(p), example)
	}
	if len(segs) > maxPathSegments {
		return t, Errorf(CodeBadRequest, "the map path %s is more than %d levels deep", quoteName(p), maxPathSegments)
	}
	if slices.Contains(segs, "") {
		return t, Errorf(CodeBadRequest, "the map path %s has an empty segment", quoteName(p))
	}
	t.Path = segs[1:]
	return t, nil
}

// span is where a value is in a JSON document.
type span struct{ start, end int }

// pathTrie holds the paths findSpans looks for, sharing prefixes.
type pathTrie struct {
	kids   map[string]*pathTrie
	target int // index of the path ending here; -1 for none
	first  int // index of the first path through here
	seen   bool
}

// findSpans locates the value at each path in the JSON document doc (valid
// JSON), reading doc once. A segment names an object member, or the element
// of an array at that canonical index. No path may be a prefix of another.
// It returns the spans in the order of paths; or the index of a path that
// leads to no value, with repeated true when the path goes through an
// object that repeats the member (JSON parsers disagree on which copy
// counts, so such a path is refused).
func findSpans(doc []byte, paths [][]string) (spans []span, bad int, repeated bool) {
	root := &pathTrie{target: -1}
	for i, p := range paths {
		n := root
		for _, seg := range p {
			next := n.kids[seg]
			if next == nil {
				next = &pathTrie{target: -1, first: i}
				if n.kids == nil {
					n.kids = map[string]*pathTrie{}
				}
				n.kids[seg] = next
			}
			n = next
		}
		n.target = i
	}
	w := spanWalk{doc: doc, dec: json.NewDecoder(bytes.NewReader(doc)), spans: make([]span, len(paths)), found: make([]bool, len(paths)), repeated: -1}
	ok := w.walk(root)
	switch {
	case w.repeated >= 0:
		return nil, w.repeated, true
	case !ok:
		return nil, 0, false
	}
	for i, found := range w.found {
		if !found {
			return nil, i, false
		}
	}
	return w.spans, -1, false
}

// spanWalk streams a document's tokens, descending only where a path goes.
type spanWalk struct {
	doc      []byte
	dec      *json.Decoder
	spans    []span
	found    []bool
	repeated int // a path through a repeated member; -1 for none
}

// walk reads the next value, in which the paths below n are looked for. It
// reports false for a malformed document or a repeated member on a path.
func (w *spanWalk) walk(n *pathTrie) bool {
	if n.target >= 0 {
		start := skipSeparators(w.doc, int(w.dec.InputOffset()))
		var v json.RawMessage
		if w.dec.Decode(&v) != nil {
			return false
		}
		w.spans[n.target], w.found[n.target] = span{start, start + len(v)}, true
		return true
	}
	if n.kids == nil {
		var skip json.RawMessage
		return w.dec.Decode(&skip) == nil
	}
	tok, err := w.dec.Token()
	if err != nil {
		return false
	}
	switch tok {
	case json.Delim('{'):
		for w.dec.More() {
			key, err := w.dec.Token()
			if err != nil {
				return false
			}
			k, _ := key.(string)
			if !w.member(n.kids[k]) {
				return false
			}
		}
	case json.Delim('['):
		for i := 0; w.dec.More(); i++ {
			if !w.member(n.kids[strconv.Itoa(i)]) {
				return false
			}
		}
	default:
		return true // a scalar: the paths below n lead nowhere
	}
	_, err = w.dec.Token()
	return err == nil
}

// member reads a member or element whose path node is n (nil: no path
// goes there).
func (w *spanWalk) member(n *pathTrie) bool {
	if n == nil {
		var skip json.RawMessage
		return w.dec.Decode(&skip) == nil
	}
	if n.seen {
		w.repeated = n.first
		return false
	}
	n.seen = true
	return w.walk(n)
}

// skipSeparators returns the index of the first byte at or after i that is
// not whitespace, a colon or a comma: where the next JSON value starts.
func skipSeparators(doc []byte, i int) int {
	for i < len(doc) && strings.IndexByte(" \t\r\n:,", doc[i]) >= 0 {
		i++
	}
	return i
}

// splice returns doc with the value at every span (non-overlapping)
// replaced by v.
func splice(doc []byte, spans []span, v []byte) []byte {
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b span) int { return a.start - b.start })
	out := make([]byte, 0, len(doc)+len(spans)*len(v))
	at := 0
	for _, s := range sorted {
		out = append(out, doc[at:s.start]...)
		out = append(out, v...)
		at = s.end
	}
	return append(out, doc[at:]...)
}
