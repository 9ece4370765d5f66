// Loads IBM's web chat from IBM's CDN with the settings the server put on
// <body data-…>, and hands the instance to webchatid.js. This is IBM's embed
// snippet as a file, for a strict CSP (the snippet itself is an inline script):
// https://web-chat.global.assistant.watson.cloud.ibm.com/docs.html?to=api-configuration
(function () {
  'use strict';
  var d = document.body.dataset;
  window.watsonAssistantChatOptions = {
    integrationID: d.integrationId,
    region: d.region,
    serviceInstanceID: d.serviceInstanceId,
    onLoad: function (instance) {
      // Answers identityTokenExpired from /createJWT: web chat fires it at
      // session start (no identityToken option is given) and on expiry.
      // https://cloud.ibm.com/docs/watson-assistant?topic=watson-assistant-web-chat-security-enable
      webchatid.attach(instance);
      window.demoChat = instance;
      return instance.render();
    },
  };
  var s = document.createElement('script');
  s.src =
    'https://web-chat.global.assistant.watson.appdomain.cloud/versions/' +
    (window.watsonAssistantChatOptions.clientVersion || 'latest') +
    '/WatsonAssistantChatEntry.js';
  document.head.appendChild(s);
})();
