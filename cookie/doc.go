// Package cookie keeps the browser's side of a web chat identity: the
// long-lived anonymous-ID cookie whose value becomes the JWT's sub, and a
// sealed cookie for small server-issued state such as the logged-in user.
//
// # Anonymous ID
//
// [GetOrSetAnonymousID] follows IBM's web chat tutorial: a cookie named
// ANONYMOUS-USER-ID ([DefaultName]; [DefaultHostName], with the __Host-
// prefix against cookie tossing, on responses over TLS) holding "anon-"
// ([DefaultPrefix]) and a full random version 4 UUID, kept for 45 days ([DefaultMaxAge]) and re-set
// with a fresh expiry on every call, HttpOnly, Path=/, SameSite=Lax, and
// Secure when the request came over TLS. IBM bills monthly active users by
// this ID and advises keeping it at least 45 days: a shorter lifetime can
// count one person several times.
//
// An inbound value is used only if it is well formed: by default the prefix
// and a canonical lowercase UUID; in every case 1 to 256 bytes of visible
// ASCII without ; = , " \ or space, because IBM copies sub into the
// X-Watson-Metadata header. Anything else is replaced by a fresh ID, never
// echoed. [NewAnonymous] builds an [Anonymous] from a [Config] whose zero
// value means these defaults, to change the name (including the __Host-
// prefix), the ID format, the lifetime or the cross-site attributes.
//
// # Sealed cookies
//
// [NewSealer] builds a [Sealer] that encrypts and authenticates small values
// with AES-256-GCM from the standard library, for state the server issues and
// must be able to trust when it comes back: IBM's tutorial keeps the
// logged-in user in a plain JSON cookie, which anyone can forge.
//
// # Security
//
// The anonymous ID is the sub of every token the browser holds, so it is no
// secret: a script on the page, a browser extension or a log can learn it,
// and whoever sets that value in their own cookie becomes that visitor in
// the chat. Binding ([Config.BindingKeys]) closes this: the cookie then
// holds the ID, a '.' and an HMAC-SHA256 over the cookie name and the ID
// under a server key (truncated to 128 bits, base64url), and a value whose
// MAC does not verify under any key gets a fresh ID. Turning binding on for
// existing visitors without changing their IDs is what
// [Config.AcceptUnboundUntil] is for. Binding does not help against a stolen
// cookie; HttpOnly and Secure do.
//
// A sealed value is base64url (no padding) of a version byte, a random
// 12-byte nonce and the AES-256-GCM ciphertext of an expiry (Unix seconds)
// followed by the data. The version byte and the cookie name are bound as
// additional data, so a value cannot be replayed under another cookie name,
// and the expiry is inside the ciphertext, so it cannot be extended. Every
// Seal draws a fresh nonce; with 96-bit random nonces, keep each key below
// about 2^32 seals. [Sealer.Open] tells tampered or foreign values
// ([ErrInvalid]) from authentic expired ones ([ErrExpired]), and never
// panics. Both sealing and binding take several keys: the first signs or
// seals, all verify or open, which allows rotation without logging anyone
// out. Use separate keys for binding and for sealing.
//
// Errors never contain a key, a cookie value or sealed content.
//
// [Anonymous] and [Sealer] are immutable once built and safe for concurrent
// use by multiple goroutines; configuration errors surface at construction,
// naming the field, never at the first request.
package cookie
