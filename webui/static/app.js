// searchkit: progressive enhancement only. Every page works without this file; with it,
// "/" focuses the search box, searches update in place (no page reload, history kept),
// the sort menu applies at once, and article pages get "previous / next match" buttons.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  // "/" focuses the search box, from anywhere but a text field.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var box = document.getElementById("q");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // ---- search results without a page reload -------------------------------------------
  function isSearchUrl(url) {
    return url.origin === location.origin && (url.pathname === "/search" || url.pathname === "/");
  }

  function swap(selector, doc) {
    var fresh = doc.querySelector(selector), old = document.querySelector(selector);
    if (fresh && old) old.replaceWith(document.adoptNode(fresh));
    else if (old) old.remove();
    else if (fresh) document.head.appendChild(document.adoptNode(fresh));
  }

  var pending = null;
  function load(url, push, keepBoxFocus) {
    if (pending) pending.abort();
    pending = new AbortController();
    document.body.setAttribute("aria-busy", "true");
    return fetch(url, { headers: { Accept: "text/html" }, signal: pending.signal })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        if (!doc.querySelector("main")) { location.assign(url); return; }
        swap("main", doc);
        swap("form.searchbox", doc);
        swap('link[rel="alternate"]', doc);
        document.title = doc.title;
        if (push) history.pushState({ searchkit: true }, "", url);
        if (keepBoxFocus) {
          var box = document.getElementById("q");
          box.focus();
          box.setSelectionRange(box.value.length, box.value.length);
        } else {
          document.getElementById("main").focus({ preventScroll: true });
          window.scrollTo(0, 0);
        }
        enhance();
      })
      .catch(function (error) { if (error.name !== "AbortError") location.assign(url); })
      .finally(function () { document.body.removeAttribute("aria-busy"); });
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest && event.target.closest("a");
    if (!link || link.hasAttribute("target") || link.hasAttribute("download")) return;
    var href = link.getAttribute("href");  // SVG links have no string .href
    if (!href || href.charAt(0) === "#") return;
    var url = new URL(href, location.href);
    if (!isSearchUrl(url)) return;
    event.preventDefault();
    load(url.href, true, false);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.method || "get").toLowerCase() !== "get") return;
    var url = new URL(form.getAttribute("action") || location.href, location.href);
    if (!isSearchUrl(url)) return;
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { if (value !== "") params.append(name, value); });
    url.search = params.toString();
    event.preventDefault();
    load(url.href, true, form.classList.contains("searchbox"));
  });

  window.addEventListener("popstate", function () {
    if (isSearchUrl(new URL(location.href))) load(location.href, false, false);
  });

  // ---- per-page enhancements (run again after each in-place update) -------------------
  function enhance() {
    var sort = document.getElementById("sort");
    if (sort && !sort.dataset.enhanced) {
      sort.dataset.enhanced = "1";
      sort.addEventListener("change", function () { sort.form.requestSubmit(); });
    }
  }

  // Article pages: previous / next match, also with the keys "p" and "n".
  function matchNavigation() {
    var bar = document.querySelector(".matchbar[data-matches]");
    var total = bar ? parseInt(bar.getAttribute("data-matches"), 10) : 0;
    if (!total) return;
    var current = 0;
    var line = bar.querySelector("p");
    var first = bar.querySelector(".next-match");
    var status = document.createElement("span");
    status.className = "match-position";
    status.setAttribute("aria-live", "polite");
    var prev = document.createElement("button");
    prev.type = "button";
    prev.textContent = "↑ Previous";
    prev.setAttribute("aria-keyshortcuts", "p");
    var next = document.createElement("button");
    next.type = "button";
    next.textContent = "Next match ↓";
    next.setAttribute("aria-keyshortcuts", "n");
    if (first) first.remove();
    line.appendChild(prev);
    line.appendChild(next);
    line.appendChild(status);

    function go(step) {
      var old = document.getElementById("m" + current);
      if (old) old.classList.remove("current");
      current = ((current - 1 + step + total) % total) + 1;
      var mark = document.getElementById("m" + current);
      mark.classList.add("current");
      mark.scrollIntoView({ block: "center" });
      status.textContent = "Match " + current + " of " + total;
      if (history.replaceState) history.replaceState(null, "", "#m" + current);
    }
    prev.addEventListener("click", function () { go(-1); });
    next.addEventListener("click", function () { go(1); });
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (event.key === "n") go(1);
      else if (event.key === "p") go(-1);
    });
  }

  enhance();
  matchNavigation();
})();
