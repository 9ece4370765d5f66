// Package ibmtest is a local stand-in, for tests, of the two IBM endpoints
// an erasure uses: IBM Cloud IAM's token endpoint (POST /identity/token,
// grant type apikey) and watsonx Assistant's user-data deletion API
// (DELETE /instances/ID/v2/user_data). It checks what IBM checks (the API
// key, the bearer token, customer_id and version), answers 202 Accepted,
// and can be told to fail (500), throttle (429 with Retry-After) or be slow.
package ibmtest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Answer is one scripted answer to a deletion.
type Answer struct {
	Status     int    // HTTP status; 0 means 202
	RetryAfter string // the Retry-After header, if not empty
}

// Call is one deletion request that reached the stand-in.
type Call struct {
	CustomerID string
	Status     int
	At         time.Time
}

// Server is the stand-in. Its zero value is not usable; call [New].
type Server struct {
	*httptest.Server
	apiKey string

	mu        sync.Mutex
	expiresIn int
	slow      time.Duration
	tokens    map[string]bool
	fetches   int
	script    map[string][]Answer
	calls     []Call
	deleted   []string
	issued    []string // every token IAM issued
}

// New starts a stand-in that accepts apiKey, closed when t ends. Its
// keep-alives are off, so that no idle connection outlives a test.
func New(t testing.TB, apiKey string) *Server {
	s := &Server{apiKey: apiKey, expiresIn: 3600, tokens: map[string]bool{}, script: map[string][]Answer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /identity/token", s.token)
	mux.HandleFunc("DELETE /instances/test/v2/user_data", s.delete)
	s.Server = httptest.NewUnstartedServer(mux)
	s.Config.SetKeepAlivesEnabled(false)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// InstanceURL is the instance's service URL.
func (s *Server) InstanceURL() string { return s.URL + "/instances/test" }

// IAMURL is the token endpoint's URL.
func (s *Server) IAMURL() string { return s.URL + "/identity/token" }

// Script makes the next deletions of customerID get answers, in order,
// before the stand-in accepts it.
func (s *Server) Script(customerID string, answers ...Answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script[customerID] = append(s.script[customerID], answers...)
}

// SetSlow makes every deletion wait d before it is answered.
func (s *Server) SetSlow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow = d
}

// SetExpiresIn sets the expires_in of the tokens IAM issues from now on
// (3600 by default).
func (s *Server) SetExpiresIn(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn = seconds
}

// RevokeTokens makes every token issued so far invalid (a 401).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Deleted returns the customer_ids accepted (202), in order.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deleted)
}

// Calls returns every deletion request, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// TokenFetches is how many tokens IAM issued.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Tokens returns every token issued, valid or not.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		iamError(w, http.StatusBadRequest, "BXNIM0109E", "Property missing or empty.")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ibm:params:oauth:grant-type:apikey" {
		iamError(w, http.StatusBadRequest, "BXNIM0103E", "Unsupported grant type.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.PostForm.Get("apikey") != s.apiKey {
		iamError(w, http.StatusBadRequest, "BXNIM0415E", "Provided API key could not be found.")
		return
	}
	tok := "iam-" + rand.Text()
	s.tokens[tok] = true
	s.fetches++
	s.issued = append(s.issued, tok)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "refresh_token": "not-supported", "token_type": "Bearer",
		"expires_in": s.expiresIn, "expiration": time.Now().Unix() + int64(s.expiresIn), "scope": "ibm openid",
	})
}

func iamError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errorCode":%q,"errorMessage":%q}`, code, msg)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	slow := s.slow
	s.mu.Unlock()
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	id := q.Get("customer_id")
	status := http.StatusAccepted
	var retryAfter string
	tok, ok := bearer(r)
	switch {
	case !ok || !s.tokens[tok]:
		status = http.StatusUnauthorized
	case id == "":
		status = http.StatusBadRequest
	case !validDate(q.Get("version")):
		status = http.StatusBadRequest
	case len(s.script[id]) > 0:
		a := s.script[id][0]
		s.script[id] = s.script[id][1:]
		status, retryAfter = a.Status, a.RetryAfter
		if status == 0 {
			status = http.StatusAccepted
		}
	}
	s.calls = append(s.calls, Call{CustomerID: id, Status: status, At: time.Now()})
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusAccepted {
		s.deleted = append(s.deleted, id)
		fmt.Fprint(w, `{}`)
		return
	}
	// IBM's error bodies; this one quotes the customer_id, as some do.
	fmt.Fprintf(w, `{"error":%q,"code":%d}`, fmt.Sprintf("%s for customer_id %s", http.StatusText(status), id), status)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && h[:7] == "Bearer " {
		return h[7:], true
	}
	return "", false
}

func validDate(v string) bool {
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}
