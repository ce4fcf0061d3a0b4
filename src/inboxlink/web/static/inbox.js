// Conversations: keep an open list or thread current without a reload. The page's
// [data-live] element names a URL answering {"version"}; when it changes, the same page is
// fetched again and only that element is swapped, so a reply being typed is left alone.
"use strict";

function watchLive() {
  const live = document.querySelector("[data-live]");
  if (!live) return;
  const tick = async () => {
    if (!document.hidden) {
      try {
        const answer = await fetch(live.dataset.liveUrl, { credentials: "same-origin" });
        if (answer.ok) {
          const { version } = await answer.json();
          if (version !== live.dataset.version) {
            const page = await fetch(window.location.href, { credentials: "same-origin" });
            const html = new DOMParser().parseFromString(await page.text(), "text/html");
            const fresh = html.querySelector("[data-live]");
            if (fresh) {
              live.replaceChildren(...fresh.childNodes);
              live.dataset.version = fresh.dataset.version;
            }
          }
        }
      } catch (_error) {
        // Offline for a moment: try again on the next tick.
      }
    }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}

document.addEventListener("DOMContentLoaded", watchLive);

// Channels: a channel's Delete shows only while the row is hovered or focused, and neither
// holds while its dialog is open, so Delete would be hidden (unfocusable) when the dialog
// closes and focus would fall to the page. Keep the row's actions shown until then.
document.addEventListener("click", (event) => {
  const opener = event.target.closest(".inbox .actions [data-dialog]");
  const dialog = opener && document.getElementById(opener.dataset.dialog);
  if (!dialog) return;
  const actions = opener.closest(".actions");
  actions.style.display = "flex";
  // app.js gives focus back to the opener in its capturing listener, before this one runs.
  dialog.addEventListener("close", () => { actions.style.display = ""; }, { once: true });
});
