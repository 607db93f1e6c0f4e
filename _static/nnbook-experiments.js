// nnbook static experiments: swap precomputed frames as the reader moves a control.
// Each .nnbook-exp holds its controls, an <img> and a JSON block {shape, order, frames}.
(function () {
  function wire(root) {
    var data = JSON.parse(root.querySelector("script.nnbook-exp-data").textContent);
    var img = root.querySelector("img.nnbook-exp-frame");
    var inputs = root.querySelectorAll(".nnbook-exp-controls input, .nnbook-exp-controls select");
    function index(el) { return el.type === "checkbox" ? (el.checked ? 1 : 0) : parseInt(el.value, 10); }
    function update() {
      var flat = 0;
      inputs.forEach(function (el, k) { flat = flat * data.shape[k] + index(el); });
      var frame = data.order[flat];
      img.src = "data:image/png;base64," + data.frames[frame];
      root.setAttribute("data-frame", String(frame));
      inputs.forEach(function (el) {
        if (el.type !== "range") return;
        var text = JSON.parse(el.getAttribute("data-labels"))[index(el)];
        el.setAttribute("aria-valuetext", text);
        var out = root.querySelector('output[for="' + el.id + '"]');
        if (out) out.textContent = text;
      });
    }
    inputs.forEach(function (el) {
      el.addEventListener("input", update);
      el.addEventListener("change", update);
    });
    update();
  }
  function init() { document.querySelectorAll(".nnbook-exp").forEach(wire); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
