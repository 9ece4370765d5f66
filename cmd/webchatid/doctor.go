package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
)

var doctorCmd = command{
	name:    "doctor",
	args:    "(-ibm-key FILE | -jwks URL|FILE) [FLAGS] [TOKEN | - | -url URL]",
	summary: "check a token the way IBM will: one line per check, then a verdict (exit 1 when a check fails)",
}

// Limits of the checks.
const (
	// suggestedTTL is the token lifetime IBM suggests for web chat.
	suggestedTTL = time.Hour
	// maxTokenBytes bounds what doctor reads as a token or a JWKS.
	maxTokenBytes = 1 << 20
)

// A verdict is one check's outcome.
type verdict int

const (
	pass verdict = iota
	warn
	fail
)

func (v verdict) String() string {
	return [...]string{"ok", "warn", "FAIL"}[v]
}

// A finding is one line of doctor's report. Its reason never holds the
// token, a claim's value from the payload or the user_payload's contents.
type finding struct {
	verdict verdict
	check   string
	reason  string
}

// doctorOptions is doctor's parsed command line, with what it loaded.
type doctorOptions struct {
	target     identity.Target
	ibmKey     crypto.PublicKey // -ibm-key, or nil
	ibmKeyFile string
	jwks       jwk.Set // -jwks, or nil
	payloadKey crypto.PrivateKey
	scheme     claims.Scheme
	skew       time.Duration
	now        time.Time
}

// oneOf returns the value named v, of the two names a and b.
func oneOf[T any](v, a string, va T, b string, vb T) (T, bool) {
	switch v {
	case a:
		return va, true
	case b:
		return vb, true
	}
	var zero T
	return zero, false
}

func runDoctor(ctx context.Context, args []string, io stdio) int {
	return doctor(ctx, args, io, time.Now, http.DefaultClient)
}

