package userdata

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
)

// Defaults of [Config].
const (
	// DefaultIAMURL is IBM Cloud IAM's token endpoint.
	DefaultIAMURL = "https://iam.cloud.ibm.com/identity/token"
	// DefaultVersion is the watsonx Assistant v2 API version date sent with
	// every call.
	DefaultVersion = "2024-08-25"

	defaultTimeout = 30 * time.Second
	// maxRetryAfter caps the wait a Retry-After header may ask for.
	maxRetryAfter = time.Hour
	// maxBody is the most read of an answer from IBM or IAM.
	maxBody = 1 << 20
)

// Config configures [NewDeleter]. APIKey and InstanceURL are required; the
// zero values of the other fields are the defaults.
type Config struct {
	// APIKey is an IBM Cloud API key (or a service ID's) with the Manager
	// role on the watsonx Assistant instance. It is sent only to IAMURL.
	// Required.
	APIKey string

	// InstanceURL is the instance's service URL, as in its service
	// credentials: https://api.REGION.assistant.watson.cloud.ibm.com/instances/ID.
	// It must be https, except on a loopback host (a local stand-in).
	// Required.
	InstanceURL string

	// IAMURL is the IAM token endpoint. It must be https, except on a
	// loopback host. If empty, DefaultIAMURL is used.
	IAMURL string

	// Version is the API version date (YYYY-MM-DD). If empty,
	// DefaultVersion (2024-08-25) is used.
	Version string

	// HTTPClient makes the calls to IAM and to IBM. If nil, a client with a
	// 30-second timeout is used.
	HTTPClient *http.Client

	// Logger receives a debug line each time an IAM token is fetched,
	// never the key or the token. If nil, [slog.Default] is used at each
	// call.
	Logger *slog.Logger
}

// A Deleter deletes a customer_id's data at one watsonx Assistant
// instance. It implements [ledger.UserDataDeleter] and is safe for
// concurrent use; it does not pace its calls (a [ledger.Eraser] does).
type Deleter struct {
	apiKey    string
	deleteURL string // InstanceURL + /v2/user_data
	iamURL    string
	version   string
	client    *http.Client
	log       *slog.Logger // Config.Logger; nil: slog.Default at each call

	mu        sync.Mutex // held while a token is fetched
	token     string
	refreshAt time.Time
}

var _ ledger.UserDataDeleter = (*Deleter)(nil)

// NewDeleter returns a Deleter for cfg. It returns an error naming the field
// when a required field is missing or a field is malformed; the error never
// contains the API key.
func NewDeleter(cfg Config) (*Deleter, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("userdata: Config.APIKey is required (an IBM Cloud API key)")
	}
	if strings.IndexFunc(cfg.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return nil, errors.New("userdata: Config.APIKey contains spaces or control characters (a trailing newline?)")
	}
	if cfg.InstanceURL == "" {
		return nil, errors.New("userdata: Config.InstanceURL is required (the instance's service URL, https://api.REGION.assistant.watson.cloud.ibm.com/instances/ID)")
	}
	instance, err := checkURL("InstanceURL", cfg.InstanceURL)
	if err != nil {
		return nil, err
	}
	iam, err := checkURL("IAMURL", cmp.Or(cfg.IAMURL, DefaultIAMURL))
	if err != nil {
		return nil, err
	}
	version := cmp.Or(cfg.Version, DefaultVersion)
	if _, err := time.Parse(time.DateOnly, version); err != nil {
		return nil, fmt.Errorf("userdata: Config.Version %q: want a date, YYYY-MM-DD", version)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	instance.Path = strings.TrimRight(instance.Path, "/") + "/v2/user_data"
	return &Deleter{
		apiKey:    cfg.APIKey,
		deleteURL: instance.String(),
		iamURL:    iam.String(),
		version:   version,
		client:    client,
		log:       cfg.Logger,
	}, nil
}

func (d *Deleter) logger() *slog.Logger {
	if d.log != nil {
		return d.log
	}
	return slog.Default()
}

