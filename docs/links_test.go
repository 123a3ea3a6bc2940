// Package docs holds the documentation pages; its test keeps their links
// working.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

var (
	link    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`^#{1,6} (.+)$`)
)

// TestRelativeLinksResolve checks that every relative link in README.md and
// the pages points at a file that exists and, with a #fragment, at one of
// its headings.
func TestRelativeLinksResolve(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join("..", "README.md"))
	if len(pages) < 2 {
		t.Fatal("no pages found")
	}
	for _, page := range pages {
		text, _ := prose(t, page)
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, fragment, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s links to %s, which does not exist", page, target)
				continue
			}
			if fragment == "" {
				continue
			}
			if _, anchors := prose(t, path); !anchors[fragment] {
				t.Errorf("%s links to %s, but %s has no heading #%s", page, target, path, fragment)
			}
		}
	}
}

// TestREADMELinksEveryPage checks that the README leads to every page.
func TestREADMELinksEveryPage(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	readme, _ := prose(t, filepath.Join("..", "README.md"))
	for _, page := range pages {
		if !strings.Contains(readme, "](docs/"+page+")") {
			t.Errorf("README.md does not link to docs/%s", page)
		}
	}
}

// prose returns the Markdown file's text outside fenced code blocks, and the
// anchors of its headings as GitHub makes them.
func prose(t *testing.T, path string) (string, map[string]bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	anchors := map[string]bool{}
	fenced := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		out.WriteString(line + "\n")
		if m := heading.FindStringSubmatch(line); m != nil {
			anchors[anchor(m[1])] = true
		}
	}
	return out.String(), anchors
}

// anchor is GitHub's id for a heading: lower case, without punctuation
// other than hyphens and underscores, spaces turned into hyphens.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
