package check

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// sdlExtensions are the file names a schema folder is read for.
var sdlExtensions = []string{".graphql", ".graphqls", ".gql"}

// LoadSchema reads a schema from SDL files; a folder stands for the
// .graphql, .graphqls and .gql files in it. The files together must make one
// valid schema.
func LoadSchema(paths ...string) (*ast.Schema, error) {
	if len(paths) == 0 {
		return nil, errors.New("load schema: no SDL file given")
	}
	var sources []*ast.Source
	for _, p := range paths {
		files, err := sdlFiles(p)
		if err != nil {
			return nil, fmt.Errorf("load schema: %w", err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("load schema: %w", err)
			}
			sources = append(sources, &ast.Source{Name: f, Input: string(b)})
		}
	}
	s, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		return nil, fmt.Errorf("load schema: %w", err)
	}
	return s, nil
}

// sdlFiles returns path itself, or the SDL files of the folder path in
// name order.
func sdlFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(sdlExtensions, filepath.Ext(e.Name())) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no .graphql, .graphqls or .gql file", path)
	}
	return files, nil
}
