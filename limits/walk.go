package limits

import (
	"math"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/jsonscan"
)

// fault is a refusal found inside a variable's value. Path segments are
// collected innermost first while the fault travels up the walk; msg follows
// the path in the message (": expected Int, got …" or " has 1001 elements…").
type fault struct {
	code envelope.Code
	path []string
	msg  string
}

func invalid(msg string) *fault  { return &fault{code: envelope.CodeVariablesInvalid, msg: msg} }
func exceeded(msg string) *fault { return &fault{code: envelope.CodeLimitExceeded, msg: msg} }

// at adds the path segment the fault was found under.
func (f *fault) at(seg string) *fault {
	f.path = append(f.path, seg)
	return f
}

// error returns the client-facing error, root naming the variable ("$ids")
// and note, if any, following the path (" (its default value)").
func (f *fault) error(root, note string) *envelope.Error {
	var b strings.Builder
	b.WriteString("variable ")
	b.WriteString(root)
	for i := len(f.path) - 1; i >= 0; i-- {
		b.WriteString(f.path[i])
	}
	b.WriteString(note)
	b.WriteString(f.msg)
	return &envelope.Error{Code: f.code, Message: b.String()}
}

// walker checks JSON values against GraphQL input types: the built-in
// scalars exactly as the specification coerces them, non-null and list
// wrappers, list lengths and pagination caps; with a schema also enums, and
// the declared types of input-object fields. Any other named type accepts any
// JSON value, which is still walked for list lengths and caps.
//
// In a variable that feeds a field argument (members), an object member
// that no enclosing cap bounds is held to the cap of its input field with a
// schema, or of its name when the object's type is not known: without a
// schema, {"page":{"first":2147483647}} for invoices(page: $page) is refused
// under the cap of first.
//
// The walk runs in one of two modes. Checking (rewrite false) writes
// nothing and records in changed whether coercion alters the value; only then
// is a second, rewriting walk run, which appends the coerced JSON to out. The
// common path thus reads the variables once and allocates nothing.
type walker struct {
	b       []byte
	l       *Limits
	members bool
	rewrite bool
	out     []byte
	changed bool
}

func (w *walker) emit(p []byte) {
	if w.rewrite {
		w.out = append(w.out, p...)
	}
}

func (w *walker) emitByte(c byte) {
	if w.rewrite {
		w.out = append(w.out, c)
	}
}

// value walks the value at b[i] against t (nil: any value) and returns the
// index just past it. wrap reports whether a value that is not a list may
// stand for a list of one; the specification allows that except for the
// items of a list ([[Int]] refuses [1, 2, 3]). c caps the numbers in the
// value; nil when no pagination argument takes it.
func (w *walker) value(t *ast.Type, i int, wrap bool, c *capRule) (int, *fault) {
	b := w.b
	switch {
	case t == nil:
		return w.any(i, c)
	case b[i] == 'n':
		if t.NonNull {
			return 0, invalid(" is null, but its type " + t.String() + " does not allow null")
		}
		w.emit(b[i : i+4])
		return i + 4, nil
	case t.Elem != nil && b[i] == '[':
		return w.list(t.Elem, i, c)
	case t.Elem != nil:
		if !wrap {
			return 0, w.mismatch(t.String(), i)
		}
		w.changed = true
		w.emitByte('[')
		end, f := w.value(t.Elem, i, true, c)
		w.emitByte(']')
		return end, f
	}
	switch t.NamedType {
	case "Int":
		return w.intValue(i, c)
	case "Float":
		return w.floatValue(i, c)
	case "ID":
		return w.idValue(i)
	case "String":
		if b[i] != '"' {
			return 0, w.mismatch("String", i)
		}
		return w.copy(i), nil
	case "Boolean":
		if b[i] != 't' && b[i] != 'f' {
			return 0, w.mismatch("Boolean", i)
		}
		return w.copy(i), nil
	}
	if s := w.l.schema; s != nil {
		switch def := s.Types[t.NamedType]; {
		case def == nil:
		case def.Kind == ast.Enum:
			return w.enumValue(def, i)
		case def.Kind == ast.InputObject:
			if b[i] != '{' {
				return 0, w.mismatch(def.Name, i)
			}
			return w.object(def, i, c)
		}
	}
	return w.any(i, c)
}

