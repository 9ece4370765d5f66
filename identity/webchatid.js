/*
 * webchatid.js: connects IBM watsonx Assistant web chat (or watsonx Orchestrate
 * embed chat) to the webchatid token endpoints. Served by Go's
 * identity.ScriptHandler (GET /webchatid.js under identity's Handler).
 *
 * No dependencies, no inline code, no eval: it runs under a strict
 * Content-Security-Policy (script-src 'self').
 *
 *   <script src="/webchatid.js"></script>
 *   // in your own script file, e.g. web chat's onLoad(instance):
 *   webchatid.attach(instance);           // first token, renewals, identityTokenExpired
 *   await webchatid.login({ ... });       // POST /authenticate, new token to web chat
 *   await webchatid.logout();             // POST /logout, destroySession(), page reload
 *   await webchatid.logout({ destroy: true }); // ... destroy(), destroySession(), no reload
 *   await webchatid.logout({ rotateAnonymousID: true }); // ask for a new anonymous ID
 *   // apps that log users in themselves (no /authenticate, /logout):
 *   await webchatid.refresh();            // after your login: new token to web chat
 *   await webchatid.refresh({ endSession: true }); // after your logout
 *   // watsonx Orchestrate embed chat: authTokenNeeded / updateAuthToken
 *   webchatid.attach(instance, { target: 'orchestrate' });
 *
 * Settings: pass them to attach(instance, opts), configure(opts) or
 * create(opts) (names below, in DEFAULTS), or put them on the script tag:
 *   data-base-path="/chat"        basePath
 *   data-session-end="destroy"    sessionEnd
 *   data-renew="off"              renew: false
 *   data-renew-before-ms="60000"  renewBeforeMs
 *   data-renew-jitter-ms="30000"  renewJitterMs
 *
 * Endpoints are found relative to this script's URL (a script served at
 * /auth/webchatid.js talks to /auth/createJWT), or under data-base-path, or
 * under the basePath setting.
 *
 * Renewal ahead of expiry. After handing web chat a token the helper renews it
 * renewBeforeMs (60 s) before its exp, and up to renewJitterMs (30 s) earlier
 * still, at random, so tabs opened together do not renew together; for short
 * tokens both are capped at a fifth and a tenth of the token's lifetime, so a
 * token serves at least 70 % of its life. exp is the server's clock: the
 * helper learns how far the server's clock is from the browser's from the Date
 * header of the token responses (one-second resolution; each response narrows
 * the estimate, and the helper assumes the earliest expiry the estimate
 * allows). Without a readable Date (another origin that does not expose it;
 * identity's CORS answers do) it trusts its own clock, comparing exp and the
 * JSON answer's expires_at with the time of the request. While the tab is
 * hidden nothing is renewed; when it becomes visible again a renewal that came
 * due meanwhile runs at once. A renewal that fails is tried again while the
 * token lasts (never before the server's Retry-After), and web chat's own
 * identityTokenExpired (answered below) remains the fallback: a tab that slept
 * through the expiry gets its token that way. One token request runs at a
 * time: renewals, web chat's events and fetchToken() share it.
 *
 * Ending web chat's session. IBM: "you must destroy the web chat" on logout,
 * and a session "cannot change to a JWT with a different sub claim". The
 * helper ends the session on logout, after the app's own logout
 * (refresh({ endSession: true })), and when a new token's sub differs from the
 * one the instance holds (Config.Subject chose another sub at login or logout;
 * another tab logged in), before any token with the new sub reaches web chat.
 * sessionEnd chooses how, between IBM's two documented ways:
 *   'reload' (default): destroySession(), then location.reload(). Works with
 *     any page, no app code needed; costs a page load and the page's state.
 *   'destroy': destroy() then destroySession(), no reload; the instances are
 *     detached and onDestroy() is called: create the new web chat there
 *     (attach it; its session start asks for the token). Keeps the page (a
 *     single-page app) but the app must be able to build web chat again.
 * Calls override it with logout({ reload: true }) or logout({ destroy: true }).
 * login, logout and refresh resolve to the token handed to web chat, or to
 * undefined when the session was ended instead.
 *
 * Logout on shared devices: logout({ rotateAnonymousID: true }) (or the setting
 * rotateAnonymousID) asks the server for a new anonymous ID, so the next
 * person does not continue this one's sub. The server decides: it honours the
 * request only with Config.LogoutPolicy RotateAnonymousIDOnRequest, rotates on
 * every logout with RotateAnonymousID, and keeps the ID by default.
 *
 * IBM's documentation this follows:
 * - web chat: instance.on({ type: 'identityTokenExpired', handler }) with an
 *   async handler that sets event.identityToken; fired at session start when
 *   no identityToken option was given, and whenever the token expires;
 *   instance.updateIdentityToken(token) hands over a new one.
 *   https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-enable
 *   A handler that throws or rejects stops web chat's processing of the event,
 *   so the handlers here never reject.
 *   https://web-chat.global.assistant.watson.cloud.ibm.com/docs.html?to=api-events
 * - logging out and sub: see above.
 *   https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-authenticate
 * - watsonx Orchestrate embedded chat: its pages name the event authTokenNeeded
 *   (event.authToken) in some places and identityTokenExpired in others, so
 *   target 'orchestrate' registers for both, with on(name, handler), wherever
 *   the instance accepts them, and sets both fields; the two events of one
 *   expiry share one token. instance.updateAuthToken(token) hands over a new
 *   one (updateIdentityToken when the instance has no updateAuthToken).
 *   https://developer.watson-orchestrate.ibm.com/webchat/events/authTokenNeeded
 *   https://developer.watson-orchestrate.ibm.com/webchat/methods/updateAuthToken
 */
