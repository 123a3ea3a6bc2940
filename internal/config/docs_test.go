package config

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// referencePage is the config reference: its YAML shows every key with its
// default.
const referencePage = "../../docs/configuration.md"

// TestReferenceShowsTheRealDefaults parses every YAML block of the config
// reference as a config file is parsed (strictly: an unknown key fails) and
// checks that what it documents is exactly Default(): every value, and every
// key once, so that an edited default or a key left out or shown twice
// fails.
func TestReferenceShowsTheRealDefaults(t *testing.T) {
	blocks := yamlBlocks(t, referencePage)
	if len(blocks) == 0 {
		t.Fatalf("%s has no yaml block", referencePage)
	}
	want := flatten(t, Default())
	documented := map[string]int{}
	for i, block := range blocks {
		// The defaults leave upstream.url empty, which validation refuses;
		// it is set after decoding, and put back before comparing.
		cfg, err := Parse([]byte(block), func(string) (string, bool) { return "", false }, func(c *Config) {
			if c.Upstream.URL == "" {
				c.Upstream.URL = "http://127.0.0.1:4000/graphql"
			}
		})
		if err != nil {
			t.Errorf("yaml block %d of %s does not load:\n%v", i+1, referencePage, err)
			continue
		}
		cfg.Upstream.URL = ""
		got := flatten(t, cfg)
		for key, v := range want {
			if got[key] != v {
				t.Errorf("%s documents %s: %s, but its default is %s", referencePage, key, got[key], v)
			}
		}
		for _, key := range keys(t, []byte(block)) {
			documented[key]++
		}
	}
	for key := range want {
		if n := documented[key]; n != 1 {
			t.Errorf("%s documents %s %d times, want once", referencePage, key, n)
		}
	}
	for key := range documented {
		if _, ok := want[key]; !ok {
			t.Errorf("%s documents %s, which is no key of the defaults", referencePage, key)
		}
	}
}

// yamlBlocks returns the text of every ```yaml block of the Markdown file.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```yaml\n(.*?)^```$").FindAllStringSubmatch(string(b), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// flatten returns cfg's keys, as dotted paths, with their values as YAML:
// a mapping's entries each under their own path, a list whole.
func flatten(t *testing.T, cfg *Config) map[string]string {
	t.Helper()
	out, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	flat := map[string]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind == yaml.MappingNode {
			if len(n.Content) == 0 {
				flat[strings.TrimSuffix(path, ".")] = "{}"
			}
			for i := 0; i < len(n.Content); i += 2 {
				walk(n.Content[i+1], path+n.Content[i].Value+".")
			}
			return
		}
		n.Style = yaml.FlowStyle
		b, err := yaml.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		flat[strings.TrimSuffix(path, ".")] = strings.TrimSpace(string(b))
	}
	walk(doc.Content[0], "")
	return flat
}

// keys returns the dotted path of every key in data, with a mapping's
// entries each under their own path, in the order written.
func keys(t *testing.T, data []byte) []string {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i < len(n.Content); i += 2 {
			key := path + n.Content[i].Value
			if v := n.Content[i+1]; v.Kind != yaml.MappingNode || len(v.Content) == 0 {
				out = append(out, key)
				continue
			}
			walk(n.Content[i+1], key+".")
		}
	}
	walk(doc.Content[0], "")
	return out
}
