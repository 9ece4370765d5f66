package claims_test

// Interop tier: package claims against the verifier stack IBM runs, npm
// jsonwebtoken and node-rsa, pinned in testdata/node/package-lock.json.
// testdata/node/peer.js does the Node side; one node process serves each
// test function's batch of cases. TestInteropGoldenFixtures checks tokens
// and payloads made earlier by the real peers and needs no Node at all.
//
// Every identifier here starts with "interop" so this file cannot collide
// with the other test files of package claims_test.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/webchatid/webchatid/claims"
	"github.com/webchatid/webchatid/internal/testpeer"
)

const (
	interopNodeDir  = "testdata/node"
	interopFixtures = "testdata/interop/fixtures.json"
	interopWrongKey = "interop/wrong-rsa2048.pem" // relative to testdata

	// The versions package-lock.json pins; a stale node_modules fails the test.
	interopJSONWebTokenVersion = "9.0.3"
	interopNodeRSAVersion      = "1.1.1"
	interopStale               = "delete claims/testdata/node/node_modules; the next test run reinstalls it with `npm ci`"

	// How the peer is installed, as the README and .ci/run say it: only Node
	// and npm by hand; the test runs npm ci itself.
	interopEnable = "install Node.js 18 or later and npm (Debian: apt-get install nodejs npm); " +
		"the test then runs `npm ci` in claims/testdata/node itself, from the npm registry"
)

// interopNode is the Node peer, set up once per test binary.
var interopNode struct {
	once    sync.Once
	node    string   // node executable
	missing string   // why the peer is unavailable; "" when ready
	logs    []string // what setup did, repeated in each test's log
}

// interopRequireNode returns the node executable with node_modules in place,
// or stops the test through testpeer.Missing (a skip locally, a failure in CI).
func interopRequireNode(t *testing.T) string {
	t.Helper()
	interopNode.once.Do(interopSetupNode)
	for _, l := range interopNode.logs {
		t.Log(l)
	}
	if interopNode.missing != "" {
		testpeer.Missing(t, "claims interop: %s; to enable: %s", interopNode.missing, interopEnable)
	}
	return interopNode.node
}

func interopSetupNode() {
	node, err := exec.LookPath("node")
	if err != nil {
		interopNode.missing = "node not found in PATH"
		return
	}
	if !interopModulesPresent() {
		npm, err := exec.LookPath("npm")
		if err != nil {
			interopNode.missing = "claims/testdata/node/node_modules is absent and npm is not in PATH"
			return
		}
		interopNode.logs = append(interopNode.logs,
			"claims interop: claims/testdata/node/node_modules is absent; running `npm ci` there once for this test binary")
		if err := interopNPMCI(npm); err != nil {
			interopNode.missing = fmt.Sprintf("claims/testdata/node/node_modules is absent and `npm ci` failed: %v", err)
			return
		}
		interopNode.logs = append(interopNode.logs, "claims interop: npm ci done")
	}
	interopNode.node = node
}

func interopModulesPresent() bool {
	for _, p := range []string{"jsonwebtoken", "node-rsa"} {
		if _, err := os.Stat(filepath.Join(interopNodeDir, "node_modules", p, "package.json")); err != nil {
			return false
		}
	}
	return true
}

// interopNPMCI installs node_modules without racing other test processes
// (go test -count, two go test commands at once): npm ci runs in a private
// directory, and the finished node_modules is renamed into place, which
// succeeds for exactly one process; the losers use the winner's copy.
func interopNPMCI(npm string) error {
	tmp, err := os.MkdirTemp(interopNodeDir, ".npm-ci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(interopNodeDir, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, interopTail(out))
	}
	if err := os.Rename(filepath.Join(tmp, "node_modules"), filepath.Join(interopNodeDir, "node_modules")); err != nil {
		if interopModulesPresent() {
			return nil // another process installed it first
		}
		return err
	}
	return nil
}

func interopTail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

// interopOp is one request to peer.js; see the ops there.
type interopOp struct {
	Op         string   `json:"op"`
	Token      string   `json:"token,omitempty"`
	PublicKey  string   `json:"publicKey,omitempty"`
	PrivateKey string   `json:"privateKey,omitempty"`
	Algorithms []string `json:"algorithms,omitempty"`
	Algorithm  string   `json:"algorithm,omitempty"`
	Payload    any      `json:"payload,omitempty"`
	Value      any      `json:"value,omitempty"`
	Data       string   `json:"data,omitempty"`
	DataFrom   *int     `json:"dataFrom,omitempty"`
	OAEPHash   string   `json:"oaepHash,omitempty"`
}

type interopResult struct {
	OK         bool            `json:"ok"`
	Payload    json.RawMessage `json:"payload"`
	Token      string          `json:"token"`
	Text       string          `json:"text"`
	Value      json.RawMessage `json:"value"`
	ParseError string          `json:"parseError"`
	Data       string          `json:"data"`
	Error      *struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
}

// errText is "Name: message" of the Node error, or "" when the op succeeded.
func (r *interopResult) errText() string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Name + ": " + r.Error.Message
}

// interopBatch collects the ops of one test function for one node process.
type interopBatch struct {
	ops     []interopOp
	results []interopResult
}

func (b *interopBatch) add(op interopOp) int {
	b.ops = append(b.ops, op)
	return len(b.ops) - 1
}

