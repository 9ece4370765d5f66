// Unit tests for ../webchatid.js, run by script_test.go with node's built-in
// test runner: node --test identity/testdata/webchatid.test.js
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const source = fs.readFileSync(path.join(__dirname, '..', 'webchatid.js'), 'utf8');

// load runs the script in a fresh global, as a browser would, and returns that global.
function load(globals) {
  const ctx = vm.createContext(
    Object.assign({ console: quietConsole(), setTimeout, clearTimeout, URL, atob, TextDecoder, URLSearchParams }, globals)
  );
  vm.runInContext(source, ctx, { filename: 'webchatid.js' });
  return ctx;
}

function quietConsole() {
  const errors = [];
  return { errors, error: (m) => errors.push(String(m)), log() {}, warn() {} };
}

// response is a fetch Response with the parts the helper reads; read tells
// whether its body was consumed.
function response(status, body, headers) {
  const h = {};
  for (const [k, v] of Object.entries(headers || {})) h[k.toLowerCase()] = v;
  const res = {
    ok: status >= 200 && status < 300,
    status,
    read: false,
    headers: { get: (n) => (n.toLowerCase() in h ? h[n.toLowerCase()] : null) },
    text: async () => {
      res.read = true;
      return body;
    },
  };
  return res;
}

// fakeServer answers requests from a script of responses and records them.
function fakeServer(answers) {
  const calls = [];
  const fetch = (url, init) => {
    calls.push({ url, init });
    const next = answers.length > 1 ? answers.shift() : answers[0];
    if (next instanceof Error) return Promise.reject(next);
    if (typeof next === 'function') return next(url, init);
    return Promise.resolve(response(next[0], next[1]));
  };
  return { calls, fetch };
}

function client(answers, extra, globals) {
  const srv = fakeServer(answers);
  const con = quietConsole();
  const delays = [];
  const g = load(globals || {});
  const c = g.webchatid.create(
    Object.assign(
      {
        fetch: srv.fetch,
        console: con,
        sleep: (ms) => {
          delays.push(ms);
          return Promise.resolve();
        },
      },
      extra
    )
  );
  return { c, srv, con, delays };
}

// fakeInstance has the subset of IBM's web chat instance API the helper uses.
function fakeInstance() {
  const handlers = {};
  const inst = {
    handlers,
    updates: [],
    authUpdates: [],
    destroyed: 0,
    forms: [],
    // IBM's web chat uses on({type, handler}); Orchestrate's embed chat on(type, handler).
    on(arg, fn) {
      const type = typeof arg === 'string' ? arg : arg.type;
      inst.forms.push(typeof arg === 'string' ? 'name' : 'object');
      (handlers[type] = handlers[type] || []).push(typeof arg === 'string' ? fn : arg.handler);
    },
    updateIdentityToken(t) {
      inst.updates.push(t);
    },
    updateAuthToken(t) {
      inst.authUpdates.push(t);
    },
    destroySession() {
      inst.destroyed++;
    },
  };
  return inst;
}

test('concurrent token requests share one fetch', async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  const { c, srv } = client([() => gate.then(() => response(200, 'tok-1\n'))]);
  const ps = [c.fetchToken(), c.fetchToken(), c.fetchToken()];
  release();
  assert.deepEqual(await Promise.all(ps), ['tok-1', 'tok-1', 'tok-1']);
  assert.equal(srv.calls.length, 1, 'got ' + srv.calls.length + ' fetches, want 1');
  assert.equal(srv.calls[0].url, '/createJWT');
  assert.equal(srv.calls[0].init.credentials, 'same-origin');
});

test('a finished request is not reused', async () => {
  const { c, srv } = client([[200, 'a'], [200, 'b']]);
  assert.equal(await c.fetchToken(), 'a');
  assert.equal(await c.fetchToken(), 'b');
  assert.equal(srv.calls.length, 2);
});

test('fresh waits for the request in flight and asks again', async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  const { c, srv } = client([() => gate.then(() => response(200, 'old')), [200, 'new']]);
  const first = c.fetchToken();
  const fresh = c.fetchToken({ fresh: true });
  const shared = c.fetchToken(); // joins the newest request
  release();
  assert.equal(await first, 'old');
  assert.equal(await fresh, 'new');
  assert.equal(await shared, 'new');
  assert.equal(srv.calls.length, 2);
});

// random() 0.5 is the middle of the backoff's spread: each step's own length.
test('transient failures are retried with exponential backoff', async () => {
  const { c, srv, con, delays } = client([[503, ''], new Error('offline'), [429, ''], [200, 'tok']], { random: () => 0.5 });
  assert.equal(await c.fetchToken(), 'tok');
  assert.equal(srv.calls.length, 4);
  assert.deepEqual(delays, [250, 500, 1000]);
  assert.deepEqual(con.errors, []);
});

test('backoff is capped', async () => {
  const { c, delays } = client([[500, '']], { retries: 6, backoffMs: 1000, maxBackoffMs: 3000, random: () => 0.5 });
  await assert.rejects(c.fetchToken());
  assert.deepEqual(delays, [1000, 2000, 3000, 3000, 3000, 3000]);
});

test('browsers that failed together retry at random points around each step', async () => {
  // A server restart drops every browser at once; with a fixed 250, 500,
  // 1000 ms they would all come back in the same milliseconds.
  const want = { 0: [125, 250, 500], 0.999: [374.75, 749.5, 1499] };
  for (const r of [0, 0.999]) {
    const { c, delays } = client([new Error('connection reset')], { random: () => r });
    await assert.rejects(c.fetchToken());
    assert.deepEqual(delays, want[r], 'random() ' + r);
  }
  // Each browser draws its own: the default is Math.random.
  const seen = new Set();
  for (let i = 0; i < 8; i++) {
    const { c, delays } = client([new Error('connection reset')]);
    await assert.rejects(c.fetchToken());
    assert.ok(delays.every((d, k) => d >= 125 * 2 ** k && d < 375 * 2 ** k), 'delays ' + delays);
    seen.add(delays[0]);
  }
  assert.ok(seen.size > 1, 'eight browsers waited the same ' + [...seen][0] + ' ms');
});

