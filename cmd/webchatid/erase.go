package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
	"github.com/webchatid/webchatid/identity/userdata"
)

const eraseUsage = `usage: webchatid erase -ledger DSN [-dry-run] [FLAGS] CUSTOM_USER_ID

Deletes at IBM (watsonx Assistant's DELETE /v2/user_data) every customer_id
the ledger links to CUSTOM_USER_ID, paced to IBM's limit (about 4 a minute)
and retried on failure, then forgets in the ledger the IDs IBM confirmed.
IDs that failed stay in the ledger: run erase again later.

The IBM Cloud API key is read from the environment variable that
-apikey-env names, never from a flag (it would land in shell history).
-dry-run only counts what would be deleted and needs no key.

Exit status: 0 when IBM confirmed every deletion, 1 when some failed or the
ledger failed, 2 for bad usage.
`

var eraseCmd = command{
	name:    "erase",
	args:    "-ledger DSN [-dry-run] CUSTOM_USER_ID",
	summary: "delete a user's data at IBM, then forget it in the ledger",
	help:    eraseUsage,
}

// Environment variables erase reads.
const (
	envAPIKey      = "WEBCHATID_IBM_APIKEY"
	envInstanceURL = "WEBCHATID_IBM_INSTANCE_URL"
)

func runErase(ctx context.Context, args []string, std stdio) int {
	return eraseCommand{open: ledgerdsn.Open, getenv: os.Getenv}.run(ctx, args, std)
}

// eraseCommand is webchatid erase, with its ledger opener and environment.
type eraseCommand struct {
	open   openFunc
	getenv func(string) string
}

// eraseFlags are erase's flags, parsed.
type eraseFlags struct {
	ledgerDSN, apiKeyEnv, instanceURL, iamURL string
	interval, backoff                         time.Duration
	maxAttempts                               int
	dryRun, includeUserID                     bool
	user                                      string
}

func (c eraseCommand) run(ctx context.Context, args []string, std stdio) int {
	f, code, ok := c.parse(args, std)
	if !ok {
		return code
	}
	return eraseCmd.exit(std, c.erase(ctx, f, std))
}

