package keys

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// minRSABits is the smallest signing key a [FileSource] loads, as
// identity.New requires.
const minRSABits = 2048

// sessionKeyLen is the length of a session-sealing key: AES-256.
const sessionKeyLen = 32

// defaultInterval is how often [FileSource.Watch] looks at the files when
// FileSourceConfig.Interval is zero.
const defaultInterval = 10 * time.Second

// FileSourceConfig configures a [FileSource]: at least one file of some
// kind is required.
type FileSourceConfig struct {
	// SigningKeyFiles are PEM files of RSA private keys of at least 2048
	// bits (see [ParsePrivatePEM]). The first key signs; the others only
	// verify (identity.Config.SigningKeys). If empty, Material has no
	// signing keys.
	SigningKeyFiles []string

	// SessionKeyFiles are files of the keys that seal session cookies
	// (identity.Config.SessionKeys), each exactly 32 bytes once decoded by
	// [ParseSecret]. The first seals; all open. If empty, Material has no
	// session keys.
	SessionKeyFiles []string

	// BindingKeyFiles are files of the keys that bind anonymous IDs to their
	// cookies (cookie.Config.BindingKeys), each at least 32 bytes once
	// decoded by ParseSecret. The first signs; all verify. If empty,
	// Material has no binding keys.
	BindingKeyFiles []string

	// Interval is how often [FileSource.Watch] looks at the files. If
	// zero, 10 seconds is used; negative values are refused.
	Interval time.Duration

	// Logger receives one line per reload, a failed one with its cause.
	// Key material is never logged. If nil, [slog.Default] is used at each
	// call.
	Logger *slog.Logger

	// OnChange, if set, is called with the new keys before a reload takes
	// effect (not for the first load, which [NewFileSource] does): apply them
	// there, as identity.Server.Rotate does. If it returns an error, the
	// reload fails and the previous keys stay. It is never called
	// concurrently. If nil, nothing is called.
	OnChange func(Material) error
}

// Material is a set of keys a [FileSource] loaded, in the order of their
// files; a key found in several files is listed once, at its first. Its
// slices are the caller's to keep but the keys in them are shared: do not
// modify them.
type Material struct {
	// SigningKeys are the RSA signing keys, the one that signs first.
	SigningKeys []crypto.Signer
	// SessionKeys are the session-sealing keys, 32 bytes each, the one that
	// seals first.
	SessionKeys [][]byte
	// BindingKeys are the anonymous-ID binding keys, the one that signs
	// first.
	BindingKeys [][]byte

	signingFiles []string // where each signing key came from, for the log
}

func (m Material) clone() Material {
	return Material{SigningKeys: slices.Clone(m.SigningKeys), SessionKeys: slices.Clone(m.SessionKeys), BindingKeys: slices.Clone(m.BindingKeys), signingFiles: m.signingFiles}
}

// FileSourceStats counts a [FileSource]'s reloads since [NewFileSource].
type FileSourceStats struct {
	// Reloads counts reloads that swapped the keys.
	Reloads uint64
	// Failures counts reloads that kept the previous keys because a file
	// was missing or bad, or OnChange refused the new keys. [FileSource.Watch]
	// counts a bad set of files once, not at every look.
	Failures uint64
}

// FileSource holds keys loaded from files and reloads them when the files
// change, as secrets mounted by Kubernetes (a ..data symlink swapped
// atomically), systemd credentials or a deploy script (a file renamed over
// the old one, or rewritten in place) do. A reload is all or nothing: if
// any file is missing or bad, every key stays as it was. Create one with
// [NewFileSource]; it is safe for concurrent use.
//
// [FileSource.Watch] polls: every Interval it reads the files (a few KB)
// and compares their SHA-256 with what it loaded. It does not use inotify
// (fsnotify): a watch on a file goes stale when a symlink or a rename
// replaces it, which is exactly how mounted secrets change, watches do not
// work on every filesystem (NFS, some overlays), and the standard library
// has none; keys change a few times a year, so a look every few seconds
// costs nothing and misses nothing. A file caught half-written fails to
// parse, keeps the old keys and is counted; the next look loads it.
type FileSource struct {
	cfg      FileSourceConfig
	interval time.Duration

	mu     sync.Mutex // serialises reloads
	failed [sha256.Size]byte
	cur    atomic.Pointer[loaded]

	reloads, failures atomic.Uint64
}

