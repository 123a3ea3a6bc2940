package check

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/gqlguard/gqlguard/documents"
)

// Counts returns the number of error and warning findings.
func (r Report) Counts() (errors, warnings int) {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}

// WriteText writes r for people: one finding per line as
//
//	file:line:col: operation: rule: message
//
// (with "(warning)" after the rule of a warning), then the estimated cost of
// every operation, highest first, then a summary line.
func (r Report) WriteText(w io.Writer) error {
	var b bytes.Buffer
	for _, f := range r.Findings {
		b.WriteString(f.where())
		if f.Rule != RuleParse {
			b.WriteString(": ")
			b.WriteString(operationName(f.Operation))
		}
		b.WriteString(": ")
		b.WriteString(f.Rule)
		if f.Severity == SeverityWarning {
			b.WriteString(" (warning)")
		}
		b.WriteString(": ")
		b.WriteString(f.Message)
		b.WriteByte('\n')
	}
	if len(r.Costs) > 0 {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("estimated cost per operation, highest first:\n")
		costs := slices.Clone(r.Costs)
		slices.SortStableFunc(costs, func(a, b Cost) int { return cmp.Compare(b.Cost, a.Cost) })
		width := len(strconv.Itoa(costs[0].Cost))
		for _, c := range costs {
			fmt.Fprintf(&b, "  %*d  %s: %s\n", width, c.Cost, source(c.File, c.Document), operationName(c.Operation))
		}
	}
	errs, warns := r.Counts()
	verdict := "ok"
	if r.Failed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "\n%s: %s, %s, %s\n", verdict, plural(r.Documents, "document"), plural(errs, "error"), plural(warns, "warning"))
	_, err := w.Write(b.Bytes())
	return err
}

// jsonReport is the machine format of a Report; its field names are stable.
type jsonReport struct {
	Documents int       `json:"documents"`
	Failed    bool      `json:"failed"`
	Errors    int       `json:"errors"`
	Warnings  int       `json:"warnings"`
	Findings  []Finding `json:"findings"`
	Costs     []Cost    `json:"costs"`
}

// WriteJSON writes r as one indented JSON object with the fields documents,
// failed, errors, warnings, findings (rule, severity, document, file,
// operation, line, column, message) and costs (document, file, operation,
// cost).
func (r Report) WriteJSON(w io.Writer) error {
	errs, warns := r.Counts()
	out := jsonReport{
		Documents: r.Documents,
		Failed:    r.Failed(),
		Errors:    errs,
		Warnings:  warns,
		Findings:  r.Findings,
		Costs:     r.Costs,
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	if out.Costs == nil {
		out.Costs = []Cost{}
	}
	return writeJSON(w, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// where is the file:line:col of f, the document id standing in for an
// unknown file.
func (f Finding) where() string {
	s := source(f.File, f.Document)
	if f.Line > 0 {
		s += ":" + strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Column)
	}
	return s
}

func source(file string, id documents.ID) string {
	if file != "" {
		return file
	}
	return string(id)
}

func operationName(name string) string {
	if name == "" {
		return "(anonymous)"
	}
	return name
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