(function (root) {
  'use strict';

  var DEFAULTS = {
    basePath: '', // where identity's Handler is mounted, without the trailing slash
    tokenPath: '/createJWT',
    loginPath: '/authenticate',
    logoutPath: '/logout',
    target: 'assistant', // or 'orchestrate': answers authTokenNeeded, uses updateAuthToken
    credentials: 'same-origin', // 'include' when the endpoints are on another origin (CORS)
    retries: 3, // extra attempts after a failed token request (network error, 408, 429, 5xx)
    // Backoff step before the first retry; doubles each time, up to
    // maxBackoffMs. Each retry waits its step times a random factor in
    // [0.5, 1.5), so that browsers that failed together (a server restart, a
    // dropped network) do not retry together.
    backoffMs: 250,
    maxBackoffMs: 4000,
    // A 429 or 503 with Retry-After: no request before it, and the retry comes
    // at a random point of the following backoff step (backoffMs, doubling),
    // so that browsers refused together do not return together. A wait longer
    // than this fails the request at once instead (a renewal tries again after it).
    maxRetryAfterMs: 30000,
    // Renewal ahead of expiry (see the top of this file).
    renew: true,
    renewBeforeMs: 60000,
    renewJitterMs: 30000,
    // How web chat's session ends: 'reload' or 'destroy' (see the top of this file).
    sessionEnd: 'reload',
    onDestroy: null, // with 'destroy': function () { create and attach the new web chat }
    rotateAnonymousID: false, // logout asks the server for a new anonymous ID
    // When web chat asks for a new token sooner than earlyMs after it got one,
    // IBM refused that token (wrong key in the Security tab, clock skew).
    // After maxEarly such asks in a row, stop asking the server for pauseMs.
    earlyMs: 2000,
    maxEarly: 3,
    pauseMs: 60000,
    // For tests and unusual hosts: fetch, sleep(ms) -> Promise, now() -> ms,
    // random() -> [0, 1), setTimer(fn, ms) -> handle, clearTimer(handle),
    // document (visibility), console.
    fetch: null,
    sleep: null,
    now: null,
    random: null,
    setTimer: null,
    clearTimer: null,
    document: null,
    console: null,
  };

  // maxTimerMs is the longest delay setTimeout keeps (2^31 - 1 ms).
  var maxTimerMs = 2147483647;

  function assign(dst, src) {
    if (src) {
      for (var k in src) {
        if (Object.prototype.hasOwnProperty.call(src, k) && src[k] !== undefined) dst[k] = src[k];
      }
    }
    return dst;
  }

  function trimSlash(p) {
    return String(p).replace(/\/+$/, '');
  }

  // check refuses settings the helper cannot follow.
  function check(c) {
    if (c.sessionEnd !== 'reload' && c.sessionEnd !== 'destroy') {
      throw new TypeError('webchatid: sessionEnd must be "reload" or "destroy", not ' + JSON.stringify(c.sessionEnd));
    }
    if (c.onDestroy !== null && typeof c.onDestroy !== 'function') {
      throw new TypeError('webchatid: onDestroy must be a function');
    }
    ['renewBeforeMs', 'renewJitterMs', 'maxRetryAfterMs'].forEach(function (k) {
      if (typeof c[k] !== 'number' || !(c[k] >= 0)) {
        throw new TypeError('webchatid: ' + k + ' must be a number of milliseconds, at least 0');
      }
    });
    return c;
  }

  // scriptDefaults reads the settings on this script's tag: data-base-path,
  // or else the folder of its URL, so the helper finds endpoints mounted under
  // a prefix, and the data- attributes listed at the top of this file.
  function scriptDefaults() {
    var doc = root.document;
    var s = doc && doc.currentScript;
    if (!s) return {};
    var out = {};
    var attr = function (name) {
      return s.getAttribute ? s.getAttribute(name) : null;
    };
    var v;
    if ((v = attr('data-session-end')) !== null) out.sessionEnd = v;
    if ((v = attr('data-renew')) !== null) out.renew = !/^(off|false|no|0)$/i.test(v);
    if ((v = attr('data-renew-before-ms')) !== null) out.renewBeforeMs = Number(v);
    if ((v = attr('data-renew-jitter-ms')) !== null) out.renewJitterMs = Number(v);
    if ((v = attr('data-base-path')) !== null) {
      out.basePath = trimSlash(v);
      return out;
    }
    if (!s.src || typeof root.URL !== 'function') return out;
    try {
      var u = new root.URL(s.src, doc.baseURI);
      var dir = u.pathname.slice(0, u.pathname.lastIndexOf('/'));
      if (root.location && u.origin !== root.location.origin) {
        out.basePath = u.origin + dir;
        out.credentials = 'include';
      } else {
        out.basePath = dir;
      }
    } catch (e) {
      // keep the defaults
    }
    return out;
  }

  function retryable(status) {
    return status === 408 || status === 429 || status >= 500;
  }

  function header(res, name) {
    return res && res.headers && typeof res.headers.get === 'function' ? res.headers.get(name) : null;
  }

  // drain reads and drops a response body: a body nobody reads is cancelled
  // when the response is collected, and Chromium then lists the request as
  // failed (net::ERR_ABORTED), even a 204 that succeeded.
  function drain(res) {
    if (!res || typeof res.text !== 'function') return Promise.resolve();
    return Promise.resolve()
      .then(function () {
        return res.text();
      })
      .then(noop, noop);
  }

  // claimsOf returns a JWT's payload (not verified: the helper only reads sub
  // and exp to schedule and to compare), or null.
  function claimsOf(token) {
    var parts = String(token).split('.');
    if (parts.length !== 3 || typeof root.atob !== 'function') return null;
    try {
      var b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
      while (b64.length % 4) b64 += '=';
      var bin = root.atob(b64);
      var text = bin;
      if (typeof root.TextDecoder === 'function' && typeof root.Uint8Array === 'function') {
        var bytes = new root.Uint8Array(bin.length);
        for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        text = new root.TextDecoder().decode(bytes);
      }
      var p = JSON.parse(text);
      return p && typeof p === 'object' ? p : null;
    } catch (e) {
      return null;
    }
  }

  var SCRIPT_DEFAULTS = scriptDefaults();

  function create(options) {
    var cfg = assign({}, DEFAULTS);
    try {
      check(assign(assign({}, cfg), SCRIPT_DEFAULTS));
      assign(cfg, SCRIPT_DEFAULTS);
    } catch (e) {
      var c0 = (options && options.console) || root.console;
      if (c0 && c0.error) c0.error(e.message + ' (script tag attribute ignored)');
      assign(cfg, { basePath: SCRIPT_DEFAULTS.basePath, credentials: SCRIPT_DEFAULTS.credentials });
    }
    check(assign(cfg, options));

    var inflight = null;
    var inflightStale = false; // sent before the last login or logout ended
    var instances = []; // { inst, target, sub, answer } in attach order
    var ops = Promise.resolve(); // login, logout, refresh and renewals, one at a time
    var lastDelivered = 0; // when web chat last got a token from us
    var early = 0; // early asks in a row
    var pausedUntil = 0;
    var notBefore = 0; // the server's Retry-After, on our clock
    var offLo = null; // bounds on the server's clock minus ours, in ms
    var offHi = null;
    var stash = null; // a token fetched for a new instance (sessionEnd 'destroy')
    var current = null; // the token web chat holds: { token, sub, deadline, received }
    var renewAt = 0;
    var renewTimer = null;
    var renewDue = false; // came due while the tab was hidden
    var renewGen = 0; // bumped whenever web chat gets a token or loses its session

    function fetchFn(url, init) {
      var f = cfg.fetch || root.fetch;
      return f.call(root, url, init);
    }
    function sleep(ms) {
      if (cfg.sleep) return cfg.sleep(ms);
      return new Promise(function (resolve) {
        root.setTimeout(resolve, ms);
      });
    }
    function now() {
      return cfg.now ? cfg.now() : Date.now();
    }
    function random() {
      return cfg.random ? cfg.random() : Math.random();
    }
    function setTimer(fn, ms) {
      return cfg.setTimer ? cfg.setTimer(fn, ms) : root.setTimeout(fn, ms);
    }
    function clearTimer(h) {
      if (cfg.clearTimer) cfg.clearTimer(h);
      else root.clearTimeout(h);
    }
    function doc() {
      return cfg.document || root.document || null;
    }
    function hidden() {
      var d = doc();
      return !!d && d.visibilityState === 'hidden';
    }
    function logError(msg) {
      var c = cfg.console || root.console;
      if (c && c.error) c.error(msg);
    }
    function endpoint(path) {
      return cfg.basePath + path;
    }

    // learnClock narrows the bounds on the server's clock offset with a
    // response's Date (whole seconds, stamped between send and receipt).
    function learnClock(res, sent, received) {
      var d = Date.parse(header(res, 'Date') || '');
      if (isNaN(d)) return;
      var hi = d + 1000 - sent;
      var lo = d - received;
      if (offHi === null || lo > offHi || hi < offLo) {
        // First sample, or a clock jumped: start again from this one.
        offLo = lo;
        offHi = hi;
        return;
      }
      offLo = Math.max(offLo, lo);
      offHi = Math.min(offHi, hi);
    }

    // retryAfter returns the Retry-After of res in ms from now, or 0.
    function retryAfter(res) {
      var v = header(res, 'Retry-After');
      if (!v) return 0;
      if (/^\s*\d+\s*$/.test(v)) return parseInt(v, 10) * 1000;
      var d = Date.parse(v); // an HTTP-date, on the server's clock
      if (isNaN(d)) return 0;
      var off = offHi === null ? 0 : (offLo + offHi) / 2;
      return Math.max(0, d - off - now());
    }

    // tokenInfo describes a token: its sub and when it expires on our clock
    // (deadline, 0 when unknown), assuming the earliest expiry the clock
    // estimate allows.
    function tokenInfo(token, expiresAt, received) {
      var c = claimsOf(token);
      var exp = c && typeof c.exp === 'number' ? c.exp * 1000 : NaN;
      if (!isNaN(expiresAt)) exp = isNaN(exp) ? expiresAt : Math.min(exp, expiresAt);
      var deadline = 0;
      if (!isNaN(exp)) {
        if (offHi !== null) {
          deadline = exp - offHi;
        } else {
          deadline = exp;
          // Our clock may be behind: a token lives no longer than exp - iat.
          if (c && typeof c.iat === 'number') deadline = Math.min(deadline, received + exp - c.iat * 1000);
        }
      }
      return { token: token, sub: c && typeof c.sub === 'string' ? c.sub : null, deadline: deadline, received: received };
    }

    // requestToken asks the server for a token, retrying transient failures
    // with randomised exponential backoff (never before a Retry-After), and
    // gives up with one console error.
    function requestToken() {
      var attempt = 0;
      var url = endpoint(cfg.tokenPath);
      function once() {
        var sent = now();
        return new Promise(function (resolve) {
          resolve(
            fetchFn(url, {
              method: 'GET',
              credentials: cfg.credentials,
              cache: 'no-store',
              headers: { Accept: 'application/json, text/plain;q=0.5' },
            })
          );
        }).then(
          function (res) {
            var received = now();
            if (!res.ok) {
              var err = new Error('HTTP ' + res.status);
              err.status = res.status;
              err.retry = retryable(res.status);
              var ra = retryAfter(res);
              if (ra) notBefore = Math.max(notBefore, received + ra);
              return drain(res).then(function () {
                throw err;
              });
            }
            learnClock(res, sent, received);
            var json = /json/i.test(header(res, 'Content-Type') || '');
            return res.text().then(function (text) {
              var token = String(text).trim();
              var expiresAt = NaN;
              if (json) {
                try {
                  var body = JSON.parse(token);
                  token = body && typeof body.token === 'string' ? body.token.trim() : '';
                  expiresAt = Date.parse(body && body.expires_at);
                } catch (e) {
                  token = '';
                }
              }
              if (!token) {
                var empty = new Error('empty response');
                empty.retry = true;
                throw empty;
              }
              return tokenInfo(token, expiresAt, received);
            });
          },
          function (cause) {
            var err = new Error('network error: ' + ((cause && cause.message) || cause));
            err.retry = true;
            throw err;
          }
        );
      }
      function giveUp(err) {
        var msg =
          'webchatid: no identity token from ' + url +
          (attempt ? ' after ' + attempt + (attempt === 1 ? ' attempt (last: ' : ' attempts (last: ') : ' (') +
          err.message + '); web chat cannot send messages until the server issues one. See the server log.';
        logError(msg);
        var out = new Error(msg);
        out.status = err.status;
        throw out;
      }
      function loop(delay) {
        var ra = notBefore - now();
        var wait = Math.max(delay, ra);
        if (wait > cfg.maxRetryAfterMs) {
          return Promise.reject(new Error('the server asked to wait ' + Math.ceil(wait / 1000) + ' s (Retry-After)')).then(null, giveUp);
        }
        // After Retry-After, at a random point of the next backoff step:
        // browsers an overloaded server refused in the same millisecond
        // (all of them answered Retry-After: 1) come back spread over it,
        // not as the same burst a second later. Without one, the step is
        // spread around its length (0.5 to 1.5 times): browsers that failed
        // together do not retry in lockstep either.
        if (ra > 0) wait += random() * (delay || cfg.backoffMs);
        else if (delay > 0) wait = delay * (0.5 + random());
        function go() {
          attempt++;
          return once().catch(function (err) {
            if (err.retry && attempt <= cfg.retries) {
              return loop(Math.min(cfg.backoffMs * Math.pow(2, attempt - 1), cfg.maxBackoffMs));
            }
            return giveUp(err);
          });
        }
        return wait > 0 ? sleep(wait).then(go) : go();
      }
      return loop(0);
    }

    // fetchInfo returns the promise of a token's info. Callers share the
    // request in flight; fresh: true waits for it and then asks again, as
    // does any caller after a login or logout ended while it was in flight
    // (its answer describes the old user).
    function fetchInfo(opts) {
      var fresh = (opts && opts.fresh) || inflightStale;
      if (inflight && !fresh) return inflight;
      var p = inflight ? inflight.then(noop, noop).then(requestToken) : requestToken();
      inflight = p;
      inflightStale = false;
      var done = function () {
        if (inflight === p) inflight = null;
      };
      p.then(done, done);
      return p;
    }

    // subChanged reports whether info's sub differs from one an instance holds.
    function subChanged(info) {
      return (
        !!info.sub &&
        instances.some(function (rec) {
          return rec.sub && rec.sub !== info.sub;
        })
      );
    }

    // setToken puts the token into web chat's event: identityToken, and also
    // authToken for Orchestrate, whose pages name both.
    function setToken(event, rec, token) {
      if (rec.target === 'orchestrate') event.authToken = token;
      event.identityToken = token;
    }

    // tokenNeeded answers web chat's identityTokenExpired or Orchestrate's
    // authTokenNeeded. When web chat keeps asking right after getting a token,
    // IBM is refusing the tokens: say so once and pause, rather than
    // hammering the server in a loop.
    function tokenNeeded(rec, name) {
      return function (event) {
        var t = now();
        var last = rec.answer;
        if (last && last.name !== name && t - last.at < cfg.earlyMs) {
          // Orchestrate fired the other name for the same expiry.
          try {
            setToken(event, rec, last.token);
          } catch (e) {
            logError('webchatid: cannot hand web chat the token: ' + ((e && e.message) || e));
          }
          return Promise.resolve();
        }
        if (t < pausedUntil) return Promise.resolve();
        early = lastDelivered && t - lastDelivered < cfg.earlyMs ? early + 1 : 0;
        if (early >= cfg.maxEarly) {
          early = 0;
          pausedUntil = t + cfg.pauseMs;
          logError(
            'webchatid: web chat asked for a new token ' + cfg.maxEarly + ' times in a row right after ' +
              'getting one, so IBM is refusing the tokens; not asking the server again for ' +
              cfg.pauseMs / 1000 + ' s. Check that the public key in IBM\'s Security tab matches the ' +
              'server\'s signing key (see ' + endpoint('/.well-known/jwks.json') + ') and that the server clock is right.'
          );
          return Promise.resolve();
        }
        var got;
        if (stash && stash.deadline - t > cfg.earlyMs) {
          got = Promise.resolve(stash);
        } else {
          got = fetchInfo();
        }
        stash = null;
        return got
          .then(
            function (info) {
              if (instances.indexOf(rec) < 0) {
                setToken(event, rec, info.token); // destroyed meanwhile: nothing to renew
                return;
              }
              if (rec.sub && info.sub && rec.sub !== info.sub) {
                // IBM: a session cannot change to a token with another sub.
                serial(function () {
                  return endSession({}, info);
                }).then(null, function (err) {
                  logError('webchatid: cannot end web chat\'s session: ' + ((err && err.message) || err));
                });
                return;
              }
              setToken(event, rec, info.token);
              rec.sub = info.sub || rec.sub;
              rec.answer = { name: name, token: info.token, at: now() };
              lastDelivered = now();
              schedule(info);
            },
            noop // already reported by requestToken
          )
          .then(null, function (err) {
            logError('webchatid: cannot hand web chat the token: ' + ((err && err.message) || err));
          });
      };
    }

    function update(rec, token) {
      var inst = rec.inst;
      if (rec.target === 'orchestrate' && typeof inst.updateAuthToken === 'function') {
        return inst.updateAuthToken(token);
      }
      if (typeof inst.updateIdentityToken === 'function') return inst.updateIdentityToken(token);
      return undefined;
    }

    // handOver gives every attached instance the token, or ends their session
    // first when its sub is not theirs. Resolves to the token handed over, or
    // undefined when the session ended.
    function handOver(info) {
      if (subChanged(info)) return endSession({}, info);
      lastDelivered = now();
      var recs = instances.slice();
      return Promise.all(
        recs.map(function (rec) {
          rec.sub = info.sub || rec.sub;
          return update(rec, info.token);
        })
      ).then(function () {
        schedule(info);
        return info.token;
      });
    }

    // schedule arms the renewal of the token web chat now holds.
    function schedule(info) {
      cancelRenewal();
      current = info;
      if (!cfg.renew || !info.deadline) return;
      var t = now();
      var life = info.deadline - info.received;
      if (info.deadline <= t || life <= 0) return; // identityTokenExpired will ask
      var margin = Math.min(cfg.renewBeforeMs, life / 5);
      var jitter = random() * Math.min(cfg.renewJitterMs, life / 10);
      renewAt = info.deadline - margin - jitter;
      arm();
    }

    function arm() {
      var delay = Math.max(0, Math.min(renewAt - now(), maxTimerMs));
      renewTimer = setTimer(onRenewTimer, delay);
    }

    function cancelRenewal() {
      renewGen++;
      if (renewTimer !== null) clearTimer(renewTimer);
      renewTimer = null;
      renewDue = false;
      renewAt = 0;
      current = null;
    }

    function onRenewTimer() {
      renewTimer = null;
      if (!renewAt) return;
      if (now() < renewAt) return arm(); // a timer longer than setTimeout keeps
      if (hidden()) {
        renewDue = true; // caught up on visibilitychange
        return undefined;
      }
      return renew();
    }

    function onVisibility() {
      if (hidden() || !renewAt) return;
      if (renewDue || now() >= renewAt) renew();
    }

    // renew fetches the next token and hands it over, in turn with account
    // operations; it does nothing when web chat got a token (or lost its
    // session) since it was scheduled.
    function renew() {
      if (renewTimer !== null) clearTimer(renewTimer);
      renewTimer = null;
      renewDue = false;
      var gen = renewGen;
      var held = current;
      return serial(function () {
        if (gen !== renewGen || !instances.length) return undefined;
        return fetchInfo().then(
          function (info) {
            if (gen !== renewGen) return undefined;
            return handOver(info);
          },
          function () {
            // Reported by requestToken. Try again while the token lasts.
            if (gen !== renewGen || !held) return;
            // Randomised as every retry is, so that browsers whose
            // renewals failed together (one outage, one burst of 503s) do
            // not come back together: the longest backoff step times a
            // factor in [0.5, 1.5), and never before a Retry-After, then
            // at a random point of a backoff step after it.
            var t = now();
            var wait = cfg.maxBackoffMs * (0.5 + random());
            if (notBefore > t) wait = Math.max(wait, notBefore - t + random() * cfg.backoffMs);
            if (t + wait >= held.deadline) return; // identityTokenExpired takes over
            current = held;
            renewAt = t + wait;
            arm();
          }
        );
      }).then(null, function (err) {
        logError('webchatid: cannot hand web chat the renewed token: ' + ((err && err.message) || err));
      });
    }

    var d0 = doc();
    if (d0 && typeof d0.addEventListener === 'function') d0.addEventListener('visibilitychange', onVisibility);

    // serial runs account operations (login, logout, refresh) and renewals
    // one after the other, so the server sees them in the order they were
    // called and web chat's last token is the one for the last of them.
    function serial(fn) {
      var p = ops.then(fn);
      ops = p.then(noop, noop);
      return p;
    }

    // call calls inst[name]() when it exists; its promise, if any, is awaited.
    function call(inst, name) {
      return typeof inst[name] === 'function' ? inst[name]() : undefined;
    }

    // endSession ends every attached instance's session, the ways IBM
    // documents (see the top of this file): destroySession() then a reload,
    // or destroy() then destroySession(), detaching the instances and
    // calling onDestroy. info, when given, is the token for the new session.
    function endSession(opts, info) {
      var mode = opts.destroy ? 'destroy' : opts.reload ? 'reload' : cfg.sessionEnd;
      cancelRenewal();
      var recs = instances.slice();
      return recs
        .reduce(function (p, rec) {
          return p.then(function () {
            if (mode === 'destroy') {
              return Promise.resolve(call(rec.inst, 'destroy')).then(function () {
                return call(rec.inst, 'destroySession');
              });
            }
            return call(rec.inst, 'destroySession');
          });
        }, Promise.resolve())
        .then(function () {
          if (mode === 'destroy') {
            instances = instances.filter(function (rec) {
              return recs.indexOf(rec) < 0;
            });
            lastDelivered = 0;
            stash = info || null;
            return cfg.onDestroy ? cfg.onDestroy() : undefined;
          }
          if (root.location && typeof root.location.reload === 'function') root.location.reload();
          return undefined;
        })
        .then(noop);
    }

    function refresh(opts) {
      stash = null;
      if (opts && (opts.endSession || opts.destroySession || opts.destroy || opts.reload)) return endSession(opts);
      return fetchInfo({ fresh: true }).then(handOver);
    }

    function post(path, body, what, contentType) {
      var init = { method: 'POST', credentials: cfg.credentials, cache: 'no-store', headers: {} };
      if (body !== undefined && body !== null) {
        var raw =
          typeof body === 'string' ||
          (root.URLSearchParams && body instanceof root.URLSearchParams) ||
          (root.FormData && body instanceof root.FormData);
        if (contentType) init.headers['Content-Type'] = contentType;
        else if (!raw || typeof body === 'string') init.headers['Content-Type'] = 'application/json';
        init.body = raw ? body : JSON.stringify(body);
      }
      return new Promise(function (resolve) {
        resolve(fetchFn(endpoint(path), init));
      }).then(function (res) {
        if (res.ok && inflight) inflightStale = true; // the account changed under it
        return drain(res).then(function () {
          if (!res.ok) {
            var err = new Error('webchatid: ' + what + ' refused: HTTP ' + res.status);
            err.status = res.status;
            throw err;
          }
          return res;
        });
      });
    }

    function register(inst, name, handler) {
      try {
        inst.on(name, handler);
        return true;
      } catch (e) {
        return false; // this instance does not offer the event
      }
    }

    var client = {
      // attach registers the token handler on a web chat instance:
      // identityTokenExpired, or for target 'orchestrate' authTokenNeeded and
      // identityTokenExpired. opts updates this client's settings.
      attach: function (instance, opts) {
        if (!instance || typeof instance.on !== 'function') {
          throw new TypeError('webchatid.attach: expected a web chat instance with an on() method');
        }
        check(assign(assign({}, cfg), opts));
        assign(cfg, opts);
        for (var i = 0; i < instances.length; i++) {
          if (instances[i].inst === instance) return instance;
        }
        // Each instance keeps the target it was attached with.
        var rec = { inst: instance, target: cfg.target, sub: null, answer: null };
        instances.push(rec);
        if (cfg.target === 'orchestrate') {
          // watsonx Orchestrate's embed chat: on(name, handler).
          var ok = register(instance, 'authTokenNeeded', tokenNeeded(rec, 'authTokenNeeded'));
          ok = register(instance, 'identityTokenExpired', tokenNeeded(rec, 'identityTokenExpired')) || ok;
          if (!ok) {
            instances.pop();
            throw new TypeError('webchatid.attach: the instance accepts neither authTokenNeeded nor identityTokenExpired');
          }
        } else {
          // watsonx Assistant web chat: on({type, handler}).
          instance.on({ type: 'identityTokenExpired', handler: tokenNeeded(rec, 'identityTokenExpired') });
        }
        return instance;
      },
      // configure changes settings (see DEFAULTS above).
      configure: function (opts) {
        check(assign(assign({}, cfg), opts));
        assign(cfg, opts);
        if (current) schedule(current);
        return client;
      },
      // fetchToken resolves to a new token from the server.
      fetchToken: function (opts) {
        return fetchInfo(opts).then(function (info) {
          return info.token;
        });
      },
      // login POSTs body (optional: an object goes as JSON, a string as JSON
      // text, URLSearchParams and FormData as they are) to the login endpoint,
      // then hands a new token to every attached instance, or ends their
      // session when its sub differs. Resolves to the token (undefined when
      // the session ended); rejects with err.status set when the server
      // refuses. Calls to login, logout and refresh run one after the other.
      login: function (body) {
        return serial(function () {
          stash = null;
          return post(cfg.loginPath, body, 'login').then(function () {
            return fetchInfo({ fresh: true }).then(handOver);
          });
        });
      },
      // logout POSTs to the logout endpoint, then ends web chat's session the
      // sessionEnd way (reload, by default), or as { reload: true } or
      // { destroy: true } say. { rotateAnonymousID: true } asks the server for
      // a new anonymous ID (form field rotate_anonymous_id=1). Resolves to
      // undefined.
      logout: function (opts) {
        opts = opts || {};
        return serial(function () {
          stash = null;
          var rotate = opts.rotateAnonymousID !== undefined ? opts.rotateAnonymousID : cfg.rotateAnonymousID;
          var p = rotate
            ? post(cfg.logoutPath, 'rotate_anonymous_id=1', 'logout', 'application/x-www-form-urlencoded')
            : post(cfg.logoutPath, undefined, 'logout');
          return p.then(function () {
            return endSession(opts);
          });
        });
      },
      // refresh hands every attached instance a fresh token, for apps that log
      // users in and out themselves (no /authenticate or /logout endpoint):
      // call it after your own login, and with { endSession: true } (or
      // logout's reload or destroy options) after your own logout. Resolves
      // as login and logout do.
      refresh: function (opts) {
        return serial(function () {
          return refresh(opts);
        });
      },
      // create returns an independent client (its own settings and instances;
      // endpoints found as for the default client unless options say otherwise).
      create: create,
    };
    return client;
  }

  function noop() {}

  root.webchatid = create();
})(typeof globalThis !== 'undefined' ? globalThis : this);
