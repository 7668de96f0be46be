// Opens a WebSocket to the app's /ws (under its mount path) and shows what comes back.
(function () {
  var script = document.currentScript;
  var scheme = location.protocol === "https:" ? "wss://" : "ws://";
  var socket = new WebSocket(scheme + location.host + script.dataset.socket);
  var log = document.getElementById("log");
  socket.onmessage = function (event) {
    var item = document.createElement("li");
    item.textContent = event.data;
    log.appendChild(item);
  };
  document.getElementById("say").onsubmit = function (event) {
    event.preventDefault();
    var text = document.getElementById("text");
    socket.send(text.value);
    text.value = "";
  };
})();
