package proxy

import (
	"bytes"
	"mime/multipart"
	"net/textproto"

	"github.com/gqlguard/gqlguard/envelope"
)

// encodeUploads writes the body of a file upload for the upstream, as the
// GraphQL multipart request spec has it: the operations field (the requests
// as encodeBatch writes them, with null wherever a file goes), the map field
// as the client sent it, then each file with its name and content type. The
// boundary is fresh, never the client's. It returns the body and its
// Content-Type.
func encodeUploads(b *envelope.Batch) ([]byte, string, error) {
	ops := *b
	ops.Requests = make([]envelope.Request, len(b.Requests))
	for i, req := range b.Requests {
		vars, err := b.Uploads.Nulled(i, req.Variables)
		if err != nil {
			return nil, "", err
		}
		req.Variables = vars
		ops.Requests[i] = req
	}
	operations := encodeBatch(&ops)
	size := len(operations) + len(b.Uploads.Map) + 512
	for _, f := range b.Uploads.Files {
		size += len(f.Data) + len(f.Field) + len(f.Filename) + len(f.ContentType) + 128
	}
	var buf bytes.Buffer
	buf.Grow(size)
	mw := multipart.NewWriter(&buf)
	// Writes to a bytes.Buffer do not fail.
	_ = writePart(mw, textproto.MIMEHeader{"Content-Disposition": {`form-data; name="operations"`}}, operations)
	_ = writePart(mw, textproto.MIMEHeader{"Content-Disposition": {`form-data; name="map"`}}, b.Uploads.Map)
	for _, f := range b.Uploads.Files {
		h := textproto.MIMEHeader{"Content-Disposition": {multipart.FileContentDisposition(f.Field, f.Filename)}}
		if f.ContentType != "" {
			h["Content-Type"] = []string{f.ContentType}
		}
		_ = writePart(mw, h, f.Data)
	}
	_ = mw.Close()
	return buf.Bytes(), mw.FormDataContentType(), nil
}

func writePart(mw *multipart.Writer, h textproto.MIMEHeader, data []byte) error {
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
