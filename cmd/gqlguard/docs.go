package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/documents/capture"
	"github.com/gqlguard/gqlguard/documents/check"
	"github.com/gqlguard/gqlguard/documents/dirstore"
	"github.com/gqlguard/gqlguard/documents/manifest"
	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/server"
)

const docsUsage = `usage: gqlguard docs COMMAND

  hash FILE...                          print the document id (sha256:…) of each file
  manifest DIR                          write an Apollo persisted query manifest of DIR's .graphql files
  check [--schema S] [-c CONFIG] [--format text|json] MANIFEST|DIR
                                        validate documents against the schema and the safety rules
                                        (without a schema, warns that validation was skipped)
  usage --schema S [--format text|json] MANIFEST|DIR
                                        which schema fields each document uses, and which none uses
  push --url URL (--token T | --cert F --key F) [--cacert F] MANIFEST|DIR
                                        register documents with a gateway's admin API
  captured [-c CONFIG] [--dir D]        list the documents recorded in capture mode
  promote [-c CONFIG] [--dir D] [--store S] [--force] HASH...|--all
                                        move captured documents into the trusted store,
                                        once they pass the schema and the safety rules
`

// cmdDocs runs the trusted-document tools for CI and operators.
func cmdDocs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, docsUsage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"hash": docsHash, "manifest": docsManifest, "check": docsCheck, "usage": docsUsageCmd,
		"push": docsPush, "captured": docsCaptured, "promote": docsPromote,
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, docsUsage)
		return 0
	}
	run, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "gqlguard docs: unknown command %q\n\n%s", args[0], docsUsage)
		return 2
	}
	return run(ctx, args[1:], stdout, stderr)
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "gqlguard: %v\n", err)
	return 1
}

func docsHash(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: gqlguard docs hash FILE...")
		return 2
	}
	for _, path := range args {
		data, err := os.ReadFile(path)
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "%s  %s\n", documents.SHA256(string(data)), path)
	}
	return 0
}

func docsManifest(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: gqlguard docs manifest DIR")
		return 2
	}
	entries, err := manifest.ReadDir(args[0])
	if err != nil {
		return fail(stderr, err)
	}
	if err := manifest.WriteApollo(stdout, entries); err != nil {
		return fail(stderr, err)
	}
	return 0
}

// readDocuments reads a manifest file, a folder, or .graphql files, with the
// file each document came from.
func readDocuments(paths []string) ([]check.Input, error) {
	var inputs []check.Input
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		var entries []documents.Entry
		switch {
		case st.IsDir():
			entries, err = manifest.ReadDir(p)
		case strings.HasSuffix(p, ".graphql") || strings.HasSuffix(p, ".gql"):
			entries, err = manifest.FromFiles([]string{p})
		default:
			entries, _, err = manifest.ReadFile(p)
		}
		if err != nil {
			return nil, err
		}
		files := map[documents.ID]string{}
		if st.IsDir() {
			files = filesByID(p)
		}
		for _, e := range entries {
			file := files[e.ID]
			if file == "" {
				file = p
			}
			inputs = append(inputs, check.Input{Entry: e, File: file})
		}
	}
	return inputs, nil
}

// filesByID maps the documents of a folder to their files, so that reports
// name the file a finding is in.
func filesByID(dir string) map[documents.ID]string {
	out := map[documents.ID]string{}
	names, _ := filepath.Glob(filepath.Join(dir, "*.graphql"))
	for _, path := range names {
		if id, err := documents.ParseID(strings.TrimSuffix(filepath.Base(path), ".graphql")); err == nil {
			out[id] = path
			continue
		}
		if data, err := os.ReadFile(path); err == nil {
			out[documents.SHA256(string(data))] = path
		}
	}
	return out
}

