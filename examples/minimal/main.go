// Command minimal is the smallest app that serves identity tokens for IBM's
// web chat: the identity handlers on an http.ServeMux.
//
//	go run ./examples/minimal
//	curl -i http://127.0.0.1:3002/createJWT
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/webchatid/webchatid/identity"
	"github.com/webchatid/webchatid/identity/keys"
)

func main() {
	// An ephemeral key, so no key is ever committed: tokens stop verifying at
	// restart. Real apps load theirs with keys.LoadPrivateFile.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := identity.New(identity.Config{SigningKeys: []identity.SigningKey{{Key: key}}})
	if err != nil {
		log.Fatal(err)
	}
	pub, err := keys.PublicPEM(key.Public())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Public key for IBM's Security tab:\n%s", pub)

	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler()) // /createJWT, /.well-known/jwks.json, /webchatid.js
	// Timeouts, so a slow or idle client cannot hold a connection forever
	// (http.ListenAndServe has none).
	hs := &http.Server{
		Addr:              "127.0.0.1:3002",
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	fmt.Println("Listening on http://127.0.0.1:3002/createJWT")
	log.Fatal(hs.ListenAndServe())
}