// result is the answer to op i; call after run.
func (b *interopBatch) result(i int) *interopResult { return &b.results[i] }

func (b *interopBatch) run(t *testing.T, node string) {
	t.Helper()
	req, err := json.Marshal(map[string]any{"ops": b.ops})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "peer.js")
	cmd.Dir = interopNodeDir
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node peer.js: %v: %s", err, interopTail(stderr.Bytes()))
	}
	var resp struct {
		Versions map[string]string `json:"versions"`
		Results  []interopResult   `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		t.Fatalf("node peer.js: bad response: %v", err)
	}
	if got, want := resp.Versions["jsonwebtoken"], interopJSONWebTokenVersion; got != want {
		t.Fatalf("node_modules has jsonwebtoken %q, want %q: %s", got, want, interopStale)
	}
	if got, want := resp.Versions["node-rsa"], interopNodeRSAVersion; got != want {
		t.Fatalf("node_modules has node-rsa %q, want %q: %s", got, want, interopStale)
	}
	if len(resp.Results) != len(b.ops) {
		t.Fatalf("node peer.js: got %d results, want %d", len(resp.Results), len(b.ops))
	}
	t.Logf("node %s, jsonwebtoken %s, node-rsa %s: %d ops", resp.Versions["node"],
		resp.Versions["jsonwebtoken"], resp.Versions["node-rsa"], len(b.ops))
	b.results = resp.Results
}

// interopKey reads a committed private key from testdata (PKCS#8, PKCS#1 or SEC 1 PEM).
func interopKey(t *testing.T, name string) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("%s: %T is not a crypto.Signer", name, key)
	}
	return s
}

func interopRSAKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	k, ok := interopKey(t, name).(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s: not an RSA key", name)
	}
	return k
}

// interopPrivatePEM is the key file as committed, the way a site hands it to node-rsa.
func interopPrivatePEM(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// interopPublicPEM is the SPKI "PUBLIC KEY" PEM, the form pasted into IBM's Security tab.
func interopPublicPEM(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func interopSigner(t *testing.T, key crypto.Signer, opts ...claims.SignerOption) *claims.Signer {
	t.Helper()
	s, err := claims.NewSigner(key, opts...)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

// interopDecode parses JSON keeping numbers exact, so Go and Node values compare equal.
func interopDecode(t *testing.T, what string, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s: not JSON: %v", what, err)
	}
	return v
}

// interopJSONOf is v as JSON would carry it.
func interopJSONOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return interopDecode(t, "marshalled value", b)
}

// interopSameFields compares two decoded JSON objects field by field.
func interopSameFields(t *testing.T, what string, got, want any) {
	t.Helper()
	gm, gok := got.(map[string]any)
	wm, wok := want.(map[string]any)
	if !gok || !wok {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %s, want %s", what, interopShort(got), interopShort(want))
		}
		return
	}
	for k, wv := range wm {
		gv, ok := gm[k]
		switch {
		case !ok:
			t.Errorf("%s: field %q missing, want %s", what, k, interopShort(wv))
		case !reflect.DeepEqual(gv, wv):
			t.Errorf("%s: field %q: got %s, want %s", what, k, interopShort(gv), interopShort(wv))
		}
	}
	for k, gv := range gm {
		if _, ok := wm[k]; !ok {
			t.Errorf("%s: unexpected field %q = %s", what, k, interopShort(gv))
		}
	}
}

func interopInt(n json.Number) int64 {
	i, err := n.Int64()
	if err != nil {
		return 0
	}
	return i
}

func interopShort(v any) string {
	s := fmt.Sprintf("%v", v)
	if len(s) > 120 {
		s = s[:120] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

// interopTokenClaims decodes the payload segment of a compact JWS as sent.
func interopTokenClaims(t *testing.T, token string) any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	return interopDecode(t, "token payload", b)
}

// interopTamper replaces the token's sub, keeping header and signature.
func interopTamper(t *testing.T, token, sub string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["sub"] = sub
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// interopFlip changes one byte of the ciphertext's second block (or first, if one).
func interopFlip(t *testing.T, b64 string, k int) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	i := k + k/2
	if i >= len(b) {
		i = k / 2
	}
	b[i] ^= 0x01
	return base64.StdEncoding.EncodeToString(b)
}

// interopBlocks checks the node-rsa framing of a ciphertext with the standard
// library alone: whole k-byte OAEP-SHA-1 blocks whose plaintexts concatenate
// to text, cut the way node-rsa's rsa.js cuts (ceil(n/(k-42)) chunks of equal
// size ceil(n/count), the last one shorter), which payload.go documents it
// follows. It reports whether a UTF-8 character straddles a block boundary.
func interopBlocks(t *testing.T, priv *rsa.PrivateKey, b64, text string) (straddles bool) {
	t.Helper()
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("ciphertext is not standard base64: %v", err)
	}
	k := priv.Size()
	if len(ct)%k != 0 {
		t.Fatalf("ciphertext is %d bytes, not whole %d-byte blocks", len(ct), k)
	}
	var all []byte
	var sizes []int
	for off := 0; off < len(ct); off += k {
		pt, err := rsa.DecryptOAEP(sha1.New(), nil, priv, ct[off:off+k], nil)
		if err != nil {
			t.Fatalf("block %d: not OAEP SHA-1: %v", off/k, err)
		}
		if off > 0 && len(pt) > 0 && pt[0]&0xC0 == 0x80 {
			straddles = true
		}
		sizes = append(sizes, len(pt))
		all = append(all, pt...)
	}
	if string(all) != text {
		t.Errorf("blocks decrypt to %d bytes that differ from the %d-byte text", len(all), len(text))
	}
	if want := interopNodeRSAChunks(len(text), k-42); !reflect.DeepEqual(sizes, want) {
		t.Errorf("chunk sizes: got %v, want node-rsa's %v", sizes, want)
	}
	return straddles
}

// interopNodeRSAChunks is how node-rsa 1.1.1 (src/libs/rsa.js, encrypt) cuts
// n bytes for a maximum chunk of limit bytes.
func interopNodeRSAChunks(n, limit int) []int {
	count := max((n+limit-1)/limit, 1)
	size := (n + count - 1) / count
	if count == 1 {
		return []int{n}
	}
	var sizes []int
	for i := range count {
		sizes = append(sizes, max(min((i+1)*size, n)-min(i*size, n), 0))
	}
	return sizes
}

// interopSized is a JSON object of about n bytes (exactly n with encoding/json).
func interopSized(t *testing.T, n int) map[string]any {
	t.Helper()
	if n < 200 {
		return map[string]any{"p": strings.Repeat("x", n-len(`{"p":""}`))}
	}
	m := map[string]any{
		"name":           "Ada Lovelace",
		"custom_user_id": "user-1815",
		"admin":          false,
		"level":          3,
		"ratio":          0.25,
		"tags":           []any{"a", "b", nil},
		"address":        map[string]any{"city": "London", "zip": "W1"},
		"pad":            "",
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m["pad"] = strings.Repeat("p", n-len(b))
	return m
}

// interopPayload is one user_payload the peers must agree on.
type interopPayload struct {
	name      string
	value     any
	straddles bool // a multi-byte character must straddle a Go chunk boundary
}

func interopPayloads(t *testing.T) []interopPayload {
	return []interopPayload{
		{name: "10 B", value: interopSized(t, 10)},
		{name: "200 B", value: interopSized(t, 200)},
		{name: "1 KB", value: interopSized(t, 1024)},
		{name: "5 KB, several chunks", value: interopSized(t, 5*1024)},
		{
			// 931 bytes of JSON; after `{"note":"` (9 bytes) three-byte euros
			// cross node-rsa's cuts (2048-bit: every 187 bytes; 4096-bit: at
			// 466) mid-character.
			name:      "non-ASCII UTF-8 across chunk boundaries",
			value:     map[string]any{"note": strings.Repeat("€", 300) + " Zoë 日本語 😀"},
			straddles: true,
		},
		{
			name: "HTML characters < > &",
			value: map[string]any{
				"name":           `<b>Ada</b> & "co" </script><script>alert(1)</script>`,
				"custom_user_id": "user-1815&x=<y>",
			},
		},
	}
}

