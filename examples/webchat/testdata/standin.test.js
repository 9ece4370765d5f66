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
function chat(statuses, window) {
  const posts = [];
  const fetch = (url, init) => {
    posts.push({ url, auth: init.headers.Authorization, session: init.headers['X-Standin-Session'], body: init.body });
    const status = statuses.length > 1 ? statuses.shift() : statuses[0];
    const body = status === 200 ? { output: { text: 'ok' } } : { error: 'invalid_token', error_description: 'token expired' };
    return Promise.resolve({ ok: status === 200, status, json: async () => body });
  };
  const ctx = vm.createContext({ window: window || {}, fetch });
  vm.runInContext(source, ctx);
  const changes = [];
  const make = () => new ctx.window.StandinChat({ url: '/standin/message', onChange: (w) => changes.push(w) });
  const c = make();
  return { c, posts, changes, make };
}

// sessionStorage is the part of the browser's sessionStorage the stand-in uses.
function sessionStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, v), removeItem: (k) => m.delete(k) };
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

test('every message carries the session ID; the session survives a reload until destroySession', async () => {
  const store = sessionStorage();
  const { c, posts, make } = chat([200], { sessionStorage: store });
  c.updateIdentityToken('t');
  await c.send('hi');
  assert.match(posts[0].session, /^[0-9a-f]{32}$/);
  const reloaded = make(); // a page reload: web chat resumes its session
  assert.equal(reloaded.sessionID, c.sessionID);
  c.destroySession();
  assert.equal(c.sessionID, posts[0].session, 'the instance on the page keeps its session');
  const next = make(); // after destroySession and a reload: a new session
  assert.notEqual(next.sessionID, c.sessionID);
});

test('destroy stops the instance; identityTokenExpired asks are counted', async () => {
  const { c, posts } = chat([200]);
  c.on({ type: 'identityTokenExpired', handler: tokens(['t1']) });
  await c.send('hi');
  assert.equal(c.stats.asked, 1);
  c.destroy();
  await assert.rejects(c.send('again'), /destroyed/);
  assert.equal(posts.length, 1);
});
