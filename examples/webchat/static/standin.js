// StandinChat is a tiny stand-in for IBM's web chat instance, with the part of
// its API that webchatid.js uses: on({type, handler}), updateIdentityToken,
// destroySession, destroy, plus send(text). Like web chat, it fires
// identityTokenExpired when it has no token or the server refuses the token,
// waits for the handlers to set event.identityToken, and retries the message
// once.
//
// Like web chat, it keeps its session across page loads (in sessionStorage)
// until destroySession() forgets it, and the instance on the page keeps the
// session it started with: after destroySession() only a reload or a new
// instance (after destroy()) starts a new one. Every message carries the
// session's ID, so the stand-in server can apply IBM's rule that a session
// cannot change to a token with another sub.
(function () {
  'use strict';

  var storeKey = 'webchatid-demo-standin-session';

  function newSessionID() {
    var bytes = new Uint8Array(16);
    if (window.crypto && window.crypto.getRandomValues) {
      window.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    return Array.prototype.map
      .call(bytes, function (b) {
        return ('0' + b.toString(16)).slice(-2);
      })
      .join('');
  }

  function storage() {
    try {
      return window.sessionStorage || null;
    } catch (e) {
      return null;
    }
  }

  function StandinChat(opts) {
    this.url = opts.url;
    this.handlers = {};
    this.token = null;
    this.destroyed = false;
    this.stats = { tokens: 0, expired: 0, asked: 0 };
    this.onChange = opts.onChange || function () {};
    var store = storage();
    this.sessionID = (store && store.getItem(storeKey)) || newSessionID();
    if (store) store.setItem(storeKey, this.sessionID);
  }

  // on accepts IBM's form on({type, handler}) and the short on(type, handler).
  StandinChat.prototype.on = function (arg, fn) {
    var type = typeof arg === 'string' ? arg : arg.type;
    var handler = typeof arg === 'string' ? fn : arg.handler;
    (this.handlers[type] = this.handlers[type] || []).push(handler);
  };

  StandinChat.prototype.fire = function (event) {
    var self = this;
    var list = this.handlers[event.type] || [];
    return list.reduce(function (p, h) {
      return p.then(function () {
        return h(event, self);
      });
    }, Promise.resolve()).then(function () {
      return event;
    });
  };

  StandinChat.prototype.updateIdentityToken = function (token) {
    this.token = token;
    this.stats.tokens++;
    this.onChange('token');
  };

  // destroySession forgets the conversation and the stored session, as web
  // chat does on logout; this instance still holds its session until the
  // page reloads or the instance is destroyed.
  StandinChat.prototype.destroySession = function () {
    var store = storage();
    if (store) store.removeItem(storeKey);
    this.token = null;
    this.onChange('destroyed');
  };

  // destroy removes the instance: it sends nothing more.
  StandinChat.prototype.destroy = function () {
    this.destroyed = true;
    this.token = null;
    this.onChange('removed');
  };

  StandinChat.prototype.ensureToken = function () {
    var self = this;
    if (this.token) return Promise.resolve(this.token);
    this.stats.asked++;
    return this.fire({ type: 'identityTokenExpired' }).then(function (event) {
      if (!event.identityToken) throw new Error('no identity token: see the console');
      self.updateIdentityToken(event.identityToken);
      return self.token;
    });
  };

  StandinChat.prototype.post = function (text) {
    return fetch(this.url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/json',
        Authorization: 'Bearer ' + this.token,
        'X-Standin-Session': this.sessionID,
      },
      body: JSON.stringify({ text: text }),
    });
  };

  // send resolves to the stand-in's answer (what an action would see).
  StandinChat.prototype.send = function (text) {
    var self = this;
    if (this.destroyed) return Promise.reject(new Error('this web chat was destroyed'));
    return this.ensureToken()
      .then(function () {
        return self.post(text);
      })
      .then(function (res) {
        if (res.status !== 401) return res;
        // Refused: like web chat, ask for a new token and retry once.
        self.stats.expired++;
        self.token = null;
        self.onChange('expired');
        return self.ensureToken().then(function () {
          return self.post(text);
        });
      })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) {
            throw new Error((body && body.error_description) || 'HTTP ' + res.status);
          }
          return body;
        });
      });
  };

  window.StandinChat = StandinChat;
})();
