package envelope

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestErrorTableIsTheContract checks that the error table of docs/errors.md
// lists exactly the codes of the contract, each once, with its contract
// status in the status column, and "200 for legacy clients" exactly where
// the code is a GraphQL request error.
func TestErrorTableIsTheContract(t *testing.T) {
	b, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| ([^|]*) \\|")
	rows := row.FindAllStringSubmatch(string(b), -1)
	if len(rows) == 0 {
		t.Fatal("docs/errors.md has no error table")
	}
	var documented []string
	for _, m := range rows {
		code := Code(m[1])
		if slices.Contains(documented, m[1]) {
			t.Errorf("docs/errors.md lists %s twice", code)
		}
		documented = append(documented, m[1])
		c, ok := contract[code]
		if !ok {
			t.Errorf("docs/errors.md lists %s, which is not a code of the contract", code)
			continue
		}
		if !regexp.MustCompile(`\b` + strconv.Itoa(c.status) + `\b`).MatchString(m[2]) {
			t.Errorf("docs/errors.md gives %s the status %q, without the contract's %d", code, m[2], c.status)
		}
		if legacy := strings.Contains(m[2], "200 for legacy clients"); legacy != c.requestError {
			t.Errorf("docs/errors.md gives %s the status %q, but its 200 for legacy clients is %v in the contract", code, m[2], c.requestError)
		}
	}
	for code := range contract {
		if !slices.Contains(documented, string(code)) {
			t.Errorf("the error table of docs/errors.md lacks %s", code)
		}
	}
}

// TestEveryCodeIsInTheContract checks that every Code constant declared in
// this package has a contract status, so that a new code cannot skip the
// contract, and with it the documented table, above.
func TestEveryCodeIsInTheContract(t *testing.T) {
	declared := declaredCodes(t)
	for _, code := range declared {
		if _, ok := contract[Code(code)]; !ok {
			t.Errorf("the code %s has no status in the contract", code)
		}
	}
	if len(declared) != len(contract) {
		t.Errorf("%d Code constants, %d codes in the contract", len(declared), len(contract))
	}
}

// declaredCodes returns the values of the Code constants in the package's
// source.
func declaredCodes(t *testing.T) []string {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				return false
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					t.Errorf("%s: a Code constant whose value is not a literal", fset.Position(v.Pos()))
					continue
				}
				code, _ := strconv.Unquote(lit.Value)
				codes = append(codes, code)
			}
			return false
		})
	}
	return codes
}