func docsCheck(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("docs check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	schemaPath := fs.String("schema", "", "the upstream's schema (SDL `file` or folder); default the config's documents.schema")
	cfgFile := fs.String("c", "", "gqlguard config `file` for the rules and limits (default: the defaults)")
	format := fs.String("format", "text", "report `format`: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 || (*format != "text" && *format != "json") {
		fmt.Fprintln(stderr, "usage: gqlguard docs check --schema SCHEMA.graphql [-c CONFIG] [--format text|json] MANIFEST|DIR...")
		return 2
	}
	cfg, err := docsConfig(*cfgFile)
	if err != nil {
		return fail(stderr, err)
	}
	rules := server.RegistrationRules(cfg)
	inputs, err := readDocuments(fs.Args())
	if err != nil {
		return fail(stderr, err)
	}
	if *schemaPath == "" {
		*schemaPath = cfg.Documents.Schema
	}
	schema, err := loadSchema(*schemaPath)
	if err != nil {
		return fail(stderr, err)
	}
	if schema == nil {
		// A CI job that lost its --schema must not pass silently: an ok
		// without a schema says nothing about fields the upstream lacks.
		fmt.Fprintln(stderr, "gqlguard: warning: schema validation skipped: no --schema given and no documents.schema in the config; only the safety rules were checked")
	}
	report := check.Check(schema, inputs, rules)
	if *format == "json" {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		return fail(stderr, err)
	}
	if report.Failed() {
		return 1
	}
	return 0
}

func loadSchema(path string) (*ast.Schema, error) {
	if path == "" {
		return nil, nil
	}
	return check.LoadSchema(path)
}

func docsUsageCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("docs usage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	schemaPath := fs.String("schema", "", "the upstream's schema (SDL `file` or folder)")
	format := fs.String("format", "text", "report `format`: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *schemaPath == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: gqlguard docs usage --schema SCHEMA.graphql [--format text|json] MANIFEST|DIR...")
		return 2
	}
	inputs, err := readDocuments(fs.Args())
	if err != nil {
		return fail(stderr, err)
	}
	schema, err := check.LoadSchema(*schemaPath)
	if err != nil {
		return fail(stderr, err)
	}
	u := check.Usage(schema, inputs)
	if *format == "json" {
		err = u.WriteJSON(stdout)
	} else {
		err = u.WriteText(stdout)
	}
	if err != nil {
		return fail(stderr, err)
	}
	return 0
}

func docsPush(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("docs push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "the gateway's admin API `URL`, e.g. http://127.0.0.1:9090/v1/documents")
	token := fs.String("token", os.Getenv("GQLGUARD_ADMIN_TOKEN"), "admin bearer `token` (default $GQLGUARD_ADMIN_TOKEN)")
	cacert := fs.String("cacert", "", "PEM `file` of CAs to trust for an https URL")
	cert := fs.String("cert", "", "PEM client certificate `file` for an admin listener with admin.tls.client_ca_file")
	key := fs.String("key", "", "PEM private key `file` of --cert")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *url != "" && *token == "" && *cert == "" && fs.NArg() > 0 {
		fmt.Fprintln(stderr, "gqlguard docs push: no credential: --token is empty and $GQLGUARD_ADMIN_TOKEN is unset (or give --cert and --key)")
		return 2
	}
	if *url == "" || (*token == "" && *cert == "") || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: gqlguard docs push --url URL (--token TOKEN | --cert FILE --key FILE) [--cacert FILE] MANIFEST|DIR...")
		return 2
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(stderr, "gqlguard docs push: --cert and --key go together; set both")
		return 2
	}
	inputs, err := readDocuments(fs.Args())
	if err != nil {
		return fail(stderr, err)
	}
	entries := make([]documents.Entry, len(inputs))
	for i, in := range inputs {
		entries[i] = in.Entry
	}
	// The metadata sidecars of a folder travel with their documents;
	// documents without any keep what the gateway has stored for them.
	var body bytes.Buffer
	if err := manifest.WriteRegistration(&body, entries); err != nil {
		return fail(stderr, err)
	}
	client, err := pushClient(*cacert, *cert, *key)
	if err != nil {
		return fail(stderr, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, *url, &body)
	if err != nil {
		return fail(stderr, err)
	}
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return fail(stderr, err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		var e struct{ Error, Code string }
		_ = json.Unmarshal(answer, &e)
		status := res.Status
		if e.Code != "" {
			status += ", " + e.Code
		}
		reason := e.Error
		if reason == "" {
			// Not the registration API's answer: a wrong --url, or
			// something else in front of the gateway.
			reason = "the answer is not the registration API's; is --url the admin API's /v1/documents?"
			if res.StatusCode == http.StatusNotFound {
				reason = "no registration API at this URL; the admin API serves it at /v1/documents"
			}
		}
		return fail(stderr, fmt.Errorf("the gateway refused the documents (%s): %s", status, reason))
	}
	fmt.Fprintf(stdout, "registered %d documents\n", len(entries))
	return 0
}

// pushClient is the HTTP client of docs push: it trusts the CAs in cacert
// (the system roots when empty) and presents the client certificate in
// certFile and keyFile, when given.
func pushClient(cacert, certFile, keyFile string) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cacert != "" {
		pool, err := capool.Read(cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		tc.RootCAs = pool
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert and --key: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: tc}}, nil
}