// mismatch is the refusal of the value at b[i] where a want was expected.
func (w *walker) mismatch(want string, i int) *fault {
	return invalid(": expected " + want + ", got " + shown(w.b[i:jsonscan.ValueEnd(w.b, i)]))
}

// copy copies the scalar at b[i] unchanged.
func (w *walker) copy(i int) int {
	end := jsonscan.ValueEnd(w.b, i)
	w.emit(w.b[i:end])
	return end
}

func isNumber(c byte) bool { return c == '-' || c >= '0' && c <= '9' }

// intValue accepts an integral number within 32 bits. Integral numbers not
// written in plain decimal (1e2, 1.0, -0) are coerced to it.
func (w *walker) intValue(i int, c *capRule) (int, *fault) {
	if !isNumber(w.b[i]) {
		return 0, w.mismatch("Int", i)
	}
	end := jsonscan.NumberEnd(w.b, i)
	num := w.b[i:end]
	r := readNumber(num)
	switch {
	case !r.integral:
		return 0, w.mismatch("Int", i)
	case !r.fits || r.n < math.MinInt32 || r.n > math.MaxInt32:
		return 0, invalid(": expected Int, got " + clip(num) + ", outside the 32-bit range of Int (-2147483648 to 2147483647)")
	case c != nil && r.n > int64(c.max):
		return 0, c.fault(num)
	case r.canonical:
		w.emit(num)
	default:
		w.changed = true
		if w.rewrite {
			w.out = strconv.AppendInt(w.out, r.n, 10)
		}
	}
	return end, nil
}

// floatValue accepts any finite number.
func (w *walker) floatValue(i int, c *capRule) (int, *fault) {
	if !isNumber(w.b[i]) {
		return 0, w.mismatch("Float", i)
	}
	end := jsonscan.NumberEnd(w.b, i)
	num := w.b[i:end]
	f, _ := strconv.ParseFloat(string(num), 64)
	switch {
	case math.IsInf(f, 0):
		return 0, invalid(": expected Float, got " + clip(num) + ", too large for a Float")
	case c != nil && f > float64(c.max):
		return 0, c.fault(num)
	}
	w.emit(num)
	return end, nil
}

// idValue accepts a string, or an integer, which is coerced to its decimal
// string.
func (w *walker) idValue(i int) (int, *fault) {
	b := w.b
	if b[i] == '"' {
		return w.copy(i), nil
	}
	if !isNumber(b[i]) {
		return 0, w.mismatch("ID", i)
	}
	end := jsonscan.NumberEnd(b, i)
	num := b[i:end]
	r := readNumber(num)
	switch {
	case r.fits:
		w.changed = true
		if w.rewrite {
			w.out = append(w.out, '"')
			w.out = strconv.AppendInt(w.out, r.n, 10)
			w.out = append(w.out, '"')
		}
	case r.integral && plainDigits(num):
		// Beyond int64, but written digit by digit: the digits are the id.
		w.changed = true
		if w.rewrite {
			w.out = append(w.out, '"')
			w.out = append(w.out, num...)
			w.out = append(w.out, '"')
		}
	default:
		return 0, w.mismatch("ID", i)
	}
	return end, nil
}

