/* Copy buttons of the sales desk: <button type="button" data-copy="text">Copy</button>.
   Uses the Clipboard API where the page is a secure context, else a hidden textarea. */
(function () {
  "use strict";

  function copyWithTextarea(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyWithTextarea(text); }
      );
    }
    return Promise.resolve(copyWithTextarea(text));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    var text = button.getAttribute("data-copy");
    copy(text).then(function (copied) {
      if (!copied) {
        window.prompt(button.getAttribute("data-prompt") || "Copy this text:", text);
        return;
      }
      button.textContent = button.getAttribute("data-copied") || "Copied";
      button.setAttribute("aria-live", "polite");
      window.setTimeout(function () {
        button.textContent = button.dataset.label;
      }, 1500);
    });
  });
})();
