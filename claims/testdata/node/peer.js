'use strict';
// peer.js: IBM's verifier stack (npm jsonwebtoken + node-rsa, pinned in
// package-lock.json) driven by claims/interop_test.go.
//
// Protocol: one JSON request on stdin, {"ops": [op, ...]}, one JSON response
// on stdout, {"versions": {...}, "results": [result, ...]}, results in the
// order of the ops. Each op fails on its own: {"ok": false, "error":
// {"name", "message"}}; the process exits non-zero only when the request
// itself is unusable. The calls below are written the way IBM's documented
// Node examples make them; do not add options IBM does not set.

const crypto = require('crypto');
const fs = require('fs');
const jwt = require('jsonwebtoken');
const NodeRSA = require('node-rsa');

const versions = {
  node: process.versions.node,
  jsonwebtoken: require('jsonwebtoken/package.json').version,
  'node-rsa': require('node-rsa/package.json').version,
};

// data returns op.data, or the data an earlier op produced (op.dataFrom is
// its index), so one batch can chain node-only steps.
function data(op, results) {
  if (op.dataFrom === undefined) return op.data;
  const prev = results[op.dataFrom];
  if (!prev || !prev.ok) throw new Error(`op ${op.dataFrom} has no data`);
  return prev.data;
}

// parsed is what IBM's side does with decrypted text: JSON.parse.
function parsed(text) {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { parseError: e.message };
  }
}

const ops = {
  // IBM: jwt.verify(token, publicKey, {algorithms: ['RS256']}).
  verify(op) {
    const payload = jwt.verify(op.token, op.publicKey, { algorithms: op.algorithms });
    return { payload };
  },

  // What IBM does with a request: verify the token (RS256 only), then open
  // an encrypted user_payload with node-rsa's defaults and IBM's private key.
  ibm(op) {
    const payload = jwt.verify(op.token, op.publicKey, { algorithms: ['RS256'] });
    const out = { payload };
    if (typeof payload.user_payload === 'string') {
      const key = new NodeRSA(op.privateKey);
      out.text = key.decrypt(payload.user_payload, 'utf8');
      Object.assign(out, parsed(out.text));
    }
    return out;
  },

  // jsonwebtoken as a token maker, for tokens Go must accept.
  sign(op) {
    return { token: jwt.sign(op.payload, op.privateKey, { algorithm: op.algorithm }) };
  },

  // node-rsa with its defaults (pkcs1_oaep, sha1), exactly as IBM decrypts.
  nodersaDecrypt(op, results) {
    const key = new NodeRSA(op.privateKey);
    const text = key.decrypt(data(op, results), 'utf8');
    return Object.assign({ text }, parsed(text));
  },

  // node-rsa with its defaults, as IBM's examples encrypt a user_payload.
  nodersaEncrypt(op) {
    const text = JSON.stringify(op.value);
    return { text, data: new NodeRSA(op.publicKey).encrypt(text, 'base64') };
  },

  // Node's crypto, one OAEP block, as watsonx Orchestrate's alternative page.
  cryptoDecrypt(op, results) {
    const buf = Buffer.from(data(op, results), 'base64');
    const text = crypto
      .privateDecrypt(
        { key: op.privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: op.oaepHash },
        buf,
      )
      .toString('utf8');
    return Object.assign({ text }, parsed(text));
  },

  cryptoEncrypt(op) {
    const text = JSON.stringify(op.value);
    const buf = crypto.publicEncrypt(
      { key: op.publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: op.oaepHash },
      Buffer.from(text, 'utf8'),
    );
    return { text, data: buf.toString('base64') };
  },
};

function run(request) {
  const results = [];
  for (const op of request.ops) {
    const fn = Object.prototype.hasOwnProperty.call(ops, op.op) ? ops[op.op] : null;
    try {
      if (!fn) throw new Error(`unknown op ${JSON.stringify(op.op)}`);
      results.push(Object.assign({ ok: true }, fn(op, results)));
    } catch (e) {
      results.push({ ok: false, error: { name: e.name, message: e.message } });
    }
  }
  return { versions, results };
}

module.exports = { ops, run, versions };

if (require.main === module) {
  const request = JSON.parse(fs.readFileSync(0, 'utf8'));
  if (!request || !Array.isArray(request.ops)) {
    process.stderr.write('peer.js: request must be {"ops": [...]}\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(run(request)));
}