type interopRSA struct {
	name string
	priv *rsa.PrivateKey
	pem  string // private key PEM as committed
	pub  string // SPKI PEM
}

func interopRSAKeys(t *testing.T) []interopRSA {
	t.Helper()
	var keys []interopRSA
	for _, name := range []string{"rsa2048.pem", "rsa4096.pem"} {
		priv := interopRSAKey(t, name)
		keys = append(keys, interopRSA{name: name, priv: priv, pem: interopPrivatePEM(t, name), pub: interopPublicPEM(t, &priv.PublicKey)})
	}
	return keys
}

// TestInteropJSONWebTokenVerifiesGoTokens: jsonwebtoken, called as IBM calls
// it, accepts tokens made by claims and rejects tampered, foreign-key,
// expired and wrong-algorithm ones for the reason jsonwebtoken gives.
func TestInteropJSONWebTokenVerifiesGoTokens(t *testing.T) {
	node := interopRequireNode(t)

	rsa2048 := interopRSAKey(t, "rsa2048.pem")
	rsa4096 := interopRSAKey(t, "rsa4096.pem")
	wrong := interopRSAKey(t, interopWrongKey)
	ec := interopKey(t, "ec256.pem")
	ed := interopKey(t, "ed25519.pem")
	ibm := interopRSAKey(t, "rsa4096.pem") // stands in for IBM's key pair

	now := time.Now() // jsonwebtoken checks exp against the real clock
	userPayload := map[string]any{"name": "Ada Lovelace", "custom_user_id": "user-1815", "level": 3}
	build := func() *claims.Builder {
		return claims.NewBuilder().
			Subject("anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d").
			IssuedAt(now).
			Issuer("https://shop.example").
			Audience("watsonx-assistant").
			JWTID("jti-1").
			UserPayload(userPayload).
			Context(map[string]any{"plan": "gold"}).
			Claim("tier", "gold")
	}
	sign := func(b *claims.Builder, s *claims.Signer) string {
		t.Helper()
		tok, err := b.Sign(s)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		return tok
	}

	rs256 := sign(build(), interopSigner(t, rsa2048))
	ps256 := sign(build(), interopSigner(t, rsa2048, claims.WithAlgorithm(jwa.PS256), claims.AllowNonIBMAlgorithms()))
	es256 := sign(build(), interopSigner(t, ec, claims.WithAlgorithm(jwa.ES256), claims.AllowNonIBMAlgorithms()))
	eddsa := sign(build(), interopSigner(t, ed, claims.WithAlgorithm(jwa.EdDSA), claims.AllowNonIBMAlgorithms()))
	expired := sign(build().IssuedAt(now.Add(-3*time.Hour)).TTL(time.Hour), interopSigner(t, rsa2048))
	encrypted := sign(build().EncryptFor(&ibm.PublicKey, claims.NodeRSA), interopSigner(t, rsa2048))
	if _, ok := interopTokenClaims(t, encrypted).(map[string]any)["user_payload"].(string); !ok {
		t.Fatal("EncryptUserPayload: user_payload in the token is not a string")
	}

	rs := []string{"RS256"}
	tests := []struct {
		name    string
		token   string
		pub     crypto.PublicKey
		algs    []string
		wantErr string // jsonwebtoken's "Name: message"; "" = accepted
	}{
		{name: "RS256 2048-bit accepted with algorithms [RS256]", token: rs256, pub: rsa2048.Public(), algs: rs},
		{name: "RS256 4096-bit accepted", token: sign(build(), interopSigner(t, rsa4096)), pub: rsa4096.Public(), algs: rs},
		{name: "RS256 with kid accepted", token: sign(build(), interopSigner(t, rsa2048, claims.WithKeyID("k1"))), pub: rsa2048.Public(), algs: rs},
		{name: "PS256 accepted with algorithms [PS256]", token: ps256, pub: rsa2048.Public(), algs: []string{"PS256"}},
		{name: "ES256 accepted with algorithms [ES256]", token: es256, pub: ec.Public(), algs: []string{"ES256"}},
		{name: "tampered payload rejected", token: interopTamper(t, rs256, "anon-someone-else"), pub: rsa2048.Public(), algs: rs,
			wantErr: "JsonWebTokenError: invalid signature"},
		{name: "wrong key rejected", token: rs256, pub: wrong.Public(), algs: rs,
			wantErr: "JsonWebTokenError: invalid signature"},
		{name: "expired token rejected", token: expired, pub: rsa2048.Public(), algs: rs,
			wantErr: "TokenExpiredError: jwt expired"},
		{name: "PS256 rejected by IBM's algorithms [RS256]", token: ps256, pub: rsa2048.Public(), algs: rs,
			wantErr: "JsonWebTokenError: invalid algorithm"},
		{name: "ES256 rejected by IBM's algorithms [RS256]", token: es256, pub: ec.Public(), algs: rs,
			wantErr: "JsonWebTokenError: invalid algorithm"},
		// jsonwebtoken 9 has no EdDSA (its key table knows rsa, rsa-pss and
		// ec only), so EdDSA tokens cannot be used with IBM's stack.
		{name: "EdDSA unsupported by jsonwebtoken 9", token: eddsa, pub: ed.Public(), algs: []string{"EdDSA"},
			wantErr: `Error: Unknown key type "ed25519".`},
	}

	var batch interopBatch
	ops := make([]int, len(tests))
	for i, tc := range tests {
		ops[i] = batch.add(interopOp{Op: "verify", Token: tc.token, PublicKey: interopPublicPEM(t, tc.pub), Algorithms: tc.algs})
	}
	ibmOp := batch.add(interopOp{Op: "ibm", Token: encrypted, PublicKey: interopPublicPEM(t, rsa2048.Public()),
		PrivateKey: interopPrivatePEM(t, "rsa4096.pem")})
	batch.run(t, node)

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := batch.result(ops[i])
			if got := r.errText(); got != tc.wantErr {
				t.Fatalf("jwt.verify: got error %q, want %q", got, tc.wantErr)
			}
			if tc.wantErr != "" {
				return
			}
			got := interopDecode(t, "jsonwebtoken payload", r.Payload)
			interopSameFields(t, "payload", got, interopTokenClaims(t, tc.token))
			m := got.(map[string]any)
			if m["sub"] != "anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d" || m["iss"] != "https://shop.example" || m["tier"] != "gold" {
				t.Errorf("payload: got sub %v, iss %v, tier %v", m["sub"], m["iss"], m["tier"])
			}
			interopSameFields(t, "user_payload", m["user_payload"], interopJSONOf(t, userPayload))
			interopSameFields(t, "context", m["context"], interopJSONOf(t, map[string]any{"plan": "gold"}))
			if exp, ok := m["exp"].(json.Number); !ok || interopInt(exp) <= now.Unix() {
				t.Errorf("exp: got %v, want a time after %d", m["exp"], now.Unix())
			}
		})
	}

	t.Run("IBM flow: verify RS256, then node-rsa decrypts the encrypted user_payload", func(t *testing.T) {
		r := batch.result(ibmOp)
		if r.Error != nil {
			t.Fatalf("got error %q, want none", r.errText())
		}
		if r.ParseError != "" {
			t.Fatalf("JSON.parse of the decrypted user_payload: %s", r.ParseError)
		}
		interopSameFields(t, "user_payload", interopDecode(t, "decrypted user_payload", r.Value), interopJSONOf(t, userPayload))
		ct := interopTokenClaims(t, encrypted).(map[string]any)["user_payload"].(string)
		goText, err := claims.DecryptUserPayload(ibm, ct)
		if err != nil {
			t.Fatalf("DecryptUserPayload: %v", err)
		}
		if r.Text != string(goText) {
			t.Errorf("node-rsa text differs from Go's: got %q, want %q", r.Text, goText)
		}
	})
}

