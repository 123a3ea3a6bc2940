package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gqlguard/gqlguard/internal/config"
)

// cmdConfigCheck prints the effective configuration with secrets redacted,
// then one warning per weak choice. It exits 1 when the file is invalid.
func cmdConfigCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config `file` (YAML)")
	fs.StringVar(file, "config", "", "config `file` (YAML); same as -c")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "usage: gqlguard config check -c FILE")
		return 2
	}
	cfg, err := config.LoadChecked(*file, os.LookupEnv, []func(*config.Config) error{(*config.Config).CheckFiles})
	if err != nil {
		fmt.Fprintf(stderr, "gqlguard: %v\n", err)
		return 1
	}
	out, err := config.Marshal(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "gqlguard: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "# effective configuration of %s (secrets redacted)\n%s", *file, out)
	warnings := cfg.Warnings()
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stderr, "%s: valid, %d warning(s)\n", *file, len(warnings))
	return 0
}
