// Small progressive enhancements; every page works without this file.
"use strict";

// Dialogs: a control with data-dialog="ID" opens <dialog id="ID"> as a modal (without JS it is
// a link to the same page with the dialog rendered open); [data-close] closes its dialog.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.dialog);
    if (dialog) {
      event.preventDefault();
      dialog.returnFocusTo = opener;
      dialog.showModal();
    }
  }
  const closer = event.target.closest("[data-close]");
  if (closer) {
    event.preventDefault();
    closer.closest("dialog")?.close();
  }
});

// Links styled as buttons (they open dialogs) answer the Space key like real buttons.
document.addEventListener("keydown", (event) => {
  const link = event.target.closest && event.target.closest("a[role='button']");
  if (link && event.key === " ") { event.preventDefault(); link.click(); }
});

// Give focus back to whatever opened a dialog, for keyboard users — only where the browser
// did not: the close event comes a moment after the dialog closed, and a user who already
// pressed Tab by then must not be pulled back (the team-inbox test caught that race).
document.addEventListener("close", (event) => {
  const dialog = event.target;
  const lost = !document.activeElement || document.activeElement === document.body;
  if (dialog instanceof HTMLDialogElement && dialog.returnFocusTo && lost) {
    dialog.returnFocusTo.focus();
  }
}, true);

// Dialogs the server rendered open (after connecting, removing, or ?confirm=) become modal.
function upgradeOpenDialogs() {
  for (const dialog of document.querySelectorAll("dialog[open][data-autoshow]")) {
    dialog.close();
    dialog.showModal();
  }
  // Strip ?connected=/?confirm= so a reload does not show the dialog again.
  const url = new URL(window.location.href);
  let changed = false;
  for (const key of ["connected", "reconnected", "confirm", "used_recommended_url"]) {
    if (url.searchParams.has(key)) { url.searchParams.delete(key); changed = true; }
  }
  if (changed) history.replaceState(null, "", url.pathname + url.search + url.hash);
}

// Busy buttons: a submit button with data-busy="Verifying…" is disabled and relabelled while the
// server works, so the user sees progress and cannot submit twice. Disabling is deferred one tick
// so the button's own name/value is still part of the submitted form.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method === "dialog") return;
  const button = event.submitter || form.querySelector("[data-busy]");
  if (!button || !button.dataset.busy) return;
  if (form.dataset.submitting) { event.preventDefault(); return; }
  form.dataset.submitting = "1";
  setTimeout(() => {
    button.disabled = true;
    button.textContent = button.dataset.busy;
    button.setAttribute("aria-busy", "true");
    const status = form.querySelector("[data-busy-status]");
    if (status) status.textContent = button.dataset.busy;
  }, 0);
});

// Back/forward cache: a page restored from history must not keep a disabled busy button.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-submitting]")) {
    delete form.dataset.submitting;
  }
  for (const button of document.querySelectorAll("button[aria-busy='true']")) {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
});

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Settings → General → Email: the same wording as the server-rendered status, kept in sync.
function renderSync(box, item, email) {
  const sync = item.sync;
  const parts = [];
  if (item.state === "disabled") {
    parts.push(el("span", {}, "Paused: nothing is synced or sent while this inbox is disabled."));
  } else if (item.state === "needs_reconnect") {
    parts.push(el("span", {}, "Stopped: inboxlink cannot sign in to this mailbox until you reconnect it."));
  } else if (item.state === "disconnected_migrated") {
    parts.push(el("span", {}, "Stopped: this mailbox moved to another provider."));
  } else if (sync.state === "backfilling" && sync.backfill_total) {
    const bar = el("progress", { max: String(sync.backfill_total), value: String(sync.messages_scanned),
      "aria-label": `Sync progress for ${email}` });
    parts.push(bar, document.createTextNode(" "), el("span", {},
      `Reading your mailbox: ${sync.messages_scanned} of ${sync.backfill_total} messages scanned · ` +
      `${sync.messages_logged} emails logged`));
  } else if (sync.state === "delayed") {
    parts.push(el("span", {}, "Delayed: inboxlink cannot reach the mailbox right now and retries " +
      `by itself · ${sync.messages_logged} emails logged`));
  } else if (sync.backfill_complete) {
    parts.push(el("span", {}, `Up to date · ${sync.messages_logged} emails logged`));
  } else {
    parts.push(el("span", {}, "Waiting for the first sync…"));
  }
  if (sync.last_error && item.state !== "disabled") {
    const alert = el("p", { class: "alert small" }, `${sync.last_error.message} `);
    alert.append(el("span", { class: "code" }, `(${sync.last_error.code})`));
    parts.push(alert);
  }
  if (sync.messages_unreadable) {
    parts.push(el("p", { class: "small muted" }, unreadableNote(sync.messages_unreadable)));
  }
  // Only touch the DOM when the text changed, so screen readers are not re-read the same line.
  const probe = el("div");
  probe.append(...parts);
  if (probe.innerHTML !== box.dataset.last) {
    box.replaceChildren(...parts);
    box.dataset.last = probe.innerHTML;
  }
}

