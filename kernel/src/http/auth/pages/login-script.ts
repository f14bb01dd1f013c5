/**
 * The browser script of the login and onboarding pages, served as a file at /auth/assets/login.js (the pages'
 * CSP forbids inline scripts). It hashes the typed password exactly as Cozy clients do
 * (auth/passphrase.ts clientPassphraseHash):
 *
 *   base64( PBKDF2-SHA256( PBKDF2-SHA256(password, "me@" + domain-without-port, iterations), password, 1 ) )
 *
 * with 32-byte keys, puts the hash in the hidden `passphrase` field and submits the form natively, so the
 * clear password never leaves the browser (the visible field has no name and is never submitted).
 *
 * WebCrypto's PBKDF2 exists only in secure contexts: https pages, and http://localhost or 127.0.0.1. On any
 * other plain-HTTP host the page says so and keeps its button disabled: put the server behind TLS.
 *
 * Plain ES2017 so any current browser runs it as is; `window.cozyPassphraseHash` is exposed for tests.
 */
export const LOGIN_SCRIPT = String.raw`(function (w, d) {
  'use strict';
  var encoder = new TextEncoder();

  function toBase64(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return w.btoa(binary);
  }

  function pbkdf2(subtle, secret, salt, iterations) {
    return subtle.importKey('raw', secret, 'PBKDF2', false, ['deriveBits']).then(function (key) {
      return subtle.deriveBits({ name: 'PBKDF2', salt: salt, iterations: iterations, hash: 'SHA-256' }, key, 256);
    });
  }

  function hash(password, salt, iterations) {
    var subtle = w.crypto && w.crypto.subtle;
    if (!subtle) return Promise.reject(new Error('no WebCrypto'));
    var pass = encoder.encode(password);
    return pbkdf2(subtle, pass, encoder.encode(salt), iterations)
      .then(function (master) { return pbkdf2(subtle, new Uint8Array(master), pass, 1); })
      .then(toBase64);
  }
  w.cozyPassphraseHash = hash;

  function wire(form, submit, check) {
    var password = d.getElementById('password');
    var hidden = d.getElementById('passphrase');
    var error = d.getElementById('form-error');
    var button = d.getElementById(submit);
    function show(message) {
      error.textContent = message;
      error.hidden = false;
    }
    if (!w.isSecureContext || !w.crypto || !w.crypto.subtle) {
      show('This page must be opened over HTTPS (or on localhost): the browser hashes your password before sending it, and it can only do so on a secure page.');
      return;
    }
    button.disabled = false;
    var sending = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (sending) return;
      var problem = check ? check(password.value) : password.value ? '' : 'Type your password.';
      if (problem) return show(problem);
      sending = true;
      button.disabled = true;
      error.hidden = true;
      var iterations = parseInt(form.getAttribute('data-iterations'), 10);
      hash(password.value, form.getAttribute('data-salt'), iterations).then(function (hashed) {
        hidden.value = hashed;
        form.submit();
      }, function (err) {
        sending = false;
        button.disabled = false;
        show('Could not hash the password: ' + err.message);
      });
    });
  }

  var login = d.getElementById('login-form');
  if (login) wire(login, 'login-submit');

  var onboarding = d.getElementById('onboarding-form');
  if (onboarding) {
    wire(onboarding, 'onboarding-submit', function (pass) {
      var confirm = d.getElementById('password-confirm').value;
      var hint = d.getElementById('hint').value;
      if (pass.length < 8) return 'Choose a password of at least 8 characters.';
      if (pass !== confirm) return 'The two passwords are different.';
      if (hint && hint === pass) return 'The hint cannot be the password itself.';
      return '';
    });
  }
})(window, document);
`;