// TestInteropGoVerifiesJSONWebTokenTokens: claims.Verify accepts tokens that
// jsonwebtoken signs, and rejects them under a wrong key or algorithm.
func TestInteropGoVerifiesJSONWebTokenTokens(t *testing.T) {
	node := interopRequireNode(t)

	rsa2048 := interopRSAKey(t, "rsa2048.pem")
	rsa4096 := interopRSAKey(t, "rsa4096.pem")
	wrong := interopRSAKey(t, interopWrongKey)
	ec := interopKey(t, "ec256.pem")

	now := time.Now().Unix()
	payload := map[string]any{
		"sub":          "anon-0b5f0b36-7c2e-4c8e-9d7a-3f1c2b4a5e6d",
		"iat":          now,
		"exp":          now + 3600,
		"user_payload": map[string]any{"custom_user_id": "user-1815"},
	}
	tests := []struct {
		name    string
		key     string
		alg     jwa.SignatureAlgorithm
		verify  crypto.PublicKey
		opts    []claims.VerifyOption
		wantErr bool
	}{
		{name: "RS256 2048-bit accepted", key: "rsa2048.pem", alg: jwa.RS256, verify: rsa2048.Public()},
		{name: "RS256 4096-bit accepted", key: "rsa4096.pem", alg: jwa.RS256, verify: rsa4096.Public()},
		{name: "PS256 accepted with WithAlgorithms(PS256)", key: "rsa2048.pem", alg: jwa.PS256, verify: rsa2048.Public(),
			opts: []claims.VerifyOption{claims.WithAlgorithms(jwa.PS256)}},
		{name: "ES256 accepted with WithAlgorithms(ES256)", key: "ec256.pem", alg: jwa.ES256, verify: ec.Public(),
			opts: []claims.VerifyOption{claims.WithAlgorithms(jwa.ES256)}},
		{name: "RS256 under a wrong key rejected", key: "rsa2048.pem", alg: jwa.RS256, verify: wrong.Public(), wantErr: true},
		{name: "PS256 rejected by the RS256-only default", key: "rsa2048.pem", alg: jwa.PS256, verify: rsa2048.Public(), wantErr: true},
		{name: "ES256 rejected by the RS256-only default", key: "ec256.pem", alg: jwa.ES256, verify: ec.Public(), wantErr: true},
	}
	var batch interopBatch
	ops := make([]int, len(tests))
	for i, tc := range tests {
		ops[i] = batch.add(interopOp{Op: "sign", Payload: payload, PrivateKey: interopPrivatePEM(t, tc.key), Algorithm: tc.alg.String()})
	}
	batch.run(t, node)

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := batch.result(ops[i])
			if r.Error != nil {
				t.Fatalf("jwt.sign: %s", r.errText())
			}
			tok, err := claims.Verify(r.Token, tc.verify, tc.opts...)
			if tc.wantErr {
				if !errors.Is(err, claims.ErrInvalidToken) {
					t.Fatalf("Verify: got %v, want ErrInvalidToken", err)
				}
				// The same token verifies with the right key and algorithm,
				// so the rejection is for the wrong key or algorithm alone.
				if _, err := claims.Verify(r.Token, interopKey(t, tc.key).Public(), claims.WithAlgorithms(tc.alg)); err != nil {
					t.Fatalf("control: Verify with the signing key and %s: %v", tc.alg, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got, want := tok.Subject(), payload["sub"]; got != want {
				t.Errorf("sub: got %q, want %q", got, want)
			}
			if got, want := tok.Expiration().Unix(), now+3600; got != want {
				t.Errorf("exp: got %d, want %d", got, want)
			}
			up, ok := tok.Get(claims.UserPayloadClaim)
			if !ok {
				t.Fatal("user_payload missing")
			}
			interopSameFields(t, "user_payload", interopJSONOf(t, up), interopJSONOf(t, payload["user_payload"]))
		})
	}
}

