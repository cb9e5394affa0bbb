"use strict";

// Starts a conditional (autofill) passkey request on load, as a sign-in page does.
// The test waits for data-done on #status, then reads the outcome from it.
const status = document.getElementById("status");
const detail = document.getElementById("detail");

function show(outcome, text) {
  status.textContent = outcome;
  detail.textContent = text || "";
  status.dataset.done = "";
}

PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
  if (!available) {
    show("unavailable");
    return;
  }
  status.textContent = "pending";
  navigator.credentials.get({
    mediation: "conditional",
    publicKey: { challenge: new Uint8Array(32), rpId: "localhost", userVerification: "required" },
  }).then((cred) => show("signed-in", cred.id), (err) => show(err.name, err.message));
});
