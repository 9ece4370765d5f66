package claims

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// sized returns a JSON object whose text is exactly n bytes (n ≥ 8).
func sized(t testing.TB, n int) map[string]string {
	t.Helper()
	v := map[string]string{"s": strings.Repeat("x", n-8)} // {"s":""} is 8 bytes
	if b, _ := json.Marshal(v); len(b) != n {
		t.Fatalf("sized(%d): got %d bytes", n, len(b))
	}
	return v
}

// TestNodeRSAFormat checks the node-rsa format block by block with crypto/rsa
// directly, so that any change of hash, label, chunking or encoding fails.
func TestNodeRSAFormat(t *testing.T) {
	for _, keyName := range []string{"rsa2048", "rsa4096"} {
		priv := testRSA(t, keyName)
		k := priv.Size()
		limit := k - 42
		for _, n := range []int{10, 200, limit - 1, limit, limit + 1, 1024, 2*limit + 1, 5 * 1024} {
			if n < 8 {
				continue
			}
			v := sized(t, n)
			t.Run(keyName+"/"+itoa(n)+" bytes", func(t *testing.T) {
				ct, err := EncryptUserPayload(&priv.PublicKey, v)
				if err != nil {
					t.Fatalf("EncryptUserPayload: %v", err)
				}
				raw, err := base64.StdEncoding.Strict().DecodeString(ct)
				if err != nil || base64.StdEncoding.EncodeToString(raw) != ct {
					t.Fatalf("not padded standard base64: %v", err)
				}
				blocks := (n + limit - 1) / limit
				if len(raw) != blocks*k {
					t.Fatalf("ciphertext: got %d bytes, want %d blocks of %d", len(raw), blocks, k)
				}
				// node-rsa's equal split: every chunk ceil(n/blocks) bytes but the last.
				size := (n + blocks - 1) / blocks
				var text []byte
				for i := range blocks {
					pt, err := rsa.DecryptOAEP(sha1.New(), nil, priv, raw[i*k:(i+1)*k], nil)
					if err != nil {
						t.Fatalf("block %d: OAEP SHA-1, empty label: %v", i, err)
					}
					if len(pt) > limit {
						t.Errorf("block %d: %d bytes of plaintext, more than k-42 = %d", i, len(pt), limit)
					}
					if i < blocks-1 && len(pt) != size {
						t.Errorf("block %d: %d bytes, want node-rsa's %d", i, len(pt), size)
					}
					text = append(text, pt...)
				}
				want, _ := json.Marshal(v)
				if string(text) != string(want) {
					t.Errorf("plaintext: got %d bytes, want the %d bytes of JSON", len(text), len(want))
				}
				got, err := DecryptUserPayload(priv, ct)
				if err != nil || string(got) != string(want) {
					t.Errorf("DecryptUserPayload: got %d bytes, %v; want the JSON", len(got), err)
				}
			})
		}
	}
}

func TestOAEPSHA256Format(t *testing.T) {
	priv := testRSA(t, "rsa2048")
	limit := priv.Size() - 66 // 190

	t.Run("one block of OAEP SHA-256, up to k-66 bytes", func(t *testing.T) {
		v := sized(t, limit)
		ct, err := OAEPSHA256.Encrypt(&priv.PublicKey, v)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		raw, err := base64.StdEncoding.DecodeString(ct)
		if err != nil || len(raw) != priv.Size() {
			t.Fatalf("ciphertext: %d bytes, %v; want one block of %d", len(raw), err, priv.Size())
		}
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, priv, raw, nil)
		if err != nil {
			t.Fatalf("OAEP SHA-256: %v", err)
		}
		want, _ := json.Marshal(v)
		if string(pt) != string(want) {
			t.Errorf("plaintext differs")
		}
		if _, err := rsa.DecryptOAEP(sha1.New(), nil, priv, raw, nil); err == nil {
			t.Error("OAEP SHA-1 opened an OAEPSHA256 block")
		}
		if _, err := NodeRSA.Decrypt(priv, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("NodeRSA.Decrypt of an OAEPSHA256 payload: got %v, want ErrDecrypt", err)
		}
		got, err := OAEPSHA256.Decrypt(priv, ct)
		if err != nil || string(got) != string(want) {
			t.Errorf("OAEPSHA256.Decrypt: got %v", err)
		}
	})
	t.Run("more than k-66 bytes is refused", func(t *testing.T) {
		_, err := OAEPSHA256.Encrypt(&priv.PublicKey, sized(t, limit+1))
		if !errors.Is(err, ErrPayloadTooLarge) {
			t.Fatalf("Encrypt: got %v, want ErrPayloadTooLarge", err)
		}
		want := "claims: user_payload too large for the encryption scheme: 191 bytes of JSON, at most 190 fit one OAEPSHA256 block of a 2048-bit key"
		if err.Error() != want {
			t.Errorf("Encrypt: got %q, want %q", err, want)
		}
	})
	t.Run("two OAEP SHA-256 blocks are refused: the scheme is one block", func(t *testing.T) {
		var two []byte
		for _, part := range []string{`{"a":`, `1}`} {
			ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, []byte(part), nil)
			if err != nil {
				t.Fatal(err)
			}
			two = append(two, ct...)
		}
		if got, err := OAEPSHA256.Decrypt(priv, base64.StdEncoding.EncodeToString(two)); !errors.Is(err, ErrDecrypt) {
			t.Errorf("got %s, %v; want ErrDecrypt", got, err)
		}
	})
	t.Run("a two-block NodeRSA payload is refused by OAEPSHA256.Decrypt", func(t *testing.T) {
		ct, err := NodeRSA.Encrypt(&priv.PublicKey, sized(t, 300))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OAEPSHA256.Decrypt(priv, ct); !errors.Is(err, ErrDecrypt) {
			t.Errorf("got %v, want ErrDecrypt", err)
		}
	})
}

