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
 *   webchatid.attach(instance);           // answers identityTokenExpired
 *   await webchatid.login({ ... });       // POST /authenticate, new token to web chat
 *   await webchatid.logout();             // POST /logout, destroySession, new token
 *   await webchatid.logout({ reload: true });  // ... destroySession, page reload
 *   await webchatid.logout({ destroy: true }); // ... destroy + destroySession; make a new web chat
 *   // apps that log users in themselves (no /authenticate, /logout):
 *   await webchatid.refresh();            // after your login: new token to web chat
 *   await webchatid.refresh({ destroySession: true }); // after your logout
 *   // watsonx Orchestrate embed chat: authTokenNeeded / updateAuthToken instead
 *   webchatid.attach(instance, { target: 'orchestrate' });
 *
 * Endpoints are found relative to this script's URL (a script served at
 * /auth/webchatid.js talks to /auth/createJWT), or under the script tag's
 * data-base-path attribute, or under attach(instance, { basePath }).
 *
 * IBM's documentation this follows:
 * - web chat: instance.on({ type: 'identityTokenExpired', handler }) with an
 *   async handler that sets event.identityToken; fired at session start when
 *   no identityToken option was given, and whenever the token expires.
 *   https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-enable
 *   A handler that throws or rejects stops web chat's processing of the event,
 *   so the handler here never rejects.
 *   https://web-chat.global.assistant.watson.cloud.ibm.com/docs.html?to=api-events
 * - logging out: "you must destroy the web chat": destroySession() and a page
 *   reload, or destroy() then destroySession() without one (logout options
 *   reload and destroy below).
 *   https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-authenticate
 * - watsonx Orchestrate embedded chat: instance.on('authTokenNeeded', handler)
 *   sets event.authToken; instance.updateAuthToken(token).
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
    backoffMs: 250, // delay before the first retry; doubles each time
    maxBackoffMs: 4000,
    // When web chat asks for a new token sooner than earlyMs after it got one,
    // IBM refused that token (wrong key in the Security tab, clock skew).
    // After maxEarly such asks in a row, stop asking the server for pauseMs.
    earlyMs: 2000,
    maxEarly: 3,
    pauseMs: 60000,
    // For tests and unusual hosts: fetch, sleep(ms) -> Promise, now() -> ms, console.
    fetch: null,
    sleep: null,
    now: null,
    console: null,
  };

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

  // scriptDefaults reads data-base-path from this script's tag, or else takes
  // the folder of its URL, so the helper finds endpoints mounted under a prefix.
  function scriptDefaults() {
    var doc = root.document;
    var s = doc && doc.currentScript;
    if (!s) return {};
    if (s.getAttribute && s.getAttribute('data-base-path') !== null) {
      return { basePath: trimSlash(s.getAttribute('data-base-path')) };
    }
    if (!s.src || typeof root.URL !== 'function') return {};
    try {
      var u = new root.URL(s.src, doc.baseURI);
      var dir = u.pathname.slice(0, u.pathname.lastIndexOf('/'));
      if (root.location && u.origin !== root.location.origin) {
        return { basePath: u.origin + dir, credentials: 'include' };
      }
      return { basePath: dir };
    } catch (e) {
      return {};
    }
  }

  function retryable(status) {
    return status === 408 || status === 429 || status >= 500;
  }

  var SCRIPT_DEFAULTS = scriptDefaults();

  function create(options) {
    var cfg = assign(assign(assign({}, DEFAULTS), SCRIPT_DEFAULTS), options);
    var inflight = null;
    var instances = []; // { inst, target } in attach order
    var ops = Promise.resolve(); // login, logout and refresh, one at a time
    var lastDelivered = 0; // when web chat last got a token from us
    var early = 0; // early asks in a row
    var pausedUntil = 0;

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
    function logError(msg) {
      var c = cfg.console || root.console;
      if (c && c.error) c.error(msg);
    }
    function endpoint(path) {
      return cfg.basePath + path;
    }

    // requestToken asks the server for a token, retrying transient failures
    // with exponential backoff, and gives up with one console error.
    function requestToken() {
      var attempt = 0;
      var url = endpoint(cfg.tokenPath);
      function once() {
        return new Promise(function (resolve) {
          resolve(
            fetchFn(url, {
              method: 'GET',
              credentials: cfg.credentials,
              cache: 'no-store',
              headers: { Accept: 'text/plain' },
            })
          );
        }).then(
          function (res) {
            if (!res.ok) {
              var err = new Error('HTTP ' + res.status);
              err.status = res.status;
              err.retry = retryable(res.status);
              throw err;
            }
            return res.text().then(function (text) {
              var token = String(text).trim();
              if (!token) {
                var empty = new Error('empty response');
                empty.retry = true;
                throw empty;
              }
              return token;
            });
          },
          function (cause) {
            var err = new Error('network error: ' + ((cause && cause.message) || cause));
            err.retry = true;
            throw err;
          }
        );
      }
      function loop() {
        return once().catch(function (err) {
          if (err.retry && attempt < cfg.retries) {
            var delay = Math.min(cfg.backoffMs * Math.pow(2, attempt), cfg.maxBackoffMs);
            attempt++;
            return sleep(delay).then(loop);
          }
          var msg =
            'webchatid: no identity token from ' + url + ' after ' + (attempt + 1) +
            (attempt ? ' attempts' : ' attempt') + ' (last: ' + err.message +
            '); web chat cannot send messages until the server issues one. See the server log.';
          logError(msg);
          var out = new Error(msg);
          out.status = err.status;
          throw out;
        });
      }
      return loop();
    }

    // fetchToken returns the promise of a token. Callers share the request in
    // flight; fresh: true waits for it and then asks again (after a login or
    // logout the in-flight answer describes the old user).
    function fetchToken(opts) {
      var fresh = opts && opts.fresh;
      if (inflight && !fresh) return inflight;
      var p = inflight ? inflight.then(noop, noop).then(requestToken) : requestToken();
      inflight = p;
      var done = function () {
        if (inflight === p) inflight = null;
      };
      p.then(done, done);
      return p;
    }

    // tokenNeeded answers web chat's identityTokenExpired (field identityToken)
    // or Orchestrate's authTokenNeeded (field authToken). When web chat keeps
    // asking right after getting a token, IBM is refusing the tokens: say so
    // once and pause, rather than hammering the server in a loop.
    function tokenNeeded(field) {
      return function (event) {
        var t = now();
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
        return fetchToken()
          .then(
            function (token) {
              event[field] = token;
              lastDelivered = now();
            },
            noop // already reported by requestToken
          )
          .then(null, function (err) {
            logError('webchatid: cannot hand web chat the token: ' + ((err && err.message) || err));
          });
      };
    }

    function deliver(token) {
      lastDelivered = now();
      return Promise.all(
        instances.map(function (rec) {
          var inst = rec.inst;
          if (rec.target === 'orchestrate' && typeof inst.updateAuthToken === 'function') {
            return inst.updateAuthToken(token);
          }
          if (typeof inst.updateIdentityToken === 'function') return inst.updateIdentityToken(token);
          return undefined;
        })
      ).then(function () {
        return token;
      });
    }

    // serial runs account operations (login, logout, refresh) one after the
    // other, so the server sees them in the order they were called and web
    // chat's last token is the one for the last of them.
    function serial(fn) {
      var p = ops.then(fn);
      ops = p.then(noop, noop);
      return p;
    }

    // call calls inst[name]() when it exists; its promise, if any, is awaited.
    function call(inst, name) {
      return typeof inst[name] === 'function' ? inst[name]() : undefined;
    }

    // endSession ends every attached instance's session after a logout, the
    // ways IBM documents (see the top of this file):
    //   reload: destroySession(), then reload the page;
    //   destroy: destroy() then destroySession(), and forget the instances:
    //     the app creates a new web chat, which asks for its token with
    //     identityTokenExpired at session start;
    //   neither: destroySession() so a reload does not resume this session,
    //     then a fresh token to the instances (IBM's mid-session tutorial).
    function endSession(opts) {
      opts = opts || {};
      var recs = instances.slice();
      return recs
        .reduce(function (p, rec) {
          return p.then(function () {
            if (opts.destroy) {
              return Promise.resolve(call(rec.inst, 'destroy')).then(function () {
                return call(rec.inst, 'destroySession');
              });
            }
            return call(rec.inst, 'destroySession');
          });
        }, Promise.resolve())
        .then(function () {
          if (opts.destroy) {
            instances = instances.filter(function (rec) {
              return recs.indexOf(rec) < 0;
            });
            lastDelivered = 0;
            return undefined;
          }
          if (opts.reload) {
            if (root.location && typeof root.location.reload === 'function') root.location.reload();
            return undefined;
          }
          return fetchToken({ fresh: true }).then(deliver);
        });
    }

    function refresh(opts) {
      if (opts && (opts.destroySession || opts.destroy || opts.reload)) return endSession(opts);
      return fetchToken({ fresh: true }).then(deliver);
    }

    function post(path, body, what) {
      var init = { method: 'POST', credentials: cfg.credentials, cache: 'no-store', headers: {} };
      if (body !== undefined && body !== null) {
        var raw =
          typeof body === 'string' ||
          (root.URLSearchParams && body instanceof root.URLSearchParams) ||
          (root.FormData && body instanceof root.FormData);
        if (!raw || typeof body === 'string') init.headers['Content-Type'] = 'application/json';
        init.body = raw ? body : JSON.stringify(body);
      }
      return new Promise(function (resolve) {
        resolve(fetchFn(endpoint(path), init));
      }).then(function (res) {
        if (!res.ok) {
          var err = new Error('webchatid: ' + what + ' refused: HTTP ' + res.status);
          err.status = res.status;
          throw err;
        }
        return res;
      });
    }

    var client = {
      // attach registers the token handler on a web chat instance:
      // identityTokenExpired, or authTokenNeeded for target 'orchestrate'.
      // opts updates this client's settings.
      attach: function (instance, opts) {
        if (!instance || typeof instance.on !== 'function') {
          throw new TypeError('webchatid.attach: expected a web chat instance with an on() method');
        }
        assign(cfg, opts);
        for (var i = 0; i < instances.length; i++) {
          if (instances[i].inst === instance) return instance;
        }
        // Each instance keeps the target it was attached with.
        instances.push({ inst: instance, target: cfg.target });
        if (cfg.target === 'orchestrate') {
          // watsonx Orchestrate's embed chat: on(name, handler), event.authToken.
          instance.on('authTokenNeeded', tokenNeeded('authToken'));
        } else {
          // watsonx Assistant web chat: on({type, handler}), event.identityToken.
          instance.on({ type: 'identityTokenExpired', handler: tokenNeeded('identityToken') });
        }
        return instance;
      },
      // configure changes settings (see DEFAULTS above).
      configure: function (opts) {
        assign(cfg, opts);
        return client;
      },
      // fetchToken resolves to a new token from the server.
      fetchToken: function (opts) {
        return fetchToken(opts);
      },
      // login POSTs body (optional: an object goes as JSON, a string as JSON
      // text, URLSearchParams and FormData as they are) to the login endpoint,
      // then hands a new token to every attached instance. Resolves to the
      // token; rejects with err.status set when the server refuses.
      // Calls to login, logout and refresh run one after the other.
      login: function (body) {
        return serial(function () {
          return post(cfg.loginPath, body, 'login').then(function () {
            return fetchToken({ fresh: true }).then(deliver);
          });
        });
      },
      // logout POSTs to the logout endpoint, then ends web chat's session so
      // the next person cannot resume it (IBM: "you must destroy the web
      // chat"). Without options: destroySession() on every attached instance,
      // then a new anonymous token to them; resolves to it.
      // { reload: true }: destroySession(), then location.reload().
      // { destroy: true }: destroy() then destroySession(), and the instances
      // are detached: create a new web chat afterwards (it gets its token
      // through identityTokenExpired). These two resolve to undefined.
      logout: function (opts) {
        return serial(function () {
          return post(cfg.logoutPath, undefined, 'logout').then(function () {
            return endSession(opts);
          });
        });
      },
      // refresh hands every attached instance a fresh token, for apps that log
      // users in and out themselves (no /authenticate or /logout endpoint):
      // call it after your own login, and with { destroySession: true } (or
      // logout's reload or destroy options) after your own logout. Resolves
      // to the token.
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