// TestInteropNodeRSADecryptsGoPayloads: node-rsa with its defaults, as IBM
// decrypts, opens every payload claims encrypts, byte for byte, and rejects
// tampered, foreign-key and OAEP-SHA-256 ciphertexts.
func TestInteropNodeRSADecryptsGoPayloads(t *testing.T) {
	node := interopRequireNode(t)
	keys := interopRSAKeys(t)
	wrongPEM := interopPrivatePEM(t, interopWrongKey)

	type check struct {
		name    string
		key     interopRSA
		p       interopPayload
		ct      string
		goText  string
		op      int
		wantErr string // substring of node-rsa's error; "" = decrypts
	}
	var batch interopBatch
	var checks []*check
	for _, k := range keys {
		for _, p := range interopPayloads(t) {
			ct, err := claims.EncryptUserPayload(&k.priv.PublicKey, p.value)
			if err != nil {
				t.Fatalf("%s %s: EncryptUserPayload: %v", k.name, p.name, err)
			}
			goText, err := claims.DecryptUserPayload(k.priv, ct)
			if err != nil {
				t.Fatalf("%s %s: DecryptUserPayload: %v", k.name, p.name, err)
			}
			c := &check{name: k.name + " " + p.name, key: k, p: p, ct: ct, goText: string(goText)}
			c.op = batch.add(interopOp{Op: "nodersaDecrypt", PrivateKey: k.pem, Data: ct})
			checks = append(checks, c)
		}
	}
	// Negative cases on the 2048-bit "1 KB" ciphertext, which decrypts above.
	base := checks[2]
	sha256ct, err := claims.OAEPSHA256.Encrypt(&base.key.priv.PublicKey, map[string]any{"custom_user_id": "user-1815"})
	if err != nil {
		t.Fatalf("OAEPSHA256.Encrypt: %v", err)
	}
	for _, c := range []*check{
		{name: "tampered ciphertext rejected", ct: interopFlip(t, base.ct, base.key.priv.Size()), key: base.key, wantErr: "oaep decoding error"},
		{name: "wrong key rejected", ct: base.ct, key: interopRSA{pem: wrongPEM}, wantErr: "oaep decoding error"},
		{name: "OAEP SHA-256 ciphertext rejected by node-rsa defaults", ct: sha256ct, key: base.key, wantErr: "oaep decoding error"},
	} {
		c.op = batch.add(interopOp{Op: "nodersaDecrypt", PrivateKey: c.key.pem, Data: c.ct})
		checks = append(checks, c)
	}
	batch.run(t, node)

	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			r := batch.result(c.op)
			if c.wantErr != "" {
				if r.Error == nil || !strings.Contains(r.Error.Message, c.wantErr) {
					t.Fatalf("node-rsa decrypt: got error %q, want one containing %q", r.errText(), c.wantErr)
				}
				return
			}
			if r.Error != nil {
				t.Fatalf("node-rsa decrypt: %s", r.errText())
			}
			if r.Text != c.goText {
				t.Errorf("JSON text: node-rsa got %q, Go encrypted %q", interopShort(r.Text), interopShort(c.goText))
			}
			if r.ParseError != "" {
				t.Fatalf("JSON.parse: %s", r.ParseError)
			}
			interopSameFields(t, "payload", interopDecode(t, "node-rsa value", r.Value), interopJSONOf(t, c.p.value))
			if straddles := interopBlocks(t, c.key.priv, c.ct, c.goText); c.p.straddles && !straddles {
				t.Errorf("test premise: no multi-byte character straddles a chunk boundary")
			}
		})
	}
}

