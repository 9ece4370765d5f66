package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webchatid/webchatid/identity/ledger"
	"github.com/webchatid/webchatid/identity/ledger/ledgerdsn"
)

// TestLedgerRetentionPrunesInTheBackground: the demo prunes never-linked
// IDs older than -ledger-retention at start (and hourly), keeping linked ones.
func TestLedgerRetentionPrunesInTheBackground(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	ctx := context.Background()
	l, closeLedger, err := ledgerdsn.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, err := range []error{
		l.Record(ctx, "anon-old", old),
		l.Record(ctx, "anon-recent", time.Now()),
		l.Link(ctx, "anon-old-linked", "cade-id", old),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := closeLedger(); err != nil {
		t.Fatal(err)
	}

	_, logs := startDemo(t, "-key", "testdata/signing-key.pem", "-standin-key", "testdata/standin-ibm-key.pem", "-ledger", dsn, "-ledger-retention", "24h")
	deadline := time.Now().Add(60 * time.Second) // generous: only a guard against a hang
	for !strings.Contains(logs.String(), "pruned=1") {
		if time.Now().After(deadline) {
			t.Fatalf("no prune logged within 60 s:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	l, closeLedger, err = ledgerdsn.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLedger()
	var kept []string
	if err := l.Export(ctx, func(e ledger.Entry) error { kept = append(kept, e.AnonymousID); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kept, " ") != "anon-old-linked anon-recent" {
		t.Errorf("ledger after the prune: got %v, want anon-old-linked and anon-recent", kept)
	}
}

func TestLedgerRetentionFlag(t *testing.T) {
	c, err := parseFlags(nil, nil)
	if err != nil || c.ledgerRetention != 45*24*time.Hour {
		t.Errorf("default -ledger-retention: got %v, %v; want 45 days (the cookie's lifetime)", c.ledgerRetention, err)
	}
	if _, err := parseFlags([]string{"-ledger-retention", "-1h"}, nil); err == nil || !strings.Contains(err.Error(), "-ledger-retention") {
		t.Errorf("negative -ledger-retention: got %v, want an error naming the flag", err)
	}
}
