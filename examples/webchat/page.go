package main

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed templates/index.html
var pageFS embed.FS

//go:embed static
var staticFS embed.FS

var pageTemplate = template.Must(template.ParseFS(pageFS, "templates/index.html"))

// ibmCDN is where IBM serves web chat's entry script.
const ibmCDN = "https://web-chat.global.assistant.watson.appdomain.cloud"

// pageCSP is the stand-in page's policy: nothing inline, nothing from
// elsewhere. webchatid.js and the page's own files are all it needs.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ibmPageCSP opens the policy to IBM's hosts for the real web chat, which
// loads its code from IBM's CDN, injects styles and talks to the region's
// integrations host. No IBM page listing these hosts was found, so this is our
// reading, not IBM's: check the browser console for violations before copying it.
const ibmPageCSP = "default-src 'none'; script-src 'self' " + ibmCDN + "; " +
	"style-src 'self' 'unsafe-inline' " + ibmCDN + "; font-src 'self' data: " + ibmCDN + "; " +
	"connect-src 'self' https://*.assistant.watson.appdomain.cloud wss://*.assistant.watson.appdomain.cloud; " +
	"img-src 'self' data: https:; frame-src https://*.assistant.watson.appdomain.cloud; media-src 'self' https:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type pageData struct {
	IBM                                      bool
	IntegrationID, Region, ServiceInstanceID string
	TTL                                      time.Duration
	SessionEnd                               string // webchatid.js's data-session-end
	AskRotation                              bool   // show the "shared device" box
}

// pageHandler renders the page once; it does not change while the demo runs.
func pageHandler(data pageData) (http.Handler, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	csp := pageCSP
	if data.IBM {
		csp = ibmPageCSP
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header(), csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	}), nil
}

func setPageHeaders(h http.Header, csp string) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// staticHandler serves the page's script and style files.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix("/static", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		setPageHeaders(w.Header(), pageCSP)
		files.ServeHTTP(w, r)
	}))
}