// loaded is a Material and the digest of the file contents it came from.
type loaded struct {
	m      Material
	digest [sha256.Size]byte
}

// NewFileSource loads the keys cfg names and returns a FileSource holding
// them. The error names the first missing or bad file, or the invalid
// field; it never contains key material.
func NewFileSource(cfg FileSourceConfig) (*FileSource, error) {
	cfg.SigningKeyFiles = slices.Clone(cfg.SigningKeyFiles)
	cfg.SessionKeyFiles = slices.Clone(cfg.SessionKeyFiles)
	cfg.BindingKeyFiles = slices.Clone(cfg.BindingKeyFiles)
	if len(cfg.SigningKeyFiles)+len(cfg.SessionKeyFiles)+len(cfg.BindingKeyFiles) == 0 {
		return nil, errors.New("keys: FileSourceConfig: no files: set SigningKeyFiles, SessionKeyFiles or BindingKeyFiles")
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("keys: FileSourceConfig.Interval: %v is negative", cfg.Interval)
	}
	s := &FileSource{cfg: cfg, interval: cfg.Interval}
	if s.interval == 0 {
		s.interval = defaultInterval
	}
	contents, digest := s.read()
	m, err := s.parse(contents)
	if err != nil {
		return nil, err
	}
	s.cur.Store(&loaded{m: m, digest: digest})
	s.logLoaded(context.Background(), "keys: keys loaded", m)
	return s, nil
}

func (s *FileSource) log() *slog.Logger {
	if s.cfg.Logger != nil {
		return s.cfg.Logger
	}
	return slog.Default()
}

// Material returns the keys loaded last.
func (s *FileSource) Material() Material { return s.cur.Load().m.clone() }

// Stats returns the reload counters.
func (s *FileSource) Stats() FileSourceStats {
	return FileSourceStats{Reloads: s.reloads.Load(), Failures: s.failures.Load()}
}

// Reload reads the files now (on SIGHUP, say) and, if they changed, loads
// them and calls OnChange. When a file is missing or bad, or OnChange fails,
// the previous keys stay, and the failure is logged, counted and returned.
// Files that have not changed are a no-op that returns nil.
func (s *FileSource) Reload() error {
	return s.reload(context.Background(), true)
}

// Watch looks at the files every Interval and reloads them when they
// change, as [FileSource.Reload] does, logging failures (once for the same
// bad contents). It returns ctx's error when ctx is done and leaves no
// goroutine behind.
func (s *FileSource) Watch(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			_ = s.reload(ctx, false) // logged and counted
		}
	}
}

// reload loads the files if they differ from the keys held. Unless forced,
// contents that already failed are not tried (nor logged) again.
func (s *FileSource) reload(ctx context.Context, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	contents, digest := s.read()
	if digest == s.cur.Load().digest {
		return nil
	}
	if !force && digest == s.failed {
		return nil
	}
	m, err := s.parse(contents)
	if err == nil && s.cfg.OnChange != nil {
		if err = s.cfg.OnChange(m.clone()); err != nil {
			err = fmt.Errorf("keys: OnChange refused the new keys: %w", err)
		}
	}
	if err != nil {
		s.failed = digest
		s.failures.Add(1)
		s.log().LogAttrs(ctx, slog.LevelError, "keys: reload failed; keeping the previous keys", slog.String("error", err.Error()))
		return err
	}
	s.failed = [sha256.Size]byte{}
	s.cur.Store(&loaded{m: m, digest: digest})
	s.reloads.Add(1)
	s.logLoaded(ctx, "keys: keys reloaded", m)
	return nil
}

// fileContent is one file as read: its bytes, or why it could not be read.
type fileContent struct {
	path string
	data []byte
	err  error
}

// read reads every file and digests what it found: names, contents and
// read errors, so that a file appearing, vanishing or changing all count
// as a change.
func (s *FileSource) read() ([][]fileContent, [sha256.Size]byte) {
	h := sha256.New()
	groups := [][]string{s.cfg.SigningKeyFiles, s.cfg.SessionKeyFiles, s.cfg.BindingKeyFiles}
	out := make([][]fileContent, len(groups))
	for i, paths := range groups {
		fmt.Fprintf(h, "group %d %d\n", i, len(paths))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			out[i] = append(out[i], fileContent{path: p, data: data, err: err})
			if err != nil {
				fmt.Fprintf(h, "%q error %q\n", p, err.Error())
				continue
			}
			fmt.Fprintf(h, "%q %d\n", p, len(data))
			h.Write(data)
		}
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return out, d
}

