// Package multipartbody reads multipart/form-data request bodies for the
// test upstreams that check what the gateway forwards with a file upload.
package multipartbody

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
)

// Part is one part of a multipart body as an upstream received it.
type Part struct {
	Name, Filename, ContentType, Body string
}

// Read parses r's multipart body, every part in order.
func Read(r *http.Request) ([]Part, error) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var parts []Part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return parts, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return parts, err
		}
		parts = append(parts, Part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
	}
}
