package identity

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/webchatid/webchatid/cookie"
)

// LogoutPolicy says what [Server.LogoutHandler] does with the visitor's
// anonymous ID, and so with the sub of the tokens that follow the logout.
// The zero value is [KeepAnonymousID].
//
// Keeping the ID saves money and keeps continuity: IBM bills monthly active
// users by sub, so a visitor who logs out and back in stays one user, and
// the ledger keeps one ID for them. Rotating it protects the next person on
// a shared device (a kiosk, a library computer): with a kept ID they would
// chat under the previous person's sub, which IBM's history, analytics and
// data deletion (by customer_id) treat as the same person. A rotated ID is a
// new monthly active user at IBM.
type LogoutPolicy int

const (
	// KeepAnonymousID keeps the anonymous ID across logout (the default):
	// sub stays the same before login, while logged in and after logout, as
	// in IBM's tutorial. A logout request asking for rotation is not
	// honoured (and the refusal is logged at Info level).
	KeepAnonymousID LogoutPolicy = iota

	// RotateAnonymousID gives the browser a freshly minted anonymous ID on
	// every logout (bound, when Config.Anonymous.BindingKeys are set, and
	// recorded in Config.Ledger as new), for sites used on shared devices.
	RotateAnonymousID

	// RotateAnonymousIDOnRequest keeps the ID unless the logout request asks
	// for a new one with the form field rotate_anonymous_id=1 in its body
	// (application/x-www-form-urlencoded; webchatid.js sends it for
	// logout({rotateAnonymousID: true})), for sites that let the user say
	// "this is a shared computer" when logging out.
	RotateAnonymousIDOnRequest
)

// String returns the policy's name.
func (p LogoutPolicy) String() string {
	switch p {
	case KeepAnonymousID:
		return "KeepAnonymousID"
	case RotateAnonymousID:
		return "RotateAnonymousID"
	case RotateAnonymousIDOnRequest:
		return "RotateAnonymousIDOnRequest"
	}
	return fmt.Sprintf("LogoutPolicy(%d)", int(p))
}

func (p LogoutPolicy) valid() bool { return p >= KeepAnonymousID && p <= RotateAnonymousIDOnRequest }

// rotateField is the logout form field asking for a new anonymous ID.
const rotateField = "rotate_anonymous_id"

// maxLogoutBody bounds what a logout request can make the server read: the
// only field it looks at is rotateField.
const maxLogoutBody = 1 << 10

// rotationAsked reports whether a logout request's form body asks for a new
// anonymous ID. A body that is not a small form asks for nothing.
func rotationAsked(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	switch r.PostFormValue(rotateField) {
	case "1", "true":
		return true
	}
	return false
}

// SessionEnder is a [SessionStore] whose logout can fail, such as one that
// keeps sessions in a database: [Server.LogoutHandler] calls End instead of
// Logout, and when End fails it answers 503 and keeps the session (End must
// then leave the cookie alone), so the page can show the user still logged
// in and try again rather than believe a logout that did not happen.
type SessionEnder interface {
	SessionStore
	// End ends the request's session as Logout does, or returns why it
	// could not (and then writes nothing).
	End(w http.ResponseWriter, r *http.Request) error
}

// logout ends the request's session and applies Config.LogoutPolicy.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	rotate := s.cfg.LogoutPolicy == RotateAnonymousID
	if s.cfg.LogoutPolicy != RotateAnonymousID && rotationAsked(w, r) {
		if s.cfg.LogoutPolicy == RotateAnonymousIDOnRequest {
			rotate = true
		} else {
			s.log().LogAttrs(r.Context(), slog.LevelInfo,
				"identity: logout asked for a new anonymous ID; kept, since Config.LogoutPolicy is KeepAnonymousID (set RotateAnonymousIDOnRequest to honour such requests)")
		}
	}
	var err error
	switch st := s.store.(type) {
	case *CookieSessions:
		err = st.logout(w, r)
	case SessionEnder:
		err = st.End(w, r)
	default:
		s.store.Logout(w, r)
	}
	if err != nil {
		s.sessionErrors.Add(1)
		return fmt.Errorf("%w: %w", ErrSessionUnavailable, err)
	}
	// The visitor keeps the __Host- anonymous ID; an unprefixed one a
	// sibling subdomain set for the whole site goes.
	if anon := s.anon.Load(); anon.NameFor(r) != anon.Name() {
		cookie.ExpireTossed(w, r, anon.Name())
	}
	if !rotate {
		return nil
	}
	return s.RotateAnonymousID(w, r)
}

// RotateAnonymousID gives the browser that sent r a freshly minted anonymous
// ID (bound, with Config.Anonymous.BindingKeys), so the next token's sub is
// no longer the previous visitor's, and records it in Config.Ledger as new.
// [Server.LogoutHandler] calls it as Config.LogoutPolicy says; apps with
// their own logout call it from their handler, before writing the response
// header. It fails only when no ID can be generated, or when the ledger
// fails and Config.StrictLedger is set (an error wrapping
// [ErrLedgerUnavailable]; the new cookie is set anyway).
func (s *Server) RotateAnonymousID(w http.ResponseWriter, r *http.Request) error {
	id, err := s.anon.Load().Rotate(w, r)
	if err != nil {
		return fmt.Errorf("identity: anonymous ID: %w", err)
	}
	// The ledger records subs; with Config.Subject the anonymous sub may be
	// another value, recorded when the next token is issued.
	sub, err := s.subject(r, id, nil)
	if err != nil || sub != id {
		return nil
	}
	return s.record(r.Context(), sub, true, nil)
}
