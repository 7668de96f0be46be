// pyapp-server's web interface: what makes a few pages live. Every page works without it.
"use strict";

(function () {
  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  // The dashboard: the table of apps asked again every few seconds while the page is shown.
  function liveApps(table) {
    var url = table.getAttribute("data-live");
    var interval = (parseInt(table.getAttribute("data-interval"), 10) || 5) * 1000;
    async function refresh() {
      if (document.hidden || table.contains(document.activeElement)) {
        return true;  // not while hidden, nor under the keyboard's focus
      }
      var response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok || new URL(response.url).pathname !== url) {
        return false;  // signed out, or gone: the page stays as it is
      }
      var fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("tbody");
      var body = table.querySelector("tbody");
      if (fresh && body) {
        body.replaceWith(document.importNode(fresh, true));
      }
      return true;
    }
    (async function loop() {
      for (;;) {
        await sleep(interval);
        try {
          if (!(await refresh())) { return; }
        } catch (error) {
          await sleep(interval);  // the server restarts, or the network is down: try again later
        }
      }
    })();
  }

  // A job's page: its log grows as the job runs (each request waits on the server for news).
  function jobProgress(box) {
    var log = document.getElementById("job-log");
    var state = document.getElementById("job-state");
    var offset = parseInt(box.getAttribute("data-offset"), 10) || 0;
    var wait = box.getAttribute("data-wait") || "15";
    var url = box.getAttribute("data-progress");
    (async function loop() {
      for (;;) {
        var started = Date.now();
        try {
          var response = await fetch(url + "?offset=" + offset + "&wait=" + wait, {
            credentials: "same-origin", headers: { Accept: "application/json" },
          });
          if (!response.ok || (response.headers.get("Content-Type") || "").indexOf("json") < 0) {
            return;  // signed out, or gone: reloading the page tells why
          }
          var news = await response.json();
          if (news.log) { log.textContent += news.log; log.scrollTop = log.scrollHeight; }
          offset = news.offset;
          state.textContent = news.state;
          if (news.done) { window.location.reload(); return; }
        } catch (error) {
          await sleep(3000);
        }
        if (Date.now() - started < 1000) { await sleep(1500); }  // answered at once: the server is busy
      }
    })();
  }

  // An upload form: drop a file on it, and see the upload's progress.
  function uploadForm(form) {
    var input = form.querySelector('input[type="file"]');
    var zone = form.querySelector(".drop-zone");
    var bar = form.querySelector("progress");
    var said = form.querySelector(".upload-state");
    function tell(text) { said.textContent = text; }
    if (zone && input) {
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          tell(input.files[0].name + " is ready to upload.");
        }
      });
    }
    form.addEventListener("submit", function (event) {
      if (!input || !input.files.length) { return; }
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable) {
          bar.value = Math.round((progress.loaded / progress.total) * 100);
          tell("Uploading: " + bar.value + "%");
        }
      });
      request.addEventListener("load", function () {
        if (request.status < 400 && request.responseURL) {
          window.location.assign(request.responseURL);  // the job's page
          return;
        }
        var page = new DOMParser().parseFromString(request.responseText, "text/html");
        var fresh = page.querySelector("main");
        if (fresh) {
          document.querySelector("main").replaceWith(document.importNode(fresh, true));
          document.title = page.title;
          start(document.querySelector("main"));
          document.querySelector("main").focus();
        } else {
          tell("The upload was refused (" + request.status + ").");
        }
      });
      request.addEventListener("error", function () { tell("The upload did not reach the server."); bar.hidden = true; });
      bar.hidden = false;
      bar.value = 0;
      tell("Uploading…");
      request.send(new FormData(form));
    });
  }

  function start(root) {
    root.querySelectorAll("table[data-live]").forEach(liveApps);
    var job = root.querySelector("#job[data-progress]");
    if (job && ["queued", "running"].indexOf(job.getAttribute("data-state")) >= 0) { jobProgress(job); }
    root.querySelectorAll("form[data-upload]").forEach(uploadForm);
    root.querySelectorAll("input[data-select]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  start(document);
})();