// docsConfig reads a config file for the documents, limits and rules
// sections, or returns the defaults; a config used only for these need not
// name an upstream.
func docsConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.Default(), nil
	}
	return config.Load(file, os.LookupEnv, func(c *config.Config) {
		if c.Upstream.URL == "" {
			c.Upstream.URL = "http://127.0.0.1/"
		}
	})
}

func docsCaptured(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("docs captured", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("c", "", "gqlguard config `file` (for documents.capture.dir)")
	dir := fs.String("dir", "", "capture `folder` (overrides the config)")
	format := fs.String("format", "text", "`format`: text or json")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := docsConfig(*cfgFile)
	if err != nil {
		return fail(stderr, err)
	}
	if *dir == "" {
		*dir = cfg.Documents.Capture.Dir
	}
	recs, err := capture.Read(*dir)
	if err != nil {
		return fail(stderr, err)
	}
	if _, err := os.Stat(*dir); errors.Is(err, os.ErrNotExist) {
		// Nothing captured yet, or the wrong folder: either way, say so.
		fmt.Fprintf(stderr, "warning: there is no folder %s: nothing was captured there (check --dir or documents.capture.dir)\n", *dir)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if recs == nil {
			recs = []capture.Record{}
		}
		if err := enc.Encode(recs); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOPERATIONS\tCLIENTS\tCOUNT\tFIRST SEEN\tLAST SEEN")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, dash(strings.Join(r.OperationNames, ",")), dash(strings.Join(r.Clients, ",")),
			r.Count, r.FirstSeen.UTC().Format(time.RFC3339), r.LastSeen.UTC().Format(time.RFC3339))
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d captured documents in %s\n", len(recs), *dir)
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func docsPromote(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("docs promote", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("c", "", "gqlguard config `file` (for documents.dir and documents.capture.dir)")
	dir := fs.String("dir", "", "capture `folder` (overrides the config)")
	storeDir := fs.String("store", "", "trusted document `folder` (overrides the config)")
	all := fs.Bool("all", false, "promote every captured document")
	force := fs.Bool("force", false, "promote documents that fail the schema or the safety rules too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *all == (fs.NArg() > 0) {
		fmt.Fprintln(stderr, "usage: gqlguard docs promote [-c CONFIG] [--force] HASH...|--all")
		return 2
	}
	cfg, err := docsConfig(*cfgFile)
	if err != nil {
		return fail(stderr, err)
	}
	if *dir == "" {
		*dir = cfg.Documents.Capture.Dir
	}
	if *storeDir == "" {
		*storeDir = cfg.Documents.Dir
	}
	var ids []documents.ID
	for _, a := range fs.Args() {
		id, err := documents.ParseID(a)
		if err != nil {
			return fail(stderr, err)
		}
		ids = append(ids, id)
	}
	schema, err := loadSchema(cfg.Documents.Schema)
	if err != nil {
		return fail(stderr, fmt.Errorf("documents.schema: %w", err))
	}
	if schema == nil {
		fmt.Fprintln(stderr, "gqlguard: warning: documents.schema is not set: the documents are not validated against the upstream's schema, only against the safety rules")
	}
	store, err := dirstore.Open(*storeDir, dirstore.Options{})
	if err != nil {
		return fail(stderr, err)
	}
	captureDir, rules := *dir, server.RegistrationRules(cfg)
	promoted, err := capture.Promote(ctx, *dir, store, ids, func(entries []documents.Entry) error {
		return checkCaptured(stderr, schema, rules, captureDir, entries, *force)
	})
	if err != nil {
		return fail(stderr, err)
	}
	if len(promoted) == 0 {
		return fail(stderr, errors.New("nothing to promote"))
	}
	for _, id := range promoted {
		fmt.Fprintf(stdout, "promoted %s\n", id)
	}
	fmt.Fprintf(stdout, "%d documents are now trusted in %s\n", len(promoted), *storeDir)
	return 0
}

// errRefused ends a promotion the checks refused; the report is printed.
var errRefused = errors.New("nothing was promoted: fix the documents above, promote the others by their ids, or use --force to promote them anyway")

// checkCaptured runs the checks a registration runs on captured documents:
// the schema (when there is one) and the safety rules. A failure prints the
// report to w and refuses the promotion, unless force.
func checkCaptured(w io.Writer, schema *ast.Schema, rules check.Rules, dir string, entries []documents.Entry, force bool) error {
	report := check.Entries(schema, entries, rules, func(id documents.ID) string { return capture.TextPath(dir, id) })
	if !report.Failed() {
		return nil
	}
	if err := report.WriteText(w); err != nil {
		return err
	}
	if !force {
		return errRefused
	}
	fmt.Fprintln(w, "gqlguard: warning: promoting documents that fail the checks (--force)")
	return nil
}
