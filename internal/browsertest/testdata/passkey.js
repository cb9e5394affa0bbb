"use strict";

// The test waits for data-done on #status, then reads the outcome from it.
const status = document.getElementById("status");
const detail = document.getElementById("detail");

function show(outcome, text) {
  status.textContent = outcome;
  detail.textContent = text || "";
  status.dataset.done = "";
}

function failed(err) {
  show(err.name, err.message);
}

document.getElementById("register").addEventListener("click", () => {
  navigator.credentials.create({
    publicKey: {
      rp: { name: "t", id: "localhost" },
      user: { id: new Uint8Array(16), name: "a", displayName: "a" },
      challenge: new Uint8Array(32),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
    },
  }).then((cred) => show("created", cred.id), failed);
});

document.getElementById("signin").addEventListener("click", () => {
  navigator.credentials.get({
    publicKey: { challenge: new Uint8Array(32), rpId: "localhost", userVerification: "required" },
  }).then((cred) => show("signed-in", cred.id), failed);
});
