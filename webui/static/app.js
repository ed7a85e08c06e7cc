// searchkit: progressive enhancement only. Every page works without this file; with it,
// "/" focuses the search box, searches update in place (no page reload, history kept),
// the sort menu applies at once, a drag across the timeline's bars narrows to a date range,
// and article pages get "previous / next match" buttons.
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

  // ---- timeline: drag across bars (or Shift+arrow keys, then Enter) for a date range ------
  // A click on one bar is its link (it works without this file); a drag from one bar to
  // another narrows the search to the periods between them.
  function timelineBars(figure) { return Array.prototype.slice.call(figure.querySelectorAll("a.bar")); }

  function barAt(figure, x) {
    var best = null, distance = Infinity;
    timelineBars(figure).forEach(function (bar, i) {
      var box = bar.querySelector(".target").getBoundingClientRect();
      var d = x < box.left ? box.left - x : x > box.right ? x - box.right : 0;
      if (d < distance) { distance = d; best = i; }
    });
    return best;
  }

  function pick(figure, from, to) {
    var low = Math.min(from, to), high = Math.max(from, to), bars = timelineBars(figure), count = 0;
    bars.forEach(function (bar, i) {
      var inside = i >= low && i <= high;
      bar.classList.toggle("picking", inside);
      if (inside) count += parseInt(bar.getAttribute("data-count"), 10) || 0;
    });
    var status = figure.querySelector(".timeline-status");
    var first = bars[low].getAttribute("data-label"), last = bars[high].getAttribute("data-label");
    if (status) status.textContent = (low === high ? first : first + " to " + last) + ": " + count +
      (count === 1 ? " match" : " matches") + (low === high ? "" : " — release, or press Enter, to show them");
    figure.dataset.pickFrom = String(low);
    figure.dataset.pickTo = String(high);
  }

  function unpick(figure) {
    timelineBars(figure).forEach(function (bar) { bar.classList.remove("picking"); });
    delete figure.dataset.pickFrom;
    delete figure.dataset.pickTo;
    delete figure.dataset.anchor;
    var status = figure.querySelector(".timeline-status");
    if (status) status.textContent = "";
  }

  function showPicked(figure) {
    var bars = timelineBars(figure);
    var from = bars[parseInt(figure.dataset.pickFrom, 10)], to = bars[parseInt(figure.dataset.pickTo, 10)];
    var url = new URL(figure.getAttribute("data-range-url"), location.href);
    url.searchParams.set("since", from.getAttribute("data-period"));
    url.searchParams.set("until", to.getAttribute("data-period"));
    unpick(figure);
    load(url.href, true, false);
  }

  var drag = null;  // {figure, from, to, moved}
  document.addEventListener("pointerdown", function (event) {
    var figure = event.target.closest && event.target.closest("figure.timeline[data-range-url]");
    if (!figure || event.button !== 0 || !event.target.closest("svg")) return;
    var at = barAt(figure, event.clientX);
    if (at === null) return;
    drag = { figure: figure, from: at, to: at, moved: false };
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    var at = barAt(drag.figure, event.clientX);
    if (at === null || (at === drag.to && !drag.moved)) return;
    drag.moved = drag.moved || at !== drag.from;
    drag.to = at;
    pick(drag.figure, drag.from, drag.to);
  });
  document.addEventListener("pointerup", function () {
    if (!drag) return;
    var done = drag;
    drag = null;
    if (done.moved && done.from !== done.to) {
      done.figure.dataset.dragged = "1";  // the click that ends a drag is not a bar's click
      showPicked(done.figure);
    } else {
      unpick(done.figure);
    }
  });
  document.addEventListener("click", function (event) {
    var figure = event.target.closest && event.target.closest("figure.timeline");
    if (figure && figure.dataset.dragged) {
      delete figure.dataset.dragged;
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  document.addEventListener("dragstart", function (event) {  // no dragging the bars' links away
    if (event.target.closest && event.target.closest("figure.timeline")) event.preventDefault();
  });

  // Keys on a bar: arrows move between bars, Shift+arrows stretch a range, Enter shows it, Escape drops it.
  document.addEventListener("keydown", function (event) {
    var bar = event.target.closest && event.target.closest("figure.timeline a.bar");
    if (!bar || event.ctrlKey || event.metaKey || event.altKey) return;
    var figure = bar.closest("figure.timeline"), bars = timelineBars(figure), i = bars.indexOf(bar);
    var step = { ArrowLeft: -1, ArrowRight: 1, Home: -bars.length, End: bars.length }[event.key];
    if (step !== undefined) {
      event.preventDefault();
      var next = Math.max(0, Math.min(bars.length - 1, i + step));
      if (event.shiftKey) {
        if (figure.dataset.anchor === undefined) figure.dataset.anchor = String(i);
        pick(figure, parseInt(figure.dataset.anchor, 10), next);
      } else {
        unpick(figure);
      }
      rove(figure, bars[next]);
      bars[next].focus();
    } else if (event.key === "Enter" && figure.dataset.pickFrom !== undefined && figure.dataset.pickFrom !== figure.dataset.pickTo) {
      event.preventDefault();
      showPicked(figure);
    } else if (event.key === "Escape" && figure.dataset.pickFrom !== undefined) {
      unpick(figure);
    }
  });

  // One Tab stop per chart (the chosen bar, else the first); the arrow keys move between bars.
  function rove(figure, current) {
    timelineBars(figure).forEach(function (bar) { bar.setAttribute("tabindex", bar === current ? "0" : "-1"); });
  }

  function enhanceTimelines() {
    document.querySelectorAll("figure.timeline[data-range-url]").forEach(function (figure, n) {
      if (figure.dataset.enhanced) return;
      figure.dataset.enhanced = "1";
      var bars = timelineBars(figure);
      if (!bars.length) return;
      rove(figure, figure.querySelector("a.bar.on, a.bar.in") || bars[0]);
      var hint = document.createElement("span");
      hint.id = "timeline-keys-" + n;
      hint.className = "visually-hidden";
      hint.textContent = "Arrow keys move between bars; Shift with an arrow key chooses a range, Enter shows it.";
      figure.appendChild(hint);
      bars.forEach(function (bar) { bar.setAttribute("aria-describedby", hint.id); });
    });
  }

  // ---- per-page enhancements (run again after each in-place update) -------------------
  function enhance() {
    enhanceTimelines();
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