test('a server that keeps failing gets bounded retries and one console error', async () => {
  const { c, srv, con } = client([[503, '']]);
  await assert.rejects(c.fetchToken(), /no identity token from \/createJWT after 4 attempts/);
  assert.equal(srv.calls.length, 4, 'got ' + srv.calls.length + ' fetches, want 1 + 3 retries');
  assert.equal(con.errors.length, 1);
  assert.match(con.errors[0], /HTTP 503/);
  // Not stuck: the next ask makes a new request.
  await assert.rejects(c.fetchToken());
  assert.equal(srv.calls.length, 8);
});

test('a refusal (4xx) is not retried', async () => {
  for (const status of [400, 401, 403, 404]) {
    const { c, srv, con } = client([[status, 'no']]);
    await assert.rejects(c.fetchToken(), (err) => err.status === status);
    assert.equal(srv.calls.length, 1, 'status ' + status + ': got ' + srv.calls.length + ' fetches, want 1');
    assert.equal(con.errors.length, 1);
  }
});

test('an empty token is retried', async () => {
  const { c, srv } = client([[200, '  '], [200, 'tok']]);
  assert.equal(await c.fetchToken(), 'tok');
  assert.equal(srv.calls.length, 2);
});

test('identityTokenExpired sets event.identityToken', async () => {
  const { c } = client([[200, 'tok']]);
  const inst = fakeInstance();
  c.attach(inst);
  c.attach(inst); // attaching twice registers once
  assert.equal(inst.handlers.identityTokenExpired.length, 1);
  assert.equal(inst.handlers.authTokenNeeded, undefined);
  assert.deepEqual(inst.forms, ['object']);
  const event = { type: 'identityTokenExpired' };
  await inst.handlers.identityTokenExpired[0](event, inst);
  assert.equal(event.identityToken, 'tok');
});

test('the orchestrate target answers authTokenNeeded and identityTokenExpired (on(name, handler)) and uses updateAuthToken', async () => {
  const { c } = client([[200, 'tok']]);
  const inst = fakeInstance();
  c.attach(inst, { target: 'orchestrate' });
  assert.deepEqual(inst.forms, ['name', 'name']);
  for (const type of ['authTokenNeeded', 'identityTokenExpired']) {
    assert.equal(inst.handlers[type].length, 1, type);
  }
  const event = { type: 'authTokenNeeded' };
  await inst.handlers.authTokenNeeded[0](event, inst);
  assert.equal(event.authToken, 'tok');
  assert.equal(event.identityToken, 'tok', 'both fields, since the pages disagree');
  await c.login();
  assert.deepEqual(inst.authUpdates, ['tok']);
  assert.deepEqual(inst.updates, []);
});

test('orchestrate: the two events of one expiry share one token request', async () => {
  let clock = 1000;
  const { c, srv, con } = client([[200, 'a'], [200, 'b']], { now: () => clock });
  const inst = fakeInstance();
  c.attach(inst, { target: 'orchestrate' });
  const e1 = {};
  await inst.handlers.authTokenNeeded[0](e1, inst);
  clock += 5;
  const e2 = {};
  await inst.handlers.identityTokenExpired[0](e2, inst);
  assert.equal(e1.authToken, 'a');
  assert.equal(e2.identityToken, 'a');
  assert.equal(srv.calls.length, 1);
  assert.deepEqual(con.errors, []);
});

test('orchestrate: an instance that refuses one of the events gets the other', () => {
  const { c } = client([[200, 'tok']]);
  const inst = fakeInstance();
  const on = inst.on;
  inst.on = (name, fn) => {
    if (name === 'identityTokenExpired') throw new Error('unknown event');
    on(name, fn);
  };
  assert.doesNotThrow(() => c.attach(inst, { target: 'orchestrate' }));
  assert.equal(inst.handlers.authTokenNeeded.length, 1);
  assert.equal(inst.handlers.identityTokenExpired, undefined);
  const none = fakeInstance();
  none.on = () => {
    throw new Error('no events');
  };
  assert.throws(() => c.attach(none, { target: 'orchestrate' }), /neither authTokenNeeded nor identityTokenExpired/);
});

test('a failed refresh leaves the event without a token and does not throw', async () => {
  const { c, con } = client([[401, '']]);
  const inst = fakeInstance();
  c.attach(inst);
  const event = {};
  await inst.handlers.identityTokenExpired[0](event, inst);
  assert.equal(event.identityToken, undefined);
  assert.equal(con.errors.length, 1);
});

test('web chat asking again right after each token is paused with one console error', async () => {
  let clock = 1000;
  const { c, srv, con } = client([[200, 'tok']], { now: () => clock });
  const inst = fakeInstance();
  c.attach(inst);
  const ask = () => inst.handlers.identityTokenExpired[0]({}, inst);
  for (let i = 0; i < 10; i++) {
    await ask();
    clock += 100; // IBM refused the token at once
  }
  assert.equal(srv.calls.length, 3, 'got ' + srv.calls.length + ' fetches, want 3 before the pause');
  assert.equal(con.errors.length, 1);
  assert.match(con.errors[0], /Security tab/);
  clock += 60000; // the pause has passed: asking works again
  const event = {};
  await inst.handlers.identityTokenExpired[0](event, inst);
  assert.equal(event.identityToken, 'tok');
});

