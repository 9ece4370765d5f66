// Command webchat is the webchatid demo: IBM's tutorial "Authenticating a
// user in the middle of a session", in Go, with nothing to set up.
//
//	go run ./examples/webchat
//
// It serves a page with a Login/Logout button, a greeting that follows the
// login state and a web chat: IBM's real one when -integration-id, -region and
// -service-instance-id are given, else a local stand-in that checks every
// token the way IBM does and answers with what an action would see. See
// README.md beside this file.
package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/webchatid/webchatid/cookie"
	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the key files at once (see -watch-interval).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	err := runDemo(ctx, os.Args[1:], os.Stdout, os.Stderr, hooks{reload: reload})
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "webchat:", err)
		os.Exit(1)
	}
}

// config holds the parsed command line.
type config struct {
	addr              string
	keyFiles          fileList // the first signs, the others only verify
	sessionKeyFiles   fileList
	bindingKeyFiles   fileList
	watchInterval     time.Duration
	ibmPublicKeyFile  string
	standinKeyFile    string
	ttl               time.Duration
	integrationID     string
	region            string
	serviceInstanceID string
	ledger            string
	ledgerRetention   time.Duration
	subject           string // "anonymous-id" or "user-id"
	logoutPolicy      identity.LogoutPolicy
	sessionEnd        string         // "reload" or "destroy"
	sessions          string         // "cookie" or "server"
	tokenPath         tokenPathFlags // stats.go
}