function unreadableNote(count) {
  return `${count} message${count === 1 ? "" : "s"} could not be read; inboxlink keeps ` +
    "them as received and shows them on the timeline without their text.";
}

// The last successful sync and how long ago it was (G4); outside the live region on purpose,
// since it changes every minute and would otherwise be read out again and again.
function renderHealth(box, item) {
  const at = item.sync.last_sync_at;
  const text = at
    ? `Last successful sync: ${at.slice(0, 16).replace("T", " ")} UTC (${item.sync_age})`
    : "No successful sync yet";
  if (box.textContent !== text) box.textContent = text;
}

function pollInboxes() {
  const list = document.querySelector("[data-poll]");
  if (!list) return;
  const tick = async () => {
    if (!document.hidden) {
      try {
        const response = await fetch(list.dataset.poll, { headers: { Accept: "application/json" },
          credentials: "same-origin" });
        if (response.ok) {
          const data = await response.json();
          for (const item of data.items) {
            const row = document.getElementById(`inbox-${item.id}`);
            if (!row) continue;
            const email = row.querySelector(".inbox-email")?.textContent || "";
            const state = row.querySelector("[data-state]");
            if (state && state.textContent !== item.state_name) state.textContent = item.state_name;
            row.className = row.className.replace(/state-\S+/, `state-${item.state}`);
            const box = row.querySelector("[data-sync]");
            if (box) renderSync(box, item, email);
            const health = row.querySelector("[data-health]");
            if (health) renderHealth(health, item);
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

// Composer: follow a queued email until it is sent or has failed.
function pollSend() {
  const box = document.querySelector("[data-poll-send]");
  if (!box) return;
  const tick = async () => {
    try {
      const response = await fetch(box.dataset.pollSend, { credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        box.querySelector("[data-send-label]").textContent = data.label;
        if (data.state === "sent" || data.state === "failed") {
          box.classList.toggle("alert", data.state === "failed");
          box.classList.toggle("success", data.state !== "failed");
          if (data.error) {
            const detail = box.querySelector("[data-send-detail]");
            detail.textContent = `${detail.textContent}: ${data.error.message} `;
            detail.append(el("span", { class: "code" }, `(${data.error.code})`));
          }
          return;
        }
      }
    } catch (_error) {
      // Try again.
    }
    setTimeout(tick, 1500);
  };
  setTimeout(tick, 1000);
}

// Move focus to an error the server put on the page, so it is read out first.
function focusError() {
  const error = document.getElementById("connect-error");
  if (error) error.focus();
}

// Exchange form: recommend the EWS URL while the user types or pastes (P8). The server renders the
// same recommendation after a submit; this only saves a round trip. "Use this URL" fills the field
// here instead of submitting, so the password already typed is kept.
function ewsRecommendations() {
  const box = document.getElementById("ews-recommendation");
  const field = document.getElementById("ews-url");
  if (!box || !field) return;
  let timer = 0;
  let asked = 0;
  const render = (data) => {
    const parts = [];
    if (data.recommended_url) {
      const line = el("p", {}, "We recommend ");
      line.append(el("strong", { class: "url" }, data.recommended_url), ` — ${data.reason}`);
      const use = el("button", { type: "submit", name: "go", value: "use_recommended",
        formnovalidate: "", "data-use-url": data.recommended_url }, "Use this URL");
      parts.push(line, use);
    } else if (data.error) {
      const line = el("p", { class: "alert" }, `${data.error.message} `);
      line.append(el("span", { class: "code" }, `(${data.error.code})`));
      const go = el("button", { type: "submit", form: "use-microsoft", class: "primary" },
        "Connect with Microsoft Outlook");
      parts.push(line, go);
    }
    box.replaceChildren(...parts);
  };
  const check = async () => {
    const value = field.value.trim();
    const mine = ++asked;
    if (!value) { render({}); return; }
    try {
      const response = await fetch(`${box.dataset.ewsHint}?url=${encodeURIComponent(value)}`,
        { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok && mine === asked) render(await response.json());
    } catch (_error) {
      // No hint this time; the server still recommends after a submit.
    }
  };
  field.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 300); });
  box.addEventListener("click", (event) => {
    const use = event.target.closest("[data-use-url]");
    if (!use) return;
    event.preventDefault();
    field.value = use.dataset.useUrl;
    asked++;  // a hint still on its way is for the old value
    box.replaceChildren(el("p", { class: "success" },
      "The recommended Exchange URL is filled in."));
    field.focus();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  upgradeOpenDialogs();
  pollInboxes();
  pollSend();
  focusError();
  ewsRecommendations();
});