// TestInteropGoDecryptsNodeRSAPayloads: what node-rsa encrypts with its
// defaults, claims.DecryptUserPayload opens to the exact JSON text.
func TestInteropGoDecryptsNodeRSAPayloads(t *testing.T) {
	node := interopRequireNode(t)
	keys := interopRSAKeys(t)
	wrong := interopRSAKey(t, interopWrongKey)

	type check struct {
		name string
		key  interopRSA
		p    interopPayload
		op   int
	}
	var batch interopBatch
	var checks []check
	for _, k := range keys {
		for _, p := range interopPayloads(t) {
			checks = append(checks, check{name: k.name + " " + p.name, key: k, p: p,
				op: batch.add(interopOp{Op: "nodersaEncrypt", PublicKey: k.pub, Value: p.value})})
		}
	}
	sha256Op := batch.add(interopOp{Op: "cryptoEncrypt", PublicKey: keys[0].pub, Value: map[string]any{"a": 1}, OAEPHash: "sha256"})
	batch.run(t, node)

	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			r := batch.result(c.op)
			if r.Error != nil {
				t.Fatalf("node-rsa encrypt: %s", r.errText())
			}
			got, err := claims.DecryptUserPayload(c.key.priv, r.Data)
			if err != nil {
				t.Fatalf("DecryptUserPayload: %v", err)
			}
			if string(got) != r.Text {
				t.Errorf("JSON text: got %q, want node's %q", interopShort(string(got)), interopShort(r.Text))
			}
			interopSameFields(t, "payload", interopDecode(t, "decrypted payload", got), interopJSONOf(t, c.p.value))
			interopBlocks(t, c.key.priv, r.Data, r.Text)
		})
	}

	base := batch.result(checks[2].op) // 2048-bit, 1 KB
	for _, tc := range []struct {
		name string
		priv *rsa.PrivateKey
		ct   string
	}{
		{name: "tampered node-rsa ciphertext rejected", priv: keys[0].priv, ct: interopFlip(t, base.Data, keys[0].priv.Size())},
		{name: "node-rsa ciphertext under a wrong key rejected", priv: wrong, ct: base.Data},
		{name: "OAEP SHA-256 ciphertext rejected by the NodeRSA scheme", priv: keys[0].priv, ct: batch.result(sha256Op).Data},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ct == "" {
				t.Fatal("node produced no ciphertext")
			}
			if _, err := claims.DecryptUserPayload(tc.priv, tc.ct); !errors.Is(err, claims.ErrDecrypt) {
				t.Fatalf("DecryptUserPayload: got %v, want ErrDecrypt", err)
			}
		})
	}
}

