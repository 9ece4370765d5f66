package identity

import (
	"strings"
	"testing"
)

func TestPrefersJSON(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"text/plain", false},
		{"text/html", false},
		{"application/json", true},
		{"Application/JSON", true},
		{" application/json ; charset=utf-8", true},
		{"application/json;q=0", false},
		{"application/json;q=0.000", false},
		{"application/json, text/plain", false}, // tie: text/plain
		{"text/plain, application/json", false}, // tie: text/plain
		{"application/json, text/plain;q=0.9", true},
		{"text/plain;q=0.9, application/json;q=1.0", true},
		{"application/*", true},
		{"application/*;q=0.5, text/*;q=0.4", true},
		{"application/*;q=0.5, text/plain;q=0.6", false},
		{"*/*;q=0.8, application/json", true},
		{"application/json;q=0.5, */*", false}, // */* also covers text/plain at 1
		{"text/plain;q=0, */*", true},          // text/plain refused, JSON through */*
		{"application/json;q=2", false},        // malformed q cannot win
		{"application/json;q=abc", false},
		{"application/json;q=0.5;q=1", true},
		{"application/json;level=1;q=0.9, text/plain;q=0.8", true},
		{",,,", false},
		{"application", false},
		{"/json", false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			if got := prefersJSON(tt.accept); got != tt.want {
				t.Errorf("prefersJSON(%q): got %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}

func FuzzPrefersJSON(f *testing.F) {
	for _, s := range []string{
		"", "*/*", "application/json", "application/json;q=0", "text/plain, application/json",
		"application/*;q=0.5, text/*;q=0.4", "application/json;q=1.", "a/b;q=", ";;;,,,/", "application/json;q=0.5;q=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := prefersJSON(accept)
		if got != prefersJSON(accept) {
			t.Fatal("not deterministic")
		}
		if got && !strings.Contains(strings.ToLower(accept), "application/") && !strings.Contains(accept, "*/*") {
			t.Fatalf("prefersJSON(%q) is true without any range covering application/json", accept)
		}
		// Accepting text/plain fully always keeps the tutorial's answer.
		if prefersJSON(accept + ",text/plain") {
			t.Fatalf("prefersJSON(%q + \",text/plain\") is true", accept)
		}
	})
}
