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
  const ctx = vm.createContext(Object.assign({ console: quietConsole(), setTimeout, URL }, globals));
  vm.runInContext(source, ctx, { filename: 'webchatid.js' });
  return ctx;
}

function quietConsole() {
  const errors = [];
  return { errors, error: (m) => errors.push(String(m)), log() {}, warn() {} };
}

function response(status, body) {
  return { ok: status >= 200 && status < 300, status, text: async () => body };
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

function client(answers, extra) {
  const srv = fakeServer(answers);
  const con = quietConsole();
  const delays = [];
  const g = load({});
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

test('transient failures are retried with exponential backoff', async () => {
  const { c, srv, con, delays } = client([[503, ''], new Error('offline'), [429, ''], [200, 'tok']]);
  assert.equal(await c.fetchToken(), 'tok');
  assert.equal(srv.calls.length, 4);
  assert.deepEqual(delays, [250, 500, 1000]);
  assert.deepEqual(con.errors, []);
});

test('backoff is capped', async () => {
  const { c, delays } = client([[500, '']], { retries: 6, backoffMs: 1000, maxBackoffMs: 3000 });
  await assert.rejects(c.fetchToken());
  assert.deepEqual(delays, [1000, 2000, 3000, 3000, 3000, 3000]);
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

test('the orchestrate target answers authTokenNeeded (on(name, handler)) and uses updateAuthToken', async () => {
  const { c } = client([[200, 'tok']]);
  const inst = fakeInstance();
  c.attach(inst, { target: 'orchestrate' });
  assert.deepEqual(inst.forms, ['name']);
  assert.equal(inst.handlers.identityTokenExpired, undefined);
  const event = { type: 'authTokenNeeded' };
  await inst.handlers.authTokenNeeded[0](event, inst);
  assert.equal(event.authToken, 'tok');
  await c.login();
  assert.deepEqual(inst.authUpdates, ['tok']);
  assert.deepEqual(inst.updates, []);
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

test('logout posts, destroys the session, then hands over an anonymous token', async () => {
  const { c, srv } = client([[204, ''], [200, 'anon']]);
  const inst = fakeInstance();
  c.attach(inst);
  assert.equal(await c.logout(), 'anon');
  assert.equal(srv.calls[0].url, '/logout');
  assert.equal(srv.calls[0].init.method, 'POST');
  assert.equal(inst.destroyed, 1);
  assert.deepEqual(inst.updates, ['anon']);
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

test('refresh with destroySession ends the chat session first, as after a logout', async () => {
  const { c } = client([[200, 'anon']]);
  const inst = fakeInstance();
  c.attach(inst);
  assert.equal(await c.refresh({ destroySession: true }), 'anon');
  assert.equal(inst.destroyed, 1);
  assert.deepEqual(inst.updates, ['anon']);
});

test('endpoints follow the script URL or data-base-path', () => {
  const cases = [
    { name: 'root', src: 'https://shop.example/webchatid.js', attr: null, want: '/createJWT', cred: 'same-origin' },
    { name: 'prefix', src: 'https://shop.example/auth/webchatid.js', attr: null, want: '/auth/createJWT', cred: 'same-origin' },
    { name: 'attribute wins', src: 'https://shop.example/static/webchatid.js', attr: '/api/', want: '/api/createJWT', cred: 'same-origin' },
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

test('login and logout called back to back run one after the other, and the last token is anonymous', async () => {
  let loggedIn = false;
  const srv = router({
    '/authenticate': () => ((loggedIn = true), response(204, '')),
    '/logout': () => ((loggedIn = false), response(204, '')),
    '/createJWT': () => response(200, loggedIn ? 'cade' : 'anon'),
  });
  const { c } = client([], { fetch: srv.fetch });
  const inst = fakeInstance();
  c.attach(inst);
  const [a, b] = await Promise.all([c.login(), c.logout()]);
  assert.equal(a, 'cade');
  assert.equal(b, 'anon');
  assert.deepEqual(
    srv.log.filter((l) => l.startsWith('>')),
    ['> POST /authenticate', '> GET /createJWT', '> POST /logout', '> GET /createJWT']
  );
  assert.deepEqual(inst.updates, ['cade', 'anon']);
});

test('a token request in flight when logout starts does not leave web chat with the old token', async () => {
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
  const { c } = client([], { fetch: srv.fetch });
  const inst = fakeInstance();
  c.attach(inst);
  const event = {};
  const expired = inst.handlers.identityTokenExpired[0](event, inst); // web chat asks
  const out = c.logout();
  await new Promise((r) => setTimeout(r, 0));
  slow.open();
  await expired;
  assert.equal(await out, 'anon');
  assert.equal(event.identityToken, 'cade', 'the old request answers the old event');
  // The fresh request was made after the logout and after the old request ended,
  // and it is the last token web chat got.
  const reqs = srv.log.filter((l) => l.startsWith('>'));
  assert.deepEqual(reqs, ['> GET /createJWT', '> POST /logout', '> GET /createJWT']);
  assert.equal(srv.log.indexOf('< /createJWT 200') < srv.log.lastIndexOf('> GET /createJWT'), true);
  assert.deepEqual(inst.updates, ['anon']);
  assert.equal(inst.destroyed, 1);
});

test('a failed login does not block the next operation', async () => {
  const { c, srv } = client([[500, ''], [204, ''], [200, 'anon']]);
  const inst = fakeInstance();
  c.attach(inst);
  await assert.rejects(c.login(), (err) => err.status === 500);
  assert.equal(await c.logout(), 'anon');
  assert.deepEqual(srv.calls.map((x) => x.url), ['/authenticate', '/logout', '/createJWT']);
});

test('logout with destroy: destroy then destroySession, no token, the instance is detached', async () => {
  const { c, srv } = client([[204, ''], [204, ''], [200, 'next']]);
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
