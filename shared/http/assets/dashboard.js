// The dashboard's only script, and an enhancement: the pages work without it.
// Settings: each text template's segment count follows the typing, counted by the server with
// the same rules the texts are sent with.
"use strict";
document.querySelectorAll("textarea[data-segments]").forEach((area) => {
  const out = document.getElementById(area.dataset.segments);
  let timer;
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const query = new URLSearchParams({ text: area.value });
      const response = await fetch(`/admin/settings/segments?${query}`, {
        credentials: "same-origin",
      });
      if (response.ok) {
        out.textContent = await response.text();
      }
    }, 250);
  });
});
