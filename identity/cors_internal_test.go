package identity

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"https://app.example.com", "https://app.example.com", ""},
		{"HTTPS://App.Example.COM", "https://app.example.com", ""},
		{"https://app.example.com:443", "https://app.example.com", ""},
		{"http://app.example.com:80", "http://app.example.com", ""},
		{"http://localhost:3000", "http://localhost:3000", ""},
		{"https://app.example.com:8443", "https://app.example.com:8443", ""},
		{"https://my_app.corp", "https://my_app.corp", ""}, // browsers send _ in hosts
		{"http://127.0.0.1:3001", "http://127.0.0.1:3001", ""},
		{"http://[::1]:3001", "http://[::1]:3001", ""},
		{"http://[::1]", "http://[::1]", ""},
		{"http://[::1]:80", "http://[::1]", ""},
		{"", "", "origin is empty"},
		{"*", "", `"*" is not allowed`},
		{"null", "", `"null" is not an origin`},
		{"app.example.com", "", "scheme must be http or https"},
		{"ftp://app.example.com", "", "scheme must be http or https"},
		{"https://", "", "host is required"},
		{"https:app.example.com", "", "host is required"},
		{"https://app.example.com/", "", "path is not allowed"},
		{"https://app.example.com/login", "", "path is not allowed"},
		{"https://app.example.com?x=1", "", "query and fragment"},
		{"https://app.example.com?", "", "query and fragment"},
		{"https://app.example.com#top", "", "query and fragment"},
		{"https://user@app.example.com", "", "user info"},
		{"https://app.example.com:0", "", "port must be 1 to 65535"},
		{"https://app.example.com:65536", "", "port must be 1 to 65535"},
		{"https://app.example.com:0443", "", "port must be 1 to 65535"},
		{"https://app.example.com:", "", "empty port"},
		{"https://*.example.com", "", "host must be ASCII"},
		{"http://::1", "", "host must be ASCII"},
		{"http://[::ffff:1.2.3.4]", "", "bad IPv6 literal"},
		{"https://bücher.example", "", "host must be ASCII"},
		{"https://app.example.com\n", "", "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseOrigin(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got %q, %v; want an error about %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com", "HTTP://A:80", "http://[::1]:3001", "https://a/", "*", "null",
		"https://a?", "https://a#", "https://u@a", "https://a:", "https://a:0443", "http://[fe80::1%25eth0]",
		"https://xn--bcher-kva.example", "http://a:65535", " https://a", "https://a\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseOrigin(s)
		if err != nil {
			if got != "" {
				t.Fatalf("got %q with error %v", got, err)
			}
			return
		}
		again, err := parseOrigin(got)
		if err != nil || again != got {
			t.Fatalf("parseOrigin(%q) = %q, but that parses to %q, %v", s, got, again, err)
		}
		u, err := url.Parse(got)
		if err != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Host == "" {
			t.Fatalf("parseOrigin(%q) = %q, which is not scheme://host[:port]", s, got)
		}
		if got != strings.ToLower(got) {
			t.Fatalf("parseOrigin(%q) = %q, not lowercase", s, got)
		}
	})
}
