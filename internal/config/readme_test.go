package config

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestReadmeNamesEveryKey keeps the config reference (docs/configuration.md) complete: every
// key of the defaults must appear in it.
func TestReadmeNamesEveryKey(t *testing.T) {
	readme, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind == yaml.DocumentNode {
			walk(n.Content[0], path)
			return
		}
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if !strings.Contains(string(readme), key+":") {
				t.Errorf("docs/configuration.md lacks %s%s", path, key)
			}
			walk(n.Content[i+1], path+key+".")
		}
	}
	walk(&doc, "")
}
