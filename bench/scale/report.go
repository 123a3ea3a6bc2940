package main

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// report prints the results as a Markdown table.
func report(w io.Writer, results []result) {
	fmt.Fprintf(w, "gqlguard serve, folder store on local disk, %s %s/%s, %d CPUs\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintln(w, "| documents | folder opened in | moment | after start | VmRSS | VmHWM |")
	fmt.Fprintln(w, "| ---: | ---: | --- | ---: | ---: | ---: |")
	for _, r := range results {
		for i, p := range r.phases {
			docs, open := "", ""
			if i == 0 {
				docs, open = fmt.Sprint(r.docs), seconds(r.open)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", docs, open, p.name, seconds(p.at), mib(p.rss), mib(p.hwm))
		}
	}
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func mib(kb int64) string {
	return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
}
