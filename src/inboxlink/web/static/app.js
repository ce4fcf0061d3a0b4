// Small progressive enhancements; every page works without this file.
// Dialogs: a button with data-dialog="ID" opens <dialog id="ID">; [data-close] closes it.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-dialog]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.dialog);
    if (dialog) { event.preventDefault(); dialog.showModal(); }
  }
  const closer = event.target.closest("[data-close]");
  if (closer) { closer.closest("dialog")?.close(); }
});