// doctor is the doctor command with its clock and HTTP client given.
func doctor(ctx context.Context, args []string, io stdio, now func() time.Time, client *http.Client) int {
	c := doctorCmd
	fset := c.flags()
	tokenURL := fset.String("url", "", "fetch the token from the app's token endpoint at `URL` (e.g. http://127.0.0.1:3001/createJWT)")
	cookieFlag := fset.String("cookie", "", "send this cookie with -url, as `NAME=VALUE` (e.g. the visitor's ANONYMOUS-USER-ID or session cookie)")
	ibmKey := fset.String("ibm-key", "", "the public key pasted into IBM's Security tab, as a PEM `file` (a private key file stands for its public half)")
	jwksFlag := fset.String("jwks", "", "the app's JWK set, as a `URL` (e.g. http://127.0.0.1:3001/.well-known/jwks.json) or a file")
	payloadKey := fset.String("payload-key", "", "private key PEM `file` that decrypts user_payload (IBM's side; the demo's -standin-key): the payload must then be encrypted and decrypt")
	schemeFlag := fset.String("payload-scheme", "node-rsa", "user_payload encryption `scheme`: node-rsa (IBM's web chat) or oaep-sha256")
	targetFlag := fset.String("target", "webchat", "the IBM product the token is for: `webchat` or orchestrate")
	skew := fset.Duration("skew", time.Minute, "clock difference tolerated between the issuing machine and this one, for iat")
	timeout := fset.Duration("timeout", 10*time.Second, "time limit for -url and a -jwks URL")
	if code, ok := c.parse(fset, args, io); !ok {
		return code
	}
	var opts doctorOptions
	var ok bool
	if opts.target, ok = oneOf(*targetFlag, "webchat", identity.WebChat, "orchestrate", identity.Orchestrate); !ok {
		return c.usageError(io, "-target %q: want webchat or orchestrate", *targetFlag)
	}
	if opts.scheme, ok = oneOf(*schemeFlag, "node-rsa", claims.NodeRSA, "oaep-sha256", claims.OAEPSHA256); !ok {
		return c.usageError(io, "-payload-scheme %q: want node-rsa or oaep-sha256", *schemeFlag)
	}
	if (*ibmKey == "") == (*jwksFlag == "") {
		return c.usageError(io, "give the key to check the signature with: -ibm-key FILE or -jwks URL|FILE (one of them)")
	}
	if *skew < 0 {
		return c.usageError(io, "-skew %v: must not be negative", *skew)
	}
	if *cookieFlag != "" && *tokenURL == "" {
		return c.usageError(io, "-cookie goes with -url")
	}
	if fset.NArg() > 1 || (*tokenURL != "" && fset.NArg() > 0) {
		return c.usageError(io, "give one token: an argument, - for stdin, or -url")
	}
	var cookie *http.Cookie
	if *cookieFlag != "" {
		name, value, ok := strings.Cut(*cookieFlag, "=")
		if !ok || name == "" {
			return c.usageError(io, "-cookie: want NAME=VALUE")
		}
		cookie = &http.Cookie{Name: name, Value: value}
	}
	opts.skew = *skew

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var err error
	if *ibmKey != "" {
		if opts.ibmKey, _, err = loadKeyFile(*ibmKey); err != nil {
			return c.fail(io, "-ibm-key: %v", err)
		}
		opts.ibmKeyFile = *ibmKey
	} else if opts.jwks, err = loadJWKS(ctx, client, *jwksFlag); err != nil {
		return c.fail(io, "-jwks: %v", err)
	}
	if *payloadKey != "" {
		if opts.payloadKey, err = keys.LoadPrivateFile(*payloadKey); err != nil {
			return c.fail(io, "-payload-key: %v", err)
		}
	}
	var token string
	switch {
	case *tokenURL != "":
		token, err = fetchToken(ctx, client, *tokenURL, cookie)
	case fset.NArg() == 1 && fset.Arg(0) != "-":
		token = strings.TrimSpace(fset.Arg(0))
	default:
		if f, ok := io.in.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprintln(io.err, "webchatid doctor: reading the token from standard input (paste it, then Ctrl-D)")
			}
		}
		token, err = readToken(io.in)
	}
	if err != nil {
		return c.fail(io, "%v", err)
	}
	opts.now = now()

	failed, warned := 0, 0
	for _, f := range diagnose(token, opts) {
		fmt.Fprintf(io.out, "%-4s  %-13s %s\n", f.verdict, f.check, f.reason)
		switch f.verdict {
		case fail:
			failed++
		case warn:
			warned++
		}
	}
	switch {
	case failed > 0:
		fmt.Fprintf(io.out, "FAIL  %-13s IBM will refuse or misread this token: %s, %s\n", "verdict", count(failed, "check failed", "checks failed"), count(warned, "warning", "warnings"))
		return exitFail
	case warned > 0:
		fmt.Fprintf(io.out, "ok    %-13s IBM will accept this token; read the %s\n", "verdict", count(warned, "warning", "warnings"))
	default:
		fmt.Fprintf(io.out, "ok    %-13s IBM will accept this token\n", "verdict")
	}
	return exitOK
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// readToken reads a token from r, as pasted or piped.
func readToken(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTokenBytes))
	if err != nil {
		return "", fmt.Errorf("reading the token: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", errors.New("no token on standard input")
	}
	return token, nil
}

// fetchToken gets a token from the app's token endpoint, as webchatid.js
// does: GET, text/plain or JSON {"token": …}.
func fetchToken(ctx context.Context, client *http.Client, url string, cookie *http.Cookie) (string, error) {
	body, err := get(ctx, client, url, "text/plain, application/json;q=0.5", cookie)
	if err != nil {
		return "", fmt.Errorf("-url: %w", err)
	}
	token := strings.TrimSpace(string(body))
	if strings.HasPrefix(token, "{") {
		var v struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(body, &v) != nil || v.Token == "" {
			return "", errors.New("-url: the answer is JSON without a \"token\" string")
		}
		token = v.Token
	}
	if token == "" {
		return "", errors.New("-url: the answer is empty")
	}
	return token, nil
}

// loadJWKS reads a JWK set from a URL or a file.
func loadJWKS(ctx context.Context, client *http.Client, src string) (jwk.Set, error) {
	var data []byte
	var err error
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		data, err = get(ctx, client, src, "application/json", nil)
	} else {
		data, err = os.ReadFile(src)
	}
	if err != nil {
		return nil, err
	}
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a JWK set: %w", src, err)
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("%s: the JWK set is empty", src)
	}
	return set, nil
}

// get fetches url and returns the body of a 200 answer. Errors name the
// status, never the body.
func get(ctx context.Context, client *http.Client, url, accept string, cookie *http.Cookie) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBytes))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return body, nil
}

