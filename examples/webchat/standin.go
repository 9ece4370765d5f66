package main

import (
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webchatid/webchatid/claims"
)

// standin plays IBM's part when no IBM settings are given: for each message it
// checks the token as IBM's web chat service does (RS256 with the site's
// public key, exp enforced with no leeway, a header-safe sub, and a sub that
// stays the same within a web chat session), decrypts user_payload with the
// private half of the "IBM-provided public key", and answers with what an
// action would see.
type standin struct {
	verifyKey  func() crypto.PublicKey // the key IBM's Security tab holds
	payloadKey *rsa.PrivateKey         // nil when IBM's real public key encrypts user_payload
	log        *slog.Logger
	now        func() time.Time

	mu   sync.Mutex
	subs map[string]string // web chat session ID → the sub it started with

	expired    atomic.Int64 // expired tokens refused, shown to people and tests
	subChanges atomic.Int64 // tokens refused because their sub is not the session's
	messages   atomic.Int64
}

// sessionHeader carries the stand-in web chat's session ID (standin.js), as
// IBM's web chat ties each message to its session.
const sessionHeader = "X-Standin-Session"

// maxSessions bounds the stand-in's memory of sessions; it forgets them all
// when full (a demo, not a service).
const maxSessions = 10000

// standinAnswer mirrors the variables an action reads.
type standinAnswer struct {
	Output struct {
		Text string `json:"text"`
	} `json:"output"`
	SystemIntegrations struct {
		Channel struct {
			Private struct {
				User struct {
					ID string `json:"id"`
				} `json:"user"`
			} `json:"private"`
		} `json:"channel"`
		Chat struct {
			Private struct {
				UserPayload json.RawMessage `json:"user_payload,omitempty"`
			} `json:"private"`
		} `json:"chat"`
	} `json:"system_integrations"`
	StandIn standinStats `json:"stand_in"`
}

type standinStats struct {
	TokenExpiresAt       time.Time `json:"token_expires_at"`
	ExpiredTokensRefused int64     `json:"expired_tokens_refused"`
	SubChangesRefused    int64     `json:"sub_changes_refused"`
	MessagesAnswered     int64     `json:"messages_answered"`
	// UserPayload says what the stand-in could do with user_payload (one
	// of the payload* constants) and UserPayloadNote says it to people.
	UserPayload     string `json:"user_payload,omitempty"`
	UserPayloadNote string `json:"user_payload_note,omitempty"`
}

// What the stand-in did with a token's user_payload.
const (
	payloadClear       = "clear"      // sent signed but not encrypted
	payloadDecrypted   = "decrypted"  // encrypted with the stand-in's key pair, decrypted
	payloadUnreadable  = "unreadable" // encrypted for a key whose private half the stand-in lacks
	noteDecrypted      = "user_payload arrived encrypted; the stand-in decrypted it with the private half of its own key pair"
	noteUnreadable     = "user_payload arrived encrypted for the key given with -ibm-public-key; the stand-in does not hold its private half, so it cannot read it and does not know who is logged in (IBM would). Drop -ibm-public-key to let the stand-in decrypt with its own key pair, or give IBM's settings to chat with IBM"
	greetingUnreadable = "Hello! You said %q. Your user_payload is encrypted for IBM, so the stand-in cannot tell who you are. Here is what it sees:"
)

