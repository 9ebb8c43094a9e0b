// Day board: place blocks on the time grid from data attributes (the CSP forbids style
// attributes, but styles set from a script file are allowed), mark "now", and the small
// behaviours shared by the front-desk pages (auto-submit pickers, print, confirm).
"use strict";

(function () {
  function placeBlocks(board) {
    var columns = parseInt(board.dataset.columns, 10) || 1;
    board.style.setProperty("--board-cols", String(columns));
    // background-position percentages align the image's point with the area's point, so an
    // offset of k columns for a 12-column tile is k / (columns - 12) of the free space.
    var offset = parseInt(board.dataset.hourOffset, 10) || 0;
    var position = columns > 12 ? (100 * offset) / (columns - 12) : 0;
    board.style.setProperty("--board-hour-pos", position + "%");
    board.querySelectorAll("[data-start][data-span]").forEach(function (el) {
      var start = parseInt(el.dataset.start, 10);
      var span = parseInt(el.dataset.span, 10);
      if (start > 0 && span > 0) {
        el.style.gridColumn = start + " / span " + span;
      }
    });
    board.classList.add("is-placed");
  }

  function markNow(board) {
    var percent = parseFloat(board.dataset.now);
    if (isNaN(percent)) {
      return;
    }
    board.querySelectorAll(".board-track").forEach(function (track) {
      var line = document.createElement("span");
      line.className = "board-now";
      line.setAttribute("aria-hidden", "true");
      line.style.left = percent + "%";
      track.appendChild(line);
    });
  }

  function scrollToNow(board) {
    var scroller = board.closest(".board-scroll");
    var percent = parseFloat(board.dataset.now);
    if (!scroller || isNaN(percent)) {
      return;
    }
    var target = (board.scrollWidth * percent) / 100 - scroller.clientWidth / 3;
    scroller.scrollLeft = Math.max(0, target);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var board = document.getElementById("board");
    if (board) {
      placeBlocks(board);
      markNow(board);
      scrollToNow(board);
    }

    document.querySelectorAll("[data-autosubmit]").forEach(function (input) {
      input.addEventListener("change", function () {
        if (input.form && (input.type !== "date" || input.value)) {
          input.form.submit();
        }
      });
    });

    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });

    document.querySelectorAll("[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.dataset.confirm)) {
          event.preventDefault();
        }
      });
    });
  });
})();
