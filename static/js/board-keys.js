// deskui: the day board's free cells are one tab stop (a roving tabindex). Arrow keys move
// between free cells (left/right in a chair, up/down to the nearest time in the next chair),
// Home/End jump to a chair's first/last free cell, Enter follows the cell's link to book it.
"use strict";

(function () {
  function column(cell) {
    return parseInt(cell.dataset.start, 10) || 0;
  }

  function nearest(cells, target) {
    var best = null;
    cells.forEach(function (cell) {
      if (best === null || Math.abs(column(cell) - target) < Math.abs(column(best) - target)) {
        best = cell;
      }
    });
    return best;
  }

  function freeRows(board) {
    var rows = [];
    board.querySelectorAll(".board-row").forEach(function (row) {
      var cells = Array.prototype.slice.call(row.querySelectorAll(".board-free"));
      if (cells.length) {
        rows.push(cells);
      }
    });
    return rows;
  }

  function target(rows, cell, key) {
    var r = rows.findIndex(function (cells) {
      return cells.indexOf(cell) !== -1;
    });
    var c = rows[r].indexOf(cell);
    switch (key) {
      case "ArrowRight":
        return rows[r][c + 1];
      case "ArrowLeft":
        return rows[r][c - 1];
      case "ArrowDown":
        return rows[r + 1] && nearest(rows[r + 1], column(cell));
      case "ArrowUp":
        return rows[r - 1] && nearest(rows[r - 1], column(cell));
      case "Home":
        return rows[r][0];
      case "End":
        return rows[r][rows[r].length - 1];
      default:
        return undefined;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var board = document.getElementById("board");
    if (!board) {
      return;
    }
    var rows = freeRows(board);
    board.addEventListener("keydown", function (event) {
      var cell = event.target.closest ? event.target.closest(".board-free") : null;
      if (!cell || event.altKey || event.ctrlKey || event.metaKey) {
        return;
      }
      var next = target(rows, cell, event.key);
      if (next === undefined) {
        return;
      }
      event.preventDefault(); // arrows would scroll the page
      if (next) {
        cell.tabIndex = -1;
        next.tabIndex = 0;
        next.focus();
        next.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    });
  });
})();