// logoutPolicies are the -logout-policy values.
var logoutPolicies = map[string]identity.LogoutPolicy{
	"keep":       identity.KeepAnonymousID,
	"rotate":     identity.RotateAnonymousID,
	"on-request": identity.RotateAnonymousIDOnRequest,
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("webchat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3001", "listen `address` (host:port; port 0 picks a free one)")
	fs.Var(&c.keyFiles, "key", "RS256 private key PEM `file` that signs tokens; repeat it to list more: the first signs, the others only verify (published in the JWKS). Or env WEBCHATID_PRIVATE_KEY holding the PEM text; default: a new 2048-bit key at each start")
	fs.Var(&c.sessionKeyFiles, "session-key", "`file` of the 32-byte key that seals login cookies (openssl rand -hex 32 > session.key; raw, hex or base64); repeat it to list more: the first seals, all open; default: a new key at each start, so a restart logs everyone out")
	fs.DurationVar(&c.watchInterval, "watch-interval", 10*time.Second, "how often the -key, -session-key and -binding-key files are checked for changes; 0: only on SIGHUP")
	fs.StringVar(&c.ibmPublicKeyFile, "ibm-public-key", "", "PEM `file` of the \"IBM-provided public key\" that encrypts user_payload (or env WEBCHATID_IBM_PUBLIC_KEY); default: a stand-in key pair, so the stand-in can decrypt")
	fs.StringVar(&c.standinKeyFile, "standin-key", "", "private key PEM `file` of the stand-in IBM (its public half encrypts user_payload); default: a new key at each start")
	fs.DurationVar(&c.ttl, "ttl", time.Hour, "token lifetime")
	fs.StringVar(&c.integrationID, "integration-id", "", "IBM web chat integration `ID` (with -region and -service-instance-id: use IBM's real web chat)")
	fs.StringVar(&c.region, "region", "", "IBM web chat `region`, e.g. us-south")
	fs.StringVar(&c.serviceInstanceID, "service-instance-id", "", "IBM web chat service instance `ID`")
	fs.Var(&c.bindingKeyFiles, "binding-key", "`file` of at least 32 random bytes that binds anonymous IDs to their cookies (openssl rand 32 > binding.key; raw, hex or base64; or env WEBCHATID_BINDING_KEY holding them as hex or base64); repeat it to list more: the first binds, all verify; default: a new key at each start, so a restart gives every visitor a new anonymous ID")
	fs.StringVar(&c.ledger, "ledger", "", "anonymous-ID ledger `DSN`: memory, sqlite:PATH or postgres://… (default: "+ledgerdsn.Default(ledgerApp)+")")
	fs.DurationVar(&c.ledgerRetention, "ledger-retention", ledger.DefaultRetention, "prune never-linked anonymous IDs from the ledger once unseen this long (hourly, in the background; 0: never)")
	fs.StringVar(&c.subject, "subject", "anonymous-id", "the tokens' sub: `anonymous-id` (IBM's tutorial: the same before and after login) or user-id (user-<custom user ID> while logged in, through Config.Subject, so login and logout change sub and webchatid.js ends web chat's session)")
	policy := fs.String("logout-policy", "keep", "what logout does with the anonymous ID: `keep`, rotate (shared devices), or on-request (the page's \"shared device\" box asks for a new one)")
	fs.StringVar(&c.sessionEnd, "session-end", "reload", "how webchatid.js ends web chat's session on logout or a sub change: `reload` (destroySession, page reload) or destroy (destroy, destroySession, a new web chat without reload)")
	fs.StringVar(&c.sessions, "sessions", "cookie", "where logins live: `cookie` (sealed in the browser; logout revokes it in the ledger's database) or server (in the ledger's database, or in memory with -ledger memory; the cookie holds only a random ID: identity/sessionstore)")
	c.tokenPath.register(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var ok bool
	if c.logoutPolicy, ok = logoutPolicies[*policy]; !ok {
		return c, fmt.Errorf("-logout-policy %q: want keep, rotate or on-request", *policy)
	}
	if c.subject != "anonymous-id" && c.subject != "user-id" {
		return c, fmt.Errorf("-subject %q: want anonymous-id or user-id", c.subject)
	}
	if c.sessionEnd != "reload" && c.sessionEnd != "destroy" {
		return c, fmt.Errorf("-session-end %q: want reload or destroy", c.sessionEnd)
	}
	if c.sessions != "cookie" && c.sessions != "server" {
		return c, fmt.Errorf("-sessions %q: want cookie or server", c.sessions)
	}
	if c.sessions == "server" && len(c.sessionKeyFiles) > 0 {
		return c, errors.New("-session-key seals login cookies, which -sessions server does not use: drop one of them")
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	set := 0
	for _, v := range []string{c.integrationID, c.region, c.serviceInstanceID} {
		if v != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		return c, errors.New("-integration-id, -region and -service-instance-id go together: set all three for IBM's web chat, or none for the stand-in")
	}
	if c.ttl <= 0 {
		return c, fmt.Errorf("-ttl %v: must be positive", c.ttl)
	}
	if c.watchInterval < 0 {
		return c, fmt.Errorf("-watch-interval %v: must not be negative", c.watchInterval)
	}
	if c.ledgerRetention < 0 {
		return c, fmt.Errorf("-ledger-retention %v: must not be negative", c.ledgerRetention)
	}
	return c, nil
}

func (c config) ibm() bool { return c.integrationID != "" }

// run starts the demo and serves until ctx is done, then shuts down
// gracefully. ready, if not nil, is called with the page's URL once the
// listener is open (tests use it with -addr 127.0.0.1:0).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(url string)) error {
	return runWrapped(ctx, args, stdout, stderr, ready, nil)
}

// runWrapped is run with the demo's handler passed through wrap, if not nil:
// tests count requests with it.
func runWrapped(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(url string), wrap func(http.Handler) http.Handler) error {
	return runDemo(ctx, args, stdout, stderr, hooks{ready: ready, wrap: wrap})
}

// hooks are what main and the tests plug into the demo.
type hooks struct {
	ready    func(url string)                // called with the page's URL once the listener is open
	wrap     func(http.Handler) http.Handler // wraps the demo's handler
	reload   <-chan struct{}                 // each receive reloads the key files (SIGHUP in main)
	reloaded func(error)                     // told how each reload from reload went
}

// runDemo is run with hooks; nil ones are not used.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer, h hooks) error {
	ready, wrap := h.ready, h.wrap
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	dk, err := loadKeys(c, stdout, log)
	if err != nil {
		return err
	}
	ibmPub, standinPriv, err := payloadKeys(c, log)
	if err != nil {
		return err
	}
	ledger, ledgerName, closeLedger, err := openLedger(ctx, c.ledger)
	if err != nil {
		return err
	}
	defer closeLedger()
	log.LogAttrs(ctx, slog.LevelInfo, "ledger of anonymous IDs", slog.String("dsn", ledgerName))
	stopPruner, err := startPruner(ctx, ledger, c.ledgerRetention, log)
	if err != nil {
		return err
	}
	defer stopPruner() // before closeLedger

	// Logins live in a sealed cookie; the binding MAC proves that a browser
	// was issued its anonymous ID, so the ledger records and links only IDs
	// this demo issued.
	cfg := identity.Config{
		SigningKeys:  dk.signingKeys(),
		IBMPublicKey: ibmPub,
		TTL:          c.ttl,
		Anonymous:    cookie.Config{BindingKeys: dk.binding},
		SessionKeys:  dk.session,
		Revoker:      revokerFor(ledger), // logout revokes the session server-side
		Authenticate: authenticateDemoUser,
		Ledger:       ledger,
		LogoutPolicy: c.logoutPolicy,
		Admission:    c.tokenPath.admission,
		Reuse:        c.tokenPath.reuse,
		Logger:       log,
	}
	if c.subject == "user-id" {
		cfg.Subject = userSubject
	}
	if c.sessions == "server" {
		if cfg.Sessions, err = serverSessions(ledger, log); err != nil {
			return err
		}
		cfg.SessionKeys, cfg.Revoker = nil, nil // logout deletes the session itself
	}
	srv, err := identity.New(cfg)
	if err != nil {
		return err
	}

	page, err := pageHandler(pageData{
		IBM:               c.ibm(),
		IntegrationID:     c.integrationID,
		Region:            c.region,
		ServiceInstanceID: c.serviceInstanceID,
		TTL:               c.ttl,
		SessionEnd:        c.sessionEnd,
		AskRotation:       c.logoutPolicy == identity.RotateAnonymousIDOnRequest,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /static/", staticHandler())
	// The library's endpoints, as an app mounts them: /createJWT, /authenticate,
	// /logout, /session, /.well-known/jwks.json and /webchatid.js.
	mux.Handle("/", srv.Handler())
	// Readiness for a load balancer: 503 while the ledger's database is
	// unreachable (DEPLOYING.md).
	mux.Handle("GET /readyz", srv.ReadyHandler())
	mux.Handle("GET /debug/vars", debugVars(srv, ledger)) // srv.Stats() and the ledger's as expvar, loopback only
	if !c.ibm() {
		mux.Handle("POST /standin/message", &standin{
			verifyKey:  func() crypto.PublicKey { return srv.PublicKeys()[0] }, // IBM holds one key: the one signing now
			payloadKey: standinPriv,
			log:        log,
			now:        time.Now,
		})
	}

	var handler http.Handler = mux
	if wrap != nil {
		handler = wrap(mux)
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (is another program using the port? choose one with -addr): %w", c.addr, err)
	}
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String() + "/"
	mode := "stand-in for IBM (no IBM settings given)"
	if c.ibm() {
		mode = "IBM web chat, region " + c.region
	}
	fmt.Fprintf(stdout, "webchatid demo: open %s  (web chat: %s; ledger: %s; stop with Ctrl-C)\n", url, mode, ledgerName)
	log.LogAttrs(ctx, slog.LevelInfo, "listening", slog.String("url", url), slog.Duration("ttl", c.ttl), slog.String("web_chat", mode))

	followCtx, stopFollowing := context.WithCancel(ctx)
	following := make(chan struct{})
	go func() {
		defer close(following)
		dk.follow(followCtx, srv, c.watchInterval, h.reload, h.reloaded, log)
	}()
	defer func() { stopFollowing(); <-following }()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready(url)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.LogAttrs(ctx, slog.LevelInfo, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// authenticateDemoUser logs in the tutorial's user, whatever the body says.
// A real app checks credentials here and returns an error when they fail.
func authenticateDemoUser(r *http.Request) (*identity.SessionInfo, error) {
	return &identity.SessionInfo{UserName: "Cade", CustomUserID: "cade-id"}, nil
}

// userSubject is -subject user-id: while logged in, sub is the app's own user
// ID (IBM allows it), so it changes at login and logout.
func userSubject(r *http.Request, anonID string, s *identity.SessionInfo) (string, error) {
	if s == nil {
		return anonID, nil
	}
	return "user-" + s.CustomUserID, nil
}

// payloadKeys returns the public key that encrypts user_payload and, when it
// is the stand-in's, the private key the stand-in decrypts with.
func payloadKeys(c config, log *slog.Logger) (crypto.PublicKey, *rsa.PrivateKey, error) {
	if c.standinKeyFile != "" && (c.ibmPublicKeyFile != "" || c.ibm()) {
		return nil, nil, errors.New("-standin-key is for the stand-in only: drop it when giving IBM's public key or IBM settings")
	}
	// IBM's key without IBM's settings: the stand-in answers, but only IBM
	// can read what that key encrypts.
	unreadable := func() {
		if !c.ibm() {
			log.LogAttrs(context.Background(), slog.LevelWarn, "IBM's public key but no IBM settings: the stand-in cannot decrypt user_payload and does not know who is logged in (it says so in its answers)")
		}
	}
	switch {
	case c.ibmPublicKeyFile != "":
		k, err := keys.LoadPublicFile(c.ibmPublicKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-ibm-public-key: %w", err)
		}
		unreadable()
		return k, nil, nil
	case os.Getenv("WEBCHATID_IBM_PUBLIC_KEY") != "":
		k, err := keys.PublicFromEnv("WEBCHATID_IBM_PUBLIC_KEY")
		if err == nil {
			unreadable()
		}
		return k, nil, err
	case c.ibm():
		log.LogAttrs(context.Background(), slog.LevelWarn, "no -ibm-public-key: user_payload is sent signed but not encrypted")
		return nil, nil, nil
	}
	var priv *rsa.PrivateKey
	if c.standinKeyFile != "" {
		k, err := keys.LoadPrivateFile(c.standinKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-standin-key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, nil, errors.New("-standin-key: not an RSA key")
		}
		priv = rk
	} else {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		priv = k
		log.LogAttrs(context.Background(), slog.LevelInfo, "stand-in IBM key pair generated: user_payload is encrypted with its public half and decrypted by the stand-in")
	}
	return priv.Public(), priv, nil
}