test('short-lived tokens refreshed on expiry are never paused', async () => {
  let clock = 1000;
  const { c, srv, con } = client([[200, 'tok']], { now: () => clock });
  const inst = fakeInstance();
  c.attach(inst);
  for (let i = 0; i < 20; i++) {
    const event = {};
    await inst.handlers.identityTokenExpired[0](event, inst);
    assert.equal(event.identityToken, 'tok');
    clock += 3000; // a 3-second token expired
  }
  assert.equal(srv.calls.length, 20);
  assert.deepEqual(con.errors, []);
});

test('login posts JSON, then hands a fresh token to web chat', async () => {
  const { c, srv } = client([[204, ''], [200, 'logged-in']]);
  const inst = fakeInstance();
  c.attach(inst);
  assert.equal(await c.login({ user: 'cade' }), 'logged-in');
  assert.equal(srv.calls[0].url, '/authenticate');
  assert.equal(srv.calls[0].init.method, 'POST');
  assert.equal(srv.calls[0].init.credentials, 'same-origin');
  assert.equal(srv.calls[0].init.headers['Content-Type'], 'application/json');
  assert.equal(srv.calls[0].init.body, '{"user":"cade"}');
  assert.equal(srv.calls[1].url, '/createJWT');
  assert.deepEqual(inst.updates, ['logged-in']);
});

test('login without a body sends none', async () => {
  const { c, srv } = client([[204, ''], [200, 't']]);
  await c.login();
  assert.equal(srv.calls[0].init.body, undefined);
  assert.equal(srv.calls[0].init.headers['Content-Type'], undefined);
});

test('a refused login rejects and leaves web chat alone', async () => {
  const { c, srv } = client([[401, '']]);
  const inst = fakeInstance();
  c.attach(inst);
  await assert.rejects(c.login({}), (err) => err.status === 401);
  assert.equal(srv.calls.length, 1);
  assert.deepEqual(inst.updates, []);
});

// page returns globals for load with a location that counts reloads.
function page() {
  const loc = { origin: 'https://shop.example', reloads: 0 };
  loc.reload = () => loc.reloads++;
  return { location: loc };
}

test('logout by default posts, calls destroySession, then reloads the page (IBM\'s first way)', async () => {
  const g = page();
  const { c, srv } = client([[204, '']], {}, g);
  const inst = fakeInstance();
  c.attach(inst);
  assert.equal(await c.logout(), undefined);
  assert.equal(srv.calls.length, 1);
  assert.equal(srv.calls[0].url, '/logout');
  assert.equal(srv.calls[0].init.method, 'POST');
  assert.equal(srv.calls[0].init.body, undefined);
  assert.equal(inst.destroyed, 1);
  assert.equal(g.location.reloads, 1);
  assert.deepEqual(inst.updates, [], 'no token for the old session');
});

test('logout reads the response body, so the browser does not abort the request', async () => {
  const res = response(204, '');
  const fail = response(500, 'oops');
  const { c } = client([() => Promise.resolve(res), () => Promise.resolve(fail)], {}, page());
  await c.logout();
  assert.equal(res.read, true);
  await assert.rejects(c.login(), (err) => err.status === 500);
  assert.equal(fail.read, true);
});

test('logout with rotateAnonymousID asks the server for a new anonymous ID', async () => {
  const { c, srv } = client([[204, '']], {}, page());
  await c.logout({ rotateAnonymousID: true });
  assert.equal(srv.calls[0].init.body, 'rotate_anonymous_id=1');
  assert.equal(srv.calls[0].init.headers['Content-Type'], 'application/x-www-form-urlencoded');
  // As a setting, for every logout; a call can still say no.
  c.configure({ rotateAnonymousID: true });
  await c.logout();
  assert.equal(srv.calls[1].init.body, 'rotate_anonymous_id=1');
  await c.logout({ rotateAnonymousID: false });
  assert.equal(srv.calls[2].init.body, undefined);
});

test('refresh hands a fresh token to web chat without posting anything', async () => {
  const { c, srv } = client([[200, 'after-own-login']]);
  const inst = fakeInstance();
  c.attach(inst);
  assert.equal(await c.refresh(), 'after-own-login');
  assert.equal(srv.calls.length, 1);
  assert.equal(srv.calls[0].url, '/createJWT');
  assert.equal(inst.destroyed, 0);
  assert.deepEqual(inst.updates, ['after-own-login']);
});

test('refresh with endSession (or destroySession) ends the chat session as logout does, without a request', async () => {
  for (const opts of [{ endSession: true }, { destroySession: true }]) {
    const g = page();
    const { c, srv } = client([[200, 'anon']], {}, g);
    const inst = fakeInstance();
    c.attach(inst);
    assert.equal(await c.refresh(opts), undefined);
    assert.equal(inst.destroyed, 1);
    assert.equal(g.location.reloads, 1);
    assert.deepEqual(inst.updates, []);
    assert.equal(srv.calls.length, 0);
  }
});

