package envelope

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEErrorTableIsTheContract checks that the README's error table
// lists exactly the codes of the contract, each with its contract status
// in the status column.
func TestREADMEErrorTableIsTheContract(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n### Errors\n")
	if !ok {
		t.Fatal("README.md has no ### Errors section")
	}
	table, _, _ = strings.Cut(table, "\n### ")
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| ([^|]*) \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		code := Code(m[1])
		documented = append(documented, m[1])
		c, ok := contract[code]
		if !ok {
			t.Errorf("README lists %s, which is not a code of the contract", code)
			continue
		}
		if !regexp.MustCompile(`\b` + strconv.Itoa(c.status) + `\b`).MatchString(m[2]) {
			t.Errorf("README gives %s the status %q, without the contract's %d", code, m[2], c.status)
		}
	}
	for code := range contract {
		if !slices.Contains(documented, string(code)) {
			t.Errorf("the README's error table lacks %s", code)
		}
	}
}
