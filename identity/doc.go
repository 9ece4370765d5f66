// Package identity is the HTTP side of IBM watsonx Assistant web chat
// security for Go web apps: it issues the signed identity tokens web chat
// asks for, keeps the anonymous user ID in a long-lived cookie, lets users log
// in and out in the middle of a chat session without changing the token's
// sub, and publishes the signing keys.
//
// An app creates one [Server] with [New] and mounts [Server.Handler]:
//
//	key, err := keys.LoadPrivateFile("webchat-key.pem")
//	…
//	srv, err := identity.New(identity.Config{
//		SigningKeys:  []identity.SigningKey{{Key: key}},
//		SessionKeys:  [][]byte{sessionKey}, // 32 random bytes
//		Authenticate: checkPassword,         // func(*http.Request) (*identity.SessionInfo, error)
//	})
//	…
//	mux.Handle("/auth/", http.StripPrefix("/auth", srv.Handler()))
//
// The browser side is [ScriptHandler]'s webchatid.js (served at
// /webchatid.js), which gives web chat its tokens from /createJWT, renews
// them before they expire (identityTokenExpired is the fallback), calls
// updateIdentityToken after /authenticate, and ends web chat's session on
// /logout and whenever sub changes, as IBM requires.
//
// # One token request
//
// [Server.Token], behind GET /createJWT:
//
//  1. gets or sets the anonymous-ID cookie (package cookie: ANONYMOUS-USER-ID
//     = anon-<uuid>, HttpOnly, 45 days, renewed), the token's sub;
//  2. asks the [SessionSource] who is logged in ([SessionInfo], or nil);
//  3. records the ID, and its link to the logged-in user, in the optional
//     [ledger.Ledger], rarely writing thanks to a [ledger.Recorder];
//  4. builds the claims (package claims): sub, iat, exp (Config.TTL,
//     one hour by default), and user_payload {name, custom_user_id}, which is
//     {"name": "Anonymous", "custom_user_id": <anonymous ID>} until the user
//     logs in, as in IBM's tutorial, encrypted when Config.IBMPublicKey is
//     set; then Config.Claims may add more, such as context;
//  5. signs it RS256 with the active key and a kid.
//
// # Sessions
//
// A [SessionSource] says who is logged in: [CookieSessions] keeps the user in
// a sealed (encrypted, authenticated) cookie and is what Config.SessionKeys
// sets up; [ContextSessions] reads what the app's own authentication
// middleware stored with [WithSession] (the middleware must wrap the mounted
// handler; a request without the mark is logged once); [SessionSourceFunc]
// adapts a function, the simplest way for an app with its own login to read
// its session from the request; [Chain] combines sources. A tampered, foreign or expired session cookie makes
// the visitor anonymous, never a server error. A source that fails (its store
// is down) is logged and the visitor treated as anonymous, unless
// Config.StrictSessions asks for 503.
//
// # Keys
//
// Signing keys are RSA, at least 2048 bits, as crypto.Signer (a KMS key
// works). [keys.ParsePrivatePEM], [keys.LoadPrivateFile] and [keys.PrivateFromEnv]
// load them; [keys.ParsePublicPEM] and friends load IBM's public key. Each key
// has a kid, by default its RFC 7638 thumbprint. [New] signs and verifies a
// test token with every key and logs its kid and SHA-256 fingerprint
// ([keys.Fingerprint]) so an operator can check it against the key pasted into
// IBM's Security tab.
//
// Rotation: list several keys in Config.SigningKeys (the first signs, the
// others are published by the JWKS endpoint for verification only), and
// restart; or call [Server.RotateKeys] at run time, which swaps the whole key
// set atomically. [Server.Rotate] does the same for signing, session and
// binding keys together, all or nothing, and a [keys.FileSource] calls it
// when the key files change (see [KeysFrom]). IBM verifies with the one key
// pasted into its Security tab, so paste the new key there when the first
// signing key changes.
//
// # Targets
//
// Config.Target selects the IBM product: [WebChat] (watsonx Assistant web
// chat, the default) or [Orchestrate] (watsonx Orchestrate embed chat: exp at
// most 7100 s after iat, context names starting wxo_ refused, user_payload
// {"sso_token"} from [SessionInfo].SSOToken).
//
// # Security
//
// Responses with tokens are never cached (Cache-Control: no-store), vary by
// cookie, and are not sniffed. The state-changing endpoints are guarded by
// [net/http.CrossOriginProtection]; CORS is off unless Config.AllowedOrigins
// lists exact origins. Clients see short fixed error texts (RFC 6749 §5.2
// JSON when they prefer JSON); the causes go to the [log/slog.Logger], which
// never receives a token, key, cookie value or payload.
//
// References:
//   - [Securing the web chat]
//   - [Authenticating a user in the middle of a session]
//
// [Securing the web chat]: https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security
// [Authenticating a user in the middle of a session]: https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-develop-security
package identity
