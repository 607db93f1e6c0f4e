// nnbook static experiments: swap precomputed frames as the reader moves a control.
// Each .nnbook-exp holds its controls, an <img> and a JSON block {shape, order, frames}. In the
// book the frames are image files (_ext/nnbook_frames.py): the <img> gets its src only when the
// experiment comes near the screen or is touched, so a page loads no frame the reader does not
// reach. Plain <img> sources work from a web server, offline and from file:// (no fetch).
// A frame that is not a file name is base64 PNG (HTML written outside the book build).
(function () {
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { observer.unobserve(e.target); e.target.nnbookActivate(); }
    });
  }, { rootMargin: "200px 0px" }) : null;
  function source(frame) {
    return /\.png$/.test(frame) ? frame : "data:image/png;base64," + frame;
  }
  function wire(root) {
    var data = JSON.parse(root.querySelector("script.nnbook-exp-data").textContent);
    var img = root.querySelector("img.nnbook-exp-frame");
    var inputs = root.querySelectorAll(".nnbook-exp-controls input, .nnbook-exp-controls select");
    var active = img.hasAttribute("src");
    function index(el) { return el.type === "checkbox" ? (el.checked ? 1 : 0) : parseInt(el.value, 10); }
    function update() {
      var flat = 0;
      inputs.forEach(function (el, k) { flat = flat * data.shape[k] + index(el); });
      var frame = data.order[flat];
      if (active) {
        var src = source(data.frames[frame]);
        if (img.getAttribute("src") !== src) img.setAttribute("src", src);
      }
      root.setAttribute("data-frame", String(frame));
      inputs.forEach(function (el) {
        if (el.type !== "range") return;
        var text = JSON.parse(el.getAttribute("data-labels"))[index(el)];
        el.setAttribute("aria-valuetext", text);
        var out = root.querySelector('output[for="' + el.id + '"]');
        if (out) out.textContent = text;
      });
    }
    function activate() {
      if (active) return;
      active = true;
      if (observer) observer.unobserve(root);
      update();
    }
    root.nnbookActivate = activate;
    inputs.forEach(function (el) {
      el.addEventListener("input", function () { activate(); update(); });
      el.addEventListener("change", function () { activate(); update(); });
    });
    root.addEventListener("pointerdown", activate);
    root.addEventListener("focusin", activate);
    update();
    if (!active) { if (observer) observer.observe(root); else activate(); }
  }
  // every experiment's current frame at once (scripts/pdf.py, before printing)
  window.nnbookLoadExperiments = function () {
    document.querySelectorAll(".nnbook-exp").forEach(function (r) { if (r.nnbookActivate) r.nnbookActivate(); });
  };
  function init() { document.querySelectorAll(".nnbook-exp").forEach(wire); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
