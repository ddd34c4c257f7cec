/* tgvault search: loads the index shards (plain script files, so it also works from file://) and
   finds posts containing every word of the query. Results are built with DOM nodes, never innerHTML. */
(function () {
  "use strict";

  var MAX_SHOWN = 200;
  var channels = [];
  var shards = {};
  var waiting = {};
  var run = 0;

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  window.tgvaultSearch = {
    index: function (data) {
      channels = data.channels || [];
      start();
    },
    shard: function (data) {
      var key = data.c + "/" + data.m;
      shards[key] = (data.p || []).map(function (p) {
        return { id: p[0], url: p[1], date: p[2], text: p[3], folded: fold(p[3]) };
      });
      var done = waiting[key];
      if (done) {
        delete waiting[key];
        done();
      }
    }
  };

  function load(channel, shard, done) {
    var key = channel.id + "/" + shard.m;
    if (shards[key]) return done(shards[key]);
    waiting[key] = function () { done(shards[key] || []); };
    var script = document.createElement("script");
    script.src = shard.f;
    script.onerror = function () {
      delete waiting[key];
      done([]);
    };
    document.head.appendChild(script);
  }

  function words(query) {
    return fold(query).split(/\s+/).filter(function (w) { return w.length > 0; });
  }

  function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function excerpt(text, terms) {
    var lower = text.toLowerCase();
    var at = -1;
    for (var i = 0; i < terms.length && at < 0; i++) at = lower.indexOf(terms[i]);
    var start = Math.max(0, at - 80);
    var end = Math.min(text.length, (at < 0 ? 0 : at) + 220);
    return (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : "");
  }

  function highlighted(text, terms) {
    var fragment = document.createDocumentFragment();
    var pattern = new RegExp("(" + terms.map(escapeRegExp).join("|") + ")", "ig");
    var last = 0;
    text.replace(pattern, function (match, _group, offset) {
      fragment.appendChild(document.createTextNode(text.slice(last, offset)));
      var mark = document.createElement("mark");
      mark.textContent = match;
      fragment.appendChild(mark);
      last = offset + match.length;
      return match;
    });
    fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  function search(query, channelFilter) {
    var current = ++run;
    var results = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    results.textContent = "";
    var terms = words(query);
    if (!terms.length) {
      status.textContent = "";
      return;
    }
    var queue = [];
    channels.forEach(function (channel) {
      if (channelFilter && String(channel.id) !== channelFilter) return;
      channel.shards.forEach(function (shard) { queue.push([channel, shard]); });
    });
    var found = 0;
    var done = 0;
    var rawTerms = query.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 0; });
    function next() {
      if (current !== run) return;
      if (!queue.length) {
        status.textContent = found === 0 ? "No posts found." :
          found + (found === 1 ? " post found" : " posts found") + (found > MAX_SHOWN ? " (showing the first " + MAX_SHOWN + ")" : "") + ".";
        return;
      }
      var item = queue.shift();
      var channel = item[0];
      load(channel, item[1], function (posts) {
        if (current !== run) return;
        done++;
        for (var i = posts.length - 1; i >= 0; i--) {
          var post = posts[i];
          var ok = terms.every(function (t) { return post.folded.indexOf(t) >= 0; });
          if (!ok) continue;
          found++;
          if (found > MAX_SHOWN) continue;
          var li = document.createElement("li");
          var meta = document.createElement("div");
          meta.className = "result-meta";
          var link = document.createElement("a");
          link.href = post.url;
          link.textContent = post.date;
          meta.appendChild(link);
          meta.appendChild(document.createTextNode(" · " + channel.title));
          var body = document.createElement("p");
          body.className = "result-text";
          body.setAttribute("dir", "auto");
          body.appendChild(highlighted(excerpt(post.text, rawTerms), rawTerms));
          li.appendChild(meta);
          li.appendChild(body);
          results.appendChild(li);
        }
        status.textContent = "Searching… " + done + " of " + (done + queue.length) + " months, " + found + " found";
        next();
      });
    }
    next();
  }

  function start() {
    var form = document.getElementById("search-form");
    if (!form) return;
    var input = document.getElementById("search-input");
    var select = document.getElementById("search-channel");
    channels.forEach(function (channel) {
      var option = document.createElement("option");
      option.value = String(channel.id);
      option.textContent = channel.title;
      select.appendChild(option);
    });
    var params = new URLSearchParams(window.location.search);
    input.value = params.get("q") || "";
    select.value = params.get("channel") || "";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = input.value;
      var url = new URL(window.location.href);
      url.searchParams.set("q", query);
      if (select.value) url.searchParams.set("channel", select.value);
      else url.searchParams.delete("channel");
      try { window.history.replaceState(null, "", url.toString()); } catch (e) { /* file:// may refuse */ }
      search(query, select.value);
    });
    if (input.value) search(input.value, select.value);
    input.focus();
  }
})();
