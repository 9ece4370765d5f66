// StandinChat is a tiny stand-in for IBM's web chat instance, with the part of
// its API that webchatid.js uses: on({type, handler}), updateIdentityToken,
// destroySession, plus send(text). Like web chat, it fires
// identityTokenExpired when it has no token or the server refuses the token
// as expired, waits for the handlers to set event.identityToken, and retries
// the message once.
(function () {
  'use strict';

  function StandinChat(opts) {
    this.url = opts.url;
    this.handlers = {};
    this.token = null;
    this.stats = { tokens: 0, expired: 0 };
    this.onChange = opts.onChange || function () {};
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

  // destroySession forgets the conversation, as web chat does on logout.
  StandinChat.prototype.destroySession = function () {
    this.token = null;
    this.onChange('destroyed');
  };

  StandinChat.prototype.ensureToken = function () {
    var self = this;
    if (this.token) return Promise.resolve(this.token);
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
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + this.token },
      body: JSON.stringify({ text: text }),
    });
  };

  // send resolves to the stand-in's answer (what an action would see).
  StandinChat.prototype.send = function (text) {
    var self = this;
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