// parse turns the files' contents into Material, or says which file is bad.
func (s *FileSource) parse(groups [][]fileContent) (Material, error) {
	var m Material
	for _, f := range groups[0] {
		if f.err != nil {
			return Material{}, fmt.Errorf("keys: signing key: %w", f.err)
		}
		k, err := parsePrivate(f.data)
		if err == nil {
			err = checkSigningKey(k)
		}
		if err != nil {
			return Material{}, fmt.Errorf("%w: signing key %s: %w", ErrInvalid, f.path, err)
		}
		if !slices.ContainsFunc(m.SigningKeys, func(prev crypto.Signer) bool { return prev.Public().(*rsa.PublicKey).Equal(k.Public()) }) {
			m.SigningKeys = append(m.SigningKeys, k)
			m.signingFiles = append(m.signingFiles, f.path)
		}
	}
	var err error
	if m.SessionKeys, err = parseSecrets(groups[1], "session key", sessionKeyLen); err != nil {
		return Material{}, err
	}
	if m.BindingKeys, err = parseSecrets(groups[2], "binding key", 0); err != nil {
		return Material{}, err
	}
	for _, k := range m.SessionKeys {
		for _, b := range m.BindingKeys {
			if subtle.ConstantTimeCompare(k, b) == 1 {
				return Material{}, fmt.Errorf("%w: a session key is also a binding key: use a separate random key for each purpose", ErrInvalid)
			}
		}
	}
	return m, nil
}

func checkSigningKey(k crypto.Signer) error {
	pub, ok := k.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("is a %T key, need RSA (IBM's web chat verifies RS256 only)", k.Public())
	}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return fmt.Errorf("RSA key is %d bits, need at least %d", bits, minRSABits)
	}
	return nil
}

// parseSecrets parses each file's secret, of exactly size bytes unless size
// is 0, listing a secret found in several files once.
func parseSecrets(files []fileContent, what string, size int) ([][]byte, error) {
	var out [][]byte
	for _, f := range files {
		if f.err != nil {
			return nil, fmt.Errorf("keys: %s: %w", what, f.err)
		}
		k, err := parseSecret(f.data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrInvalid, what, f.path, err)
		}
		if size > 0 && len(k) != size {
			return nil, fmt.Errorf("%w: %s %s: is %d bytes, need exactly %d (AES-256; openssl rand %d)", ErrInvalid, what, f.path, len(k), size, size)
		}
		if !slices.ContainsFunc(out, func(prev []byte) bool { return subtle.ConstantTimeCompare(prev, k) == 1 }) {
			out = append(out, k)
		}
	}
	return out, nil
}

// logLoaded logs each signing key's role, kid and fingerprint, in the words
// identity.New logs them, and how many secrets of each kind were loaded.
func (s *FileSource) logLoaded(ctx context.Context, msg string, m Material) {
	for i, k := range m.SigningKeys {
		pub := k.Public().(*rsa.PublicKey)
		role := "active"
		if i > 0 {
			role = "verify-only"
		}
		fp, _ := Fingerprint(pub) // an RSA key always marshals
		s.log().LogAttrs(ctx, slog.LevelInfo, msg,
			slog.String("role", role), slog.String("kid", keyID(pub)), slog.String("sha256", fp),
			slog.String("file", m.signingFiles[i]))
	}
	s.log().LogAttrs(ctx, slog.LevelInfo, msg,
		slog.Int("signing_keys", len(m.SigningKeys)), slog.Int("session_keys", len(m.SessionKeys)), slog.Int("binding_keys", len(m.BindingKeys)))
}

// keyID is the RFC 7638 thumbprint of an RSA public key, base64url: the kid
// claims.KeyID gives it, computed here without a JOSE library.
func keyID(pub *rsa.PublicKey) string {
	e := big.NewInt(int64(pub.E)).Bytes() // unsigned big-endian, no leading zeros
	// The members in lexicographic order, no whitespace (RFC 7638 §3.2).
	doc, _ := json.Marshal(struct {
		E   string `json:"e"`
		Kty string `json:"kty"`
		N   string `json:"n"`
	}{base64.RawURLEncoding.EncodeToString(e), "RSA", base64.RawURLEncoding.EncodeToString(pub.N.Bytes())})
	sum := sha256.Sum256(doc)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
