// Unit tests for ../static/standin.js (the stand-in web chat instance), run by
// TestStandinChatScript: node --test examples/webchat/testdata/standin.test.js
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const source = fs.readFileSync(path.join(__dirname, '..', 'static', 'standin.js'), 'utf8');

// chat loads standin.js with a fake fetch answering from a list of statuses.
function chat(statuses) {
  const posts = [];
  const fetch = (url, init) => {
    posts.push({ url, auth: init.headers.Authorization, body: init.body });
    const status = statuses.length > 1 ? statuses.shift() : statuses[0];
    const body = status === 200 ? { output: { text: 'ok' } } : { error: 'invalid_token', error_description: 'token expired' };
    return Promise.resolve({ ok: status === 200, status, json: async () => body });
  };
  const ctx = vm.createContext({ window: {}, fetch });
  vm.runInContext(source, ctx);
  const changes = [];
  const c = new ctx.window.StandinChat({ url: '/standin/message', onChange: (w) => changes.push(w) });
  return { c, posts, changes };
}

function tokens(list) {
  return (event) => {
    event.identityToken = list.shift();
  };
}

test('the first message asks for a token, as web chat does at session start', async () => {
  const { c, posts } = chat([200]);
  c.on({ type: 'identityTokenExpired', handler: tokens(['t1']) });
  const answer = await c.send('hi');
  assert.equal(answer.output.text, 'ok');
  assert.equal(posts.length, 1);
  assert.equal(posts[0].auth, 'Bearer t1');
  assert.equal(posts[0].body, '{"text":"hi"}');
});

test('a refused token is replaced and the message sent again once', async () => {
  const { c, posts, changes } = chat([401, 200]);
  c.on('identityTokenExpired', tokens(['old', 'new'])); // the short form works too
  await c.send('hi');
  assert.deepEqual(posts.map((p) => p.auth), ['Bearer old', 'Bearer new']);
  assert.equal(c.stats.expired, 1);
  assert.ok(changes.includes('expired'));
});

test('a token refused twice is an error, not a loop', async () => {
  const { c, posts } = chat([401]);
  c.on({ type: 'identityTokenExpired', handler: tokens(['a', 'b', 'c']) });
  await assert.rejects(c.send('hi'), /token expired/);
  assert.equal(posts.length, 2);
});

test('no handler setting a token is an error without a request', async () => {
  const { c, posts } = chat([200]);
  c.on({ type: 'identityTokenExpired', handler: () => {} });
  await assert.rejects(c.send('hi'), /no identity token/);
  assert.equal(posts.length, 0);
});

test('updateIdentityToken and destroySession', async () => {
  const { c, posts, changes } = chat([200]);
  c.updateIdentityToken('given');
  await c.send('hi');
  assert.equal(posts[0].auth, 'Bearer given');
  c.destroySession();
  assert.equal(c.token, null);
  assert.deepEqual(changes, ['token', 'destroyed']);
});
