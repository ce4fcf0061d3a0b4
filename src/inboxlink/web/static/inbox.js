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