// checkURL parses the URL of the Config field name: absolute, https (or
// http on a loopback host), no query, fragment or user info.
func checkURL(name, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("userdata: Config.%s %q: want an https:// URL", name, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("userdata: Config.%s: want a URL without user info, query or fragment", name)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("userdata: Config.%s %q: want https (http only on a loopback host)", name, raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// DeleteUserData asks IBM to delete everything stored under customerID. It
// returns nil once IBM accepted the deletion (202 Accepted, or another 2xx).
// A 429 or 503 with a Retry-After header comes back as [ledger.RetryAfter], so a
// [ledger.Eraser] waits as long as IBM asks. A 401 drops the cached IAM
// token, so that the next call fetches a fresh one.
func (d *Deleter) DeleteUserData(ctx context.Context, customerID string) error {
	if customerID == "" {
		return errors.New("userdata: empty customer_id")
	}
	token, err := d.bearer(ctx)
	if err != nil {
		return err
	}
	q := url.Values{"customer_id": {customerID}, "version": {d.version}}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, d.deleteURL+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("userdata: DELETE user_data: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("userdata: DELETE user_data: %w", transportError(err))
	}
	body := readBody(resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	if resp.StatusCode == http.StatusUnauthorized {
		d.dropToken(token)
	}
	err = fmt.Errorf("userdata: DELETE user_data: IBM answered %s%s", resp.Status, ibmMessage(body, customerID, d.apiKey, token))
	return withRetryAfter(err, resp)
}

// bearer returns a cached IAM token, or fetches one when there is none or it
// is due for renewal.
func (d *Deleter) bearer(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.token != "" && time.Now().Before(d.refreshAt) {
		return d.token, nil
	}
	form := url.Values{"grant_type": {"urn:ibm:params:oauth:grant-type:apikey"}, "apikey": {d.apiKey}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.iamURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("userdata: IAM token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("userdata: IAM token: %w", transportError(err))
	}
	body := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("userdata: IAM token: IAM answered %s%s", resp.Status, iamMessage(body, d.apiKey))
		return "", withRetryAfter(err, resp)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("userdata: IAM token: IAM's answer has no access_token")
	}
	// Renew shortly before expiry: a fifth of the lifetime early, at most
	// five minutes (IAM's tokens live an hour). No expires_in: no caching.
	life := time.Duration(tok.ExpiresIn) * time.Second
	d.token, d.refreshAt = tok.AccessToken, start.Add(life-min(life/5, 5*time.Minute))
	d.logger().LogAttrs(ctx, slog.LevelDebug, "userdata: IAM token fetched", slog.Duration("expires_in", life))
	return d.token, nil
}

// dropToken forgets token if it is still the cached one.
func (d *Deleter) dropToken(token string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.token == token {
		d.token = ""
	}
}

// readBody reads at most maxBody bytes of resp's body and closes it.
func readBody(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return b
}

// transportError returns err without the request URL a *url.Error quotes
// (it would carry the customer_id).
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// withRetryAfter marks err with resp's Retry-After, for a 429 or a 503.
func withRetryAfter(err error, resp *http.Response) error {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return err
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return ledger.RetryAfter(err, d)
	}
	return err
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// ibmMessage returns ": " and the error text of an IBM error body
// ({"error": "…", "code": 400}), short, with secrets cut out, or "".
func ibmMessage(body []byte, secrets ...string) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return clean(e.Error, secrets)
}

// iamMessage returns ": " and IAM's errorCode and errorMessage, or "".
func iamMessage(body []byte, apiKey string) string {
	var e struct {
		Code    string `json:"errorCode"`
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	msg := e.Message
	if e.Code != "" {
		msg = strings.TrimSuffix(e.Code+": "+msg, ": ")
	}
	return clean(msg, []string{apiKey})
}

// clean shortens msg for an error string, removes every secret from it, as
// is or URL-escaped, and prefixes it with ": ".
func clean(msg string, secrets []string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
			msg = strings.ReplaceAll(msg, form, "[redacted]")
		}
	}
	msg = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "…"
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return ""
	}
	return ": " + msg
}