func plainDigits(num []byte) bool {
	for _, c := range num {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// enumValue accepts a string naming one of def's values, compared exactly:
// enum values are case-sensitive names.
func (w *walker) enumValue(def *ast.Definition, i int) (int, *fault) {
	b := w.b
	if b[i] != '"' {
		return 0, w.mismatch(def.Name, i)
	}
	end, esc := jsonscan.StringEnd(b, i)
	for _, v := range def.EnumValues {
		if sameKey(b[i:end], esc, v.Name) {
			w.emit(b[i:end])
			return end, nil
		}
	}
	return 0, w.mismatch(def.Name, i)
}

// any accepts any JSON value, walking objects and lists for list lengths
// and caps. Within a capped variable, numbers and strings that read as
// numbers once their escapes are decoded (custom scalars) are held to the
// cap.
func (w *walker) any(i int, c *capRule) (int, *fault) {
	b := w.b
	switch b[i] {
	case '{':
		return w.object(nil, i, c)
	case '[':
		return w.list(nil, i, c)
	case '"':
		end, esc := jsonscan.StringEnd(b, i)
		if c != nil && stringExceeds(b[i:end], esc, c.max) {
			return 0, c.fault(b[i:end])
		}
		w.emit(b[i:end])
		return end, nil
	}
	end := jsonscan.ValueEnd(b, i)
	if c != nil && isNumber(b[i]) && exceeds(b[i:end], c.max) {
		return 0, c.fault(b[i:end])
	}
	w.emit(b[i:end])
	return end, nil
}

// stringExceeds reports whether the JSON string s (quotes included) reads as
// a number greater than max. Escapes are decoded first, by encoding/json, so
// that "1\u00300000" is 100000 here as it is to the upstream.
func stringExceeds(s []byte, esc bool, max int) bool {
	f, err := strconv.ParseFloat(unquote(s, esc), 64)
	return err == nil && f > float64(max)
}

// list walks the list at b[i], each item against elem (nil: any).
func (w *walker) list(elem *ast.Type, i int, c *capRule) (int, *fault) {
	b := w.b
	w.emitByte('[')
	i = jsonscan.SkipSpace(b, i+1)
	for n := 0; b[i] != ']'; n++ {
		if n == w.l.maxList {
			return 0, w.tooLong(i, n)
		}
		if n > 0 {
			w.emitByte(',')
		}
		end, f := w.value(elem, i, false, c)
		if f != nil {
			return 0, f.at("[" + strconv.Itoa(n) + "]")
		}
		i = jsonscan.SkipSpace(b, end)
		if b[i] == ',' {
			i = jsonscan.SkipSpace(b, i+1)
		}
	}
	w.emitByte(']')
	return i + 1, nil
}

// tooLong is the refusal of a list that has n items before b[i] and more
// from there on; it counts them all so that the message says how many.
func (w *walker) tooLong(i, n int) *fault {
	b := w.b
	for b[i] != ']' {
		n++
		i = jsonscan.SkipSpace(b, jsonscan.ValueEnd(b, i))
		if b[i] == ',' {
			i = jsonscan.SkipSpace(b, i+1)
		}
	}
	return exceeded(" has " + strconv.Itoa(n) + " items; the limit is " + strconv.Itoa(w.l.maxList) + " (limits.max_list_length)")
}

// object walks the object at b[i]: against def's fields when def is an input
// object, else as any value. c caps every member; without it, members may
// have caps of their own (see walker). Keys may not repeat: JSON parsers
// disagree on which of two values wins, so a repeated key could show the
// gateway one value and the upstream another.
func (w *walker) object(def *ast.Definition, i int, c *capRule) (int, *fault) {
	b := w.b
	var keys keySet
	w.emitByte('{')
	i = jsonscan.SkipSpace(b, i+1)
	for n := 0; b[i] != '}'; n++ {
		kEnd, esc := jsonscan.StringEnd(b, i)
		key := b[i:kEnd]
		if keys.add(key, esc) {
			return 0, invalid(" has the key " + clip(key) + " more than once")
		}
		var fd *ast.FieldDefinition
		var typ *ast.Type
		if def != nil {
			if fd = inputField(def, key, esc); fd != nil {
				typ = fd.Type
			}
		}
		mc := c
		if mc == nil && w.members {
			mc = w.memberCap(fd, key, esc)
		}
		if n > 0 {
			w.emitByte(',')
		}
		w.emit(key)
		w.emitByte(':')
		vi := jsonscan.SkipSpace(b, jsonscan.SkipSpace(b, kEnd)+1)
		end, f := w.value(typ, vi, true, mc)
		if f != nil {
			return 0, f.at(segment(unquote(key, esc)))
		}
		i = jsonscan.SkipSpace(b, end)
		if b[i] == ',' {
			i = jsonscan.SkipSpace(b, i+1)
		}
	}
	w.emitByte('}')
	return i + 1, nil
}

// memberCap returns the cap of an object member named by the JSON string
// key, fd being its input field (nil when not known): Limits.memberRule.
func (w *walker) memberCap(fd *ast.FieldDefinition, key []byte, esc bool) *capRule {
	if fd != nil || w.l.schema != nil {
		return w.l.memberRule(fd, "")
	}
	if esc {
		return w.l.names[unquote(key, true)]
	}
	return w.l.names[string(key[1:len(key)-1])] // a map index: no allocation
}

// inputField returns def's field named by the JSON string key; nil for a
// field def does not have (gqlparser's coercion refuses those).
func inputField(def *ast.Definition, key []byte, esc bool) *ast.FieldDefinition {
	for _, fd := range def.Fields {
		if sameKey(key, esc, fd.Name) {
			return fd
		}
	}
	return nil
}
