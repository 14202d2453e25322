// conveyor dashboard: small progressive enhancements. Every page works without this script.
//
// - [data-refresh="/ui/fragments/..."] (with data-every="SECONDS", default 5): the element's
//   content is fetched again and replaced, while the page is visible.
// - form[data-confirm="question"]: asks before submitting.
// - form[data-busy="text"]: disables its button and shows the text while the server works
//   (a release waits for the rollout, which can take a while).
"use strict";

(function () {
  function refresh(element) {
    if (document.hidden || element.dataset.loading) return;
    element.dataset.loading = "1";
    fetch(element.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) {
          // The session ended: let the whole page go to the login form.
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        // The server escaped every value in this fragment, as in the page itself.
        if (html !== null) element.innerHTML = html;
      })
      .catch(function () { /* the daemon may be restarting: try again at the next tick */ })
      .finally(function () { delete element.dataset.loading; });
  }

  function startRefreshing(element) {
    var seconds = Number(element.dataset.every) || 5;
    window.setInterval(function () { refresh(element); }, Math.max(seconds, 1) * 1000);
  }

  function onSubmit(event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.busy) {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.dataset.label = button.textContent;
        button.disabled = true;
        button.textContent = form.dataset.busy;
      }
      document.body.setAttribute("aria-busy", "true");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(startRefreshing);
    document.addEventListener("submit", onSubmit);
  });
  // Back from a form's page through the history cache: the buttons must work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("button[data-label]").forEach(function (button) {
      button.disabled = false;
      button.textContent = button.dataset.label;
    });
    document.body.removeAttribute("aria-busy");
  });
})();