test('endpoints follow the script URL or data-base-path', () => {
  const cases = [
    { name: 'root', src: 'https://shop.example/webchatid.js', attr: null, want: '/createJWT', cred: 'same-origin' },
    { name: 'prefix', src: 'https://shop.example/auth/webchatid.js', attr: null, want: '/auth/createJWT', cred: 'same-origin' },
    { name: 'attribute wins', src: 'https://shop.example/static/webchatid.js', attr: '/api/', want: '/api/createJWT', cred: 'same-origin' },
    // ExampleScriptHandler's tag: the script under /static/, the endpoints at the root.
    { name: 'root attribute', src: 'https://shop.example/static/webchatid.js', attr: '/', want: '/createJWT', cred: 'same-origin' },
    { name: 'other origin', src: 'https://id.example/auth/webchatid.js', attr: null, want: 'https://id.example/auth/createJWT', cred: 'include' },
  ];
  for (const tc of cases) {
    const calls = [];
    const g = load({
      location: { origin: 'https://shop.example' },
      document: {
        baseURI: 'https://shop.example/page',
        currentScript: { src: tc.src, getAttribute: (n) => (n === 'data-base-path' ? tc.attr : null) },
      },
      fetch: (url, init) => {
        calls.push({ url, init });
        return Promise.resolve(response(200, 't'));
      },
    });
    g.webchatid.fetchToken();
    assert.equal(calls[0].url, tc.want, tc.name + ': got ' + calls[0].url + ', want ' + tc.want);
    assert.equal(calls[0].init.credentials, tc.cred, tc.name);
  }
});

test('clients made with create find endpoints as the default client does', async () => {
  const calls = [];
  const g = load({
    location: { origin: 'https://shop.example' },
    document: {
      baseURI: 'https://shop.example/',
      currentScript: { src: 'https://shop.example/auth/webchatid.js', getAttribute: () => null },
    },
  });
  const c = g.webchatid.create({
    fetch: (url) => {
      calls.push(url);
      return Promise.resolve(response(200, 't'));
    },
  });
  await c.fetchToken();
  assert.deepEqual(calls, ['/auth/createJWT']);
});

// router answers by path from a table of functions and records the order of
// requests and of answers, so tests can check what the server saw when.
function router(table) {
  const log = [];
  const fetch = (url, init) => {
    log.push('> ' + init.method + ' ' + url);
    return Promise.resolve(table[url](url, init)).then((res) => {
      log.push('< ' + url + ' ' + res.status);
      return res;
    });
  };
  return { log, fetch };
}

function gate() {
  let open;
  const p = new Promise((r) => (open = r));
  return { p, open };
}

test('login and logout called back to back run one after the other', async () => {
  let loggedIn = false;
  const srv = router({
    '/authenticate': () => ((loggedIn = true), response(204, '')),
    '/logout': () => ((loggedIn = false), response(204, '')),
    '/createJWT': () => response(200, loggedIn ? 'cade' : 'anon'),
  });
  const g = page();
  const { c } = client([], { fetch: srv.fetch }, g);
  const inst = fakeInstance();
  c.attach(inst);
  const [a, b] = await Promise.all([c.login(), c.logout()]);
  assert.equal(a, 'cade');
  assert.equal(b, undefined);
  assert.deepEqual(
    srv.log.filter((l) => l.startsWith('>')),
    ['> POST /authenticate', '> GET /createJWT', '> POST /logout']
  );
  assert.deepEqual(inst.updates, ['cade']);
  assert.equal(g.location.reloads, 1);
});

test('a token request in flight when logout starts does not give the new web chat the old token', async () => {
  let loggedIn = true;
  const slow = gate();
  let first = true;
  const srv = router({
    '/logout': () => ((loggedIn = false), response(204, '')),
    '/createJWT': () => {
      const body = loggedIn ? 'cade' : 'anon';
      if (first) {
        first = false;
        return slow.p.then(() => response(200, body)); // answered after the logout
      }
      return response(200, body);
    },
  });
  const next = fakeInstance();
  const { c } = client([], { fetch: srv.fetch, sessionEnd: 'destroy', onDestroy: () => c.attach(next) });
  const inst = fakeInstance();
  c.attach(inst);
  const event = {};
  const expired = inst.handlers.identityTokenExpired[0](event, inst); // web chat asks
  const out = c.logout();
  await new Promise((r) => setTimeout(r, 0));
  // The new web chat starts its session while the old request is still out.
  const fresh = {};
  const started = next.handlers.identityTokenExpired[0](fresh, next);
  slow.open();
  await expired;
  await started;
  assert.equal(await out, undefined);
  assert.equal(event.identityToken, 'cade', 'the old request answers the old event');
  assert.equal(fresh.identityToken, 'anon');
  // The new request was made after the logout and after the old request ended.
  const reqs = srv.log.filter((l) => l.startsWith('>'));
  assert.deepEqual(reqs, ['> GET /createJWT', '> POST /logout', '> GET /createJWT']);
  assert.equal(srv.log.indexOf('< /createJWT 200') < srv.log.lastIndexOf('> GET /createJWT'), true);
  assert.deepEqual(inst.updates, []);
  assert.equal(inst.destroyed, 1);
});

test('a failed login does not block the next operation', async () => {
  const g = page();
  const { c, srv } = client([[500, ''], [204, '']], {}, g);
  const inst = fakeInstance();
  c.attach(inst);
  await assert.rejects(c.login(), (err) => err.status === 500);
  await c.logout();
  assert.deepEqual(srv.calls.map((x) => x.url), ['/authenticate', '/logout']);
  assert.equal(g.location.reloads, 1);
});

test('logout with destroy: destroy then destroySession, no token, the instance is detached', async () => {
  const { c, srv } = client([[204, ''], [204, ''], [200, 'next']], {}, page());
  const inst = fakeInstance();
  const order = [];
  inst.destroy = () => order.push('destroy');
  inst.destroySession = () => Promise.resolve().then(() => order.push('destroySession'));
  c.attach(inst);
  assert.equal(await c.logout({ destroy: true }), undefined);
  assert.deepEqual(order, ['destroy', 'destroySession']);
  assert.deepEqual(srv.calls.map((x) => x.url), ['/logout']);
  // The new web chat is attached; the destroyed one gets nothing more.
  const next = fakeInstance();
  c.attach(next);
  await c.login();
  assert.deepEqual(inst.updates, []);
  assert.deepEqual(next.updates, ['next']);
});