// TestInteropOAEPSHA256 proves the alternative scheme against Node's
// crypto.privateDecrypt/publicEncrypt with oaepHash 'sha256', and that with
// oaepHash 'sha1' one node-rsa chunk is the same format.
func TestInteropOAEPSHA256(t *testing.T) {
	node := interopRequireNode(t)
	keys := interopRSAKeys(t)
	value := map[string]any{"sso_token": "c2VjcmV0", "custom_user_id": "user-1815", "name": "Zoë <&>"}
	big := interopSized(t, 1024)

	type check struct {
		name    string
		priv    *rsa.PrivateKey
		op      int
		goText  string                                          // for node decrypts: what Go encrypted
		decrypt func(crypto.PrivateKey, string) ([]byte, error) // for node encrypts
		wantErr string                                          // substring of Node's error
	}
	var batch interopBatch
	var checks []check
	goEncrypt := func(s claims.Scheme, k interopRSA, v any) (ct, text string) {
		t.Helper()
		ct, err := s.Encrypt(&k.priv.PublicKey, v)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		b, err := s.Decrypt(k.priv, ct)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		return ct, string(b)
	}
	for _, k := range keys {
		ct, text := goEncrypt(claims.OAEPSHA256, k, value)
		checks = append(checks,
			check{name: k.name + " crypto.privateDecrypt sha256 opens OAEPSHA256", priv: k.priv, goText: text,
				op: batch.add(interopOp{Op: "cryptoDecrypt", PrivateKey: k.pem, Data: ct, OAEPHash: "sha256"})},
			check{name: k.name + " OAEPSHA256 opens crypto.publicEncrypt sha256", priv: k.priv, decrypt: claims.OAEPSHA256.Decrypt,
				op: batch.add(interopOp{Op: "cryptoEncrypt", PublicKey: k.pub, Value: value, OAEPHash: "sha256"})},
		)
	}
	k := keys[0]
	sha256ct, _ := goEncrypt(claims.OAEPSHA256, k, value)
	oneChunk, oneText := goEncrypt(claims.NodeRSA, k, value)
	multiChunk, _ := goEncrypt(claims.NodeRSA, k, big)
	nodeOneChunk := batch.add(interopOp{Op: "nodersaEncrypt", PublicKey: k.pub, Value: value})
	nodeMultiChunk := batch.add(interopOp{Op: "nodersaEncrypt", PublicKey: k.pub, Value: big})
	checks = append(checks,
		check{name: "crypto.privateDecrypt sha1 opens a one-chunk NodeRSA ciphertext from Go", priv: k.priv, goText: oneText,
			op: batch.add(interopOp{Op: "cryptoDecrypt", PrivateKey: k.pem, Data: oneChunk, OAEPHash: "sha1"})},
		check{name: "crypto.privateDecrypt sha1 opens a one-chunk ciphertext from node-rsa", priv: k.priv,
			op: batch.add(interopOp{Op: "cryptoDecrypt", PrivateKey: k.pem, DataFrom: &nodeOneChunk, OAEPHash: "sha1"})},
		check{name: "DecryptUserPayload opens crypto.publicEncrypt sha1", priv: k.priv, decrypt: claims.DecryptUserPayload,
			op: batch.add(interopOp{Op: "cryptoEncrypt", PublicKey: k.pub, Value: value, OAEPHash: "sha1"})},
		check{name: "crypto.privateDecrypt sha1 rejects OAEPSHA256", priv: k.priv, wantErr: "oaep decoding error",
			op: batch.add(interopOp{Op: "cryptoDecrypt", PrivateKey: k.pem, Data: sha256ct, OAEPHash: "sha1"})},
		check{name: "crypto.privateDecrypt sha256 rejects NodeRSA", priv: k.priv, wantErr: "oaep decoding error",
			op: batch.add(interopOp{Op: "cryptoDecrypt", PrivateKey: k.pem, Data: oneChunk, OAEPHash: "sha256"})},
		check{name: "crypto.privateDecrypt rejects a multi-chunk NodeRSA ciphertext from Go", priv: k.priv, wantErr: "data greater than mod len",
			op: batch.add(interopOp{Op: "cryptoDecrypt", PrivateKey: k.pem, Data: multiChunk, OAEPHash: "sha1"})},
		check{name: "crypto.privateDecrypt rejects a multi-chunk ciphertext from node-rsa", priv: k.priv, wantErr: "data greater than mod len",
			op: batch.add(interopOp{Op: "cryptoDecrypt", PrivateKey: k.pem, DataFrom: &nodeMultiChunk, OAEPHash: "sha1"})},
	)
	sha256FromNode := batch.add(interopOp{Op: "cryptoEncrypt", PublicKey: k.pub, Value: value, OAEPHash: "sha256"})
	batch.run(t, node)

	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			r := batch.result(c.op)
			if c.wantErr != "" {
				if r.Error == nil || !strings.Contains(r.Error.Message, c.wantErr) {
					t.Fatalf("got error %q, want one containing %q", r.errText(), c.wantErr)
				}
				return
			}
			if r.Error != nil {
				t.Fatalf("node: %s", r.errText())
			}
			text := r.Text
			if c.decrypt != nil { // Node encrypted; Go decrypts
				got, err := c.decrypt(c.priv, r.Data)
				if err != nil {
					t.Fatalf("Go decrypt: %v", err)
				}
				if string(got) != r.Text {
					t.Errorf("JSON text: got %q, want node's %q", got, r.Text)
				}
				text = string(got)
			} else if c.goText != "" && r.Text != c.goText {
				t.Errorf("JSON text: node got %q, Go encrypted %q", r.Text, c.goText)
			}
			interopSameFields(t, "payload", interopDecode(t, "payload", []byte(text)), interopJSONOf(t, value))
		})
	}

	t.Run("NodeRSA scheme rejects crypto.publicEncrypt sha256", func(t *testing.T) {
		r := batch.result(sha256FromNode)
		if r.Error != nil {
			t.Fatalf("node: %s", r.errText())
		}
		if _, err := claims.DecryptUserPayload(k.priv, r.Data); !errors.Is(err, claims.ErrDecrypt) {
			t.Fatalf("DecryptUserPayload: got %v, want ErrDecrypt", err)
		}
		if _, err := claims.OAEPSHA256.Decrypt(k.priv, r.Data); err != nil {
			t.Fatalf("control: OAEPSHA256.Decrypt: %v", err)
		}
	})
}