func (s *standin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" || token == "null" {
		s.refuse(w, "invalid_request", "no identity token")
		return
	}
	var msg struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&msg); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "body must be JSON {\"text\": …}"})
		return
	}

	tok, err := claims.Verify(token, s.verifyKey(), claims.WithLeeway(0), claims.WithClock(s.now))
	if err != nil {
		if isExpired(err) {
			n := s.expired.Add(1)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "stand-in: token expired; web chat will ask for a new one", slog.Int64("expired_tokens_refused", n))
			s.refuse(w, "invalid_token", "token expired")
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "stand-in: token refused", slog.String("error", err.Error()))
		s.refuse(w, "invalid_token", "token invalid")
		return
	}
	sub := tok.Subject()
	if err := headerSafe(sub); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "stand-in: sub refused", slog.String("error", err.Error()))
		s.refuse(w, "invalid_token", "sub is not usable in an HTTP header")
		return
	}
	// IBM: a session "cannot change to a JWT with a different sub claim".
	if !s.sameSub(r.Header.Get(sessionHeader), sub) {
		n := s.subChanges.Add(1)
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "stand-in: token refused: its sub is not the one this web chat session started with; end the session (destroySession and reload, or destroy and destroySession) before changing sub",
			slog.Int64("sub_changes_refused", n))
		s.refuse(w, "invalid_token", "sub changed within the session")
		return
	}

	var a standinAnswer
	a.SystemIntegrations.Channel.Private.User.ID = sub
	a.StandIn.TokenExpiresAt = tok.Expiration().UTC()
	name := "Anonymous"
	if v, ok := tok.Get(claims.UserPayloadClaim); ok {
		payload, status, err := s.userPayload(v)
		if err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelWarn, "stand-in: user_payload unreadable", slog.String("error", err.Error()))
			s.refuse(w, "invalid_token", "user_payload cannot be decrypted")
			return
		}
		a.SystemIntegrations.Chat.Private.UserPayload = payload
		a.StandIn.UserPayload = status
		switch status {
		case payloadDecrypted:
			a.StandIn.UserPayloadNote = noteDecrypted
		case payloadUnreadable:
			a.StandIn.UserPayloadNote = noteUnreadable
		}
		var p struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(payload, &p) == nil && p.Name != "" {
			name = p.Name
		}
	}
	a.StandIn.ExpiredTokensRefused = s.expired.Load()
	a.StandIn.SubChangesRefused = s.subChanges.Load()
	a.StandIn.MessagesAnswered = s.messages.Add(1)
	if a.StandIn.UserPayload == payloadUnreadable {
		a.Output.Text = fmt.Sprintf(greetingUnreadable, truncate(msg.Text, 80))
	} else {
		a.Output.Text = fmt.Sprintf("Hello %s! You said %q. Here is what an action sees:", name, truncate(msg.Text, 80))
	}
	writeJSON(w, http.StatusOK, a)
}

// sameSub reports whether sub is the sub the session started with,
// remembering it for a new session. Messages without a (well-formed) session
// ID, such as curl's, are not checked.
func (s *standin) sameSub(session, sub string) bool {
	if session == "" || len(session) > 64 || headerSafe(session) != nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil || len(s.subs) >= maxSessions {
		s.subs = make(map[string]string)
	}
	first, ok := s.subs[session]
	if !ok {
		s.subs[session] = sub
		return true
	}
	return first == sub
}

// userPayload returns the claim as JSON text and what the stand-in did with
// it: decrypted when it is a string encrypted with the stand-in's public key,
// as is when it is plain JSON, and nil when it is encrypted for a key the
// stand-in cannot decrypt with (IBM's real one).
func (s *standin) userPayload(v any) (json.RawMessage, string, error) {
	ciphertext, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		return b, payloadClear, err
	}
	if s.payloadKey == nil {
		return nil, payloadUnreadable, nil
	}
	plain, err := claims.DecryptUserPayload(s.payloadKey, ciphertext)
	if err != nil {
		return nil, payloadDecrypted, err
	}
	if !json.Valid(plain) {
		return nil, payloadDecrypted, errors.New("decrypted user_payload is not JSON")
	}
	return plain, payloadDecrypted, nil
}

// refuse answers 401 the way the page's stand-in web chat expects: it then
// fires identityTokenExpired, takes the new token and retries once.
func (s *standin) refuse(w http.ResponseWriter, code, description string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error=%q, error_description=%q`, code, description))
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code, "error_description": description})
}

// headerSafe is what IBM requires of sub, which travels in the
// X-Watson-Metadata header as customer_id: 1 to 256 bytes of visible ASCII,
// none of the header's separators.
func headerSafe(sub string) error {
	if sub == "" || len(sub) > 256 {
		return errors.New("sub must be 1 to 256 bytes")
	}
	for i := 0; i < len(sub); i++ {
		c := sub[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`;=,"\`, c) >= 0 {
			return fmt.Errorf("sub has a forbidden byte at %d", i)
		}
	}
	return nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// isExpired tells an expired token (web chat asks for a new one) from a bad one.
func isExpired(err error) bool {
	return errors.Is(err, claims.ErrExpired)
}
