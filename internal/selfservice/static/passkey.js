// Passkey ceremonies for Gatehouse's self-service pages.
//
// Pages say what they offer with markup; this module wires it up:
//
//   [data-passkey-api]        the element whose data-passkey-api is the JSON API's base
//                             path; its data-next (optional) is where to continue after
//                             a ceremony, and data-has-passkey="true" lets a refused
//                             registration confirm with an existing passkey first.
//   #identifier               an input with autocomplete="username webauthn": passkeys
//                             are offered in its autofill (conditional mediation).
//   [data-passkey="signin"]   a button for a usernameless sign-in.
//   [data-passkey="register"] a button that creates a passkey. data-name-input and
//                             data-display-name-input name the inputs that hold the
//                             passkey's name and the new account's name; data-next
//                             overrides where to go afterwards.
//   [data-passkey="stepup"]   a button that confirms with a passkey, then submits the
//                             form whose id is in data-submit.
//   form[data-passkey-submit] submitting it presses the button whose id it names.
//   #passkey-status           an aria-live region for progress and errors.
//
// Options arrive as WebAuthn JSON ({"publicKey": {...}} with base64url fields) and
// credentials leave as JSON; the browser's own converters are used when it has them.

const root = document.querySelector("[data-passkey-api]");
const statusRegion = document.getElementById("passkey-status");

function say(message, isError = false) {
  if (!statusRegion) return;
  statusRegion.textContent = message;
  statusRegion.classList.toggle("error", isError);
}

function byId(id) {
  return id ? document.getElementById(id) : null;
}

function next() {
  return (root && root.dataset.next) || "";
}

// --- base64url and the JSON forms of WebAuthn values -------------------------------

function fromB64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function descriptors(list) {
  return (list || []).map((c) => ({ ...c, id: fromB64url(c.id) }));
}

function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    try {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    } catch {
      // An older parser may refuse a member it does not know; convert by hand.
    }
  }
  return {
    ...json,
    challenge: fromB64url(json.challenge),
    user: { ...json.user, id: fromB64url(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    try {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    } catch {
      // As above.
    }
  }
  return { ...json, challenge: fromB64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") {
    try {
      return credential.toJSON();
    } catch {
      // Some password managers return objects whose toJSON throws.
    }
  }
  const r = credential.response;
  const out = {
    id: credential.id,
    rawId: toB64url(credential.rawId),
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
    response: { clientDataJSON: toB64url(r.clientDataJSON) },
  };
  if (credential.authenticatorAttachment) out.authenticatorAttachment = credential.authenticatorAttachment;
  if (r.attestationObject) {
    out.response.attestationObject = toB64url(r.attestationObject);
    if (typeof r.getTransports === "function") out.response.transports = r.getTransports();
  } else {
    out.response.authenticatorData = toB64url(r.authenticatorData);
    out.response.signature = toB64url(r.signature);
    if (r.userHandle) out.response.userHandle = toB64url(r.userHandle);
  }
  return out;
}

// --- the JSON API --------------------------------------------------------------------

class APIError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "APIError";
    this.code = code;
  }
}

async function call(path, body) {
  let response;
  try {
    response = await fetch(root.dataset.passkeyApi + "/" + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body === undefined ? {} : body),
    });
  } catch {
    throw new APIError("network", "We could not reach the server. Check your connection and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON: a proxy error page, for example.
  }
  if (!response.ok) {
    throw new APIError(
      (data && data.error) || "server_error",
      (data && data.error_description) || "Something went wrong on our side. Please try again.",
    );
  }
  return data || {};
}

function withNext(path, to) {
  return to ? path + "?next=" + encodeURIComponent(to) : path;
}

// go follows a redirect the server sent; only paths on this origin are followed.
function go(url) {
  if (typeof url === "string" && url.startsWith("/") && !url.startsWith("//") && !url.startsWith("/\\")) {
    window.location.assign(url);
  } else {
    window.location.reload();
  }
}

// --- errors and progress ---------------------------------------------------------------

function explain(error) {
  if (error instanceof APIError) return error.message;
  switch (error && error.name) {
    case "AbortError":
      return "";
    case "NotAllowedError":
      return "The passkey request was cancelled or timed out. Try again when you are ready.";
    case "InvalidStateError":
      return "This device already holds a passkey for your account. Use it, or create one with another device or password manager.";
    case "SecurityError":
      return "Passkeys cannot be used on this address. Open the site at its usual address and try again.";
    case "NotSupportedError":
      return "This browser or device cannot create or use passkeys.";
  }
  return "Something went wrong with the passkey. Please try again.";
}

