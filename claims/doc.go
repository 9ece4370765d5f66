// Package claims builds, signs and checks the JSON Web Tokens that IBM
// watsonx Assistant web chat accepts as identity tokens, and encrypts the
// private user_payload claim in the format IBM decrypts.
//
// A token is made in three steps: a [Builder] records the claims, a [Signer]
// holding the site's private key turns them into a compact JWT, and the
// browser hands that string to web chat. [Verify] is the reverse, for tests
// and for backends that receive such tokens:
//
//	signer, err := claims.NewSigner(privateKey) // once, at start-up
//	…
//	token, err := claims.NewBuilder().
//		Subject(anonymousID).
//		UserPayload(map[string]any{"name": "Ada", "custom_user_id": "u-42"}).
//		EncryptFor(ibmPublicKey, claims.NodeRSA).
//		Sign(signer)
//
// The package keeps no global state. A [Builder] is used for one token by
// one goroutine; a [Signer] is immutable and safe for concurrent use.
//
// # Claims
//
// sub is required and must be safe in an HTTP header (IBM copies it into the
// X-Watson-Metadata header as customer_id): 1 to 256 bytes of visible ASCII
// without ; = , space " or \. exp is always set, [DefaultTTL] after the time
// of issue, and may not exceed [DefaultMaxTTL] unless [Builder.MaxTTL] allows
// it. iat is backdated by [DefaultSkew] so that a verifier whose clock runs
// behind does not see a token from the future. nbf is never set: IBM's
// verifier (npm jsonwebtoken) refuses a token whose nbf lies ahead of its own
// clock. user_payload and context are JSON objects; further private claims
// are added with [Builder.Claim].
//
// # Security
//
// Signing defaults to RS256, the only algorithm IBM's verifier is configured
// to accept; RSA keys shorter than 2048 bits are refused with [ErrWeakKey].
// PS256, ES256 and EdDSA are there for tokens some other verifier checks:
// [NewSigner] refuses them ([ErrNotIBMAlgorithm]) unless
// [AllowNonIBMAlgorithms] is given too, so a token IBM would refuse is never
// made by accident. Keys are taken as [crypto.Signer], so a key held in a KMS or HSM works.
//
// [Verify] fails closed: it accepts only the algorithms it is told to (RS256
// by default), binds the algorithm to the type of the key it is given, so a
// token signed with HS256 using the public key as the HMAC secret, or one
// that says alg "none", is refused; it requires exp, allows [DefaultLeeway]
// of clock difference, and with a [github.com/lestrrat-go/jwx/v2/jwk.Set]
// picks the key by the token's kid. All its failures wrap [ErrInvalidToken].
//
// Error strings never contain a key, a token or a user_payload. (Verify's
// errors can quote a malformed exp, iat or nbf value, as jwx reports it.)
//
// # Payload encryption
//
// IBM decrypts an encrypted user_payload with the defaults of the npm package
// node-rsa, and [NodeRSA] reproduces them: RSA-OAEP with SHA-1 and MGF1-SHA-1
// and an empty label; the JSON text is cut into chunks of at most k−42 bytes
// (k is the modulus size in bytes, so 214 for a 2048-bit key), each chunk is
// encrypted to exactly k bytes, and the concatenated blocks are encoded as
// standard base64 with padding. [OAEPSHA256] is the single-block variant that
// Node's crypto.publicEncrypt produces with oaepHash "sha256", which one
// version of IBM's watsonx Orchestrate documentation uses.
//
// RSA-OAEP is randomized, so two encryptions of the same payload differ. The
// JSON is written without HTML escaping, so for ordinary values it is the
// same text JSON.stringify would produce on IBM's side.
//
// [DecryptUserPayload] opens a payload with the private key as identity's key
// loading returns it (or any [crypto.Decrypter]). [Inspect] reads a whole
// token for a person to look at, user_payload decrypted, verifying the
// signature only when given a key ([WithVerifyKey]; [WithSignatureKey]
// checks the signature alone, leaving exp, nbf and iat to the caller, as
// webchatid doctor does to report each of them).
//
// References:
//   - [Securing the web chat]
//   - [Encrypting sensitive data]
//   - [node-rsa]
//   - [RFC 7519] (JWT), [RFC 7515] (JWS), [RFC 7638] (JWK thumbprint), [RFC 8017] (RSA-OAEP)
//
// [Securing the web chat]: https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security
// [Encrypting sensitive data]: https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-encrypt
// [node-rsa]: https://github.com/rzcoder/node-rsa
// [RFC 7519]: https://www.rfc-editor.org/rfc/rfc7519
// [RFC 7515]: https://www.rfc-editor.org/rfc/rfc7515
// [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638
// [RFC 8017]: https://www.rfc-editor.org/rfc/rfc8017#section-7.1
package claims