// interopFixtureFile is testdata/interop/fixtures.json, written by
// testdata/node/gen-fixtures.js.
type interopFixtureFile struct {
	Versions map[string]string `json:"versions"`
	Tokens   []struct {
		Name      string          `json:"name"`
		Key       string          `json:"key"`
		Algorithm string          `json:"algorithm"`
		Token     string          `json:"token"`
		Claims    json.RawMessage `json:"claims"`
	} `json:"tokens"`
	Payloads []struct {
		Name       string `json:"name"`
		Key        string `json:"key"`
		Scheme     string `json:"scheme"`
		Text       string `json:"text"`
		Ciphertext string `json:"ciphertext"`
	} `json:"payloads"`
}

// TestInteropGoldenFixtures checks, without Node, tokens signed by
// jsonwebtoken and payloads encrypted by node-rsa and Node's crypto.
// Regenerate with `node claims/testdata/node/gen-fixtures.js`.
func TestInteropGoldenFixtures(t *testing.T) {
	b, err := os.ReadFile(interopFixtures)
	if err != nil {
		t.Fatalf("%v (regenerate: node claims/testdata/node/gen-fixtures.js)", err)
	}
	var f interopFixtureFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", interopFixtures, err)
	}
	if f.Versions["jsonwebtoken"] != interopJSONWebTokenVersion || f.Versions["node-rsa"] != interopNodeRSAVersion {
		t.Errorf("fixtures made by jsonwebtoken %q, node-rsa %q; want %q, %q: regenerate them",
			f.Versions["jsonwebtoken"], f.Versions["node-rsa"], interopJSONWebTokenVersion, interopNodeRSAVersion)
	}
	if len(f.Tokens) == 0 || len(f.Payloads) == 0 {
		t.Fatalf("%s: got %d tokens and %d payloads, want some of each", interopFixtures, len(f.Tokens), len(f.Payloads))
	}
	wrong := interopRSAKey(t, interopWrongKey)

	for _, fx := range f.Tokens {
		t.Run(fx.Name, func(t *testing.T) {
			pub := interopKey(t, fx.Key).Public()
			alg := jwa.SignatureAlgorithm(fx.Algorithm)
			tok, err := claims.Verify(fx.Token, pub, claims.WithAlgorithms(alg))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := json.Marshal(tok)
			if err != nil {
				t.Fatal(err)
			}
			interopSameFields(t, "claims", interopDecode(t, "verified claims", got), interopDecode(t, "fixture claims", fx.Claims))

			if _, err := claims.Verify(interopTamper(t, fx.Token, "anon-someone-else"), pub, claims.WithAlgorithms(alg)); !errors.Is(err, claims.ErrInvalidToken) {
				t.Errorf("tampered token: Verify got %v, want ErrInvalidToken", err)
			}
			if _, err := claims.Verify(fx.Token, wrong.Public(), claims.WithAlgorithms(alg)); !errors.Is(err, claims.ErrInvalidToken) {
				t.Errorf("wrong key: Verify got %v, want ErrInvalidToken", err)
			}
			if alg != jwa.RS256 {
				if _, err := claims.Verify(fx.Token, pub); !errors.Is(err, claims.ErrInvalidToken) {
					t.Errorf("%s token under the RS256-only default: Verify got %v, want ErrInvalidToken", alg, err)
				}
			}
		})
	}

	for _, fx := range f.Payloads {
		t.Run(fx.Name, func(t *testing.T) {
			priv := interopRSAKey(t, fx.Key)
			scheme, other := claims.NodeRSA, claims.OAEPSHA256
			if fx.Scheme == "OAEPSHA256" {
				scheme, other = claims.OAEPSHA256, claims.NodeRSA
			}
			got, err := scheme.Decrypt(priv, fx.Ciphertext)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(got) != fx.Text {
				t.Errorf("JSON text: got %q, want %q", interopShort(string(got)), interopShort(fx.Text))
			}
			interopSameFields(t, "payload", interopDecode(t, "decrypted", got), interopDecode(t, "fixture text", []byte(fx.Text)))
			if scheme == claims.NodeRSA {
				interopBlocks(t, priv, fx.Ciphertext, fx.Text)
			}

			for _, bad := range []struct {
				name   string
				scheme claims.Scheme
				priv   *rsa.PrivateKey
				ct     string
			}{
				{"tampered", scheme, priv, interopFlip(t, fx.Ciphertext, priv.Size())},
				{"wrong key", scheme, wrong, fx.Ciphertext},
				{"other scheme", other, priv, fx.Ciphertext},
			} {
				if _, err := bad.scheme.Decrypt(bad.priv, bad.ct); !errors.Is(err, claims.ErrDecrypt) {
					t.Errorf("%s: Decrypt got %v, want ErrDecrypt", bad.name, err)
				}
			}
		})
	}
}