// parse parses args; when it returns ok false, the command ends with code.
func (c eraseCommand) parse(args []string, std stdio) (f eraseFlags, code int, ok bool) {
	fs := eraseCmd.flags()
	fs.StringVar(&f.ledgerDSN, "ledger", "", "the ledger `DSN`: memory, sqlite:PATH or postgres://… (required)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "only count the customer_ids that would be deleted; call nothing at IBM")
	fs.StringVar(&f.apiKeyEnv, "apikey-env", envAPIKey, "the `NAME` of the environment variable that holds the IBM Cloud API key")
	fs.StringVar(&f.instanceURL, "instance-url", "", "the watsonx Assistant instance's service `URL` (default $"+envInstanceURL+")")
	fs.StringVar(&f.iamURL, "iam-url", userdata.DefaultIAMURL, "IBM Cloud IAM's token endpoint `URL`")
	fs.DurationVar(&f.interval, "interval", ledger.DefaultEraseInterval, "least time between two calls to IBM")
	fs.DurationVar(&f.backoff, "backoff", ledger.DefaultEraseBackoff, "wait before the first retry of a customer_id (doubled per retry)")
	fs.IntVar(&f.maxAttempts, "max-attempts", ledger.DefaultEraseMaxAttempts, "calls per customer_id before it is reported failed")
	fs.BoolVar(&f.includeUserID, "include-user-id", false, "also delete CUSTOM_USER_ID itself as a customer_id (tokens issued with the real user ID as sub)")
	for _, a := range args {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && (name == "apikey" || name == "api-key") {
			fmt.Fprintf(std.err, "webchatid erase: there is no -apikey flag: a key on the command line lands in shell history; put it in $%s (or the variable -apikey-env names)\n", envAPIKey)
			return f, exitUsage, false
		}
	}
	if code, ok := eraseCmd.parse(fs, args, std); !ok {
		return f, code, false
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		fmt.Fprintf(std.err, "webchatid erase: want one CUSTOM_USER_ID\n\n%s", eraseUsage)
		return f, exitUsage, false
	}
	f.user = fs.Arg(0)
	return f, 0, true
}

// envName is the form of an environment variable's name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// deleter builds IBM's client from the flags and the environment. Its
// errors never show the key, nor a -apikey-env value that looks like one.
func (c eraseCommand) deleter(f eraseFlags, log *slog.Logger) (*userdata.Deleter, error) {
	if !envName.MatchString(f.apiKeyEnv) {
		return nil, fmt.Errorf("%w: -apikey-env takes the NAME of an environment variable, not the key itself", errUsage)
	}
	key := c.getenv(f.apiKeyEnv)
	if key == "" {
		name := "the variable -apikey-env names"
		if strings.ToUpper(f.apiKeyEnv) == f.apiKeyEnv { // a name, not a pasted key
			name = "$" + f.apiKeyEnv
		}
		return nil, fmt.Errorf("%w: no IBM Cloud API key: %s is empty", errUsage, name)
	}
	instance := f.instanceURL
	if instance == "" {
		instance = c.getenv(envInstanceURL)
	}
	if instance == "" {
		return nil, fmt.Errorf("%w: no instance URL: set -instance-url or $%s", errUsage, envInstanceURL)
	}
	d, err := userdata.NewDeleter(userdata.Config{APIKey: key, InstanceURL: instance, IAMURL: f.iamURL, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return d, nil
}

func (c eraseCommand) erase(ctx context.Context, f eraseFlags, std stdio) (err error) {
	if err := checkDSN(f.ledgerDSN); err != nil {
		return err
	}
	if f.interval <= 0 || f.backoff <= 0 || f.maxAttempts <= 0 {
		return fmt.Errorf("%w: -interval, -backoff and -max-attempts must be above zero", errUsage)
	}
	prog := newProgress(std.err, f.interval)
	log := slog.New(slog.NewTextHandler(prog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var deleter *userdata.Deleter
	if !f.dryRun {
		if deleter, err = c.deleter(f, log); err != nil {
			return err
		}
	}
	l, closeLedger, err := openLedger(ctx, f.ledgerDSN, c.open)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeLedger(); cerr != nil && err == nil {
			err = fmt.Errorf("close ledger: %w", cerr)
		}
	}()

	ids, err := customerIDs(ctx, l, f.user, f.includeUserID)
	if err != nil {
		return err
	}
	prog.total = len(ids)
	if len(ids) == 0 {
		fmt.Fprintf(std.out, "no customer_ids of %q in the ledger: nothing to delete at IBM\n", f.user)
		return nil
	}
	if f.dryRun {
		tags := make([]string, len(ids))
		for i, id := range ids {
			tags[i] = shortID(id)
		}
		fmt.Fprintf(std.out, "would delete %d customer_id(s) of %q at IBM, about %v at 1 every %v: %s\n",
			len(ids), f.user, time.Duration(max(len(ids)-1, 0))*f.interval, f.interval, strings.Join(tags, " "))
		return nil
	}
	e, err := ledger.NewEraser(ledger.EraserConfig{
		Ledger:              l,
		Deleter:             deleter,
		IncludeCustomUserID: f.includeUserID,
		Interval:            f.interval,
		MaxAttempts:         f.maxAttempts,
		Backoff:             f.backoff,
		OnResult:            prog.result,
		Logger:              log,
	})
	if err != nil {
		return err
	}
	prog.start()
	rep, err := e.Erase(ctx, f.user)
	prog.finish()
	fmt.Fprintf(std.out, "erased %d of %d customer_id(s) of %q at IBM", len(rep.Deleted), len(rep.Deleted)+len(rep.Failed), f.user)
	if len(rep.Failed) > 0 {
		fmt.Fprintf(std.out, "; %d failed and stay in the ledger: run erase again later", len(rep.Failed))
	}
	fmt.Fprintln(std.out)
	return err
}

// customerIDs returns the customer_ids an Eraser will delete for user: its
// anonymous IDs, once each, and user itself if include.
func customerIDs(ctx context.Context, l ledger.Ledger, user string, include bool) ([]string, error) {
	entries, err := l.Lookup(ctx, user)
	if err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]bool{}
	for _, e := range entries {
		if !seen[e.AnonymousID] {
			seen[e.AnonymousID] = true
			ids = append(ids, e.AnonymousID)
		}
	}
	if include && !seen[user] {
		ids = append(ids, user)
	}
	return ids, nil
}

// shortID names a customer_id in output without showing it: an anonymous
// ID is a cookie value.
func shortID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "#" + hex.EncodeToString(sum[:4])
}

// progress shows an erasure's progress on stderr: one updating line on a
// terminal, else a line per customer_id done. Log lines written to it go
// above the progress line.
type progress struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	total    int

	mu              sync.Mutex
	deleted, failed int
	running         bool // between start and finish
	shown           bool // a progress line is on the terminal
}

func newProgress(w io.Writer, interval time.Duration) *progress {
	return &progress{w: w, tty: isTerminal(w), interval: interval}
}

// isTerminal reports whether w is a character device, a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = true
	if p.tty {
		p.draw()
	}
}

// result is the Eraser's OnResult.
func (p *progress) result(customerID string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.deleted++
	} else {
		p.failed++
	}
	if p.tty {
		if err != nil {
			p.clear()
			fmt.Fprintf(p.w, "failed: customer_id %s: %s\n", shortID(customerID), hideID(err, customerID))
		}
		p.draw()
		return
	}
	n := p.deleted + p.failed
	if err == nil {
		fmt.Fprintf(p.w, "webchatid erase: %d/%d deleted at IBM: customer_id %s\n", n, p.total, shortID(customerID))
	} else {
		fmt.Fprintf(p.w, "webchatid erase: %d/%d FAILED: customer_id %s: %s\n", n, p.total, shortID(customerID), hideID(err, customerID))
	}
}

// Write takes the Eraser's log lines.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	n, err := p.w.Write(b)
	if p.tty && p.running {
		p.draw()
	}
	return n, err
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = false
	if p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}

// draw (re)writes the progress line: "erased 3/12 · 1 every 15s · about
// 2m15s left".
func (p *progress) draw() {
	left := p.total - p.deleted - p.failed
	line := fmt.Sprintf("erased %d/%d", p.deleted, p.total)
	if p.failed > 0 {
		line += fmt.Sprintf(", %d failed", p.failed)
	}
	line += fmt.Sprintf(" · 1 every %v", p.interval)
	if left > 0 {
		line += fmt.Sprintf(" · about %v left", (time.Duration(left) * p.interval).Round(time.Second))
	}
	fmt.Fprint(p.w, "\r\033[K"+line)
	p.shown = true
}

// clear removes the progress line from the terminal.
func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// hideID returns err's text with id replaced by its short form.
func hideID(err error, id string) string {
	return strings.ReplaceAll(err.Error(), id, shortID(id))
}
