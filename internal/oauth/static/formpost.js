// Sends the authorization response to the application as soon as the page loads,
// so that people do not have to click. The page keeps its Continue button for
// browsers that run no scripts, and the Content-Security-Policy keeps allowing
// only scripts from this origin: this file is the page's only script.
const form = document.getElementById("form-post");
if (form instanceof HTMLFormElement) {
  form.submit();
}