test('logout with reload: destroySession, then the page reloads', async () => {
  const srv = fakeServer([[204, '']]);
  let reloads = 0;
  const g = load({ location: { origin: 'https://shop.example', reload: () => reloads++ } });
  const c = g.webchatid.create({ fetch: srv.fetch, console: quietConsole() });
  const inst = fakeInstance();
  c.attach(inst);
  assert.equal(await c.logout({ reload: true }), undefined);
  assert.equal(inst.destroyed, 1);
  assert.equal(reloads, 1);
  assert.deepEqual(inst.updates, []);
  assert.equal(srv.calls.length, 1);
});

test('an instance method that throws makes refresh reject, not throw', async () => {
  const { c } = client([[200, 't']]);
  const inst = fakeInstance();
  inst.destroySession = () => {
    throw new Error('boom');
  };
  c.attach(inst);
  let p;
  assert.doesNotThrow(() => (p = c.refresh({ destroySession: true })));
  await assert.rejects(p, /boom/);
});

test('the token handler never rejects, even when the event cannot take the token', async () => {
  const { c, con } = client([[200, 'tok']]);
  const inst = fakeInstance();
  c.attach(inst);
  const event = Object.freeze({ type: 'identityTokenExpired' });
  await inst.handlers.identityTokenExpired[0](event, inst); // must resolve
  assert.equal(con.errors.length, 1);
  assert.match(con.errors[0], /cannot hand web chat the token/);
});

test('each instance keeps the target it was attached with', async () => {
  const { c } = client([[200, 'tok']]);
  const assistant = fakeInstance();
  const orchestrate = fakeInstance();
  c.attach(assistant);
  c.attach(orchestrate, { target: 'orchestrate' });
  await c.refresh();
  assert.deepEqual(assistant.updates, ['tok']);
  assert.deepEqual(assistant.authUpdates, []);
  assert.deepEqual(orchestrate.authUpdates, ['tok']);
  assert.deepEqual(orchestrate.updates, []);
});

// ---- Renewal ahead of expiry, the server's clock, Retry-After ----

const b64url = (s) => Buffer.from(s).toString('base64url');

// jwt makes an unsigned token with the given claims: the helper only reads them.
function jwt(claims) {
  return b64url('{"alg":"RS256","typ":"JWT"}') + '.' + b64url(JSON.stringify(claims)) + '.c2ln';
}

