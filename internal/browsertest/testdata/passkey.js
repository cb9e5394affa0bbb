"use strict";

const status = document.getElementById("status");
const detail = document.getElementById("detail");

function show(outcome, text) {
  status.textContent = outcome;
  detail.textContent = text || "";
}

function failed(err) {
  show(err.name, err.message);
}

document.getElementById("register").addEventListener("click", () => {
  show("creating");
  navigator.credentials.create({
    publicKey: {
      rp: { name: "t", id: "localhost" },
      user: { id: new Uint8Array(16), name: "a", displayName: "a" },
      challenge: new Uint8Array(32),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
    },
  }).then(() => show("created"), failed);
});

document.getElementById("signin").addEventListener("click", () => {
  show("signing-in");
  navigator.credentials.get({
    publicKey: { challenge: new Uint8Array(32), rpId: "localhost", userVerification: "required" },
  }).then((cred) => show("signed-in", cred.id), failed);
});

document.getElementById("autofill").addEventListener("click", () => {
  show("autofill-pending");
  navigator.credentials.get({
    mediation: "conditional",
    publicKey: { challenge: new Uint8Array(32), rpId: "localhost", userVerification: "required" },
  }).then((cred) => show("signed-in-autofill", cred.id), failed);
});