// diagnose runs every check on token, in the order they are printed.
func diagnose(token string, opts doctorOptions) []finding {
	in, err := claims.Inspect(token)
	if err != nil {
		reason := reasonOf(err)
		if strings.HasSuffix(token, ".") {
			reason += " (an unsigned token? IBM accepts only RS256-signed ones)"
		}
		return []finding{{fail, "format", reason}}
	}
	d := &diagnosis{token: token, in: in, opts: opts}
	d.alg()
	if opts.jwks != nil {
		d.kid()
	}
	d.signature()
	d.exp()
	d.lifetime()
	d.iat()
	if _, ok := in.Claims["nbf"]; ok {
		d.nbf()
	}
	d.sub()
	d.claimSet()
	d.userPayload()
	return d.findings
}

// reasonOf is an error's text without the package prefixes claims puts on
// it, which say nothing to an operator.
func reasonOf(err error) string {
	s := err.Error()
	for _, p := range []string{claims.ErrInvalidToken.Error() + ": ", "claims: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

// diagnosis collects the findings on one token.
type diagnosis struct {
	token    string
	in       *claims.Inspection
	opts     doctorOptions
	findings []finding
}

func (d *diagnosis) add(v verdict, check, format string, args ...any) {
	d.findings = append(d.findings, finding{v, check, fmt.Sprintf(format, args...)})
}

// printable quotes s and cuts it short for printing: header parameters
// and kids are not secret, but they are outside input.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return fmt.Sprintf("%q", s)
}

func (d *diagnosis) algorithm() string {
	alg, _ := d.in.Header["alg"].(string)
	return alg
}

func (d *diagnosis) alg() {
	switch alg, ok := d.in.Header["alg"].(string); {
	case !ok:
		d.add(fail, "alg", "the header has no alg string; IBM verifies RS256 only")
	case alg != "RS256":
		d.add(fail, "alg", "alg is %s; IBM verifies RS256 only", printable(alg))
	default:
		d.add(pass, "alg", "RS256")
	}
}

func (d *diagnosis) kid() {
	kid, ok := d.in.Header["kid"].(string)
	if !ok || kid == "" {
		d.add(fail, "kid", "the header has no kid, so the key cannot be picked from the JWK set")
		return
	}
	if _, found := d.opts.jwks.LookupKeyID(kid); !found {
		d.add(fail, "kid", "kid %s is not in the JWK set (it holds %s)", printable(kid), strings.Join(setKids(d.opts.jwks), ", "))
		return
	}
	d.add(pass, "kid", "%s is in the JWK set", printable(kid))
}

// setKids lists the kids of a JWK set, sorted.
func setKids(set jwk.Set) []string {
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids = append(kids, printable(k.KeyID()))
	}
	sort.Strings(kids)
	return kids
}

// signature checks the RS256 signature alone, with the -ibm-key key or each
// RSA key of the JWK set in turn, so that a wrong kid or a missing exp does
// not also read as a bad signature.
func (d *diagnosis) signature() {
	if d.algorithm() != "RS256" {
		d.add(warn, "signature", "not checked: alg is not RS256")
		return
	}
	type candidate struct {
		pub  crypto.PublicKey
		name string
	}
	var cands []candidate
	if d.opts.ibmKey != nil {
		cands = append(cands, candidate{d.opts.ibmKey, "the -ibm-key key"})
	} else {
		for i := range d.opts.jwks.Len() {
			k, _ := d.opts.jwks.Key(i)
			raw, err := jwk.PublicRawKeyOf(k)
			if _, isRSA := raw.(*rsa.PublicKey); err != nil || !isRSA {
				continue
			}
			cands = append(cands, candidate{raw, "JWK set key " + printable(k.KeyID())})
		}
	}
	var lastErr error
	for _, c := range cands {
		_, err := claims.Inspect(d.token, claims.WithSignatureKey(c.pub))
		if err == nil {
			d.add(pass, "signature", "RS256 signature verifies with %s", c.name)
			return
		}
		lastErr = err
	}
	switch {
	case len(cands) == 0:
		d.add(fail, "signature", "the JWK set holds no RSA key")
	case errors.Is(lastErr, claims.ErrWeakKey):
		d.add(fail, "signature", "%s", reasonOf(lastErr))
	case d.opts.ibmKey != nil:
		_, _, fp, _ := describePublic(d.opts.ibmKey)
		d.add(fail, "signature", "does not verify with the key in %s (sha256=%s): the token was signed with another key, or altered", d.opts.ibmKeyFile, fp)
	default:
		d.add(fail, "signature", "does not verify with any key of the JWK set: signed with another key, or altered")
	}
}

