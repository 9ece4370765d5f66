package identity

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The anonymous user_payload is a struct for speed; it must encode exactly
// as the map of IBM's tutorial, so tokens stay what they were.
func TestAnonymousPayloadEncodesAsTheMap(t *testing.T) {
	for _, id := range []string{"anon-6ba7b810-9dad-41d1-80b4-00c04fd430c8", "odd<&>'id", ""} {
		encode := func(v any) []byte {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // as claims encodes user_payload
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		got := encode(anonymousPayload{CustomUserID: id, Name: "Anonymous"})
		want := encode(map[string]string{"name": "Anonymous", "custom_user_id": id})
		if !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
		p, ok := (&Server{}).userPayload(id, nil).(anonymousPayload)
		if !ok || p.CustomUserID != id || p.Name != "Anonymous" {
			t.Errorf("userPayload(%q, nil): got %#v", id, p)
		}
	}
}
