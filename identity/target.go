package identity

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/webchatid/webchatid/claims"
)

// Target selects the IBM product the tokens are for. The zero value is
// [WebChat].
type Target int

const (
	// WebChat is IBM watsonx Assistant web chat (the default): tokens live
	// at most [claims.DefaultMaxTTL], user_payload is
	// {name, custom_user_id, ...Extra} or, when anonymous,
	// {"name": "Anonymous", "custom_user_id": <anonymous ID>} as in IBM's
	// tutorial.
	WebChat Target = iota

	// Orchestrate is IBM watsonx Orchestrate embed chat: exp at most
	// [OrchestrateMaxTTL] after issue (a longer Config.TTL is refused by
	// [New]), context variables whose names start with "wxo_" are refused
	// (they are Orchestrate's own), and user_payload carries only
	// {"sso_token": SessionInfo.SSOToken}, sent only encrypted with
	// Config.IBMPublicKey and omitted otherwise. IBM recommends 4096-bit
	// keys; [New] logs a warning for smaller ones.
	Orchestrate
)

// OrchestrateMaxTTL is the longest token lifetime watsonx Orchestrate accepts.
const OrchestrateMaxTTL = 7100 * time.Second

// orchestrateKeyBits is the RSA key size IBM recommends for Orchestrate.
const orchestrateKeyBits = 4096

// String returns the target's name.
func (t Target) String() string {
	switch t {
	case WebChat:
		return "WebChat"
	case Orchestrate:
		return "Orchestrate"
	}
	return fmt.Sprintf("Target(%d)", int(t))
}

func (t Target) valid() bool { return t == WebChat || t == Orchestrate }

// maxTTL is the longest token lifetime the target accepts.
func (t Target) maxTTL() time.Duration {
	if t == Orchestrate {
		return OrchestrateMaxTTL
	}
	return claims.DefaultMaxTTL
}

// checkContext refuses context variable names the target reserves; v is
// the built token's context claim.
func (t Target) checkContext(v any) error {
	if t != Orchestrate {
		return nil
	}
	ctx, ok := v.(map[string]any)
	if !ok {
		// Some other map or struct: look at it as IBM will, as JSON.
		data, err := json.Marshal(v)
		if err != nil || json.Unmarshal(data, &ctx) != nil {
			return fmt.Errorf("%w: context claim is not a JSON object", ErrClaims)
		}
	}
	for name := range ctx {
		if len(name) >= 4 && strings.EqualFold(name[:4], "wxo_") {
			return fmt.Errorf("%w: context variable names starting with wxo_ are reserved by watsonx Orchestrate", ErrClaims)
		}
	}
	return nil
}