// numericDate returns claim name as a time, and whether it is present.
// A present claim that is not a JSON number is an error.
func (d *diagnosis) numericDate(name string) (time.Time, bool, error) {
	v, ok := d.in.Claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	f, isNum := v.(float64)
	if !isNum {
		return time.Time{}, true, errors.New("not a JSON number (IBM's verifier needs seconds since 1970)")
	}
	if math.Abs(f) > 1<<53 { // beyond what JavaScript, IBM's verifier, counts exactly
		return time.Time{}, true, errors.New("out of range")
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

func (d *diagnosis) exp() {
	exp, ok, err := d.numericDate("exp")
	switch {
	case err != nil:
		d.add(fail, "exp", "%v", err)
	case !ok:
		d.add(fail, "exp", "missing: a token without exp never expires; IBM needs one")
	case !exp.After(d.opts.now):
		d.add(fail, "exp", "expired %v ago", round(d.opts.now.Sub(exp)))
	default:
		d.add(pass, "exp", "expires in %v", round(exp.Sub(d.opts.now)))
	}
}

func (d *diagnosis) lifetime() {
	exp, okExp, errExp := d.numericDate("exp")
	iat, okIat, errIat := d.numericDate("iat")
	if !okExp || !okIat || errExp != nil || errIat != nil {
		d.add(warn, "lifetime", "not checked: it needs exp and iat")
		return
	}
	life, limit := exp.Sub(iat), claims.DefaultMaxTTL
	if d.opts.target == identity.Orchestrate {
		limit = identity.OrchestrateMaxTTL
	}
	switch {
	case life <= 0:
		d.add(fail, "lifetime", "exp is not after iat")
	case life > limit:
		d.add(fail, "lifetime", "%v from iat to exp, longer than the %v the %s target accepts", round(life), limit, targetName(d.opts.target))
	case d.opts.target == identity.WebChat && life > suggestedTTL+d.opts.skew:
		// webchatid backdates iat by its skew (30 s), so a 1 h token
		// spans a little more.
		d.add(warn, "lifetime", "%v from iat to exp; IBM suggests %v", round(life), suggestedTTL)
	default:
		d.add(pass, "lifetime", "%v (at most %v)", round(life), limit)
	}
}

func (d *diagnosis) iat() {
	iat, ok, err := d.numericDate("iat")
	switch {
	case err != nil:
		d.add(fail, "iat", "%v", err)
	case !ok:
		d.add(fail, "iat", "missing: without iat nobody can tell the token's age or the issuer's clock")
	case iat.Sub(d.opts.now) > d.opts.skew:
		d.add(fail, "iat", "%v in the future (tolerance %v): the issuing machine's clock is ahead of this one", round(iat.Sub(d.opts.now)), d.opts.skew)
	case iat.After(d.opts.now):
		d.add(pass, "iat", "%v in the future, within the %v tolerance", round(iat.Sub(d.opts.now)), d.opts.skew)
	default:
		d.add(pass, "iat", "issued %v ago", round(d.opts.now.Sub(iat)))
	}
}

func (d *diagnosis) nbf() {
	nbf, _, err := d.numericDate("nbf")
	switch {
	case err != nil:
		d.add(fail, "nbf", "%v", err)
	case nbf.After(d.opts.now):
		d.add(fail, "nbf", "not valid for another %v: IBM's verifier refuses a token before its nbf", round(nbf.Sub(d.opts.now)))
	default:
		d.add(pass, "nbf", "valid since %v", round(d.opts.now.Sub(nbf)))
	}
}

func (d *diagnosis) sub() {
	v, ok := d.in.Claims["sub"]
	if !ok {
		d.add(fail, "sub", "missing: IBM needs the user ID")
		return
	}
	sub, ok := v.(string)
	if !ok {
		d.add(fail, "sub", "not a string")
		return
	}
	switch err := claims.CheckSubject(sub); {
	case sub == "":
		d.add(fail, "sub", "empty: IBM needs the user ID")
	case len(sub) > claims.MaxSubjectLen:
		d.add(fail, "sub", "%d bytes, longer than the %d that fit IBM's X-Watson-Metadata header", len(sub), claims.MaxSubjectLen)
	case err != nil:
		d.add(fail, "sub", "%v: IBM sends sub in its X-Watson-Metadata header as customer_id", err)
	case strings.Contains(sub, "@"):
		d.add(warn, "sub", "looks like an e-mail address; IBM advises against IDs that name a person")
	default:
		d.add(pass, "sub", "%d bytes, safe for IBM's X-Watson-Metadata header", len(sub))
	}
}

// claimSet checks the claims the target gives a meaning to, other than
// those with a check of their own.
func (d *diagnosis) claimSet() {
	for _, name := range []string{"iss", "jti"} {
		if v, ok := d.in.Claims[name]; ok {
			if _, isString := v.(string); !isString {
				d.add(fail, "claims", "%s is not a string", name)
				return
			}
		}
	}
	ctx, hasCtx := d.in.Claims[claims.ContextClaim]
	if !hasCtx {
		d.add(pass, "claims", "as %s expects", targetName(d.opts.target))
		return
	}
	if d.opts.target == identity.WebChat {
		d.add(warn, "claims", "context is a watsonx Orchestrate claim; web chat does not read it (is -target orchestrate meant?)")
		return
	}
	vars, ok := ctx.(map[string]any)
	if !ok {
		d.add(fail, "claims", "context is not a JSON object")
		return
	}
	for name := range vars {
		if len(name) >= 4 && strings.EqualFold(name[:4], "wxo_") {
			d.add(fail, "claims", "context has a variable named wxo_…, a prefix watsonx Orchestrate reserves")
			return
		}
	}
	d.add(pass, "claims", "as %s expects, with %s", targetName(d.opts.target), count(len(vars), "context variable", "context variables"))
}

func (d *diagnosis) userPayload() {
	const check = "user_payload"
	orchestrate := d.opts.target == identity.Orchestrate
	if _, ok := d.in.Claims[claims.UserPayloadClaim]; !ok {
		switch {
		case d.opts.payloadKey != nil:
			d.add(fail, check, "absent, but -payload-key says IBM expects an encrypted one")
		case orchestrate:
			d.add(pass, check, "absent (Orchestrate gets one only to pass an sso_token)")
		default:
			d.add(warn, check, "absent: the assistant gets no name or custom_user_id (IBM's tutorial always sends them)")
		}
		return
	}
	if !d.in.Encrypted {
		switch {
		case d.opts.payloadKey != nil:
			d.add(fail, check, "in clear, but -payload-key says IBM decrypts it: IBM cannot decrypt a plaintext payload (is Config.IBMPublicKey set?)")
			return
		case orchestrate:
			d.add(fail, check, "in clear; watsonx Orchestrate takes user_payload only encrypted")
			return
		}
		if reason := payloadShape(d.in.UserPayload, orchestrate); reason != "" {
			d.add(fail, check, "in clear and malformed: %s", reason)
			return
		}
		d.add(warn, check, "in clear and well formed, but anyone holding the token can read it; encrypt it with IBM's public key (Config.IBMPublicKey)")
		return
	}
	if d.opts.payloadKey == nil {
		d.add(warn, check, "encrypted; not decrypted (give -payload-key to check it the way IBM will)")
		return
	}
	in, err := claims.Inspect(d.token, claims.WithPayloadKey(d.opts.payloadKey), claims.WithPayloadScheme(d.opts.scheme))
	if err != nil {
		d.add(fail, check, "encrypted, but -payload-key cannot decrypt it (%s): encrypted for another key, with another scheme than %s, or altered", reasonOf(err), d.opts.scheme)
		return
	}
	if reason := payloadShape(in.UserPayload, orchestrate); reason != "" {
		d.add(fail, check, "encrypted and decrypts, but malformed: %s", reason)
		return
	}
	d.add(pass, check, "encrypted (%s), decrypts and is well formed", d.opts.scheme)
}

// payloadShape says what is wrong with a user_payload's JSON text for the
// target, or "" when nothing is. It names fields, never their values.
func payloadShape(text json.RawMessage, orchestrate bool) string {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(text))
	if dec.Decode(&fields) != nil || fields == nil || dec.More() {
		return "not a JSON object"
	}
	want := []string{"name", "custom_user_id"}
	if orchestrate {
		want = []string{"sso_token"}
		for name := range fields {
			if name != "sso_token" {
				return "fields other than sso_token, the only one watsonx Orchestrate reads"
			}
		}
	}
	for _, name := range want {
		raw, ok := fields[name]
		if !ok {
			return name + " is missing"
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return name + " is not a string"
		}
	}
	return ""
}

func targetName(t identity.Target) string {
	if t == identity.Orchestrate {
		return "watsonx Orchestrate"
	}
	return "web chat"
}

// round drops the sub-second part of a duration for printing.
func round(d time.Duration) time.Duration { return d.Round(time.Second) }
