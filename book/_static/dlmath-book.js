/* Fixes for reading the book offline (added to every page by book/_ext).

   pydata-sphinx-theme logs "Got invalid theme mode" on a first visit, when no
   mode is saved yet: start from "auto" (follow the system).

   The widget manager (@jupyter-widgets/html-manager 1.0.6) typesets widget
   labels through MathJax 2's MathJax.Hub.Queue, which MathJax 3 does not have:
   give whatever window.MathJax becomes a Hub whose Queue typesets the element
   with MathJax 3
   (its icon fonts: see book/_ext/dlmath_book.py). */
(function () {
  "use strict";
  if (!document.documentElement.dataset.mode) {
    document.documentElement.dataset.mode = "auto";
  }
  var current = window.MathJax;
  function queue(cmd) {
    var el = Array.isArray(cmd) ? cmd[2] : undefined;
    var tries = 0;
    (function go() {
      var mj = current;
      if (mj && typeof mj.typesetPromise === "function") {
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise
                                                     : Promise.resolve();
        ready.then(function () { return mj.typesetPromise(el ? [el] : undefined); })
             .catch(function (e) { console.warn("widget label typesetting:", e); });
      } else if (tries++ < 300) {
        setTimeout(go, 100);
      }
    })();
  }
  function withHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      try {
        Object.defineProperty(mj, "Hub", {value: {Queue: queue}, configurable: true,
                                          enumerable: false});
      } catch (e) { /* frozen object: leave it */ }
    }
    return mj;
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (v) { current = withHub(v); }
  });
  withHub(current);
})();