async function busy(button, message, work) {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  say(message);
  try {
    await work();
  } catch (error) {
    const text = explain(error);
    say(text, text !== "");
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

function fieldError(input, message) {
  const holder = byId(input.id + "-error");
  input.setAttribute("aria-invalid", message ? "true" : "false");
  if (!holder) return;
  holder.textContent = message;
  holder.hidden = !message;
  const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== holder.id);
  if (message) described.unshift(holder.id);
  input.setAttribute("aria-describedby", described.join(" "));
}

// --- sign-in: autofill and usernameless -------------------------------------------------

let autofill = null; // the pending conditional request: { controller, done }
let autofillRestarts = 0;

async function startAutofill() {
  if (autofill || !document.getElementById("identifier")) return;
  if (typeof PublicKeyCredential.isConditionalMediationAvailable !== "function") return;
  try {
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
  } catch {
    return;
  }
  const controller = new AbortController();
  let picked = false;
  const done = (async () => {
    const options = await call("login/begin", { conditional: true });
    const credential = await navigator.credentials.get({
      publicKey: requestOptions(options.publicKey),
      mediation: "conditional",
      signal: controller.signal,
    });
    picked = true;
    say("Signing you in…");
    const result = await call(withNext("login/finish", next()), credentialJSON(credential));
    go(result.redirect);
  })();
  autofill = { controller, done };
  try {
    await done;
  } catch (error) {
    if (controller.signal.aborted) return; // a button took over
    // Before a passkey is picked, a refused request only means "no autofill here" (no
    // passkey for this site, say): the buttons still work, so stay quiet. A server
    // refusal is worth saying, and so is anything after the person picked a passkey.
    if (!picked && !(error instanceof APIError)) return;
    const text = explain(error);
    say(text, text !== "");
    // Offer the passkeys again with a fresh challenge after the server refused one the
    // person picked; a failure before that would only fail again.
    if (picked && autofillRestarts < 3) {
      autofillRestarts++;
      autofill = null;
      startAutofill();
    }
  } finally {
    if (autofill && autofill.controller === controller) autofill = null;
  }
}

async function stopAutofill() {
  const pending = autofill;
  autofill = null;
  if (!pending) return;
  pending.controller.abort();
  try {
    await pending.done;
  } catch {
    // Aborted, as asked.
  }
}

function signIn(button) {
  return busy(button, "Waiting for your passkey…", async () => {
    await stopAutofill();
    try {
      const options = await call("login/begin", { conditional: false });
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
      say("Signing you in…");
      const result = await call(withNext("login/finish", next()), credentialJSON(credential));
      go(result.redirect);
    } catch (error) {
      startAutofill();
      throw error;
    }
  });
}

// --- creating a passkey and confirming with one -------------------------------------------

async function stepUp() {
  const options = await call("stepup/begin");
  const credential = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
  return call("stepup/finish", credentialJSON(credential));
}

function register(button) {
  const nameInput = byId(button.dataset.nameInput);
  const displayInput = byId(button.dataset.displayNameInput);
  const body = {};
  if (nameInput) body.name = nameInput.value.trim();
  if (displayInput) {
    const name = displayInput.value.trim();
    if (!name) {
      fieldError(displayInput, "Enter your name to create an account.");
      displayInput.focus();
      return Promise.resolve();
    }
    fieldError(displayInput, "");
    body.display_name = name;
  }
  return busy(button, "Follow your browser's steps to create a passkey…", async () => {
    await stopAutofill();
    let options;
    try {
      options = await call("register/begin", body);
    } catch (error) {
      const canConfirm = root.dataset.hasPasskey === "true";
      if (!(error instanceof APIError && error.code === "step_up_required" && canConfirm)) throw error;
      say("First, confirm it's you with one of your passkeys…");
      await stepUp();
      say("Now create the new passkey…");
      options = await call("register/begin", body);
    }
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
    say("Saving your passkey…");
    const result = await call(withNext("register/finish", button.dataset.next || next()), credentialJSON(credential));
    go(result.redirect);
  });
}

function confirm(button) {
  return busy(button, "Waiting for your passkey…", async () => {
    const result = await stepUp();
    say("Thanks. Continuing…");
    const form = byId(button.dataset.submit);
    if (form) {
      form.submit();
      return;
    }
    go(result.redirect);
  });
}

// --- start --------------------------------------------------------------------------------

function init() {
  if (!root) return;
  const buttons = document.querySelectorAll("[data-passkey]");
  if (typeof window.PublicKeyCredential === "undefined" || !navigator.credentials) {
    say("This browser cannot use passkeys. Try an up-to-date browser, or another device.", true);
    buttons.forEach((button) => {
      button.disabled = true;
    });
    return;
  }
  const actions = { signin: signIn, register, stepup: confirm };
  buttons.forEach((button) => {
    const action = actions[button.dataset.passkey];
    if (action) button.addEventListener("click", () => action(button));
  });
  document.querySelectorAll("form[data-passkey-submit]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const button = byId(form.dataset.passkeySubmit);
      if (button) button.click();
    });
  });
  startAutofill();
}

init();
