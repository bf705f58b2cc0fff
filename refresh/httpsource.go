package refresh

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/tripleo-go/tripleo/config"
)

// maxMetadataBytes bounds a metadata document read over HTTP.
const maxMetadataBytes = 64 << 20

// httpDoc is the last good document fetched from a URL, with its
// validators.
type httpDoc struct {
	etag, lastModified string
	content            any
}

// fetchDoc GETs url, conditionally on prev's validators. It returns prev
// on 304 Not Modified, the new document on 200, and an error (never a
// partial document) on anything else: a transport error, another status, a
// truncated body or one that is not a JSON object.
func fetchDoc(ctx context.Context, client *http.Client, name, url string, prev *httpDoc, header http.Header) (doc *httpDoc, modified bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, &SourceError{Collector: name, Err: fmt.Errorf("%w: %w", ErrNotConfigured, err)}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if prev != nil {
		if prev.etag != "" {
			req.Header.Set("If-None-Match", prev.etag)
		}
		if prev.lastModified != "" {
			req.Header.Set("If-Modified-Since", prev.lastModified)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, false, unavailable(name, "%w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && prev != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return prev, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, false, unavailable(name, "GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return nil, false, unavailable(name, "GET %s: reading body: %w", url, err)
	}
	if len(body) > maxMetadataBytes {
		return nil, false, unavailable(name, "GET %s: metadata larger than %d bytes", url, maxMetadataBytes)
	}
	v, err := config.DecodeJSON(body)
	if err != nil {
		return nil, false, unavailable(name, "Failed to parse as json. (%w)", err)
	}
	if _, ok := v.(*config.Object); !ok {
		return nil, false, unavailable(name, "GET %s: metadata is not a JSON object", url)
	}
	return &httpDoc{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified"), content: v}, true, nil
}