// settle lets every pending promise job run.
async function settle() {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

// world is a fake clock with timers and a page whose visibility tests change.
function world(start) {
  const clock = { t: start || 1_700_000_000_000 };
  const timers = [];
  let seq = 0;
  const listeners = {};
  const document = {
    visibilityState: 'visible',
    addEventListener: (type, fn) => (listeners[type] = listeners[type] || []).push(fn),
  };
  const w = {
    clock,
    timers,
    document,
    opts: {
      now: () => clock.t,
      random: () => 0.5,
      setTimer: (fn, ms) => {
        const h = { at: clock.t + ms, fn, id: ++seq, ms };
        timers.push(h);
        return h;
      },
      clearTimer: (h) => {
        const i = timers.indexOf(h);
        if (i >= 0) timers.splice(i, 1);
      },
      sleep: (ms) => new Promise((resolve) => w.opts.setTimer(resolve, ms)),
    },
    // advance moves the clock by ms, running the timers that come due in order.
    async advance(ms) {
      const end = clock.t + ms;
      for (let runs = 0; ; runs++) {
        if (runs > 10000) throw new Error('more than 10000 timers in ' + ms + ' ms: a renewal loop');
        await settle();
        timers.sort((a, b) => a.at - b.at || a.id - b.id);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        clock.t = Math.max(clock.t, next.at);
        next.fn();
      }
      clock.t = end;
      await settle();
    },
    setVisibility(state) {
      document.visibilityState = state;
      for (const fn of listeners.visibilitychange || []) fn();
    },
  };
  return w;
}

// tokenServer issues tokens with exp = its clock + ttl, its clock being
// offsetMs ahead of the page's; it answers JSON with a Date header, as
// identity's TokenHandler does, and records when each request came.
function tokenServer(w, opts) {
  const o = Object.assign({ ttlMs: 3600_000, offsetMs: 0, sub: 'anon-1', date: true, json: true }, opts);
  const calls = [];
  const answers = [];
  const fetch = (url, init) => {
    calls.push({ url, init, at: w.clock.t });
    const scripted = answers.shift();
    if (scripted) return Promise.resolve(scripted);
    if (o.gate) return o.gate.then(() => answer());
    return answer();
  };
  const answer = () => {
    const serverNow = w.clock.t + o.offsetMs + (o.lagMs || 0);
    const exp = Math.floor((serverNow + o.ttlMs) / 1000);
    const token = jwt({ sub: typeof o.sub === 'function' ? o.sub() : o.sub, iat: Math.floor(serverNow / 1000) - 30, exp });
    const headers = {};
    if (o.date) headers.Date = new Date(serverNow).toUTCString();
    if (o.json) {
      headers['Content-Type'] = 'application/json';
      return Promise.resolve(response(200, JSON.stringify({ token, expires_at: new Date(exp * 1000).toISOString() }), headers));
    }
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    return Promise.resolve(response(200, token, headers));
  };
  return { calls, answers, fetch, o };
}

// renewing attaches an instance to a client on w's clock and hands it its
// first token through identityTokenExpired, as web chat's session start does.
async function renewing(w, srvOpts, clientOpts, globals) {
  const srv = tokenServer(w, srvOpts);
  const con = quietConsole();
  const g = load(Object.assign({ document: w.document }, globals));
  const c = g.webchatid.create(Object.assign({ fetch: srv.fetch, console: con }, w.opts, clientOpts));
  const inst = fakeInstance();
  c.attach(inst);
  const event = {};
  await inst.handlers.identityTokenExpired[0](event, inst);
  return { c, srv, con, inst, event, g };
}

const claimOf = (token, name) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url'))[name];

test('asks for the JSON form and reads token and expires_at from it', async () => {
  const w = world();
  const { srv, event } = await renewing(w, {});
  assert.match(srv.calls[0].init.headers.Accept, /^application\/json/);
  assert.equal(claimOf(event.identityToken, 'sub'), 'anon-1');
});

test('a token is renewed before it expires, renewBeforeMs plus jitter ahead', async () => {
  const w = world();
  const { srv, inst, con } = await renewing(w, { ttlMs: 3600_000 });
  assert.equal(srv.calls.length, 1);
  // The Date header's whole second is the only clock information, so the
  // helper assumes the server's clock is as far ahead as it can be (1 s).
  await w.advance(3600_000 - 1000 - 60_000 - 15_000 - 1);
  assert.equal(srv.calls.length, 1, 'renewed too early');
  await w.advance(1);
  assert.equal(srv.calls.length, 2, 'not renewed 60 s + 15 s (jitter 0.5 of 30 s) before exp');
  assert.equal(inst.updates.length, 1, 'the renewed token goes to web chat by updateIdentityToken');
  // And again for the next token.
  await w.advance(3600_000);
  assert.equal(srv.calls.length, 3);
  assert.deepEqual(con.errors, []);
});

test('the server clock offset comes from Date: a server ten minutes ahead is renewed in time', async () => {
  for (const offsetMs of [10 * 60_000, -10 * 60_000]) {
    const w = world();
    const { srv } = await renewing(w, { ttlMs: 3600_000, offsetMs });
    const first = srv.calls.length;
    // The token expires on the page's clock at (server exp) - offset.
    await w.advance(3600_000 - 60_000 - 15_000 - 1000 - 1);
    assert.equal(srv.calls.length, first, 'offset ' + offsetMs + ': renewed too early');
    await w.advance(1001);
    assert.equal(srv.calls.length, first + 1, 'offset ' + offsetMs + ': not renewed in time');
  }
});

test('each Date narrows the clock estimate', async () => {
  // The server's clock is 400 ms ahead of the page's, which starts at a whole second.
  const w = world(1_700_000_000_000);
  const t0 = w.clock.t;
  const { c, srv } = await renewing(w, { ttlMs: 10_000, offsetMs: 400 }, { random: () => 0 });
  // 1st answer at page t0 (server .4 s, Date second 0): offset in [0, 1000] ms.
  // 2nd at t0 + 1.7 s (server 2.1 s, Date 2 s): [300, 1300], so [300, 1000].
  w.clock.t = t0 + 1700;
  await c.refresh();
  // 3rd at t0 + 2.5 s (server 2.9 s, Date 2 s): [-500, 500], so [300, 500].
  w.clock.t = t0 + 2500;
  await c.refresh();
  assert.equal(srv.calls.length, 3);
  // Its exp is server second 12 (12.9 s truncated), so on the page's clock it
  // expires at the earliest at t0 + 12 s - 500 ms; 9 s of life, renewed a
  // fifth (1.8 s) before: at t0 + 9.7 s.
  assert.equal(w.timers.length, 1);
  assert.equal(w.timers[0].at - t0, 9700);
});

test('short tokens: one renewal per token, before it expires', async () => {
  for (const random of [0, 0.999]) {
    const w = world(1_700_000_000_000 + 370); // tokens issued mid-second lose part of their life to exp's truncation
    const { srv, con } = await renewing(w, { ttlMs: 6000 }, { random: () => random });
    await w.advance(60_000);
    const exp = srv.calls.map((c) => Math.floor((c.at + 6000) / 1000) * 1000);
    assert.ok(srv.calls.length >= 10, 'random ' + random + ': got ' + srv.calls.length + ' requests in 60 s');
    for (let i = 0; i + 1 < srv.calls.length; i++) {
      const within = srv.calls.filter((c) => c.at > srv.calls[i].at && c.at < exp[i]).length;
      assert.equal(within, 1, 'random ' + random + ': token ' + i + ' saw ' + within + ' requests in its lifetime, want 1');
      assert.ok(srv.calls[i + 1].at < exp[i] - 500, 'token ' + i + ' renewed ' + (exp[i] - srv.calls[i + 1].at) + ' ms before expiry');
    }
    assert.deepEqual(con.errors, []);
  }
});

test('renew: false (data-renew="off") leaves renewal to identityTokenExpired', async () => {
  const w = world();
  const { srv } = await renewing(w, {}, { renew: false });
  await w.advance(2 * 3600_000);
  assert.equal(srv.calls.length, 1);
});

test('without a Date header the page trusts its own clock, within the token lifetime', async () => {
  const w = world();
  const { srv } = await renewing(w, { ttlMs: 3600_000, date: false, json: false });
  await w.advance(3600_000 - 75_000 - 1);
  assert.equal(srv.calls.length, 1);
  await w.advance(2);
  assert.equal(srv.calls.length, 2);
});

test('a hidden tab does not renew; it catches up when it becomes visible', async () => {
  const w = world();
  const { srv, inst } = await renewing(w, { ttlMs: 3600_000 });
  w.setVisibility('hidden');
  await w.advance(3600_000 - 30_000); // past the renewal time
  assert.equal(srv.calls.length, 1, 'renewed while hidden');
  w.setVisibility('visible');
  await settle();
  assert.equal(srv.calls.length, 2, 'no catch-up on visibilitychange');
  assert.equal(inst.updates.length, 1);
  // Becoming visible again before the next renewal is due asks nothing.
  w.setVisibility('hidden');
  w.setVisibility('visible');
  await settle();
  assert.equal(srv.calls.length, 2);
});

test('a renewal and web chat asking at the same time make one request', async () => {
  const w = world();
  const { srv, inst } = await renewing(w, { ttlMs: 3600_000 });
  let release;
  srv.o.gate = new Promise((r) => (release = r));
  await w.advance(3600_000 - 76_000); // the renewal asks, and waits for the server
  assert.equal(srv.calls.length, 2);
  const event = {};
  const asked = inst.handlers.identityTokenExpired[0](event, inst);
  await settle();
  release();
  await asked;
  await settle();
  assert.equal(srv.calls.length, 2, 'web chat\'s ask joined the renewal');
  assert.ok(event.identityToken);
});

test('a renewal answered 503 with Retry-After waits that long before asking again', async () => {
  const w = world();
  const { srv, con } = await renewing(w, { ttlMs: 3600_000 }, { retries: 1 });
  srv.answers.push(response(503, 'busy', { 'Retry-After': '20' }));
  srv.answers.push(response(503, 'busy', { 'Retry-After': '20' }));
  await w.advance(3600_000 - 76_000);
  assert.equal(srv.calls.length, 2);
  // world()'s random() is 0.5: the retry comes Retry-After plus half of
  // backoffMs (250) after the answer (the next test varies it).
  await w.advance(20_124);
  assert.equal(srv.calls.length, 2, 'asked again before Retry-After and its jitter');
  await w.advance(1);
  assert.equal(srv.calls.length, 3, 'the retry waits Retry-After plus random() * backoffMs');
  // Both attempts failed: the renewal tries again later (never before
  // Retry-After), and succeeds.
  await w.advance(30_000);
  assert.equal(srv.calls.length, 4);
  assert.equal(con.errors.length, 1);
});

test('a failed renewal tries again after a randomised wait, never before Retry-After', async () => {
  // The renewal's own two attempts fail; the next renewal comes
  // maxBackoffMs (4000) × [0.5, 1.5) later, or after Retry-After plus a
  // random part of backoffMs (250), so browsers that failed together spread.
  for (const [r, answer, want] of [
    [0, response(500, ''), 2000],
    [0.999, response(500, ''), 5996],
    [0, response(503, 'busy', { 'Retry-After': '20' }), 20_000],
    [0.999, response(503, 'busy', { 'Retry-After': '20' }), 20_250],
  ]) {
    const w = world();
    const { srv } = await renewing(w, { ttlMs: 3600_000 }, { retries: 1, random: () => r });
    srv.answers.push(answer, answer);
    await w.advance(3600_000 - 95_000); // no renewal is due before
    assert.equal(srv.calls.length, 1, 'r ' + r + ': renewed too early');
    while (srv.calls.length < 3) await w.advance(50);
    await settle();
    const failed = srv.calls[2].at;
    const left = failed + want - 1 - w.clock.t;
    await w.advance(left);
    assert.equal(srv.calls.length, 3, 'r ' + r + ': asked again ' + (w.clock.t - failed) + ' ms after the failure, want ' + want);
    await w.advance(2);
    assert.equal(srv.calls.length, 4, 'r ' + r + ': no new renewal ' + want + ' ms after the failure');
  }
});

test('browsers refused together retry at random points of the backoff step after Retry-After', async () => {
  const w = world();
  const srv = tokenServer(w, {});
  const con = quietConsole();
  // Three browsers, refused in the same millisecond with Retry-After: 1.
  const clients = [0, 0.5, 0.999].map((r) =>
    load({}).webchatid.create(Object.assign({ fetch: srv.fetch, console: con }, w.opts, { random: () => r })));
  for (let i = 0; i < clients.length; i++) srv.answers.push(response(503, 'busy', { 'Retry-After': '1' }));
  const tokens = clients.map((c) => c.fetchToken());
  await settle();
  assert.equal(srv.calls.length, 3);
  const at = [];
  for (let t = 0; t < 1400; t += 1) {
    const before = srv.calls.length;
    await w.advance(1);
    for (let k = before; k < srv.calls.length; k++) at.push(t + 1);
  }
  // Not before Retry-After, then spread over backoffMs (250): 1000, 1125, 1249.75.
  assert.deepEqual(at, [1000, 1125, 1250]);
  for (const p of tokens) assert.ok(await p);
});

test('Retry-After is honoured on every token request, and a long one fails at once', async () => {
  const w = world();
  const srv = tokenServer(w, {});
  const con = quietConsole();
  const c = load({}).webchatid.create(Object.assign({ fetch: srv.fetch, console: con }, w.opts));
  srv.answers.push(response(429, '', { 'Retry-After': '120' }));
  await assert.rejects(c.fetchToken(), /asked to wait 120 s/);
  assert.equal(srv.calls.length, 1, 'no retry inside a long Retry-After');
  await assert.rejects(c.fetchToken(), /asked to wait 120 s/);
  assert.equal(srv.calls.length, 1, 'a new ask inside Retry-After sends nothing');
  await w.advance(120_000);
  const p = c.fetchToken();
  await settle();
  assert.equal(srv.calls.length, 2);
  assert.ok(await p);
  // An HTTP-date form.
  srv.answers.push(response(503, '', { 'Retry-After': new Date(w.clock.t + 5000).toUTCString() }));
  const q = c.fetchToken();
  await w.advance(4000);
  assert.equal(srv.calls.length, 3);
  await w.advance(2000);
  assert.ok(await q);
  assert.equal(srv.calls.length, 4);
});

// ---- sub changes end the session (IBM: a session cannot change its sub) ----

test('a login that changes sub ends the session by reload before web chat sees the new sub', async () => {
  const w = world();
  let sub = 'anon-1';
  const g = page();
  const { c, srv, inst } = await renewing(w, { sub: () => sub }, {}, g);
  srv.answers.push(response(204, ''));
  const out = c.login().then((v) => v);
  sub = 'user-cade';
  assert.equal(await out, undefined);
  assert.equal(inst.destroyed, 1);
  assert.equal(g.location.reloads, 1);
  assert.deepEqual(inst.updates, [], 'the new sub never reached the old session');
});

test('a login that keeps sub hands over the token (IBM\'s mid-session login)', async () => {
  const w = world();
  const { c, srv, inst } = await renewing(w, { sub: 'anon-1' }, {}, page());
  srv.answers.push(response(204, ''));
  assert.ok(await c.login());
  assert.equal(inst.updates.length, 1);
  assert.equal(inst.destroyed, 0);
});

test('sessionEnd destroy: destroy, destroySession, onDestroy; the new web chat gets the fetched token', async () => {
  const w = world();
  let sub = 'anon-1';
  const next = fakeInstance();
  let c;
  const order = [];
  const r = await renewing(w, { sub: () => sub }, {
    sessionEnd: 'destroy',
    onDestroy: () => {
      order.push('onDestroy');
      c.attach(next);
    },
  });
  c = r.c;
  r.inst.destroy = () => order.push('destroy');
  const ds = r.inst.destroySession;
  r.inst.destroySession = () => (order.push('destroySession'), ds());
  r.srv.answers.push(response(204, ''));
  sub = 'user-cade';
  assert.equal(await c.login(), undefined);
  assert.deepEqual(order, ['destroy', 'destroySession', 'onDestroy']);
  const calls = r.srv.calls.length;
  const event = {};
  await next.handlers.identityTokenExpired[0](event, next);
  assert.equal(claimOf(event.identityToken, 'sub'), 'user-cade');
  assert.equal(r.srv.calls.length, calls, 'the token fetched at login is reused');
  assert.deepEqual(r.inst.updates, []);
});

test('a renewal whose sub changed (another tab logged in) ends the session', async () => {
  const w = world();
  let sub = 'anon-1';
  const g = page();
  const { srv, inst } = await renewing(w, { sub: () => sub }, {}, g);
  sub = 'user-cade';
  await w.advance(3600_000);
  assert.equal(srv.calls.length, 2);
  assert.equal(inst.destroyed, 1);
  assert.equal(g.location.reloads, 1);
  assert.deepEqual(inst.updates, []);
});

test('web chat asking for a token whose sub changed gets none; the session ends', async () => {
  const w = world();
  let sub = 'anon-1';
  const g = page();
  const { inst, con } = await renewing(w, { sub: () => sub }, { renew: false }, g);
  sub = 'user-cade';
  w.clock.t += 3600_000;
  const event = {};
  await inst.handlers.identityTokenExpired[0](event, inst);
  await settle();
  assert.equal(event.identityToken, undefined);
  assert.equal(inst.destroyed, 1);
  assert.equal(g.location.reloads, 1);
  assert.deepEqual(con.errors, []);
});

// ---- settings ----

test('script tag attributes configure sessionEnd and renewal', async () => {
  const attrs = { 'data-session-end': 'destroy', 'data-renew': 'off', 'data-renew-before-ms': '5000' };
  const g = load({
    location: { origin: 'https://shop.example' },
    document: {
      baseURI: 'https://shop.example/',
      currentScript: { src: 'https://shop.example/webchatid.js', getAttribute: (n) => (n in attrs ? attrs[n] : null) },
    },
  });
  const inst = fakeInstance();
  let destroyed = 0;
  inst.destroy = () => destroyed++;
  const c = g.webchatid.create({ fetch: () => Promise.resolve(response(204, '')) });
  c.attach(inst);
  await c.logout();
  assert.equal(destroyed, 1, 'data-session-end="destroy" not followed');
});

test('a bad sessionEnd is refused where it is set', () => {
  const { c } = client([[200, 't']]);
  assert.throws(() => c.configure({ sessionEnd: 'close' }), /sessionEnd must be "reload" or "destroy"/);
  assert.throws(() => c.configure({ renewBeforeMs: -1 }), /renewBeforeMs/);
  const con = quietConsole();
  const g = load({
    console: con,
    document: { baseURI: 'https://shop.example/', currentScript: { src: '', getAttribute: (n) => (n === 'data-session-end' ? 'bogus' : null) } },
  });
  assert.ok(g.webchatid);
  assert.match(con.errors[0], /sessionEnd must be/);
});

test('a renewal that came due during a login is dropped: the login brought a new token', async () => {
  const w = world();
  const { c, srv, inst } = await renewing(w, { ttlMs: 3600_000 });
  let release;
  srv.answers.push(new Promise((r) => (release = r)).then(() => response(204, '')));
  const login = c.login();
  await w.advance(3600_000 - 76_000); // the renewal is due while /authenticate is out
  assert.equal(srv.calls.length, 2);
  release();
  await login;
  await settle();
  assert.deepEqual(srv.calls.map((x) => x.url), ['/createJWT', '/authenticate', '/createJWT']);
  assert.equal(inst.updates.length, 1);
});
