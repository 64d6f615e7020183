package httpx

import (
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ringo-io/ringo/reactor"
)

// A handler that sends gzip-encoded content and sets no Content-Type: net/http does not sniff
// a body with a Content-Encoding (golang/go#31753), so the client does not take the decoded
// page for a gzip file. FromHTTP sniffed "application/x-gzip".
func TestFromHTTPNoSniffWithContentEncoding(t *testing.T) {
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, "<html><body>hello</body></html>")
	zw.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zb.Bytes())
	})
	get := func(t *testing.T, url string) string {
		tr := &http.Transport{DisableCompression: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		_, has := resp.Header["Content-Type"]
		if has {
			return resp.Header.Get("Content-Type")
		}
		return "<none>"
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Start()
	defer ts.Close()
	want := get(t, ts.URL)
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		_, addr := adapterServer(t, b, h)
		if got := get(t, "http://"+addr+"/"); got != want {
			t.Fatalf("Content-Type %q, net/http %q", got, want)
		}
	})
}
