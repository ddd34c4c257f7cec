/* tgvault site: spoilers, collapsed quotes and the photo lightbox. No dependencies, no network. */
(function () {
  "use strict";

  function reveal(spoiler) {
    spoiler.classList.add("revealed");
    spoiler.setAttribute("tabindex", "-1");  // out of the Tab order, but a keyboard's focus stays here
    spoiler.removeAttribute("role");
    spoiler.removeAttribute("aria-pressed");
    spoiler.removeAttribute("aria-label");
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var spoiler = target.closest(".spoiler:not(.revealed)");
    if (spoiler) {
      event.preventDefault();
      event.stopPropagation();
      reveal(spoiler);
      return;
    }
    var quote = target.closest("blockquote.quote.collapsed:not(.expanded)");
    if (quote) {
      quote.classList.add("expanded");
      return;
    }
    var hidden = target.closest(".media-spoiler:not(.revealed)");
    if (hidden) {
      event.preventDefault();
      hidden.classList.add("revealed");
      return;
    }
    var photo = target.closest("a.photo[data-lightbox]");
    if (photo && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
      event.preventDefault();
      openLightbox(photo);
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if ((event.key === "Enter" || event.key === " ") && target.matches(".spoiler:not(.revealed)")) {
      event.preventDefault();
      reveal(target);
    }
  });

  var box = null;
  var image = null;
  var counter = null;
  var group = [];
  var position = 0;

  function button(label, css, text, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = css;
    b.setAttribute("aria-label", label);
    b.textContent = text;
    b.addEventListener("click", function (event) {
      event.stopPropagation();
      action();
    });
    return b;
  }

  function ensureBox() {
    if (box) return;
    box = document.createElement("dialog");
    box.className = "lightbox";
    box.setAttribute("aria-label", "Photo viewer");
    var inner = document.createElement("div");
    inner.className = "lightbox-inner";
    image = document.createElement("img");
    image.alt = "Photo";
    counter = document.createElement("span");
    counter.className = "lb-count";
    inner.appendChild(image);
    box.appendChild(inner);
    box.appendChild(counter);
    box.appendChild(button("Close", "lb-close", "\u2715", closeLightbox));
    box.appendChild(button("Previous photo", "lb-prev", "\u2039", function () { show(position - 1); }));
    box.appendChild(button("Next photo", "lb-next", "\u203a", function () { show(position + 1); }));
    box.addEventListener("click", function (event) {
      if (event.target === box || event.target === inner) closeLightbox();
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") show(position - 1);
      else if (event.key === "ArrowRight") show(position + 1);
    });
    document.body.appendChild(box);
  }

  function show(index) {
    if (!group.length) return;
    position = (index + group.length) % group.length;
    image.src = group[position].getAttribute("href");
    counter.textContent = group.length > 1 ? (position + 1) + " / " + group.length : "";
    box.querySelector(".lb-prev").hidden = group.length < 2;
    box.querySelector(".lb-next").hidden = group.length < 2;
  }

  function openLightbox(link) {
    ensureBox();
    var name = link.getAttribute("data-lightbox");
    group = Array.prototype.filter.call(document.querySelectorAll("a.photo[data-lightbox]"), function (a) {
      return a.getAttribute("data-lightbox") === name;
    });
    show(group.indexOf(link));
    if (typeof box.showModal === "function") box.showModal();
    else box.setAttribute("open", "");
    box.querySelector(".lb-close").focus();
  }

  function closeLightbox() {
    if (!box) return;
    if (typeof box.close === "function") box.close();
    else box.removeAttribute("open");
    image.removeAttribute("src");
  }
})();