func TestEncryptKeepsJSONAsWritten(t *testing.T) {
	priv := testRSA(t, "rsa2048")
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"HTML characters are not escaped", map[string]string{"n": "<b>Ada & Co</b>"}, `{"n":"<b>Ada & Co</b>"}`},
		{"non-ASCII stays UTF-8", map[string]string{"n": "Zoë 😀"}, `{"n":"Zoë 😀"}`},
		{"a RawMessage is passed through, big numbers included", json.RawMessage(`{"id": 12345678901234567890}`), `{"id":12345678901234567890}`},
		{"a struct keeps its field order", struct {
			B string `json:"b"`
			A string `json:"a"`
		}{"1", "2"}, `{"b":"1","a":"2"}`},
		{"any JSON value is accepted by Encrypt", []int{1, 2}, `[1,2]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range []Scheme{NodeRSA, OAEPSHA256} {
				ct, err := s.Encrypt(&priv.PublicKey, tc.v)
				if err != nil {
					t.Fatalf("%v.Encrypt: %v", s, err)
				}
				got, err := s.Decrypt(priv, ct)
				if err != nil || string(got) != tc.want {
					t.Errorf("%v: got %s, %v; want %s", s, got, err, tc.want)
				}
			}
		})
	}
}

func TestEncryptIsRandomized(t *testing.T) {
	pub := &testRSA(t, "rsa2048").PublicKey
	a, err1 := EncryptUserPayload(pub, map[string]int{"a": 1})
	b, err2 := EncryptUserPayload(pub, map[string]int{"a": 1})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if a == b {
		t.Error("two encryptions of the same payload are equal, want OAEP's random padding")
	}
}

func TestEncryptRefuses(t *testing.T) {
	pub := &testRSA(t, "rsa2048").PublicKey
	tests := []struct {
		name   string
		scheme Scheme
		pub    *rsa.PublicKey
		v      any
		want   string
		is     error
	}{
		{"a 1024-bit key is refused", NodeRSA, &testRSA(t, "rsa1024").PublicKey, 1, "claims: RSA key shorter than 2048 bits: user_payload encryption key has 1024 bits", ErrWeakKey},
		{"a nil key is refused", NodeRSA, nil, 1, "claims: user_payload encryption key is nil", nil},
		{"an empty key is refused", NodeRSA, &rsa.PublicKey{}, 1, "claims: user_payload encryption key is nil", nil},
		{"an unknown scheme is refused", Scheme(7), pub, 1, "claims: unknown encryption scheme Scheme(7)", nil},
		{"an unencodable value is refused", NodeRSA, pub, make(chan int), "claims: encode user_payload as JSON: json: unsupported type: chan int", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.scheme.Encrypt(tc.pub, tc.v)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Encrypt: got %v, want %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Encrypt: got %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

func TestDecryptIsStrict(t *testing.T) {
	priv := testRSA(t, "rsa2048")
	other := testRSA(t, "rsa4096")
	const secret = "Sup3rSecret"
	good, err := EncryptUserPayload(&priv.PublicKey, map[string]string{"a": secret + strings.Repeat("x", 300)})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(good)
	reencode := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	flipped := append([]byte(nil), raw...)
	flipped[300] ^= 1
	notJSON, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &priv.PublicKey, []byte(secret+" is not JSON"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// One block is 256 bytes, so its base64 ends in "x==" where x carries
	// 2 bits and 4 zero bits; setting one of those makes a second spelling
	// that a non-strict decoder would accept.
	one, err := EncryptUserPayload(&priv.PublicKey, map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	malleable := one[:341] + string(alphabet[strings.IndexByte(alphabet, one[341])|1]) + "=="
	if _, err := base64.StdEncoding.DecodeString(malleable); err != nil || !strings.HasSuffix(one, "==") {
		t.Fatalf("test setup: %v", err)
	}
	encOther, err := EncryptUserPayload(&other.PublicKey, map[string]int{"a": 1})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		in   string
	}{
		{"empty input is refused", ""},
		{"non-base64 is refused", "%%%%"},
		{"URL-safe base64 is refused", strings.NewReplacer("+", "-", "/", "_").Replace(good) + "-_"},
		{"unpadded base64 is refused", strings.TrimRight(good, "=")},
		{"a line break inside is refused", good[:76] + "\n" + good[76:]},
		{"a trailing CRLF is refused", good + "\r\n"},
		{"MIME-style CRLF line breaks are refused", good[:76] + "\r\n" + good[76:152] + "\r\n" + good[152:]},
		{"surrounding spaces are refused", " " + good + " "},
		{"non-zero padding bits are refused", malleable},
		{"a length that is not a multiple of k is refused", reencode(raw[:len(raw)-1])},
		{"one block dropped is still checked: a half block is refused", reencode(raw[:len(raw)/2+10])},
		{"a flipped bit is refused", reencode(flipped)},
		{"blocks swapped are refused", reencode(append(append([]byte(nil), raw[256:]...), raw[:256]...))},
		{"a ciphertext for another key is refused", encOther},
		{"a plaintext that is not JSON is refused", reencode(notJSON)},
		{"all zero blocks are refused", reencode(make([]byte, 512))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecryptUserPayload(priv, tc.in)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("got %q, %v; want ErrDecrypt", got, err)
			}
			if got != nil {
				t.Errorf("got %d bytes with the error, want none", len(got))
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q quotes the plaintext", err)
			}
		})
	}
	t.Run("a nil key is an error", func(t *testing.T) {
		if _, err := DecryptUserPayload(nil, good); err == nil {
			t.Error("got no error")
		}
	})
	t.Run("the untouched ciphertext decrypts", func(t *testing.T) {
		if _, err := DecryptUserPayload(priv, good); err != nil {
			t.Errorf("got %v", err)
		}
	})
}

func TestSchemeString(t *testing.T) {
	for s, want := range map[Scheme]string{NodeRSA: "NodeRSA", OAEPSHA256: "OAEPSHA256", Scheme(-1): "Scheme(-1)"} {
		if got := s.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// FuzzDecryptUserPayload: arbitrary input never panics and fails only with
// ErrDecrypt, under both schemes.
func FuzzDecryptUserPayload(f *testing.F) {
	priv := testRSA(f, "rsa2048")
	good, err := EncryptUserPayload(&priv.PublicKey, map[string]any{"name": "Ada", "custom_user_id": "u-1"})
	if err != nil {
		f.Fatal(err)
	}
	long, err := EncryptUserPayload(&priv.PublicKey, sized(f, 500))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"", "=", "==", "====", "A", "AA==", "AAA=", "AAAA", "\n", "\r\n",
		good, long, good[:len(good)-1], good + "=", good + "\n", " " + good,
		good[:344/2], strings.ReplaceAll(good, "+", "-"),
		base64.StdEncoding.EncodeToString(make([]byte, 256)),
		base64.StdEncoding.EncodeToString(make([]byte, 255)),
		base64.StdEncoding.EncodeToString(make([]byte, 257)),
		strings.Repeat("/", 344),
		strings.Repeat("A", 4096),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, scheme := range []Scheme{NodeRSA, OAEPSHA256} {
			got, err := scheme.Decrypt(priv, s)
			if err != nil {
				if !errors.Is(err, ErrDecrypt) {
					t.Fatalf("%v: got %v, want ErrDecrypt", scheme, err)
				}
				if got != nil {
					t.Fatalf("%v: got data with an error", scheme)
				}
				continue
			}
			if !json.Valid(got) {
				t.Fatalf("%v: decrypted text is not JSON", scheme)
			}
		}
	})
}

// FuzzEncryptDecrypt: Decrypt(Encrypt(x)) is the JSON text of x, exactly.
func FuzzEncryptDecrypt(f *testing.F) {
	priv := testRSA(f, "rsa2048")
	for _, s := range []string{
		"", "Ada", "<script>&amp;</script>", "Zoë 😀", "\u2028\u2029", "\x00\x01\x1f", "\xff\xfe",
		`"quoted" \ back\slash`, strings.Repeat("x", 213), strings.Repeat("é", 107), strings.Repeat("y", 1000),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, sha256 bool) {
		scheme := NodeRSA
		if sha256 {
			scheme = OAEPSHA256
		}
		v := map[string]string{"s": s}
		want, err := marshalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := scheme.Encrypt(&priv.PublicKey, v)
		if scheme == OAEPSHA256 && len(want) > priv.Size()-66 {
			if !errors.Is(err, ErrPayloadTooLarge) {
				t.Fatalf("Encrypt of %d bytes: got %v, want ErrPayloadTooLarge", len(want), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		got, err := scheme.Decrypt(priv, ct)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if string(got) != string(want) {
			t.Fatalf("Decrypt: got %q, want %q", got, want)
		}
		var back map[string]string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if utf8.ValidString(s) && back["s"] != s {
			t.Fatalf("round trip: got %q, want %q", back["s"], s)
		}
	})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
